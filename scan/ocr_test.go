package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otiai10/gosseract/v2"
)

// Tesseract is the judge of OCRImage: it reads each kind of page image
// (JPEG, P4 bilevel, P5 grey, P6 colour) from memory through Leptonica's
// pixReadMem and must find the words drawn on the page.
func TestOCRImageIsReadByTesseract(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Tesseract")
	}
	os.Setenv("OMP_THREAD_LIMIT", "1")
	dir := t.TempDir()
	const words = "RECORDS OFFICE"
	gray := textPage(t, 1400, 300, words, false)
	colour := textPage(t, 1400, 300, words, true)
	bw := bilevel(gray)

	jpgPath := writeFile(t, dir, "page.jpg", encodeJPEG(t, colour))
	pngPath := writeFile(t, dir, "page.png", encodePNG(t, gray))
	colourPNG := writeFile(t, dir, "colour.png", encodePNG(t, colour))
	g4 := filepath.Join(dir, "page.tif")
	run(t, "ppm2tiff", "-c", "g4", writeFile(t, dir, "page.pbm", pbm(bw)), g4)

	client := gosseract.NewClient()
	defer client.Close()
	if err := client.SetLanguage("eng"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, magic string }{
		{"JPEG", jpgPath, "\xff\xd8"},
		{"grey P5", pngPath, "P5"},
		{"colour P6", colourPNG, "P6"},
		{"bilevel P4", g4, "P4"},
	} {
		_, p := openPage(t, c.path, Options{}, 0)
		if !strings.HasPrefix(string(p.OCRImage), c.magic) {
			t.Errorf("%s: OCRImage starts %q; want %q", c.name, p.OCRImage[:2], c.magic)
			continue
		}
		if err := client.SetImageFromBytes(p.OCRImage); err != nil {
			t.Errorf("%s: Leptonica refused the image: %v", c.name, err)
			continue
		}
		text, err := client.Text()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !strings.Contains(text, words) {
			t.Errorf("%s: Tesseract read %q; want it to contain %q", c.name, text, words)
		}
	}
}
