package scan

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// deflated is n bytes of spaces, Flate-compressed: about a thousand times
// smaller than what it claims.
func deflated(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for ; n > 0; n -= len(chunk) {
		w.Write(chunk[:min(n, len(chunk))])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// scannerPage is a scanner PDF page (one JPEG covering an A4 page) whose
// content streams are the given objects from 5 on, with more objects after.
func scannerPage(jpg []byte, contents string, more ...string) []byte {
	return buildPDF(append([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R /Fm0 6 0 R >> >> /Contents " + contents + " >>",
		stream("/Type /XObject /Subtype /Image /Width 300 /Height 200 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jpg),
	}, more...)...)
}

// A few hundred kilobytes of PDF can claim hundreds of megabytes of page
// content. A scanner's page content is one line: anything past the limit
// is refused without being unpacked.
func TestPDFContentBombsAreRefusedWithoutUnpacking(t *testing.T) {
	dir := t.TempDir()
	jpg := encodeJPEG(t, textPage(t, 300, 200, "Bomb", true))
	draw := []byte("q 595 0 0 842 0 0 cm /Im0 Do Q")
	bomb := deflated(t, 256<<20)
	justUnder := deflated(t, maxPageContent*3/4)
	noForm := stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1]", nil)

	cases := []struct {
		name string
		pdf  []byte
	}{
		{"one stream", scannerPage(jpg, "[5 0 R 7 0 R]", stream("", draw), noForm, stream("/Filter /FlateDecode", bomb))},
		{"a stream under the limit listed twice", scannerPage(jpg, "[5 0 R 7 0 R 7 0 R]", stream("", draw), noForm, stream("/Filter /FlateDecode", justUnder))},
		{"in a form", scannerPage(jpg, "5 0 R", stream("", append(draw, " /Fm0 Do"...)),
			stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Filter /FlateDecode", bomb))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Open(writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+".pdf", c.pdf), Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer doc.Close()
			n := allocated(func() { _, err = doc.Page(0) })
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T); want *InputError", err, err)
			}
			if !strings.Contains(err.Error(), "far more drawing instructions than a scanned page") || ie.Page != 1 {
				t.Errorf("message %q; want it to say the page holds far more drawing instructions than a scanned page", err)
			}
			if n > 16<<20 {
				t.Errorf("refusing the page allocated %d MB", n>>20)
			}
			t.Log(err)
		})
	}

	// The limit leaves room: a scanner page with its content under the limit is read.
	ok := scannerPage(jpg, "[5 0 R 7 0 R]", stream("", draw), noForm, stream("/Filter /FlateDecode", justUnder))
	doc, err := Open(writeFile(t, dir, "under.pdf", ok), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if _, err := doc.Page(0); err != nil {
		t.Errorf("a page with %d bytes of content was refused: %v", maxPageContent*3/4, err)
	}
}

// tiffWithLongDirectories is a TIFF of pages 8×8 pixels whose directories
// each list extra, meaningless entries besides the ones a page needs.
func tiffWithLongDirectories(pages, extra int) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	for p := range pages {
		n := 9 + extra
		at := uint32(b.Len())
		data := at + 2 + uint32(12*n) + 4
		next := data + 64
		if p == pages-1 {
			next = 0
		}
		entry := func(tag, typ uint16, v uint32) {
			binary.Write(&b, le, tag)
			binary.Write(&b, le, typ)
			binary.Write(&b, le, uint32(1))
			binary.Write(&b, le, v) // SHORTs are little-endian in the low bytes
		}
		binary.Write(&b, le, uint16(n))
		entry(256, 4, 8)
		entry(257, 4, 8)
		entry(258, 3, 8)
		entry(259, 3, 1)
		entry(262, 3, 1)
		entry(273, 4, data)
		entry(277, 3, 1)
		entry(278, 4, 8)
		entry(279, 4, 64)
		for k := range extra {
			entry(uint16(400+k), 4, 0) // past every tag a TIFF reader knows
		}
		binary.Write(&b, le, next)
		b.Write(bytes.Repeat([]byte{0xFF}, 64))
	}
	return b.Bytes()
}

// A directory may list 65535 entries; what Open keeps of each page while
// the document is open must not grow with them.
func TestTIFFOpenKeepsLittleOfLongDirectories(t *testing.T) {
	data := tiffWithLongDirectories(16, 65000)
	path := writeFile(t, t.TempDir(), "long-directories.tif", data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	doc, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if kept > 2<<20 {
		t.Errorf("an open %d-page TIFF of %s keeps %d KB", doc.NumPages, byteSize(int64(len(data))), kept>>10)
	}
	if doc.NumPages != 16 {
		t.Fatalf("%d pages; want 16", doc.NumPages)
	}
	p, err := doc.Page(15)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%d×%d", p.Width, p.Height); got != "8×8" {
		t.Errorf("page 16 is %s; want 8×8", got)
	}
}
