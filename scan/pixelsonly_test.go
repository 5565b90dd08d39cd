package scan

import (
	"bytes"
	"testing"
)

// TestPixelsOnly: a page read for its pixels alone has what a preview or OCR needs, the same
// as a page read for a PDF, and no PDF data; each page of a multi-page TIFF (grey, colour,
// palette, bilevel).
func TestPixelsOnly(t *testing.T) {
	path, _, _, _ := makeTIFF(t, t.TempDir())
	full, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	pixels, err := Open(path, Options{PixelsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pixels.Close()
	for i := range full.NumPages {
		want, err := full.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pixels.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if got.Data != nil || got.Filter != "" {
			t.Errorf("page %d: %d bytes of %q data, want none", i+1, len(got.Data), got.Filter)
		}
		if want.Data == nil {
			t.Fatalf("page %d: read for a PDF, it has no data", i+1)
		}
		if !bytes.Equal(got.OCRImage, want.OCRImage) || !bytes.Equal(got.Thumb.Pix, want.Thumb.Pix) {
			t.Errorf("page %d: its pixels differ from the page read for a PDF", i+1)
		}
		if got.Width != want.Width || got.Height != want.Height || got.Gray != want.Gray || got.BitsPerComponent != want.BitsPerComponent ||
			got.DPIX != want.DPIX || got.ColorDepth != want.ColorDepth {
			t.Errorf("page %d: %+v, want %+v", i+1, got, want)
		}
	}
}
