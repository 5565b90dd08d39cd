package scan

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// A colour page's OCR image is its decoded samples behind a PNM header, not a second copy of
// them (docs/ocr-memory.md, "Daemon memory").
func TestOCRImageIsTheSamples(t *testing.T) {
	img := textPage(t, 300, 120, "Ab", true)
	r := rasterFromImage(img, false)
	pnm := r.pnm()
	want := "P6\n300 120\n255\n"
	if string(pnm[:len(want)]) != want || !bytes.Equal(pnm[len(want):], rgbPix(img)) {
		t.Fatalf("PNM header %q or samples differ from the page", pnm[:min(len(pnm), 20)])
	}
	if &pnm[len(want)] != &r.samples[0] {
		t.Error("the PNM is a copy of the samples; want the samples themselves")
	}
	// A bilevel raster's PNM has its bits inverted, so it must stay a copy.
	g := rasterFromImage(textPage(t, 64, 16, "A", false), true)
	packBilevel(g)
	if b := g.pnm(); &b[len(b)-len(g.samples)] == &g.samples[0] {
		t.Error("a bilevel PNM shares the raster's samples; PBM inverts them")
	}
}

// A colour page re-encoded as JPEG (LosslessAsJPEG) is converted to 4:2:0 YCbCr by the
// station rather than by image/jpeg from an RGBA copy: on a page whose sides are whole
// macroblocks the file is the same to the byte, and elsewhere only the padding beyond the
// right and bottom edges differs.
func TestColourJPEGFromYCbCr(t *testing.T) {
	for _, size := range []image.Point{{320, 160}, {301, 121}} {
		img := textPage(t, size.X, size.Y, "Ab 12", true)
		r := rasterFromImage(img, false)
		got, err := r.jpeg(85)
		if err != nil {
			t.Fatal(err)
		}
		rgba := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
		for i, j := 0, 0; i < len(r.samples); i, j = i+3, j+4 {
			copy(rgba.Pix[j:j+3], r.samples[i:i+3])
			rgba.Pix[j+3] = 0xff
		}
		var want bytes.Buffer
		if err := jpeg.Encode(&want, rgba, &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		if size.X%16 == 0 && size.Y%16 == 0 {
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%v: the JPEG differs from image/jpeg's own from RGBA (%d bytes, want %d)", size, len(got), want.Len())
			}
			continue
		}
		a, err := jpeg.Decode(bytes.NewReader(got))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := jpeg.Decode(bytes.NewReader(want.Bytes()))
		var worst int
		for y := range size.Y {
			for x := range size.X {
				r1, g1, b1, _ := a.At(x, y).RGBA()
				r2, g2, b2, _ := b.At(x, y).RGBA()
				for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
					worst = max(worst, d, -d)
				}
			}
		}
		if worst > 8 {
			t.Errorf("%v: a pixel differs by %d levels from image/jpeg's own encoding; want at most 8", size, worst)
		}
	}
}
