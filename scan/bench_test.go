package scan

import (
	"bytes"
	"image"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

// A4 at 300 dpi.
const a4W, a4H = 2480, 3508

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
	j := withJFIF(encodeJPEG(b, textPage(b, a4W, a4H, "Benchmark page", true)), 1, 300, 300)
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
	benchTIFF(b, textPage(b, a4W, a4H, "Benchmark page", false), tiff.Deflate, Options{})
}

func BenchmarkTIFFPageA4Colour300dpiDeflate(b *testing.B) {
	benchTIFF(b, textPage(b, a4W, a4H, "Benchmark page", true), tiff.Deflate, Options{})
}

func BenchmarkTIFFPageA4Colour300dpiAsJPEG(b *testing.B) {
	benchTIFF(b, textPage(b, a4W, a4H, "Benchmark page", true), tiff.Deflate, Options{LosslessAsJPEG: true})
}

func BenchmarkTIFFPageA4BilevelG4(b *testing.B) {
	dir := b.TempDir()
	bw := bilevel(textPage(b, a4W, a4H, "Benchmark page", false))
	g4 := filepath.Join(dir, "a4.tif")
	run(b, "ppm2tiff", "-c", "g4", "-R", "300", writeFile(b, dir, "a4.pbm", pbm(bw)), g4)
	benchPage(b, g4, Options{})
}
