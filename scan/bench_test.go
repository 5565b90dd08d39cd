package scan

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

// A4 at 300 dpi.
const a4W, a4H = 2480, 3508

// scanned adds the grain of real paper and sensor noise, without which a
// synthetic page compresses a hundred times better than a real scan and
// the numbers would flatter us.
func scanned(img image.Image) image.Image {
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
		n := int(v) + int(seed>>27) - 16 // ±16
		pix[i] = uint8(max(0, min(255, n)))
		if _, ok := img.(*image.RGBA); ok && i%4 == 3 {
			pix[i] = 255
		}
	}
	return img
}

func benchPage(b *testing.B, path string, opt Options) {
	b.Helper()
	b.ReportAllocs()
	var data, ocr int
	for b.Loop() {
		doc, err := Open(path, opt)
		if err != nil {
			b.Fatal(err)
		}
		p, err := doc.Page(0)
		if err != nil {
			b.Fatal(err)
		}
		data, ocr = len(p.Data), len(p.OCRImage)
		doc.Close()
	}
	b.ReportMetric(float64(data)/1e6, "MB-data")
	b.ReportMetric(float64(ocr)/1e6, "MB-ocr")
}

func BenchmarkJPEGPageA4Colour300dpi(b *testing.B) {
	dir := b.TempDir()
	j := withJFIF(encodeJPEG(b, scanned(textPage(b, a4W, a4H, "Benchmark page", true))), 1, 300, 300)
	benchPage(b, writeFile(b, dir, "a4.jpg", j), Options{})
}

func benchTIFF(b *testing.B, img image.Image, compression tiff.CompressionType, opt Options) {
	dir := b.TempDir()
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, img, &tiff.Options{Compression: compression}); err != nil {
		b.Fatal(err)
	}
	benchPage(b, writeFile(b, dir, "a4.tif", buf.Bytes()), opt)
}

func BenchmarkTIFFPageA4Gray300dpiDeflate(b *testing.B) {
	benchTIFF(b, scanned(textPage(b, a4W, a4H, "Benchmark page", false)), tiff.Deflate, Options{})
}

func BenchmarkTIFFPageA4Colour300dpiDeflate(b *testing.B) {
	benchTIFF(b, scanned(textPage(b, a4W, a4H, "Benchmark page", true)), tiff.Deflate, Options{})
}

func BenchmarkTIFFPageA4Colour300dpiAsJPEG(b *testing.B) {
	benchTIFF(b, scanned(textPage(b, a4W, a4H, "Benchmark page", true)), tiff.Deflate, Options{LosslessAsJPEG: true})
}

func BenchmarkTIFFPageA4BilevelG4(b *testing.B) {
	dir := b.TempDir()
	bw := bilevel(textPage(b, a4W, a4H, "Benchmark page", false))
	g4 := filepath.Join(dir, "a4.tif")
	run(b, "ppm2tiff", "-c", "g4", "-R", "300", writeFile(b, dir, "a4.pbm", pbm(bw)), g4)
	benchPage(b, g4, Options{})
}

// BenchmarkThumbA4 is what the thumbnail adds to each A4 page at 300 dpi,
// from the samples the decoder has already made.
func BenchmarkThumbA4(b *testing.B) {
	colour := scanned(textPage(b, a4W, a4H, "Benchmark page", true))
	gray := scanned(textPage(b, a4W, a4H, "Benchmark page", false))
	j, err := jpeg.Decode(bytes.NewReader(encodeJPEG(b, colour)))
	if err != nil {
		b.Fatal(err)
	}
	rgb := rasterFromImage(colour, false)
	grey := rasterFromImage(gray, true)
	bw := rasterFromImage(gray, true)
	packBilevel(bw)
	for _, c := range []struct {
		name  string
		thumb func() *image.Gray
	}{
		{"JPEGLuma", func() *image.Gray { return thumbImage(j) }},
		{"RGB", rgb.thumb},
		{"Gray", grey.thumb},
		{"Bilevel", bw.thumb},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.thumb()
			}
		})
	}
}
