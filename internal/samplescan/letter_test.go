package samplescan

import (
	"os"
	"testing"
)

func TestDumpLetters(t *testing.T) {
	dir := os.Getenv("LETTER_DUMP")
	if dir == "" {
		t.Skip()
	}
	for _, s := range LetterSet(12, 1) {
		if os.Getenv("LETTER_VIEW") != "" {
			s.Options.DPI = 100
		}
		img, err := RenderLetter(s.Letter, s.Options)
		if err != nil {
			t.Fatal(s.Name, err)
		}
		f, _ := os.Create(dir + "/" + s.Name + ".jpg")
		WriteJPEG(f, img, 300, 90)
		f.Close()
	}
}
