package scan

import (
	"bytes"
	"compress/zlib"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ocrmypdfFile is a scanner PDF from OCRmyPDF's test resources
// (testdata/ocrmypdf/README.md says whose and under which licence).
func ocrmypdfFile(name string) string { return filepath.Join("testdata", "ocrmypdf", name) }

func firstPage(t *testing.T, path string) (*Page, error) {
	t.Helper()
	doc, err := Open(path, Options{})
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	return doc.Page(0)
}

// TestJBIG2PageKeptAndDecoded: OCRmyPDF's jbig2.pdf, a real 300 dpi JBIG2
// page with shared symbols, keeps its stream and globals byte for byte,
// decodes to the page poppler draws, and is flagged as symbol coding.
func TestJBIG2PageKeptAndDecoded(t *testing.T) {
	path := ocrmypdfFile("jbig2.pdf")
	p, err := firstPage(t, path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Filter != "JBIG2Decode" || len(p.Data) != 8797 || !bytes.Contains(raw, p.Data) {
		t.Errorf("filter %q, %d bytes: want the file's own 8797-byte JBIG2Decode stream", p.Filter, len(p.Data))
	}
	if len(p.JBIG2Globals) != 28846 {
		t.Errorf("globals are %d bytes, want the 28846 of the decoded /JBIG2Globals stream", len(p.JBIG2Globals))
	}
	if !p.JBIG2Symbols {
		t.Error("a page coded with a symbol dictionary and a text region is not flagged as symbol coding")
	}
	if p.Width != 2550 || p.Height != 3300 || p.DPIX != 300 || p.BitsPerComponent != 1 || !p.Gray || p.ColorDepth != 1 {
		t.Errorf("page %d×%d at %v dpi, %d bpc, gray %v, depth %d", p.Width, p.Height, p.DPIX, p.BitsPerComponent, p.Gray, p.ColorDepth)
	}
	// Poppler's own JBIG2 decoder (pdfimages writes the image as stored)
	// must agree with jbig2dec to the pixel.
	dir := t.TempDir()
	run(t, "pdfimages", path, filepath.Join(dir, "img"))
	ref, err := os.ReadFile(filepath.Join(dir, "img-000.pbm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.OCRImage, ref) {
		t.Errorf("the page jbig2dec decoded differs from poppler's decoding of the same image")
	}
}

func TestJBIG2DeviceNRefused(t *testing.T) {
	_, err := firstPage(t, ocrmypdfFile("jbig2_baddevicen.pdf"))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Page != 1 || !strings.Contains(ie.Reason, "JBIG2") {
		t.Fatalf("err = %v; want an InputError for page 1 naming JBIG2", err)
	}
}

// TestJPXPageKeptAndDecoded: OCRmyPDF's lichtenstein.pdf, a JPEG 2000 page.
func TestJPXPageKeptAndDecoded(t *testing.T) {
	path := ocrmypdfFile("lichtenstein.pdf")
	p, err := firstPage(t, path)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if p.Filter != "JPXDecode" || !bytes.HasPrefix(p.Data, []byte("\x00\x00\x00\x0cjP  ")) || !bytes.Contains(raw, p.Data) {
		t.Errorf("filter %q: want the file's own JP2 stream", p.Filter)
	}
	if p.Width != 512 || p.Height != 512 || !p.Gray || p.BitsPerComponent != 8 || p.ColorDepth != 8 || p.JBIG2Symbols {
		t.Errorf("page %d×%d gray %v bpc %d depth %d", p.Width, p.Height, p.Gray, p.BitsPerComponent, p.ColorDepth)
	}
	if w, h, ok := jpxSize(p.Data); w != 512 || h != 512 || !ok {
		t.Errorf("jpxSize = %d, %d, %v; want the SIZ marker's 512, 512", w, h, ok)
	}
	if !bytes.HasPrefix(p.OCRImage, []byte("P5\n512 512\n255\n")) || len(p.OCRImage) != 15+512*512 {
		t.Errorf("OCR image is not a 512×512 PGM: %q", p.OCRImage[:min(20, len(p.OCRImage))])
	}
}

// cutStream rewrites a PDF with the image stream's data cut to n bytes and
// /Length to match, so the file is well formed but the image is not whole.
func cutStream(t *testing.T, pdf []byte, marker string, n int) []byte {
	t.Helper()
	i := bytes.Index(pdf, []byte(marker))
	if i < 0 {
		t.Fatalf("%q not in the PDF", marker)
	}
	s := bytes.Index(pdf[i:], []byte("stream")) + i + len("stream")
	for pdf[s] == '\r' || pdf[s] == '\n' {
		s++
	}
	e := bytes.Index(pdf[s:], []byte("endstream")) + s
	out := append([]byte{}, pdf[:s]...)
	out = append(out, pdf[s:s+n]...)
	out = append(out, '\n')
	return append(out, pdf[e:]...)
}

// TestTruncatedJBIG2AndJPXRefused: a cut-off JBIG2 stream decodes without a
// word from jbig2dec (the bottom of the page is simply missing), and a cut
// JPEG 2000 stream fails in OpenJPEG; both must be refused with the file
// and page named.
func TestTruncatedJBIG2AndJPXRefused(t *testing.T) {
	for _, c := range []struct{ file, filter string }{{"jbig2.pdf", "/JBIG2Decode"}, {"lichtenstein.pdf", "/JPXDecode"}} {
		// qpdf fixes /Length from the data and rebuilds the cross-reference table.
		dir := t.TempDir()
		qdf := filepath.Join(dir, "q.pdf")
		run(t, "qpdf", "--qdf", "--object-streams=disable", ocrmypdfFile(c.file), qdf)
		q, err := os.ReadFile(qdf)
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(dir, "cut.pdf")
		fixed := filepath.Join(dir, "cut-fixed.pdf")
		writeFile(t, dir, "cut.pdf", cutStream(t, q, c.filter, 4000))
		out, err := exec.Command("fix-qdf", cut).Output()
		if err != nil {
			t.Fatalf("fix-qdf: %v", err)
		}
		writeFile(t, dir, "cut-fixed.pdf", out)
		_, err = firstPage(t, fixed)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Page != 1 || !strings.Contains(err.Error(), fixed) {
			t.Fatalf("%s cut to 4000 bytes: err = %v; want an InputError naming the file and page 1", c.file, err)
		}
		t.Logf("%s: %v", c.file, err)
	}
}

// TestFlateWrappedJPEGKept: a JPEG wrapped in Flate ([/FlateDecode
// /DCTDecode]) keeps the stream as stored; OCR reads the JPEG inside.
func TestFlateWrappedJPEGKept(t *testing.T) {
	jpg := encodeJPEG(t, textPage(t, 620, 877, "Flate wrapped", true))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(jpg)
	zw.Close()
	wrapped := z.Bytes()
	build := func(data []byte) []byte {
		content := "q 148.80 0 0 210.48 0 0 cm /Im0 Do Q"
		return buildPDF(
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 148.80 210.48] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
			stream("/Type /XObject /Subtype /Image /Width 620 /Height 877 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter [/FlateDecode /DCTDecode]", data),
			stream("", []byte(content)),
		)
	}
	dir := t.TempDir()
	p, err := firstPage(t, writeFile(t, dir, "flate-dct.pdf", build(wrapped)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Filter != "FlateDecode DCTDecode" || !bytes.Equal(p.Data, wrapped) || !bytes.Equal(p.OCRImage, jpg) {
		t.Errorf("filter %q: want the Flate stream kept and the JPEG inside for OCR", p.Filter)
	}
	if p.Width != 620 || p.Height != 877 || p.DPIX != 300 || p.Gray {
		t.Errorf("page %d×%d at %v dpi gray %v", p.Width, p.Height, p.DPIX, p.Gray)
	}
	_, err = firstPage(t, writeFile(t, dir, "cut.pdf", build(wrapped[:len(wrapped)/2])))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Page != 1 {
		t.Fatalf("a cut Flate-wrapped JPEG: err = %v; want an InputError for page 1", err)
	}
}

func TestJBIG2Coding(t *testing.T) {
	seg := func(num uint32, typ byte, data []byte) []byte {
		b := []byte{byte(num >> 24), byte(num >> 16), byte(num >> 8), byte(num), typ, 0, 1}
		n := len(data)
		b = append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		return append(b, data...)
	}
	pageInfo := seg(1, 48, append([]byte{0, 0, 0, 100, 0, 0, 0, 50}, make([]byte, 11)...))
	generic := seg(2, 38, make([]byte, 40))
	text := seg(2, 6, make([]byte, 40))
	for _, c := range []struct {
		name    string
		streams [][]byte
		symbols bool
		err     bool
	}{
		{"generic only", [][]byte{nil, append(append([]byte{}, pageInfo...), generic...)}, false, false},
		{"text region", [][]byte{nil, append(append([]byte{}, pageInfo...), text...)}, true, false},
		{"symbol dictionary in globals", [][]byte{seg(0, 0, make([]byte, 10)), append(append([]byte{}, pageInfo...), generic...)}, true, false},
		{"cut in data", [][]byte{nil, append(append([]byte{}, pageInfo...), generic[:30]...)}, false, true},
		{"cut in header", [][]byte{nil, append(append([]byte{}, pageInfo...), generic[:6]...)}, false, true},
		{"page larger than the PDF says", [][]byte{nil, seg(1, 48, append([]byte{0, 1, 0, 0, 0, 1, 0, 0}, make([]byte, 11)...))}, false, true},
	} {
		symbols, err := jbig2Coding(100, 50, c.streams...)
		if symbols != c.symbols || (err != nil) != c.err {
			t.Errorf("%s: symbols %v err %v; want %v, error %v", c.name, symbols, err, c.symbols, c.err)
		}
	}
}

// TestMissingDecoderNamed: a station without jbig2dec or opj_decompress
// refuses the page with the Debian package to install, not a crash.
func TestMissingDecoderNamed(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for file, pkg := range map[string]string{"jbig2.pdf": "jbig2dec", "lichtenstein.pdf": "libopenjp2-tools"} {
		_, err := firstPage(t, ocrmypdfFile(file))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Page != 1 || !strings.Contains(ie.Reason, "Debian package "+pkg) {
			t.Errorf("%s without its decoder: err = %v; want an InputError for page 1 naming %s", file, err, pkg)
		}
	}
}
