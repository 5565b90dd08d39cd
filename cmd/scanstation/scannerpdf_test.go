package main

// End-to-end: scanner PDFs whose pages are JBIG2 and JPEG 2000 (OCRmyPDF's real test files,
// scan/testdata/ocrmypdf/README.md) are certified with the scanner's image kept, and a JBIG2
// page coded by pattern matching is noted in the record.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestScannerJBIG2AndJPEG2000Certified(t *testing.T) {
	dir, cfg := newStation(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// jbig2.pdf is a black-and-white US Letter page at 300 dpi; lichtenstein.pdf a grey
	// 512-pixel square at 96 dpi: this hot-folder takes both.
	yaml := regexp.MustCompile(`paper_sizes: .*`).ReplaceAllString(string(data), `paper_sizes: ["A4", "216x279mm", "135x135mm"]`)
	yaml = regexp.MustCompile(`require_color: .*`).ReplaceAllString(yaml, `require_color: false`)
	yaml = regexp.MustCompile(`min_dpi: [0-9.]+`).ReplaceAllString(yaml, `min_dpi: 90`)
	if err := os.WriteFile(cfg, []byte(yaml), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		note bool // the record notes JBIG2 symbol coding
	}{{"jbig2", true}, {"lichtenstein", false}} {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join("..", "..", "scan", "testdata", "ocrmypdf", c.name+".pdf")
			raw, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			input := filepath.Join(dir, c.name+".pdf")
			if err := os.WriteFile(input, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, code := scanstation(t, nil, "process", "--config", cfg, input); code != 0 {
				t.Fatalf("process exits %d:\n%s", code, out)
			}
			pdf := filepath.Join(dir, "outbox", c.name+".pdf")
			checkSignedPDFA(t, dir, pdf)
			if in, out := firstImage(t, src), firstImage(t, pdf); !bytes.Equal(in, out) {
				t.Errorf("poppler decodes the certified copy's image differently from the scanner's")
			}
			side, err := os.ReadFile(filepath.Join(dir, "outbox", c.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Warnings []string `json:"warnings"`
			}
			if err := json.Unmarshal(side, &rec); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: the record's warnings: %q", c.name, rec.Warnings)
			noted := strings.Contains(strings.Join(rec.Warnings, "\n"), "JBIG2 symbol coding")
			if noted != c.note {
				t.Errorf("the record's warnings %q: JBIG2 note %v, want %v", rec.Warnings, noted, c.note)
			}
		})
	}
}

// firstImage is poppler's decoding of the first image of a PDF's first page, as PNM.
func firstImage(t *testing.T, pdf string) []byte {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("pdfimages", "-f", "1", "-l", "1", pdf, filepath.Join(dir, "i")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages %s: %v\n%s", pdf, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "i-000.*"))
	if len(matches) != 1 {
		t.Fatalf("pdfimages wrote %v", matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}
