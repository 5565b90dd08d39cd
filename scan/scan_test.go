package scan

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/tiff"
)

func openPage(t *testing.T, path string, opt Options, i int) (*Document, *Page) {
	t.Helper()
	doc, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { doc.Close() })
	p, err := doc.Page(i)
	if err != nil {
		t.Fatalf("Page(%d) of %s: %v", i, path, err)
	}
	return doc, p
}

func TestJPEGPassesThroughWithJFIFDensity(t *testing.T) {
	dir := t.TempDir()
	for _, colour := range []bool{false, true} {
		img := textPage(t, 620, 877, "Scan", colour)
		data := withJFIF(encodeJPEG(t, img), 1, 300, 300)
		path := writeFile(t, dir, "page.bin", data) // the name says nothing of the type
		doc, p := openPage(t, path, Options{}, 0)
		if doc.Format != "jpeg" || doc.NumPages != 1 {
			t.Errorf("Format, NumPages = %q, %d; want jpeg, 1", doc.Format, doc.NumPages)
		}
		if !bytes.Equal(p.Data, data) || !bytes.Equal(p.OCRImage, data) {
			t.Error("JPEG bytes were not passed through unchanged")
		}
		if p.Filter != "DCTDecode" || p.BitsPerComponent != 8 || p.Gray == colour {
			t.Errorf("Filter %q, bpc %d, Gray %v for colour=%v", p.Filter, p.BitsPerComponent, p.Gray, colour)
		}
		if p.Width != 620 || p.Height != 877 || p.Number != 1 {
			t.Errorf("size %dx%d number %d; want 620x877 number 1", p.Width, p.Height, p.Number)
		}
		if p.DPIX != 300 || p.DPIY != 300 || !p.DPIKnown {
			t.Errorf("dpi %v x %v known=%v; want 300 known", p.DPIX, p.DPIY, p.DPIKnown)
		}
	}
}

func TestJPEGResolutionSources(t *testing.T) {
	dir := t.TempDir()
	plain := encodeJPEG(t, textPage(t, 200, 100, "x", false))
	cases := []struct {
		name      string
		data      []byte
		opt       Options
		wantX     float64
		wantY     float64
		wantKnown bool
	}{
		{"JFIF dots per cm", withJFIF(plain, 2, 118, 79), Options{}, 300, 201, true},
		{"JFIF aspect ratio only", withJFIF(plain, 0, 1, 1), Options{}, 300, 300, false},
		{"EXIF", withEXIFResolution(plain, 200), Options{}, 200, 200, true},
		{"JFIF wins over EXIF", withJFIF(withEXIFResolution(plain, 200), 1, 400, 400), Options{}, 400, 400, true},
		{"none, default assumption", plain, Options{}, 300, 300, false},
		{"none, configured assumption", plain, Options{AssumeDPI: 200}, 200, 200, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_"), c.data)
			_, p := openPage(t, path, c.opt, 0)
			if p.DPIX != c.wantX || p.DPIY != c.wantY || p.DPIKnown != c.wantKnown {
				t.Errorf("dpi %v x %v known=%v; want %v x %v known=%v", p.DPIX, p.DPIY, p.DPIKnown, c.wantX, c.wantY, c.wantKnown)
			}
		})
	}
}

func TestPNG(t *testing.T) {
	dir := t.TempDir()
	gray := textPage(t, 300, 120, "Ab", false).(*image.Gray)
	rgb := textPage(t, 300, 120, "Ab", true)

	// Half-transparent red on a transparent background: must land on white paper.
	alpha := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	alpha.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	alpha.SetNRGBA(1, 0, color.NRGBA{255, 0, 0, 128})
	alpha.SetNRGBA(2, 0, color.NRGBA{0, 0, 0, 0})
	alpha.SetNRGBA(3, 0, color.NRGBA{0, 0, 255, 255})

	gray16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	gray16.SetGray16(0, 0, color.Gray16{0x1234})
	gray16.SetGray16(1, 0, color.Gray16{0xfedc})

	grayPal := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.Gray{0}, color.Gray{128}, color.Gray{255}})
	grayPal.Pix = []uint8{2, 1, 0}
	colourPal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{200, 100, 0, 255}})
	colourPal.Pix = []uint8{1, 0}

	cases := []struct {
		name     string
		img      image.Image
		wantGray bool
		want     []byte
	}{
		{"grey", gray, true, grayPix(gray)},
		{"colour", rgb, false, rgbPix(rgb)},
		{"alpha onto white", alpha, false, []byte{255, 0, 0, 255, 127, 127, 255, 255, 255, 0, 0, 255}},
		{"16-bit grey", gray16, true, []byte{0x12, 0xfe}},
		{"grey palette", grayPal, true, []byte{255, 128, 0}},
		{"colour palette", colourPal, false, []byte{200, 100, 0, 10, 20, 30}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, "scan", withPHYs(encodePNG(t, c.img), 11811))
			doc, p := openPage(t, path, Options{}, 0)
			if doc.Format != "png" {
				t.Errorf("Format %q; want png", doc.Format)
			}
			if p.Gray != c.wantGray || p.BitsPerComponent != 8 || p.Filter != "FlateDecode" {
				t.Errorf("Gray %v bpc %d filter %q; want Gray %v, 8, FlateDecode", p.Gray, p.BitsPerComponent, p.Filter, c.wantGray)
			}
			if got := pageSamples(t, p); !bytes.Equal(got, c.want) {
				if len(got) < 20 {
					t.Errorf("samples %v; want %v", got, c.want)
				} else {
					t.Errorf("samples differ from the source image (%d bytes, want %d)", len(got), len(c.want))
				}
			}
			if p.DPIX != 300 || p.DPIY != 300 || !p.DPIKnown {
				t.Errorf("dpi %v x %v known=%v; want 300 from pHYs 11811/m", p.DPIX, p.DPIY, p.DPIKnown)
			}
			checkPNM(t, p, c.want)
		})
	}
}

