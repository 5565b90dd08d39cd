package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every refusal must be an *InputError whose message names the file and
// says, in words an operator understands, what is wrong.
func TestBadInputsAreRefusedWithPlainReasons(t *testing.T) {
	dir := t.TempDir()
	jpg := encodeJPEG(t, textPage(t, 300, 200, "Bad", true))
	grayJPG := encodeJPEG(t, textPage(t, 300, 200, "Bad", false))
	png := encodePNG(t, textPage(t, 300, 200, "Bad", false))
	tiffPath, _, _, _ := makeTIFF(t, dir)
	tiffData, _ := os.ReadFile(tiffPath)
	goodPDF := filepath.Join(dir, "good.pdf")
	run(t, "img2pdf", "-o", goodPDF, writeFile(t, dir, "in.jpg", jpg))
	encrypted := filepath.Join(dir, "encrypted.pdf")
	run(t, "qpdf", "--encrypt", "u", "o", "256", "--", goodPDF, encrypted)
	encryptedData, _ := os.ReadFile(encrypted)
	ownerOnly := filepath.Join(dir, "owner-only.pdf")
	run(t, "qpdf", "--encrypt", "", "o", "256", "--", goodPDF, ownerOnly)
	ownerOnlyData, _ := os.ReadFile(ownerOnly)

	cases := []struct {
		name     string
		data     []byte
		opt      Options
		page     int    // 0: Open must fail; k: Page(k-1) must fail
		wantPage int    // the page the error names
		want     string // a phrase the reason must contain
	}{
		{"empty", nil, Options{}, 0, 0, "empty"},
		{"text file", []byte("Kính gửi: Sở Nội vụ\nVề việc số hoá hồ sơ\n"), Options{}, 0, 0, "text file"},
		{"word document", []byte("PK\x03\x04\x14\x00\x06\x00"), Options{}, 0, 0, "office document"},
		{"truncated JPEG", jpg[:len(jpg)/2], Options{}, 1, 0, "incomplete"},
		{"truncated JPEG header", jpg[:40], Options{}, 0, 0, "damaged or incomplete"},
		{"truncated PNG", png[:len(png)/2], Options{}, 1, 0, "incomplete"},
		{"truncated TIFF", tiffData[:len(tiffData)*2/3], Options{}, 0, 3, "damaged or incomplete"},
		{"damaged TIFF strip", corruptTIFFStrip(t, tiffData), Options{}, 1, 1, "damaged"},
		{"zero-size JPEG", jpegWithSize(grayJPG, 0, 0), Options{}, 0, 0, "empty (0×0 pixels)"},
		{"JPEG bomb", jpegWithSize(grayJPG, 65000, 65000), Options{}, 0, 0, "more than the 200 million"},
		{"PNG bomb", pngWithSize(png, 100000, 100000), Options{}, 0, 0, "100000×100000 pixels"},
		{"CMYK JPEG", jpegWithComponents(grayJPG, 4), Options{}, 0, 0, "scan in RGB colour"},
		{"too many pages", tiffData, Options{Limits: Limits{MaxPages: 3}}, 0, 0, "more than 3 pages"},
		{"too large", jpg, Options{Limits: Limits{MaxFileSize: 1000}}, 0, 0, "larger than the"},
		{"TIFF page too large", tiffData, Options{Limits: Limits{MaxPixels: 60000}}, 0, 1, "more than the 60000 pixels"},
		{"encrypted PDF", encryptedData, Options{}, 0, 0, "encrypted"},
		{"PDF with owner password only", ownerOnlyData, Options{}, 0, 0, "encrypted"},
		{"signed PDF", signedPDF(jpg), Options{}, 0, 0, "already carries a digital signature"},
		{"vector-only PDF", onePagePDF("0 0 m 500 700 l S", nil), Options{}, 1, 1, "not made by a scanner"},
		{"blank PDF page", onePagePDF("", nil), Options{}, 1, 1, "not made by a scanner"},
		{"text on top of scan", onePagePDF("q 595 0 0 842 0 0 cm /Im0 Do Q BT /F1 12 Tf (Approved) Tj ET", jpg), Options{}, 1, 1, "not made by a scanner"},
		{"image not covering page", onePagePDF("q 300 0 0 200 0 0 cm /Im0 Do Q", jpg), Options{}, 1, 1, "does not cover"},
		{"two images", onePagePDF("q 595 0 0 842 0 0 cm /Im0 Do Q q 595 0 0 842 0 0 cm /Im0 Do Q", jpg), Options{}, 1, 1, "made of 2 images"},
		{"truncated PDF", mustRead(t, goodPDF)[:200], Options{}, 0, 0, "damaged or incomplete"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-"), c.data)
			doc, err := Open(path, c.opt)
			if c.page > 0 {
				if err != nil {
					t.Fatalf("Open should succeed (the problem is in the pixels): %v", err)
				}
				defer doc.Close()
				_, err = doc.Page(c.page - 1)
			} else if err == nil {
				doc.Close()
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T); want *InputError", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || ie.Path != path {
				t.Errorf("message %q does not name the file %s", msg, path)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q; want it to say %q", msg, c.want)
			}
			if ie.Page != c.wantPage {
				t.Errorf("error names page %d; want %d", ie.Page, c.wantPage)
			}
			if c.wantPage > 0 && !strings.Contains(msg, fmt.Sprintf("page %d", c.wantPage)) {
				t.Errorf("message %q does not name page %d", msg, c.wantPage)
			}
			t.Log(msg)
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sofOffset finds the baseline frame header of a JPEG Go encoded.
func sofOffset(j []byte) int {
	return bytes.Index(j, []byte{0xFF, 0xC0})
}

func jpegWithSize(j []byte, w, h uint16) []byte {
	out := append([]byte{}, j...)
	off := sofOffset(out)
	binary.BigEndian.PutUint16(out[off+5:], h)
	binary.BigEndian.PutUint16(out[off+7:], w)
	return out
}

func jpegWithComponents(j []byte, n byte) []byte {
	out := append([]byte{}, j...)
	out[sofOffset(out)+9] = n
	return out
}

func pngWithSize(p []byte, w, h uint32) []byte {
	out := append([]byte{}, p...)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

// onePagePDF is an A4 page with the given content; jpg, if any, is /Im0.
func onePagePDF(content string, jpg []byte) []byte {
	if jpg == nil {
		jpg = []byte{0xFF, 0xD8, 0xFF, 0xD9}
	}
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
		stream("/Type /XObject /Subtype /Image /Width 300 /Height 200 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jpg),
		stream("", []byte(content)),
	)
}

// signedPDF is a scanner-like page whose AcroForm has a signature field
// with a value: a signed document.
func signedPDF(jpg []byte) []byte {
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R /Annots [6 0 R] >>",
		stream("/Type /XObject /Subtype /Image /Width 300 /Height 200 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jpg),
		stream("", []byte("q 595 0 0 842 0 0 cm /Im0 Do Q")),
		"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P 3 0 R /V 7 0 R >>",
		"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 10] /Contents <3082> >>",
	)
}

// corruptTIFFStrip overwrites the start of page 1's last strip, keeping
// every directory intact.
func corruptTIFFStrip(t *testing.T, data []byte) []byte {
	t.Helper()
	r, err := newTIFFReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ifd, err := r.readIFD(r.first)
	if err != nil {
		t.Fatal(err)
	}
	e := ifd.entries[273] // StripOffsets
	var off uint32
	if e.count == 1 {
		off, _ = ifd.uint(273)
	} else {
		// The offsets are stored elsewhere; take the last one.
		at := int(r.order.Uint32(e.value[:])) + 4*int(e.count-1)
		off = r.order.Uint32(data[at:])
	}
	out := append([]byte{}, data...)
	for k := int(off) + 2; k < int(off)+64 && k < len(out); k++ {
		out[k] = 0
	}
	return out
}

// An empty signature field (a place prepared for signing) is not a
// signature: nothing is destroyed by processing, so it is accepted.
func TestUnsignedSignatureFieldIsAccepted(t *testing.T) {
	jpg := encodeJPEG(t, textPage(t, 300, 200, "x", true))
	unsigned := bytes.Replace(signedPDF(jpg), []byte(" /V 7 0 R"), []byte("         "), 1)
	path := writeFile(t, t.TempDir(), "unsigned.pdf", unsigned)
	doc, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("an unsigned signature field was refused: %v", err)
	}
	doc.Close()
}
