package scan

import (
	"bytes"
	"fmt"
	"image"
	"path/filepath"
	"testing"
)

func TestScannerPDFFromJPEGs(t *testing.T) {
	dir := t.TempDir()
	a := encodeJPEG(t, textPage(t, 2480/4, 3508/4, "Page one", true))
	b := encodeJPEG(t, textPage(t, 3508/4, 2480/4, "Page two", false))
	aPath := writeFile(t, dir, "a.jpg", a)
	bPath := writeFile(t, dir, "b.jpg", b)
	pdfPath := filepath.Join(dir, "scan.pdf")
	run(t, "img2pdf", "--imgsize", "300dpi", "-o", pdfPath, aPath, bPath)

	doc, err := Open(pdfPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.Format != "pdf" || doc.NumPages != 2 {
		t.Fatalf("Format, NumPages = %q, %d; want pdf, 2", doc.Format, doc.NumPages)
	}
	for i, want := range [][]byte{a, b} {
		p, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Data, want) || !bytes.Equal(p.OCRImage, want) || p.Filter != "DCTDecode" {
			t.Errorf("page %d: the JPEG did not come back byte-identical (filter %q)", i+1, p.Filter)
		}
		if p.DPIX != 300 || p.DPIY != 300 || !p.DPIKnown {
			t.Errorf("page %d: dpi %v x %v known=%v; want 300", i+1, p.DPIX, p.DPIY, p.DPIKnown)
		}
		if p.Gray != (i == 1) || p.Rotate != 0 {
			t.Errorf("page %d: Gray %v Rotate %d", i+1, p.Gray, p.Rotate)
		}
	}
}

func TestScannerPDFLosslessImages(t *testing.T) {
	dir := t.TempDir()
	gray := textPage(t, 400, 160, "Flate", false)
	pngPath := writeFile(t, dir, "g.png", encodePNG(t, gray))
	bw := bilevel(textPage(t, 403, 160, "G4", false))
	g4 := filepath.Join(dir, "bw.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "200", writeFile(t, dir, "bw.pbm", pbm(bw)), g4)
	pdfPath := filepath.Join(dir, "lossless.pdf")
	// img2pdf keeps PNG data as Flate with PNG predictors and G4 as
	// CCITTFaxDecode; --rotation 90 sets the page's /Rotate.
	run(t, "img2pdf", "--imgsize", "150dpi", "--rotation", "90", "-o", pdfPath, pngPath, g4)

	doc, err := Open(pdfPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	p, err := doc.Page(0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Filter != "FlateDecode" || !p.Gray || p.BitsPerComponent != 8 || p.DPIX != 150 || p.Rotate != 90 {
		t.Errorf("PNG page: filter %q gray %v bpc %d dpi %v rotate %d; want FlateDecode, grey, 8, 150, 90", p.Filter, p.Gray, p.BitsPerComponent, p.DPIX, p.Rotate)
	}
	if !bytes.Equal(inflate(t, p.Data), grayPix(gray.(*image.Gray))) {
		t.Error("PNG page: samples differ from the source image")
	}
	p, err = doc.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	if p.BitsPerComponent != 1 || !p.Gray || p.Width != 403 {
		t.Errorf("G4 page: bpc %d gray %v width %d; want 1, grey, 403", p.BitsPerComponent, p.Gray, p.Width)
	}
	if !bytes.Equal(inflate(t, p.Data), packedPDFGray(bw)) {
		t.Error("G4 page: 1-bit samples differ from the source image")
	}
	checkPNM(t, p, packedPDFGray(bw))
}

// The page's samples must mean to a real PDF reader what they meant in
// the scan: embed Data in a minimal PDF and let poppler extract it.
func TestPageDataReadsBackThroughPoppler(t *testing.T) {
	dir := t.TempDir()
	path, gray, rgb, bw := makeTIFF(t, dir)
	doc, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	for i, want := range [][]byte{grayPix(gray), rgbPix(rgb), nil, packedPDFGray(bw)} {
		if want == nil {
			continue
		}
		p, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		cs := "/DeviceRGB"
		if p.Gray {
			cs = "/DeviceGray"
		}
		pdf := imagePDF(p, cs)
		pdfPath := writeFile(t, dir, fmt.Sprintf("p%d.pdf", i+1), pdf)
		prefix := filepath.Join(dir, fmt.Sprintf("x%d", i+1))
		// -png writes what poppler decoded from our stream and dictionary.
		run(t, "pdfimages", "-png", pdfPath, prefix)
		back, err := Open(prefix+"-000.png", Options{})
		if err != nil {
			t.Fatal(err)
		}
		bp, err := back.Page(0)
		back.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pageSamples(t, bp), want) {
			t.Errorf("page %d: poppler reads different pixels from our Data", i+1)
		}
	}
}

// imagePDF wraps one page's image in a one-page PDF.
func imagePDF(p *Page, colorSpace string) []byte {
	w := float64(p.Width) * 72 / p.DPIX
	h := float64(p.Height) * 72 / p.DPIY
	content := fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", w, h)
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>", w, h),
		stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /%s%s",
			p.Width, p.Height, colorSpace, p.BitsPerComponent, p.Filter, decodeParms(p)), p.Data),
		stream("", []byte(content)),
	)
}

func TestPDFPageRotateAndScannerOCRLayer(t *testing.T) {
	dir := t.TempDir()
	jpg := encodeJPEG(t, textPage(t, 200, 100, "x", false))
	// An invisible text layer (render mode 3), as scanners with built-in
	// OCR write, is accepted; the page is inherited /Rotate 270.
	content := "q 144 0 0 72 0 0 cm /Im0 Do Q BT 3 Tr /F1 12 Tf 10 10 Td (hidden) Tj ET"
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 270 /MediaBox [0 0 144 72] >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
		stream("/Type /XObject /Subtype /Image /Width 200 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", jpg),
		stream("", []byte(content)),
	)
	path := writeFile(t, dir, "ocr.pdf", pdf)
	_, p := openPage(t, path, Options{}, 0)
	if p.Rotate != 270 || p.DPIX != 100 || p.DPIY != 100 || !bytes.Equal(p.Data, jpg) {
		t.Errorf("rotate %d dpi %v x %v same bytes %v; want 270, 100 x 100, true", p.Rotate, p.DPIX, p.DPIY, bytes.Equal(p.Data, jpg))
	}
}
