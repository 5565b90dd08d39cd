package preview

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"scanstation/internal/samplescan"
	"scanstation/scan"
)

// goPicture is the page as the previews were drawn before libjpeg and Leptonica: decoded by
// package scan for a PDF (x/image/tiff, image/png), a JPEG by image/jpeg, and area-averaged to
// w × h, not yet encoded.
func goPicture(t *testing.T, path string, page, w, h int) *image.RGBA {
	t.Helper()
	doc, err := scan.Open(path, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	p, err := doc.Page(page - 1)
	if err != nil {
		t.Fatal(err)
	}
	b := p.OCRImage
	if b[0] == 0xFF && b[1] == 0xD8 {
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		switch m := img.(type) {
		case *image.YCbCr:
			return shrinkYCbCr(m, w, h)
		case *image.Gray:
			return grayRGBA(shrink(m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy(), 1, w, h), w, h)
		}
		t.Fatalf("a JPEG decoded as %T", img)
	}
	magic, pw, ph, samples, err := parsePNM(b)
	if err != nil {
		t.Fatal(err)
	}
	switch magic {
	case "P4":
		return grayRGBA(shrink(expandBits(samples, pw, ph), pw, pw, ph, 1, w, h), w, h)
	case "P5":
		return grayRGBA(shrink(samples, pw, pw, ph, 1, w, h), w, h)
	}
	return rgbRGBA(shrink(samples, 3*pw, pw, ph, 3, w, h), w, h)
}

// goPreview is the preview goPicture makes, encoded by image/jpeg at the cache's quality and
// decoded again: the picture the console showed before.
func goPreview(t *testing.T, path string, page, w, h int) *image.RGBA {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, goPicture(t, path, page, w, h), &jpeg.Options{Quality: defaultQuality}); err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out
}

// channelDiff is the mean absolute difference of each of R, G and B between two pictures of
// the same size.
func channelDiff(t *testing.T, a image.Image, b *image.RGBA) [3]float64 {
	t.Helper()
	if a.Bounds().Size() != b.Rect.Size() {
		t.Fatalf("pictures of %v and %v", a.Bounds().Size(), b.Rect.Size())
	}
	var sum [3]int
	for y := 0; y < b.Rect.Dy(); y++ {
		for x := 0; x < b.Rect.Dx(); x++ {
			r, g, bl, _ := a.At(a.Bounds().Min.X+x, a.Bounds().Min.Y+y).RGBA()
			i := b.PixOffset(x, y)
			for c, v := range [3]uint32{r >> 8, g >> 8, bl >> 8} {
				sum[c] += max(int(v)-int(b.Pix[i+c]), int(b.Pix[i+c])-int(v))
			}
		}
	}
	n := float64(b.Rect.Dx() * b.Rect.Dy())
	return [3]float64{float64(sum[0]) / n, float64(sum[1]) / n, float64(sum[2]) / n}
}

// TestLeptonicaPicturesAsGo: a preview drawn by the faster path (TIFF pages decoded by
// Leptonica, JPEG pages decoded by libjpeg, reduced for a thumbnail, every preview encoded by
// libjpeg) is the preview the Go decoders and encoder drew, within what JPEG encoding loses
// anyway: a mean difference under 3 levels in each channel, on a scan-like page (a letter
// with paper grain, which JPEG loses most of), for each format and compression a scanner
// writes, at the screen and thumbnail widths. (Measured: 0.4 for TIFF and PNG pages, 1.4 for
// a JPEG page, 2.4 for a JPEG page's thumbnail; the Go encoder's own loss against the
// unencoded picture is 2.3 to 6.9.)
func TestLeptonicaPicturesAsGo(t *testing.T) {
	dir := t.TempDir()
	render := func(gray bool) image.Image {
		img, err := samplescan.Render(samplescan.Options{DPI: 150, Gray: gray})
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := img.(*image.Gray); ok {
			seed := uint32(7)
			for i, v := range m.Pix {
				seed = seed*1664525 + 1013904223
				m.Pix[i] = uint8(max(0, min(255, int(v)+int(seed>>27)-16)))
			}
			return m
		}
		return grain(img)
	}
	colour, grey := render(false), render(true)
	write := func(name string, enc func(*os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := enc(f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	deflate := write("colour.tif", func(f *os.File) error { return samplescan.WriteTIFF(f, []image.Image{colour}, 150) })
	multi := write("multi.tif", func(f *os.File) error { return samplescan.WriteTIFF(f, []image.Image{grey, colour}, 150) })
	lzw, none := filepath.Join(dir, "lzw.tif"), filepath.Join(dir, "none.tif")
	run(t, "tiffcp", "-c", "lzw", deflate, lzw)
	run(t, "tiffcp", "-c", "none", deflate, none)
	jpg := write("colour.jpg", func(f *os.File) error { return samplescan.WriteJPEG(f, colour, 150, 90) })
	greyJPG := write("grey.jpg", func(f *os.File) error { return samplescan.WriteJPEG(f, grey, 150, 90) })
	png := write("colour.png", func(f *os.File) error { return samplescan.WritePNG(f, colour, 150) })

	// A bilevel G4 page, as office scanners write black-and-white pages.
	g := grey.(*image.Gray)
	gw, gh := g.Rect.Dx(), g.Rect.Dy()
	var pbm bytes.Buffer
	fmt.Fprintf(&pbm, "P4\n%d %d\n", gw, gh)
	row := make([]byte, (gw+7)/8)
	for y := range gh {
		clear(row)
		for x := range gw {
			if g.GrayAt(x, y).Y < 128 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		pbm.Write(row)
	}
	pbmPath := filepath.Join(dir, "page.pbm")
	if err := os.WriteFile(pbmPath, pbm.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g4 := filepath.Join(dir, "g4.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "150", pbmPath, g4)

	c := newCache(t)
	for _, tc := range []struct {
		name  string
		path  string
		page  int
		width int
	}{
		{"tiff deflate", deflate, 1, Screen},
		{"tiff lzw", lzw, 1, Screen},
		{"tiff uncompressed", none, 1, Screen},
		{"tiff g4", g4, 1, Screen},
		{"tiff multi-page page 2", multi, 2, Screen},
		{"tiff multi-page page 1 thumbnail", multi, 1, Thumb},
		{"jpeg", jpg, 1, Screen},
		{"jpeg thumbnail (decoded at 1/2)", jpg, 1, Thumb},
		{"jpeg grey", greyJPG, 1, Screen},
		{"png", png, 1, Screen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, img := get(t, c, Source{Path: tc.path}, Request{Page: tc.page, Width: tc.width})
			want := goPreview(t, tc.path, tc.page, img.Bounds().Dx(), img.Bounds().Dy())
			d := channelDiff(t, img, want)
			t.Logf("%v: mean difference R %.2f G %.2f B %.2f", img.Bounds().Size(), d[0], d[1], d[2])
			for ch, v := range d {
				if v >= 3 {
					t.Errorf("channel %c differs by %.2f on average, want under 3", "RGB"[ch], v)
				}
			}
		})
	}

	// The JPEG pages above were drawn by libjpeg, not by the image/jpeg fallback.
	data, err := os.ReadFile(jpg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := shrinkJPEG(data, cfg.Width, cfg.Height, Thumb, Thumb*cfg.Height/cfg.Width); !ok {
		t.Error("libjpeg did not decode the scanner's JPEG")
	}
	if _, ok := shrinkJPEG(data[:len(data)/2], cfg.Width, cfg.Height, Thumb, Thumb*cfg.Height/cfg.Width); ok {
		t.Error("libjpeg took a JPEG cut in half without a warning")
	}
}
