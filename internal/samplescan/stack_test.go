package samplescan_test

// An external test package: capture/separator draws its sheets with
// samplescan, so only from outside can the test use both.

import (
	"bytes"
	"image"
	"image/jpeg"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/certify/quality"
	"scanstation/internal/samplescan"
	"scanstation/ocr"
	"scanstation/scan"
)

// TestAcceptanceStack scans the acceptance batch, writes it as a scanner
// PDF and reads it back the way the station does: every separator sheet's
// code gives its document's page count, every blank back measures blank
// and every letter page does not, and OCR finds words on a letter page and
// none on a blank back.
func TestAcceptanceStack(t *testing.T) {
	sides, exp := samplescan.AcceptanceStack()
	if len(sides) != 80 || exp.Sheets != 40 {
		t.Fatalf("%d sides on %d sheets, want 80 on 40", len(sides), exp.Sheets)
	}
	if n := len(exp.Separators) + len(exp.Content) + len(exp.BlankBacks); n != 80 {
		t.Fatalf("the expectation accounts for %d sides, want 80", n)
	}
	kinds := map[int]samplescan.SideKind{}
	for _, n := range exp.Content {
		kinds[n] = samplescan.SideLetter
	}
	for _, n := range exp.BlankBacks {
		kinds[n] = samplescan.SideBlank
	}
	fronts := map[int]samplescan.Sheet{}
	refused := 0
	for _, d := range exp.Documents {
		fronts[d.Separator] = d.Sheet
		if d.Refused != "" {
			refused++
			if d.Refused != "14 pages expected, 16 scanned" {
				t.Errorf("the refused document's reason %q, want 14 pages expected, 16 scanned", d.Refused)
			}
			if len(d.Content) != d.Sheet.Pages+2 {
				t.Errorf("the refused document has %d pages for its sheet's %d, want 2 more", len(d.Content), d.Sheet.Pages)
			}
		} else if len(d.Content) != d.Sheet.Pages {
			t.Errorf("document behind side %d: %d pages, its sheet says %d", d.Separator, len(d.Content), d.Sheet.Pages)
		}
	}
	if len(exp.Documents) != 4 || refused != 1 {
		t.Fatalf("%d documents, %d refused; want 4, 1", len(exp.Documents), refused)
	}
	for _, n := range exp.Separators {
		kinds[n] = samplescan.SideBlank // the back of a separator sheet
		if _, ok := fronts[n]; ok {
			kinds[n] = samplescan.SideSeparator
		}
	}
	for i, s := range sides {
		if kinds[i+1] != s.Kind {
			t.Errorf("side %d is %s, the expectation says %s", i+1, s.Kind, kinds[i+1])
		}
	}

	const dpi = 200
	start := time.Now()
	pages, err := samplescan.RenderStack(sides, samplescan.StackOptions{DPI: dpi, Separator: renderSheet})
	if err != nil {
		t.Fatal(err)
	}
	rendered := time.Since(start)
	path := filepath.Join(t.TempDir(), "batch.pdf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := samplescan.WriteStackPDF(f, pages, dpi, 85); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	t.Logf("80 sides scanned in %v, written in %v (%.1f MB)", rendered.Round(time.Millisecond),
		(time.Since(start) - rendered).Round(time.Millisecond), float64(fi.Size())/1e6)

	doc, err := scan.Open(path, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.NumPages != 80 {
		t.Fatalf("the PDF has %d pages, want 80", doc.NumPages)
	}
	var blankBack, letterPage []byte
	maxBlank, minLetter := 0.0, 1.0
	for i := range doc.NumPages {
		n := i + 1
		p, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if p.Filter != "DCTDecode" || p.Gray || p.DPIX != dpi || p.DPIY != dpi {
			t.Errorf("page %d: filter %s, grey %v, %g×%g dpi; want a colour JPEG at %d dpi", n, p.Filter, p.Gray, p.DPIX, p.DPIY, dpi)
		}
		ink := quality.Ink(p.Thumb)
		switch kinds[n] {
		case samplescan.SideBlank:
			maxBlank = max(maxBlank, ink)
			if ink >= quality.DefaultBlankInk {
				t.Errorf("blank side %d has ink %g, not under %g", n, ink, quality.DefaultBlankInk)
			}
			if blankBack == nil {
				blankBack = p.OCRImage
			}
		case samplescan.SideLetter:
			minLetter = min(minLetter, ink)
			if ink < 10*quality.DefaultBlankInk {
				t.Errorf("letter page %d has ink %g, too close to blank", n, ink)
			}
			if letterPage == nil {
				letterPage = p.OCRImage
			}
		case samplescan.SideSeparator:
			img, err := jpeg.Decode(bytes.NewReader(p.Data))
			if err != nil {
				t.Fatal(err)
			}
			codes, err := separator.Codes(img)
			if err != nil || len(codes) != 1 {
				t.Errorf("separator side %d: codes %q, %v; want one", n, codes, err)
				continue
			}
			got, err := capture.ParseSheet(codes[0])
			if err != nil {
				t.Errorf("separator side %d: %v", n, err)
				continue
			}
			want := fronts[n]
			if got.Pages != want.Pages || !maps.Equal(got.Fields, want.Fields) {
				t.Errorf("separator side %d reads %+v, want %+v", n, got, want)
			}
		}
	}
	t.Logf("ink: blank sides at most %.6f, letter pages at least %.4f (blank under %g)", maxBlank, minLetter, quality.DefaultBlankInk)

	eng, err := ocr.NewEngine(ocr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, c := range []struct {
		name  string
		img   []byte
		blank bool
	}{{"a blank back", blankBack, true}, {"a letter page", letterPage, false}} {
		start := time.Now()
		res, err := eng.Recognize(c.img)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("OCR of %s: %d words in %v", c.name, len(res.Words), time.Since(start).Round(time.Millisecond))
		if c.blank && len(res.Words) != 0 {
			t.Errorf("OCR finds %d words on %s: %q", len(res.Words), c.name, res.Text())
		}
		if !c.blank && (len(res.Words) < 100 || !strings.Contains(res.Text(), "Độc lập")) {
			t.Errorf("OCR finds %d words on %s: %q", len(res.Words), c.name, res.Text())
		}
	}
}

// TestWriteSlowly: the file is under its final name while it is written,
// shorter than the data, and whole at the end.
func TestWriteSlowly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scan.pdf")
	data := bytes.Repeat([]byte("0123456789"), 100)
	done := make(chan error, 1)
	go func() { done <- samplescan.WriteSlowly(path, data, 300, 200*time.Millisecond) }()
	var seen []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && !slices.Contains(seen, int(fi.Size())) {
			seen = append(seen, int(fi.Size()))
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, data) {
				t.Fatalf("the file has %d bytes, not the %d written", len(got), len(data))
			}
			if len(seen) < 3 || seen[0] >= len(data) {
				t.Errorf("sizes seen while writing: %v; want the file seen partly written", seen)
			}
			return
		default:
		}
	}
	t.Fatal("WriteSlowly did not finish in 5 s")
}

// renderSheet draws a separator sheet with the station's own code.
func renderSheet(s samplescan.Sheet, dpi float64) (*image.Gray, error) {
	return separator.Render(capture.Sheet(s), dpi)
}
