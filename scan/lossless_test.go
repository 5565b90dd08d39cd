package scan

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/ccitt"

	"scanstation/certify/pdfa"
	"scanstation/internal/judge"
)

// pageSamples decodes a page's Data into the samples a PDF reader gets from it: inflated, with
// a PNG's row filters undone, or fax-decoded. The PNG rows are read by image/png from the data
// put back behind an IHDR; the fax data by x/image/ccitt. Poppler, the independent reader, is
// the judge in TestLosslessPagesInPDF.
func pageSamples(tb testing.TB, p *Page) []byte {
	tb.Helper()
	switch {
	case p.Filter == "FlateDecode" && p.Predictor == 0:
		return inflate(tb, p.Data)
	case p.Filter == "FlateDecode" && p.Predictor == 15:
		ihdr := make([]byte, 13)
		binary.BigEndian.PutUint32(ihdr, uint32(p.Width))
		binary.BigEndian.PutUint32(ihdr[4:], uint32(p.Height))
		ihdr[8] = byte(p.BitsPerComponent)
		if !p.Gray {
			ihdr[9] = 2
		}
		file := []byte("\x89PNG\r\n\x1a\n")
		file = append(file, pngChunk("IHDR", ihdr)...)
		file = append(file, pngChunk("IDAT", p.Data)...)
		file = append(file, pngChunk("IEND", nil)...)
		img, err := png.Decode(bytes.NewReader(file))
		if err != nil {
			tb.Fatalf("page %d: the PNG rows do not decode: %v", p.Number, err)
		}
		switch {
		case !p.Gray:
			return rgbPix(img)
		case p.BitsPerComponent == 1:
			return packedPDFGray(img.(*image.Gray))
		}
		return grayPix(img.(*image.Gray))
	case p.Filter == "CCITTFaxDecode":
		r := ccitt.NewReader(bytes.NewReader(p.Data), ccitt.MSB, ccitt.Group4, p.Width, p.Height, &ccitt.Options{Invert: p.CCITT.BlackIs1})
		out, err := io.ReadAll(r)
		if err != nil {
			tb.Fatalf("page %d: the fax data does not decode: %v", p.Number, err)
		}
		return out
	}
	tb.Fatalf("page %d: Data is %q with predictor %d, not lossless samples", p.Number, p.Filter, p.Predictor)
	return nil
}

