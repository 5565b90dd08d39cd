package pdfa

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"scanstation/internal/samplescan"
)

// tesseractLines runs the tesseract command on a JPEG and returns its
// words and, for comparison, its lines as it grouped them itself.
func tesseractLines(t *testing.T, jpegPath string) (words []Word, lines []string) {
	t.Helper()
	cmd := exec.Command("tesseract", jpegPath, "-", "-l", "vie+eng", "tsv")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out, code := output(t, cmd)
	if code != 0 {
		t.Fatalf("tesseract: exit %d", code)
	}
	lineOf := map[string]int{}
	for _, row := range strings.Split(out, "\n")[1:] {
		f := strings.Split(row, "\t")
		if len(f) < 12 || f[0] != "5" || strings.TrimSpace(f[11]) == "" {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
		words = append(words, Word{Text: f[11], Box: image.Rect(n(6), n(7), n(6)+n(8), n(7)+n(9))})
		key := f[1] + "/" + f[2] + "/" + f[3] + "/" + f[4]
		if i, ok := lineOf[key]; ok {
			lines[i] += " " + f[11]
		} else {
			lineOf[key] = len(lines)
			lines = append(lines, f[11])
		}
	}
	return words, lines
}

// TestTesseractWordsRoundTrip feeds real Tesseract output for a crooked A4
// scan into Write: pdftotext must give back Tesseract's lines, in order,
// each as one line, so the layout's line grouping agrees with the OCR's.
func TestTesseractWordsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("OCR of a full page takes seconds")
	}
	const skew = 0.8
	img, err := samplescan.Render(samplescan.Options{Skew: skew})
	if err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer
	if err := samplescan.WriteJPEG(&jpg, img, 300, 85); err != nil {
		t.Fatal(err)
	}
	jpegPath := filepath.Join(t.TempDir(), "scan.jpg")
	if err := os.WriteFile(jpegPath, jpg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	words, lines := tesseractLines(t, jpegPath)
	if len(lines) < 15 {
		t.Fatalf("tesseract found only %d lines", len(lines))
	}

	b := img.Bounds()
	doc := baseDocument(t)
	doc.Pages = []Page{{
		Image: Image{Width: b.Dx(), Height: b.Dy(), DPIX: 300, DPIY: 300, ColorSpace: RGB, BitsPerComponent: 8, Filter: "DCTDecode", Data: jpg.Bytes()},
		Words: words,
		Skew:  skew,
	}}
	path := writeTemp(t, doc)
	var got []string
	for _, l := range strings.Split(run(t, "pdftotext", "-layout", path, "-"), "\n") {
		if l = strings.Join(strings.Fields(norm.NFC.String(l)), " "); l != "" {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != norm.NFC.String(strings.Join(lines, "\n")) {
		t.Errorf("pdftotext -layout lines differ from Tesseract's lines\n got:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
	}
}
