package scan

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"scanstation/internal/judge"
)

// Fixtures are made by the tests themselves: Go's encoders, then the same
// command-line tools (tiffcp, ppm2tiff, img2pdf, qpdf) that produce the
// files scanners and offices actually send.

const fontPath = "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"

// textPage draws black words on white paper, in colour or grey.
func textPage(tb testing.TB, w, h int, words string, colour bool) image.Image {
	tb.Helper()
	raw, err := os.ReadFile(fontPath)
	if err != nil {
		tb.Fatalf("font for test pages: %v", err)
	}
	f, err := opentype.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(h) / 6, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		tb.Fatal(err)
	}
	defer face.Close()
	var dst draw.Image
	if colour {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewGray(image.Rect(0, 0, w, h))
	}
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	if colour {
		// A red band, so a colour page really is in colour.
		draw.Draw(dst, image.Rect(0, 0, w, h/12), image.NewUniform(color.RGBA{200, 30, 30, 255}), image.Point{}, draw.Src)
	}
	d := font.Drawer{Dst: dst, Src: image.Black, Face: face, Dot: fixed.P(w/20, h/2)}
	d.DrawString(words)
	return dst
}

// bilevel thresholds a grey image to pure black and white.
func bilevel(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y >= 128 {
				g.SetGray(x, y, color.Gray{255})
			}
		}
	}
	return g
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// withJFIF inserts a JFIF APP0 segment after SOI: Go's encoder writes none,
// so its files carry no resolution.
func withJFIF(j []byte, units byte, x, y uint16) []byte {
	app0 := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, units, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(app0[12:], x)
	binary.BigEndian.PutUint16(app0[14:], y)
	return append(append(append([]byte{}, j[:2]...), app0...), j[2:]...)
}

// withEXIFResolution inserts an APP1 EXIF segment whose IFD0 gives the
// resolution in dots per inch.
func withEXIFResolution(j []byte, dpi uint32) []byte {
	le := binary.LittleEndian
	tiffBlock := []byte("II*\x00\x08\x00\x00\x00")
	ifd := make([]byte, 2+3*12+4)
	le.PutUint16(ifd, 3)
	entry := func(k int, tag, typ uint16, count, value uint32) {
		e := ifd[2+12*k:]
		le.PutUint16(e, tag)
		le.PutUint16(e[2:], typ)
		le.PutUint32(e[4:], count)
		le.PutUint32(e[8:], value)
	}
	ratOff := uint32(8 + len(ifd))
	entry(0, tagXResolution, 5, 1, ratOff)
	entry(1, tagYResolution, 5, 1, ratOff)
	entry(2, tagResolutionUnit, 3, 1, 2)
	rat := make([]byte, 8)
	le.PutUint32(rat, dpi)
	le.PutUint32(rat[4:], 1)
	body := append(append(append([]byte("Exif\x00\x00"), tiffBlock...), ifd...), rat...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	seg = append(seg, body...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func pngChunk(kind string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], kind)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPHYs inserts a pHYs chunk (pixels per metre) after IHDR.
func withPHYs(p []byte, perMetre uint32) []byte {
	data := make([]byte, 9)
	binary.BigEndian.PutUint32(data, perMetre)
	binary.BigEndian.PutUint32(data[4:], perMetre)
	data[8] = 1
	const afterIHDR = 8 + 12 + 13
	return append(append(append([]byte{}, p[:afterIHDR]...), pngChunk("pHYs", data)...), p[afterIHDR:]...)
}

// pbm encodes a black-and-white image as a raw PBM for ppm2tiff.
func pbm(g *image.Gray) []byte {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	out := fmt.Appendf(nil, "P4\n%d %d\n", w, h)
	row := (w + 7) / 8
	for y := 0; y < h; y++ {
		line := make([]byte, row)
		for x := 0; x < w; x++ {
			if g.GrayAt(x, y).Y < 128 {
				line[x/8] |= 0x80 >> (x % 8)
			}
		}
		out = append(out, line...)
	}
	return out
}

// packedPDFGray packs a black-and-white image as 1-bit DeviceGray rows.
func packedPDFGray(g *image.Gray) []byte {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	row := (w + 7) / 8
	out := make([]byte, row*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if g.GrayAt(x, y).Y >= 128 {
				out[y*row+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return out
}

func grayPix(g *image.Gray) []byte {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	out := make([]byte, 0, w*h)
	for y := 0; y < h; y++ {
		out = append(out, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return out
}

func rgbPix(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out
}

func inflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("page data is not zlib: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("page data does not inflate: %v", err)
	}
	return out
}

func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// run runs a tool that makes a fixture; it must exit 0. A tool that is missing fails the
// test (judge.Run), and its stderr is shown only if the test fails.
func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, ok := judge.Run(tb, name, args...); !ok {
		tb.Fatalf("%s %s failed:\n%s", name, strings.Join(args, " "), out)
	}
}

// buildPDF writes a PDF from numbered object bodies (object 1 is the
// catalog), with a correct cross-reference table.
func buildPDF(objects ...string) []byte {
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, body := range objects {
		offsets[i] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return buf.Bytes()
}

func stream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}
