package watcher

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/internal/samplescan"
)

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 128, 255})
		}
	}
	return img
}

// memFile is an io.WriteSeeker over a byte slice, to make a TIFF the pagewise writer's way.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := int(m.pos) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	m.pos = off // the writer only seeks from the start
	return off, nil
}

func TestWholeSaysWhatIsMissing(t *testing.T) {
	var jpg, pngData bytes.Buffer
	if err := jpeg.Encode(&jpg, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&pngData, testImage()); err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\nxref\n0 1\ntrailer << >>\nstartxref\n9\n%%EOF\n")
	// An earlier section's %%EOF does not make an unfinished update whole.
	pdfUpdating := append(append([]byte{}, pdf...), "2 0 obj << >> endobj\nxref\n0 1\ntrailer << >>\nstartxref\n70\n"...)
	tiff := &memFile{}
	var onePage []byte
	err := samplescan.WriteTIFFPagewise(tiff, []image.Image{testImage(), testImage()}, 200, func(int) {
		onePage = append([]byte{}, tiff.b...)
	})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cases := []struct {
		name  string
		data  []byte
		whole bool
		says  string
	}{
		{"scan.jpg", jpg.Bytes(), true, ""},
		{"cut.jpg", jpg.Bytes()[:jpg.Len()-2], false, "JPEG has no end marker"},
		{"half.jpg", jpg.Bytes()[:jpg.Len()/2], false, "JPEG has no end marker"},
		{"scan.png", pngData.Bytes(), true, ""},
		{"cut.png", pngData.Bytes()[:pngData.Len()-12], false, "IEND"},
		{"scan.pdf", pdf, true, ""},
		{"cut.pdf", pdf[:len(pdf)-7], false, "%%EOF"},
		{"updating.pdf", pdfUpdating, false, "%%EOF"},
		{"scan.tif", tiff.b, true, ""},
		{"between-pages.tif", onePage, true, ""}, // valid 1-page TIFF: the lease and settle time judge this one
		// The libtiff way, stopped in the middle of page 2's pixels: page 1 is linked, the
		// rest belongs to no page yet.
		{"stopped.tif", append(append([]byte{}, onePage...), bytes.Repeat([]byte{0x80}, 100<<10)...), false, "page 2 of the TIFF is not all there (1 whole page before it; the last"},
		{"cut.tif", tiff.b[:len(tiff.b)-100], false, "page 2 of the TIFF is not all there"},
		{"header.tif", tiff.b[:8], false, "page 1 of the TIFF is not all there"},
		{"empty.tif", []byte("II*\x00\x00\x00\x00\x00"), false, "TIFF has no page"},
		{"notes.txt", []byte("not a scan"), true, ""},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		ok, why := Whole(p)
		if ok != c.whole || !strings.Contains(why, c.says) {
			t.Errorf("%s: whole %v (%q), want %v naming %q", c.name, ok, why, c.whole, c.says)
		}
	}
	if _, why := Whole(filepath.Join(dir, "cut.tif")); !strings.Contains(why, "1 whole page before it") {
		t.Errorf("the reason does not count the pages found: %q", why)
	}
}
