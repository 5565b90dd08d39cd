package pdfa_test

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"scanstation/certify/pdfa"
	"scanstation/internal/judge"
	"scanstation/scan"
)

// scannerImage reads the first page of a scanner PDF the way the station
// does and turns it into the image pdfa embeds.
func scannerImage(t *testing.T, path string) (pdfa.Image, *scan.Page) {
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
	cs := pdfa.RGB
	if p.Gray {
		cs = pdfa.Gray
	}
	return pdfa.Image{Width: p.Width, Height: p.Height, DPIX: p.DPIX, DPIY: p.DPIY, ColorSpace: cs,
		BitsPerComponent: p.BitsPerComponent, Filter: p.Filter, Data: p.Data, Globals: p.JBIG2Globals}, p
}

// flateJPEGPDF writes a scanner PDF whose page is a JPEG wrapped in Flate.
func flateJPEGPDF(t *testing.T, dir string) string {
	img := image.NewRGBA(image.Rect(0, 0, 400, 566))
	for y := 0; y < 566; y++ {
		for x := 0; x < 400; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var j, z bytes.Buffer
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	zw := zlib.NewWriter(&z)
	zw.Write(j.Bytes())
	zw.Close()
	var b bytes.Buffer
	var offsets []int
	obj := func(body string, data []byte) {
		offsets = append(offsets, b.Len())
		b.WriteString(body)
		if data != nil {
			b.WriteString("stream\n")
			b.Write(data)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.7\n")
	obj("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	obj("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 96 135.84] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>", nil)
	obj("4 0 obj\n<< /Type /XObject /Subtype /Image /Width 400 /Height 566 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter [/FlateDecode /DCTDecode] /Length "+itoa(z.Len())+" >>\n", z.Bytes())
	content := "q 96 0 0 135.84 0 0 cm /Im0 Do Q"
	obj("5 0 obj\n<< /Length "+itoa(len(content))+" >>\n", []byte(content))
	xref := b.Len()
	b.WriteString("xref\n0 6\n0000000000 65535 f \n")
	for _, off := range offsets {
		s := itoa(off)
		b.WriteString("0000000000"[len(s):] + s + " 00000 n \n")
	}
	b.WriteString("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n" + itoa(xref) + "\n%%EOF\n")
	path := filepath.Join(dir, "flate-dct.pdf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestScannerCompressionsKeptAndValid: JBIG2 (with globals), JPEG 2000
// and a Flate-wrapped JPEG from scanner PDFs are embedded byte for byte,
// the file is PDF/A-2u by veraPDF, and poppler decodes the embedded image
// as it decoded the scanner's.
func TestScannerCompressionsKeptAndValid(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, path, filter string }{
		{"jbig2", filepath.Join("..", "..", "scan", "testdata", "ocrmypdf", "jbig2.pdf"), "JBIG2Decode"},
		{"jpx", filepath.Join("..", "..", "scan", "testdata", "ocrmypdf", "lichtenstein.pdf"), "JPXDecode"},
		{"flate-dct", flateJPEGPDF(t, dir), "FlateDecode DCTDecode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, _ := scannerImage(t, c.path)
			if img.Filter != c.filter {
				t.Fatalf("scan gave filter %q, want %q", img.Filter, c.filter)
			}
			icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := pdfa.Write(&out, &pdfa.Document{Pages: []pdfa.Page{{Image: img}}, OutputICC: icc, Producer: "scanstation test"}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !bytes.Contains(out.Bytes(), img.Data) {
				t.Error("the scanner's image stream is not in the output byte for byte")
			}
			path := filepath.Join(t.TempDir(), "out.pdf")
			if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if rep := judge.PDFA(t, path); !rep.Compliant {
				t.Fatalf("veraPDF says the file is not PDF/A-2u:\n%s", rep.Summary())
			}
			in, outImg := pdfimages(t, c.path), pdfimages(t, path)
			if !bytes.Equal(in, outImg) {
				t.Errorf("poppler decodes the embedded image differently from the scanner's (%d vs %d bytes)", len(outImg), len(in))
			}
		})
	}
}

// pdfimages is poppler's decoding of a PDF's first image, as PNM.
func pdfimages(t *testing.T, pdf string) []byte {
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
