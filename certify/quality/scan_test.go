package quality_test

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"scanstation/certify/quality"
	"scanstation/internal/samplescan"
	"scanstation/scan"
)

// grain adds the noise of paper and sensor (±16 levels), which a blank-page
// test must see through.
func grain(img image.Image) image.Image {
	var pix []byte
	switch m := img.(type) {
	case *image.Gray:
		pix = m.Pix
	case *image.RGBA:
		pix = m.Pix
	}
	seed := uint32(1)
	for i, v := range pix {
		seed = seed*1664525 + 1013904223
		pix[i] = uint8(max(0, min(255, int(v)+int(seed>>27)-16)))
	}
	if m, ok := img.(*image.RGBA); ok {
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 255
		}
	}
	return img
}

// facts reads a scanner file the way the station does and returns what the
// gate needs of its one page. Words stays zero, as if OCR found nothing, so
// the text pages are told from blank ones by their ink alone.
func facts(t *testing.T, path string) quality.PageFacts {
	t.Helper()
	doc, err := scan.Open(path, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	p, err := doc.Page(0)
	if err != nil {
		t.Fatal(err)
	}
	return quality.PageFacts{
		Number: p.Number, Width: p.Width, Height: p.Height,
		DPIX: p.DPIX, DPIY: p.DPIY, DPIKnown: p.DPIKnown,
		ColorDepth: p.ColorDepth, Ink: quality.Ink(p.Thumb),
	}
}

func writeJPEG(t *testing.T, dir, name string, img image.Image, dpi float64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := samplescan.WriteJPEG(f, img, dpi, 85); err != nil {
		t.Fatal(err)
	}
	return path
}

func render(t *testing.T, opt samplescan.Options) image.Image {
	t.Helper()
	img, err := samplescan.Render(opt)
	if err != nil {
		t.Fatal(err)
	}
	return grain(img)
}

func TestRealScans(t *testing.T) {
	dir := t.TempDir()
	colour := render(t, samplescan.Options{})
	cases := []struct {
		name  string
		path  string
		kinds []string // the rules that fail, in order
		blank bool
	}{
		{"colour A4 at 300 dpi", writeJPEG(t, dir, "ok.jpg", colour, 300), nil, false},
		{"colour A4 at 150 dpi", writeJPEG(t, dir, "150.jpg", render(t, samplescan.Options{DPI: 150}), 150), []string{"dpi"}, false},
		{"grayscale A4", writeJPEG(t, dir, "gray.jpg", render(t, samplescan.Options{Gray: true}), 300), []string{"color"}, false},
		// The 300 dpi pixels declared as 600 dpi: half the size, as a page
		// scaled to 50% would be.
		{"A4 declared at double dpi", writeJPEG(t, dir, "half.jpg", colour, 600), []string{"scale"}, false},
		{"blank sheet with noise", writeJPEG(t, dir, "blank.jpg", render(t, samplescan.Options{Lines: []string{}}), 300), nil, true},
	}
	// Each case is page 2 of a document whose page 1 is the good scan, so a
	// blank page is judged as one among others.
	good := facts(t, cases[0].path)
	if good.ColorDepth != 24 || good.Ink < 0.01 {
		t.Fatalf("the good scan reads as depth %d, ink %.5f", good.ColorDepth, good.Ink)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := facts(t, c.path)
			f.Number = 2
			res := quality.Check([]quality.PageFacts{good, f}, quality.Rules{})
			var failing []string
			for _, finding := range res.Findings {
				t.Logf("%s (fails: %v)", finding.Message, finding.Fails)
				if finding.Fails {
					failing = append(failing, finding.Rule)
				}
			}
			if !slices.Equal(failing, c.kinds) || res.Failed() != (c.kinds != nil) {
				t.Errorf("failing rules %q; want %q", failing, c.kinds)
			}
			if isBlank := slices.Contains(res.Blank, 2); isBlank != c.blank {
				t.Errorf("blank = %v (ink %.5f); want %v", isBlank, f.Ink, c.blank)
			}
			if want := []string{"A4", "A4"}; c.kinds == nil && !slices.Equal(res.Paper, want) {
				t.Errorf("papers %q; want %q", res.Paper, want)
			}
		})
	}
}
