package scan

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"scanstation/internal/samplescan"
)

// grainy adds paper texture and sensor noise (±16 levels) to a page, so the
// fixtures compress as scans do rather than as flat renderings.
func grainy(img image.Image) image.Image {
	seed := uint32(1)
	next := func(v uint8) uint8 {
		seed = seed*1664525 + 1013904223
		return uint8(max(0, min(255, int(v)+int(seed>>27)-16)))
	}
	switch m := img.(type) {
	case *image.Gray:
		for i, v := range m.Pix {
			m.Pix[i] = next(v)
		}
	case *image.RGBA:
		for i, v := range m.Pix {
			if i%4 != 3 {
				m.Pix[i] = next(v)
			}
		}
	}
	return img
}

// TestLeptonicaSameAsGo: a TIFF page read for its pixels alone (by Leptonica) is the page read
// for a PDF (by x/image/tiff), sample for sample: its size, resolution, depth, OCR image and
// thumbnail, so a preview and the mark's place drawn from it are those of the signed page.
// For each compression and photometric scanners write, and page 2 of a multi-page file.
func TestLeptonicaSameAsGo(t *testing.T) {
	dir := t.TempDir()
	// An A5 page at 150 dpi, width not a multiple of 8.
	const w, h = 875, 1240
	grey := grainy(textPage(t, w, h, "Grey page", false))
	colour := grainy(textPage(t, w, h, "Colour page", true))
	bw := bilevel(textPage(t, w, h, "Bilevel page", false))
	encode := func(name string, img image.Image) string {
		var buf bytes.Buffer
		if err := tiff.Encode(&buf, img, &tiff.Options{Compression: tiff.Uncompressed}); err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, dir, name, buf.Bytes())
		run(t, "tiffset", "-s", "282", "150", p)
		run(t, "tiffset", "-s", "283", "150", p)
		return p
	}
	greyRaw := encode("grey.tif", grey)
	// x/image/tiff writes colour with alpha; scanners write RGB, as samplescan does.
	var rgb bytes.Buffer
	if err := samplescan.WriteTIFF(&rgb, []image.Image{colour}, 150); err != nil {
		t.Fatal(err)
	}
	colourRaw := filepath.Join(dir, "colour.tif")
	run(t, "tiffcp", "-c", "none", writeFile(t, dir, "colour-zip.tif", rgb.Bytes()), colourRaw)
	files := map[string]string{"grey none": greyRaw, "colour none": colourRaw}
	for _, c := range []string{"lzw", "zip", "packbits"} {
		for name, src := range map[string]string{"grey": greyRaw, "colour": colourRaw} {
			p := filepath.Join(dir, name+"-"+c+".tif")
			run(t, "tiffcp", "-c", c, src, p)
			files[name+" "+c] = p
		}
	}
	// The same samples marked WhiteIsZero: both decoders must turn them over.
	whiteIsZero := filepath.Join(dir, "grey-wiz.tif")
	run(t, "tiffcp", "-c", "lzw", greyRaw, whiteIsZero)
	run(t, "tiffset", "-s", "262", "0", whiteIsZero)
	files["grey lzw WhiteIsZero"] = whiteIsZero

	g4 := filepath.Join(dir, "g4.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "150", writeFile(t, dir, "bw.pbm", pbm(bw)), g4)
	files["bilevel g4"] = g4
	g4BlackIsZero := filepath.Join(dir, "g4-biz.tif")
	run(t, "tiffcp", g4, g4BlackIsZero)
	run(t, "tiffset", "-s", "262", "1", g4BlackIsZero)
	files["bilevel g4 BlackIsZero"] = g4BlackIsZero
	multi := filepath.Join(dir, "multi.tif")
	run(t, "tiffcp", "-c", "zip", greyRaw, colourRaw, g4, multi)

	check := func(t *testing.T, path string, index int) {
		full, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		want, err := full.Page(index)
		if err != nil {
			t.Fatal(err)
		}
		pixels, err := Open(path, Options{PixelsOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer pixels.Close()
		got, ok := pixels.tiffPixelsPage(index)
		if !ok {
			t.Fatal("Leptonica did not read the page")
		}
		if got.Number != want.Number || got.Width != want.Width || got.Height != want.Height ||
			got.DPIX != want.DPIX || got.DPIY != want.DPIY || got.DPIKnown != want.DPIKnown ||
			got.Gray != want.Gray || got.BitsPerComponent != want.BitsPerComponent || got.ColorDepth != want.ColorDepth ||
			got.ThumbScale != want.ThumbScale || got.Data != nil || got.Filter != "" {
			t.Errorf("page %+v,\nwant %+v (without Data)", summary(got), summary(want))
		}
		if !samePixels(got, want) {
			t.Errorf("OCR image differs: mean difference %.2f a byte", meanDiff(got.OCRImage, want.OCRImage))
		}
		if !bytes.Equal(got.Thumb.Pix, want.Thumb.Pix) {
			t.Error("thumbnail differs")
		}
		if page, err := pixels.Page(index); err != nil || !bytes.Equal(page.OCRImage, got.OCRImage) {
			t.Errorf("Page with PixelsOnly is not the page Leptonica read (error %v)", err)
		}
	}
	for name, path := range files {
		t.Run(name, func(t *testing.T) { check(t, path, 0) })
	}
	t.Run("multi-page page 2", func(t *testing.T) { check(t, multi, 1) })
	t.Run("multi-page page 3", func(t *testing.T) { check(t, multi, 2) })

	// A page Leptonica does not take (16-bit grey) is read by the Go decoder.
	deep := image.NewGray16(image.Rect(0, 0, 40, 30))
	deep.SetGray16(3, 4, color.Gray16{Y: 0x1234})
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, deep, nil); err != nil {
		t.Fatal(err)
	}
	doc, err := Open(writeFile(t, dir, "deep.tif", buf.Bytes()), Options{PixelsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if _, ok := doc.tiffPixelsPage(0); ok {
		t.Error("Leptonica read a 16-bit page")
	}
	if p, err := doc.Page(0); err != nil || p.ColorDepth != 16 {
		t.Errorf("16-bit page read for pixels: %v, depth %d", err, p.ColorDepth)
	}
}

// samePixels compares two pages' OCR images, except for the padding bits at the end of a
// bilevel row, which stand for no pixel (the Go path leaves them as its polarity fix
// turned them).
func samePixels(a, b *Page) bool {
	if len(a.OCRImage) != len(b.OCRImage) {
		return false
	}
	if a.BitsPerComponent != 1 || a.Width%8 == 0 {
		return bytes.Equal(a.OCRImage, b.OCRImage)
	}
	rowBytes := (a.Width + 7) / 8
	start := len(a.OCRImage) - rowBytes*a.Height
	mask := byte(0xff << (8 - a.Width%8))
	for i := range a.OCRImage {
		x, y := a.OCRImage[i], b.OCRImage[i]
		if i >= start && (i-start)%rowBytes == rowBytes-1 {
			x, y = x&mask, y&mask
		}
		if x != y {
			return false
		}
	}
	return true
}

func summary(p *Page) Page {
	s := *p
	s.Data, s.OCRImage, s.Thumb = nil, nil, nil
	return s
}

func meanDiff(a, b []byte) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 255
	}
	var sum int
	for i := range a {
		sum += max(int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return float64(sum) / float64(len(a))
}

// TestLeptonicaDamagedPage: a damaged or cut-short page read for its pixels is refused with
// the words the station uses when it reads it for a PDF.
func TestLeptonicaDamagedPage(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, grainy(textPage(t, 600, 400, "Cut", true)), &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	// The directory x/image/tiff writes follows the samples: keep it, and spoil the
	// compressed samples in the middle.
	spoilt := bytes.Clone(whole)
	for i := 8 + len(whole)/3; i < 8+len(whole)/3+64; i++ {
		spoilt[i] ^= 0x5a
	}
	path := writeFile(t, dir, "spoilt.tif", spoilt)
	var errs [2]error
	for k, opt := range []Options{{}, {PixelsOnly: true}} {
		doc, err := Open(path, opt)
		if err != nil {
			t.Fatal(err)
		}
		_, errs[k] = doc.Page(0)
		doc.Close()
	}
	var ie *InputError
	if errs[1] == nil || !errors.As(errs[1], &ie) {
		t.Fatalf("spoilt page read for pixels: error %v, want an InputError", errs[1])
	}
	if errs[0] == nil || errs[0].Error() != errs[1].Error() {
		t.Errorf("read for pixels: %v\nread for a PDF: %v", errs[1], errs[0])
	}
	if !strings.Contains(errs[1].Error(), "damaged") {
		t.Errorf("error %q does not say the page is damaged", errs[1])
	}
	os.Remove(path)
}

// FuzzPixelsOnly is FuzzOpen for pages read for their pixels alone, which Leptonica (libtiff,
// in C, where a fault is no recoverable panic) decodes when they look plain: whatever the
// bytes, no crash or hang, and a page is refused, or read, exactly when it is so for a PDF,
// with the same pixels. Its seeds are FuzzOpen's corpus and hostile seeds.
func FuzzPixelsOnly(f *testing.F) {
	for _, seed := range hostileSeeds() {
		f.Add(seed)
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzOpen", "*"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		// The corpus files are in the "go test fuzz v1" encoding: one []byte("...") line.
		lines := strings.SplitN(string(data), "\n", 2)
		if len(lines) == 2 && strings.HasPrefix(lines[1], "[]byte(") {
			if v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(lines[1]), "[]byte("), ")")); err == nil {
				f.Add([]byte(v))
			}
		}
	}
	dir := f.TempDir()
	var n int
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("scan-%d", n))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		stop := watchdog(fuzzDeadline, data)
		defer stop()
		d, err := Open(path, Options{Limits: fuzzLimits, PixelsOnly: true})
		if err != nil {
			checkFuzzError(t, "Open", err)
			return
		}
		defer d.Close()
		full, err := Open(path, Options{Limits: fuzzLimits})
		if err != nil {
			t.Fatalf("opened for pixels, not for a PDF: %v", err)
		}
		defer full.Close()
		for i := 0; i < d.NumPages; i++ {
			p, err := d.Page(i)
			want, fullErr := full.Page(i)
			if err != nil {
				checkFuzzError(t, fmt.Sprintf("Page(%d)", i), err)
				if fullErr == nil {
					t.Fatalf("page %d refused for pixels (%v), read for a PDF", i+1, err)
				}
				continue
			}
			if fullErr != nil {
				t.Fatalf("page %d read for pixels, refused for a PDF: %v", i+1, fullErr)
			}
			if p.Width != want.Width || p.Height != want.Height || p.BitsPerComponent != want.BitsPerComponent ||
				!samePixels(p, want) || !bytes.Equal(p.Thumb.Pix, want.Thumb.Pix) {
				t.Fatalf("page %d read for pixels differs from the page read for a PDF", i+1)
			}
		}
	})
}