// checkPNM checks the OCR image is a PNM of the page's pixels.
func checkPNM(t *testing.T, p *Page, samples []byte) {
	t.Helper()
	magic := "P6"
	switch {
	case p.BitsPerComponent == 1:
		magic = "P4"
	case p.Gray:
		magic = "P5"
	}
	if !bytes.HasPrefix(p.OCRImage, []byte(magic+"\n")) {
		t.Errorf("OCRImage starts %q; want a %s PNM", p.OCRImage[:min(len(p.OCRImage), 12)], magic)
		return
	}
	body := p.OCRImage[len(p.OCRImage)-len(samples):]
	if magic == "P4" {
		inverted := make([]byte, len(body))
		for i, b := range body {
			inverted[i] = ^b
		}
		body = inverted
	}
	if !bytes.Equal(body, samples) {
		t.Error("OCRImage pixels differ from the page's samples")
	}
}

// makeTIFF writes a 4-page TIFF as scanners do: grey LZW, colour Deflate,
// grey PackBits with 200 dpi, and a CCITT G4 bilevel page (WhiteIsZero,
// as ppm2tiff writes it), each with its own resolution.
func makeTIFF(t testing.TB, dir string) (path string, gray *image.Gray, rgb image.Image, bw *image.Gray) {
	gray = textPage(t, 400, 160, "Gray", false).(*image.Gray)
	rgb = textPage(t, 400, 160, "Colour", true)
	bw = bilevel(textPage(t, 403, 160, "Bilevel", false)) // width not a multiple of 8
	write := func(name string, img image.Image, compression tiff.CompressionType) string {
		var buf bytes.Buffer
		if err := tiff.Encode(&buf, img, &tiff.Options{Compression: compression}); err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, buf.Bytes())
	}
	p1 := write("p1.tif", gray, tiff.Uncompressed)
	p2 := write("p2.tif", rgb, tiff.Deflate)
	p3 := write("p3.tif", gray, tiff.Uncompressed)
	run(t, "tiffset", "-s", "282", "300", p1)
	run(t, "tiffset", "-s", "283", "300", p1)
	run(t, "tiffset", "-s", "282", "200", p3)
	run(t, "tiffset", "-s", "283", "200", p3)
	pbmPath := writeFile(t, dir, "p4.pbm", pbm(bw))
	p4 := filepath.Join(dir, "p4.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "300", pbmPath, p4)
	lzw := filepath.Join(dir, "p1lzw.tif")
	run(t, "tiffcp", "-c", "lzw", p1, lzw)
	pb := filepath.Join(dir, "p3pb.tif")
	run(t, "tiffcp", "-c", "packbits", p3, pb)
	path = filepath.Join(dir, "multi.tif")
	run(t, "tiffcp", lzw, p2, pb, p4, path)
	return path, gray, rgb, bw
}

func TestMultiPageTIFF(t *testing.T) {
	dir := t.TempDir()
	path, gray, rgb, bw := makeTIFF(t, dir)
	doc, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.Format != "tiff" || doc.NumPages != 4 {
		t.Fatalf("Format, NumPages = %q, %d; want tiff, 4", doc.Format, doc.NumPages)
	}
	want := []struct {
		gray    bool
		bpc     int
		dpi     float64
		known   bool
		w, h    int
		samples []byte
	}{
		{true, 8, 300, true, 400, 160, grayPix(gray)},
		{false, 8, 72, true, 400, 160, rgbPix(rgb)}, // x/image/tiff's encoder writes 72 dpi
		{true, 8, 200, true, 400, 160, grayPix(gray)},
		{true, 1, 300, true, 403, 160, packedPDFGray(bw)},
	}
	// Pages in any order and at the same time: each is decoded on its own.
	var wg sync.WaitGroup
	for _, i := range []int{3, 1, 0, 2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := doc.Page(i)
			if err != nil {
				t.Errorf("page %d: %v", i+1, err)
				return
			}
			w := want[i]
			if p.Number != i+1 || p.Gray != w.gray || p.BitsPerComponent != w.bpc || p.Width != w.w || p.Height != w.h {
				t.Errorf("page %d: number %d gray %v bpc %d size %dx%d; want gray %v bpc %d size %dx%d",
					i+1, p.Number, p.Gray, p.BitsPerComponent, p.Width, p.Height, w.gray, w.bpc, w.w, w.h)
			}
			if p.DPIX != w.dpi || p.DPIY != w.dpi || p.DPIKnown != w.known {
				t.Errorf("page %d: dpi %v x %v; want %v", i+1, p.DPIX, p.DPIY, w.dpi)
			}
			if got := pageSamples(t, p); !bytes.Equal(got, w.samples) {
				t.Errorf("page %d: samples differ from the source image", i+1)
			}
			checkPNM(t, p, w.samples)
		}()
	}
	wg.Wait()
}

