package preview

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"scanstation/internal/samplescan"
	"scanstation/scan"
)

// grain adds paper texture and sensor noise (±16 levels), as
// scan/bench_test.go does: a clean rendering decodes faster than any real
// scan and would flatter the numbers.
func grain(img image.Image) image.Image {
	m := img.(*image.RGBA)
	seed := uint32(1)
	for i, v := range m.Pix {
		if i%4 == 3 {
			continue
		}
		seed = seed*1664525 + 1013904223
		m.Pix[i] = uint8(max(0, min(255, int(v)+int(seed>>27)-16)))
	}
	return img
}

// BenchmarkPreview is one screen-size page preview (900 px wide, the mark
// drawn) of an A4 colour page: made from the scan the first time, then
// from the cache. "pixels" is package scan's part of the first (the page
// read for its pixels alone, as a preview reads it), and "decode" the same
// page read for a PDF, for comparison.
func BenchmarkPreview(b *testing.B) {
	dir := b.TempDir()
	letter := func(dpi float64) image.Image {
		img, err := samplescan.Render(samplescan.Options{DPI: dpi})
		if err != nil {
			b.Fatal(err)
		}
		return grain(img)
	}
	jpg := writeJPEG(b, dir, letter(200), 200)
	tif := writeTIFF(b, dir, []image.Image{letter(300)}, 300)
	mark := Corners([4]float64{425, 741, 585, 813}) // 10 mm in from the top right of A4
	req := Request{Page: 1, Width: Screen, Mark: &mark}
	for _, s := range []struct{ name, path string }{
		{"JPEG_A4_200dpi", jpg},
		{"TIFF_A4_300dpi", tif},
	} {
		src := Source{Path: s.path}
		b.Run(s.name+"/first", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				c := &Cache{Dir: filepath.Join(b.TempDir(), fmt.Sprint(i))}
				if _, err := c.Page(context.Background(), src, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			c := &Cache{Dir: b.TempDir()}
			if _, err := c.Page(context.Background(), src, req); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.Page(context.Background(), src, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/pixels", func(b *testing.B) {
			for b.Loop() {
				doc, err := scan.Open(s.path, scan.Options{PixelsOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := doc.Page(0); err != nil {
					b.Fatal(err)
				}
				doc.Close()
			}
		})
		b.Run(s.name+"/decode", func(b *testing.B) {
			for b.Loop() {
				doc, err := scan.Open(s.path, scan.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := doc.Page(0); err != nil {
					b.Fatal(err)
				}
				doc.Close()
			}
		})
	}
}