// bilevelPNG writes a 1-bit grey PNG (1 white), which image/png cannot: rows alternately
// unfiltered and filtered Up, as an encoder choosing filters row by row would.
func bilevelPNG(tb testing.TB, g *image.Gray) []byte {
	tb.Helper()
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	rows := packedPDFGray(g)
	stride := (w + 7) / 8
	var raw bytes.Buffer
	for y := range h {
		row := rows[y*stride : (y+1)*stride]
		if y%2 == 0 {
			raw.WriteByte(0)
			raw.Write(row)
			continue
		}
		raw.WriteByte(2) // Up: each byte less the one above
		above := rows[(y-1)*stride : y*stride]
		for x := range row {
			raw.WriteByte(row[x] - above[x])
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 1 // bit depth; colour type 0, grey
	file := []byte("\x89PNG\r\n\x1a\n")
	file = append(file, pngChunk("IHDR", ihdr)...)
	// The image data in two chunks, as most encoders split it.
	half := z.Len() / 2
	file = append(file, pngChunk("IDAT", z.Bytes()[:half])...)
	file = append(file, pngChunk("IDAT", z.Bytes()[half:])...)
	return append(file, pngChunk("IEND", nil)...)
}

// interlacedPNG writes an 8-bit grey PNG in Adam7's seven passes, which image/png reads but
// does not write; each pass's rows unfiltered.
func interlacedPNG(tb testing.TB, g *image.Gray) []byte {
	tb.Helper()
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	var raw bytes.Buffer
	for _, pass := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		x0, y0, dx, dy := pass[0], pass[1], pass[2], pass[3]
		if x0 >= w || y0 >= h {
			continue // an empty pass has no rows, not even their filter bytes
		}
		for y := y0; y < h; y += dy {
			raw.WriteByte(0)
			for x := x0; x < w; x += dx {
				raw.WriteByte(g.GrayAt(x, y).Y)
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[12] = 8, 1 // 8-bit grey, Adam7
	file := []byte("\x89PNG\r\n\x1a\n")
	file = append(file, pngChunk("IHDR", ihdr)...)
	file = append(file, pngChunk("IDAT", z.Bytes())...)
	return append(file, pngChunk("IEND", nil)...)
}

// idat returns a PNG file's image data, all IDAT chunks joined.
func idat(tb testing.TB, file []byte) []byte {
	tb.Helper()
	var data []byte
	for off := 8; off+12 <= len(file); {
		n := int(binary.BigEndian.Uint32(file[off:]))
		if string(file[off+4:off+8]) == "IDAT" {
			data = append(data, file[off+8:off+8+n]...)
		}
		off += 12 + n
	}
	if len(data) == 0 {
		tb.Fatal("the PNG has no image data")
	}
	return data
}

// withChunkAfterIHDR inserts a chunk after IHDR.
func withChunkAfterIHDR(p []byte, kind string, data []byte) []byte {
	const afterIHDR = 8 + 12 + 13
	return append(append(append([]byte{}, p[:afterIHDR]...), pngChunk(kind, data)...), p[afterIHDR:]...)
}

// g4TIFF writes img as a Group 4 TIFF with ppm2tiff (WhiteIsZero, as it writes them), in
// strips of rowsPerStrip rows, and returns the file and its first strip.
func g4TIFF(tb testing.TB, dir, name string, img *image.Gray, rowsPerStrip int) (path string, strip []byte) {
	tb.Helper()
	in := writeFile(tb, dir, name+".pbm", pbm(img))
	path = filepath.Join(dir, name+".tif")
	run(tb, "ppm2tiff", "-c", "g4", "-R", "300", "-r", fmt.Sprint(rowsPerStrip), in, path)
	return path, firstStrip(tb, path)
}

// firstStrip reads a little-endian TIFF's first strip, by its own directory.
func firstStrip(tb testing.TB, path string) []byte {
	tb.Helper()
	file, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := newTIFFReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		tb.Fatal(err)
	}
	ifd, err := t.readIFD(t.first)
	if err != nil {
		tb.Fatal(err)
	}
	off, _ := ifd.uint(tagStripOffsets)
	n, _ := ifd.uint(tagStripBytes)
	return file[off : off+n]
}

// sameSamples says whether two pages' samples show the same pixels: 1-bit rows may differ in
// the bits that pad them to a whole byte, which show nothing.
func sameSamples(a, b []byte, p *Page) bool {
	if len(a) != len(b) {
		return false
	}
	if p.BitsPerComponent != 1 || p.Width%8 == 0 {
		return bytes.Equal(a, b)
	}
	stride := (p.Width + 7) / 8
	mask := byte(0xff) << (8 - p.Width%8)
	for i := range a {
		if (i+1)%stride == 0 {
			if a[i]&mask != b[i]&mask {
				return false
			}
		} else if a[i] != b[i] {
			return false
		}
	}
	return true
}

func negative(b []byte) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = ^v
	}
	return out
}

// keptCase is a lossless file and what scan must make of it.
type keptCase struct {
	name      string
	path      string
	opt       Options
	filter    string
	predictor int
	blackIs1  bool
	data      []byte // the bytes Data must be, when the file's own are kept
	samples   []byte // what Data decodes to, as DeviceGray or DeviceRGB samples
}

// keptCases makes the files of TestLosslessKept: the PNG and G4 TIFF pages whose compressed
// data go into the PDF as they are, and their neighbours that cannot and are compressed anew.
func keptCases(t *testing.T) []keptCase {
	dir := t.TempDir()
	const w, h = 620, 877 // A4 at 75 dpi; the width not a multiple of 8
	colour := textPage(t, w, h, "Công văn 2417", true)
	grey := textPage(t, w, h, "Sao y bản chính", false).(*image.Gray)
	bw := bilevel(textPage(t, w+3, h, "Quyết định", false))

	colourPNG := encodePNG(t, colour)
	greyPNG := encodePNG(t, grey)
	bwPNG := bilevelPNG(t, bw)
	palette := image.NewPaletted(colour.Bounds(), color.Palette{color.White, color.Black, color.RGBA{200, 30, 30, 255}})
	for y := range h {
		for x := range w {
			palette.Set(x, y, colour.At(x, y))
		}
	}
	paletteSamples := rgbPix(palette)
	grey16 := image.NewGray16(grey.Bounds())
	for y := range h {
		for x := range w {
			v := uint16(grey.GrayAt(x, y).Y)
			grey16.SetGray16(x, y, color.Gray16{v<<8 | v})
		}
	}
	// tRNS on an RGB file names a colour as transparent, here one the page does not use:
	// the page is composited onto white all the same, so its rows cannot be kept.
	colourTRNS := withChunkAfterIHDR(colourPNG, "tRNS", []byte{0, 1, 0, 2, 0, 3})

	g4, g4Strip := g4TIFF(t, dir, "g4", bw, h)
	g4Strips, _ := g4TIFF(t, dir, "g4-strips", bw, 64)
	g4BlackIsZero := filepath.Join(dir, "g4-biz.tif")
	raw, _ := os.ReadFile(g4)
	writeFile(t, dir, filepath.Base(g4BlackIsZero), raw)
	run(t, "tiffset", "-s", "262", "1", g4BlackIsZero)
	g4LSB := filepath.Join(dir, "g4-lsb.tif")
	run(t, "tiffcp", "-f", "lsb2msb", g4, g4LSB)

	file := func(name string, data []byte) string { return writeFile(t, dir, name, data) }
	colourPath, greyPath, bwPath := file("colour.png", colourPNG), file("grey.png", greyPNG), file("bw.png", bwPNG)
	return []keptCase{
		{name: "colour PNG", path: colourPath, filter: "FlateDecode", predictor: 15, data: idat(t, colourPNG), samples: rgbPix(colour)},
		{name: "grey PNG", path: greyPath, filter: "FlateDecode", predictor: 15, data: idat(t, greyPNG), samples: grayPix(grey)},
		{name: "bilevel PNG", path: bwPath, filter: "FlateDecode", predictor: 15, data: idat(t, bwPNG), samples: packedPDFGray(bw)},
		{name: "bilevel PNG, lossless as JPEG", path: bwPath, opt: Options{LosslessAsJPEG: true}, filter: "FlateDecode", predictor: 15, data: idat(t, bwPNG), samples: packedPDFGray(bw)},
		{name: "G4 TIFF", path: g4, filter: "CCITTFaxDecode", data: g4Strip, samples: packedPDFGray(bw)},
		{name: "G4 TIFF, BlackIsZero", path: g4BlackIsZero, filter: "CCITTFaxDecode", blackIs1: true, data: g4Strip, samples: negative(packedPDFGray(bw))},
		{name: "G4 TIFF, lossless as JPEG", path: g4, opt: Options{LosslessAsJPEG: true}, filter: "CCITTFaxDecode", data: g4Strip, samples: packedPDFGray(bw)},

		// Compressed anew: the file's data is not what a PDF image reads.
		{name: "palette PNG", path: file("palette.png", encodePNG(t, palette)), filter: "FlateDecode", samples: paletteSamples},
		{name: "16-bit grey PNG", path: file("grey16.png", encodePNG(t, grey16)), filter: "FlateDecode", samples: grayPix(grey)},
		{name: "interlaced grey PNG", path: file("interlaced.png", interlacedPNG(t, grey)), filter: "FlateDecode", samples: grayPix(grey)},
		{name: "colour PNG with tRNS", path: file("trns.png", colourTRNS), filter: "FlateDecode", samples: rgbPix(colour)},
		{name: "G4 TIFF in strips", path: g4Strips, filter: "FlateDecode", samples: packedPDFGray(bw)},
		{name: "G4 TIFF, FillOrder 2", path: g4LSB, filter: "FlateDecode", samples: packedPDFGray(bw)},
	}
}

// TestLosslessKept: a PNG's compressed rows and a TIFF's Group 4 strip become the page's data
// byte for byte, decoding to the source's pixels, while the OCR image is decoded as before.
// Files whose data a PDF image cannot read as it is are decoded and compressed anew.
func TestLosslessKept(t *testing.T) {
	for _, c := range keptCases(t) {
		t.Run(c.name, func(t *testing.T) {
			_, p := openPage(t, c.path, c.opt, 0)
			if p.Filter != c.filter || p.Predictor != c.predictor {
				t.Fatalf("filter %q, predictor %d; want %q, %d", p.Filter, p.Predictor, c.filter, c.predictor)
			}
			if c.filter == "CCITTFaxDecode" && (p.CCITT.K != -1 || p.CCITT.BlackIs1 != c.blackIs1 || p.BitsPerComponent != 1 || !p.Gray) {
				t.Errorf("CCITT %+v, bpc %d, grey %v; want K -1, BlackIs1 %v, 1-bit grey", p.CCITT, p.BitsPerComponent, p.Gray, c.blackIs1)
			}
			if c.data != nil && !bytes.Equal(p.Data, c.data) {
				t.Errorf("Data is %d bytes, not the file's own %d", len(p.Data), len(c.data))
			}
			if got := pageSamples(t, p); !sameSamples(got, c.samples, p) {
				t.Errorf("Data decodes to %d bytes that differ from the source's %d", len(got), len(c.samples))
			}
			checkPNM(t, p, c.samples)
			if p.Thumb == nil || p.DPIX <= 0 {
				t.Errorf("thumbnail %v, %v dpi", p.Thumb, p.DPIX)
			}
		})
	}
	// A preview wants pixels only: nothing to keep.
	c := keptCases(t)[0]
	if _, p := openPage(t, c.path, Options{PixelsOnly: true}, 0); p.Data != nil || p.Filter != "" || p.Predictor != 0 {
		t.Errorf("pixels only: %d bytes of %q, predictor %d; want none", len(p.Data), p.Filter, p.Predictor)
	}
}

// TestLosslessPagesInPDF: kept pages go into a PDF/A file byte for byte, with the
// /DecodeParms that read them, and poppler decodes each to the source's exact pixels.
func TestLosslessPagesInPDF(t *testing.T) {
	var cases []keptCase
	for _, c := range keptCases(t) {
		if c.data != nil && c.opt == (Options{}) {
			cases = append(cases, c)
		}
	}
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatal(err)
	}
	doc := &pdfa.Document{Title: "lossless pages", OutputICC: icc}
	var pages []*Page
	for _, c := range cases {
		_, p := openPage(t, c.path, Options{}, 0)
		cs := pdfa.RGB
		if p.Gray {
			cs = pdfa.Gray
		}
		// As the station's pdfaPage hands a page over.
		doc.Pages = append(doc.Pages, pdfa.Page{Image: pdfa.Image{
			Width: p.Width, Height: p.Height, DPIX: p.DPIX, DPIY: p.DPIY, ColorSpace: cs,
			BitsPerComponent: p.BitsPerComponent, Filter: p.Filter, Data: p.Data,
			Predictor: p.Predictor, CCITT: pdfa.CCITTParams{K: p.CCITT.K, BlackIs1: p.CCITT.BlackIs1},
		}})
		pages = append(pages, p)
	}
	var out bytes.Buffer
	if err := pdfa.Write(&out, doc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "out.pdf", out.Bytes())
	for i, c := range cases {
		p := pages[i]
		if !bytes.Contains(out.Bytes(), c.data) {
			t.Errorf("%s: the file's data is not in the PDF byte for byte", c.name)
		}
		colors := 3
		if p.Gray {
			colors = 1
		}
		want := fmt.Sprintf("/DecodeParms <</Predictor 15 /Colors %d /BitsPerComponent %d /Columns %d>>", colors, p.BitsPerComponent, p.Width)
		if c.filter == "CCITTFaxDecode" {
			want = fmt.Sprintf("/Filter /CCITTFaxDecode /DecodeParms <</K -1 /Columns %d /Rows %d", p.Width, p.Height)
			if c.blackIs1 {
				want += " /BlackIs1 true"
			}
			want += ">>"
		}
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("%s: the PDF lacks %q", c.name, want)
		}
	}

	run(t, "pdfimages", "-png", path, filepath.Join(dir, "im"))
	for i, c := range cases {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("im-%03d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: poppler's image: %v", c.name, err)
		}
		var samples []byte
		switch g := got.(type) {
		case *image.Gray:
			samples = grayPix(g)
			if pages[i].BitsPerComponent == 1 {
				samples = packedPDFGray(g)
			}
		default:
			samples = rgbPix(got)
		}
		if !sameSamples(samples, c.samples, pages[i]) {
			t.Errorf("%s: poppler decodes the page's image (%v) to other pixels than the source's", c.name, got.Bounds())
		}
	}

	if rep := judge.PDFA(t, path); !rep.Compliant {
		t.Fatalf("veraPDF: not PDF/A-2u:\n%s", rep.Summary())
	}
	if t.Failed() {
		t.Logf("PDF kept at %s", strings.TrimSpace(path))
	}
}

// decodeParms gives the /DecodeParms a kept page's data is read with, as pdfa writes them.
func decodeParms(p *Page) string {
	switch {
	case p.Predictor != 0:
		colors := 3
		if p.Gray {
			colors = 1
		}
		return fmt.Sprintf(" /DecodeParms <</Predictor %d /Colors %d /BitsPerComponent %d /Columns %d>>", p.Predictor, colors, p.BitsPerComponent, p.Width)
	case p.Filter == "CCITTFaxDecode":
		return fmt.Sprintf(" /DecodeParms <</K %d /Columns %d /Rows %d /BlackIs1 %v>>", p.CCITT.K, p.Width, p.Height, p.CCITT.BlackIs1)
	}
	return ""
}