// A bilevel page whose PhotometricInterpretation is BlackIsZero stores
// the opposite bits from a WhiteIsZero one; both must come out 0 = black.
func TestBilevelTIFFPhotometric(t *testing.T) {
	dir := t.TempDir()
	bw := bilevel(textPage(t, 64, 32, "A", false))
	pbmPath := writeFile(t, dir, "a.pbm", pbm(bw))
	for _, compression := range []string{"none", "g4", "packbits"} {
		whiteIsZero := filepath.Join(dir, compression+".tif")
		run(t, "ppm2tiff", "-c", compression, pbmPath, whiteIsZero)
		_, p := openPage(t, whiteIsZero, Options{}, 0)
		if got := pageSamples(t, p); !bytes.Equal(got, packedPDFGray(bw)) {
			t.Errorf("%s WhiteIsZero: 1-bit samples differ from the image", compression)
		}
		if p.DPIKnown {
			t.Errorf("%s: DPIKnown with no resolution in the file", compression)
		}
		// Same bits, but declared BlackIsZero: the picture is the negative.
		blackIsZero := filepath.Join(dir, compression+"-biz.tif")
		data, _ := os.ReadFile(whiteIsZero)
		writeFile(t, dir, filepath.Base(blackIsZero), data)
		run(t, "tiffset", "-s", "262", "1", blackIsZero)
		_, p = openPage(t, blackIsZero, Options{}, 0)
		negative := packedPDFGray(bw)
		for i := range negative {
			negative[i] = ^negative[i]
		}
		got := pageSamples(t, p)
		if !bytes.Equal(got, negative) {
			t.Errorf("%s BlackIsZero: samples are not the negative of the WhiteIsZero page", compression)
		}
		// libtiff is the judge: its own uncompressed copy must read the same.
		plain := filepath.Join(dir, compression+"-biz-plain.tif")
		run(t, "tiffcp", "-c", "none", blackIsZero, plain)
		_, p = openPage(t, plain, Options{}, 0)
		if !bytes.Equal(pageSamples(t, p), got) {
			t.Errorf("%s BlackIsZero: differs from libtiff's uncompressed copy", compression)
		}
	}
}

func TestLosslessAsJPEG(t *testing.T) {
	dir := t.TempDir()
	path, _, _, _ := makeTIFF(t, dir)
	doc, err := Open(path, Options{LosslessAsJPEG: true, JPEGQuality: 70})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	for i, wantGray := range []bool{true, false} {
		p, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if p.Filter != "DCTDecode" {
			t.Fatalf("page %d: filter %q; want DCTDecode", i+1, p.Filter)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil {
			t.Fatalf("page %d: Data is not a JPEG: %v", i+1, err)
		}
		if cfg.Width != p.Width || cfg.Height != p.Height || (cfg.ColorModel == color.GrayModel) != wantGray {
			t.Errorf("page %d: JPEG %dx%d gray=%v; want %dx%d gray=%v", i+1, cfg.Width, cfg.Height, cfg.ColorModel == color.GrayModel, p.Width, p.Height, wantGray)
		}
		if !bytes.HasPrefix(p.OCRImage, []byte("P")) {
			t.Errorf("page %d: OCR image should stay lossless PNM", i+1)
		}
	}
	p, err := doc.Page(3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Filter != "CCITTFaxDecode" || p.BitsPerComponent != 1 {
		t.Errorf("bilevel page: filter %q bpc %d; want its G4 strip as it is, CCITTFaxDecode 1 (JPEG would blur it)", p.Filter, p.BitsPerComponent)
	}
}

func TestNotFoundAndPermission(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.jpg")
	_, err := Open(missing, Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v; want fs.ErrNotExist naming the path", err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: permission check skipped")
		return
	}
	locked := writeFile(t, dir, "locked.jpg", []byte("x"))
	os.Chmod(locked, 0)
	_, err = Open(locked, Options{})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), locked) {
		t.Errorf("unreadable file: %v; want fs.ErrPermission naming the path", err)
	}
}
