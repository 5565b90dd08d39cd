package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// fuzzLimits are small so that no input can make one fuzz execution slow:
// every file, page count and page size the station's defaults would let
// through, scaled down.
var fuzzLimits = Limits{
	MaxFileSize: 8 << 20,
	MaxPages:    20,
	MaxPixels:   4_000_000,
}

// fuzzMaxAlloc bounds what one Open or Page call may allocate. The largest
// legitimate page under fuzzLimits is a 4-megapixel 16-bit RGBA TIFF:
// 32 MB decoded, 12 MB of samples, 12 MB of PNM, the Flate output. A call
// that allocates several times that is not bounded by the limits.
const fuzzMaxAlloc = 256 << 20

// fuzzDeadline is how long one input (Open and every page) may take. A
// legitimate input under fuzzLimits takes well under a second.
const fuzzDeadline = 30 * time.Second

// FuzzOpen feeds arbitrary bytes to Open and decodes every page. Whatever
// the bytes, there must be no panic, no hang and no allocation beyond what
// the limits allow, and every refusal must be an *InputError with a reason.
//
// The seed corpus in testdata/fuzz/FuzzOpen holds small real files of
// every kind a scanner sends: JPEG (JFIF and EXIF resolution), PNG (RGB,
// grey, palette, 16-bit, alpha), TIFF (LZW, Deflate, PackBits, none, G3,
// G4, big-endian, multi-page, made by ppm2tiff and tiffcp), and scanner
// PDFs made by img2pdf (JPEG, multi-page, G4, rotated), plus qpdf's
// encrypted and object-stream variants and a signed PDF.
func FuzzOpen(f *testing.F) {
	for _, seed := range hostileSeeds() {
		f.Add(seed)
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

		var d *Document
		err := boundedAlloc(t, "Open", func() (err error) {
			d, err = Open(path, Options{Limits: fuzzLimits})
			return err
		})
		if err != nil {
			checkFuzzError(t, "Open", err)
			return
		}
		defer d.Close()
		if d.NumPages < 1 || d.NumPages > fuzzLimits.MaxPages {
			t.Fatalf("Open accepted %d pages (limit %d)", d.NumPages, fuzzLimits.MaxPages)
		}
		for i := 0; i < d.NumPages; i++ {
			var p *Page
			err := boundedAlloc(t, fmt.Sprintf("Page(%d)", i), func() (err error) {
				p, err = d.Page(i)
				return err
			})
			if err != nil {
				checkFuzzError(t, fmt.Sprintf("Page(%d)", i), err)
				continue
			}
			checkFuzzPage(t, i, p)
		}
	})
}

// boundedAlloc runs fn and fails the test if it allocated more than
// fuzzMaxAlloc bytes.
func boundedAlloc(t *testing.T, what string, fn func() error) error {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := fn()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > fuzzMaxAlloc {
		t.Fatalf("%s allocated %d MiB, more than the %d MiB the limits allow (err: %v)", what, n>>20, fuzzMaxAlloc>>20, err)
	}
	return err
}

// watchdog crashes the process if stop is not called within d. A crash,
// unlike a test failure, is what the fuzzing engine records for an input
// that never returns; the input is printed for the seed-corpus run.
func watchdog(d time.Duration, data []byte) (stop func()) {
	timer := time.AfterFunc(d, func() {
		panic(fmt.Sprintf("input still being read after %v (a hang); %d bytes, starting %q", d, len(data), data[:min(len(data), 64)]))
	})
	return func() { timer.Stop() }
}

func checkFuzzError(t *testing.T, what string, err error) {
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: error is %T, not *InputError: %v", what, err, err)
	}
	if ie.Reason == "" {
		t.Fatalf("%s: InputError without a reason: %#v", what, ie)
	}
}

func checkFuzzPage(t *testing.T, i int, p *Page) {
	switch {
	case p.Number != i+1:
		t.Fatalf("Page(%d).Number = %d", i, p.Number)
	case p.Width <= 0 || p.Height <= 0 || int64(p.Width)*int64(p.Height) > fuzzLimits.MaxPixels:
		t.Fatalf("Page(%d) is %d×%d pixels, outside 1 to %d", i, p.Width, p.Height, fuzzLimits.MaxPixels)
	case len(p.Data) == 0 || len(p.OCRImage) == 0:
		t.Fatalf("Page(%d) has no data (%d bytes) or OCR image (%d bytes)", i, len(p.Data), len(p.OCRImage))
	case p.Filter != "DCTDecode" && p.Filter != "FlateDecode" && p.Filter != "CCITTFaxDecode":
		t.Fatalf("Page(%d).Filter = %q", i, p.Filter)
	case p.BitsPerComponent != 1 && p.BitsPerComponent != 8:
		t.Fatalf("Page(%d).BitsPerComponent = %d", i, p.BitsPerComponent)
	case p.Thumb == nil || p.Thumb.Bounds().Dx() != (p.Width+thumbFactor-1)/thumbFactor || p.Thumb.Bounds().Dy() != (p.Height+thumbFactor-1)/thumbFactor:
		t.Fatalf("Page(%d) of %d×%d has thumbnail %v", i, p.Width, p.Height, p.Thumb)
	case p.DPIX <= 0 || p.DPIY <= 0:
		t.Fatalf("Page(%d) has resolution %g×%g", i, p.DPIX, p.DPIY)
	}
}

// hostileSeeds are small hand-made inputs aimed at the header checks: the
// real files are in testdata/fuzz/FuzzOpen.
func hostileSeeds() [][]byte {
	le := binary.LittleEndian
	// A TIFF whose only directory claims 60000×60000 pixels.
	huge := []byte("II*\x00\x08\x00\x00\x00")
	huge = le.AppendUint16(huge, 2)
	huge = append(huge, tiffEntryBytes(le, tagImageWidth, 4, 1, 60000)...)
	huge = append(huge, tiffEntryBytes(le, tagImageLength, 4, 1, 60000)...)
	huge = le.AppendUint32(huge, 0)
	// A TIFF whose directory points back at itself.
	loop := []byte("II*\x00\x08\x00\x00\x00")
	loop = le.AppendUint16(loop, 2)
	loop = append(loop, tiffEntryBytes(le, tagImageWidth, 3, 1, 8)...)
	loop = append(loop, tiffEntryBytes(le, tagImageLength, 3, 1, 8)...)
	loop = le.AppendUint32(loop, 8)
	return [][]byte{
		{},
		[]byte("Kính gửi: Sở Nội vụ\n"),
		huge,
		loop,
		// A JPEG frame header claiming 65535×65535 pixels and no data.
		[]byte("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9"),
		// A PNG header claiming 100000×100000 pixels.
		[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00IEND\xaeB`\x82"),
		buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im0 5 0 R >> >> >>",
			stream("", []byte("q 612 0 0 792 0 0 cm /Im0 Do Q")),
			stream("/Type /XObject /Subtype /Image /Width 50000 /Height 50000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", []byte("x\x9c\x03\x00\x00\x00\x00\x01"))),
	}
}

func tiffEntryBytes(order binary.AppendByteOrder, tag, typ uint16, count, value uint32) []byte {
	e := order.AppendUint16(nil, tag)
	e = order.AppendUint16(e, typ)
	e = order.AppendUint32(e, count)
	if typ == 3 && count == 1 {
		e = order.AppendUint16(e, uint16(value))
		return append(e, 0, 0)
	}
	return order.AppendUint32(e, value)
}
