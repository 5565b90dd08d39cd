package pdfa

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngIDAT returns the concatenated IDAT data of a PNG file: the zlib
// stream of its filtered rows, which FlateDecode with /Predictor 15 reads.
func pngIDAT(t testing.TB, file []byte) []byte {
	t.Helper()
	var idat []byte
	for i := 8; i+8 <= len(file); {
		n := int(binary.BigEndian.Uint32(file[i:]))
		typ := string(file[i+4 : i+8])
		if typ == "IDAT" {
			idat = append(idat, file[i+8:i+8+n]...)
		}
		i += 12 + n
	}
	if len(idat) == 0 {
		t.Fatal("the PNG has no IDAT chunk")
	}
	return idat
}

// g4Strip makes a one-strip Group 4 TIFF of img with libtiff's ppm2tiff,
// as a scanner's bilevel page is, and returns the strip.
func g4Strip(t testing.TB, img *image.Gray) []byte {
	t.Helper()
	dir := t.TempDir()
	b := img.Bounds()
	var pbm bytes.Buffer
	fmt.Fprintf(&pbm, "P4\n%d %d\n", b.Dx(), b.Dy())
	stride := (b.Dx() + 7) / 8
	for y := 0; y < b.Dy(); y++ {
		row := make([]byte, stride)
		for x := 0; x < b.Dx(); x++ {
			if img.GrayAt(x, y).Y < 128 { // PBM: 1 is black
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		pbm.Write(row)
	}
	in, out := filepath.Join(dir, "page.pbm"), filepath.Join(dir, "page.tif")
	if err := os.WriteFile(in, pbm.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "ppm2tiff", "-c", "g4", "-r", fmt.Sprint(b.Dy()), "-R", "150", in, out)
	tif := readFile(t, out)
	if string(tif[:4]) != "II*\x00" {
		t.Fatalf("ppm2tiff wrote a TIFF that is not little-endian: % x", tif[:4])
	}
	le := binary.LittleEndian
	ifd := int(le.Uint32(tif[4:]))
	var off, count, photometric, compression int = -1, -1, -1, -1
	for i := range int(le.Uint16(tif[ifd:])) {
		e := tif[ifd+2+12*i:]
		v := int(le.Uint32(e[8:]))
		if le.Uint16(e[2:]) == 3 { // SHORT, kept in the first two bytes
			v = int(le.Uint16(e[8:]))
		}
		switch le.Uint16(e) {
		case 259:
			compression = v
		case 262:
			photometric = v
		case 273:
			off = v
		case 279:
			count = v
		}
	}
	if compression != 4 || photometric != 0 || off < 0 || count <= 0 {
		t.Fatalf("ppm2tiff's TIFF: compression %d, photometric %d, strip at %d (%d bytes); want one G4 WhiteIsZero strip", compression, photometric, off, count)
	}
	return tif[off : off+count]
}

// TestLosslessDataKeptAsItIs: a PNG's compressed rows go into the PDF as
// they are, with the PNG predictor that reads them (/Predictor 15), and a
// TIFF's Group 4 strip as CCITT data, byte for byte; both decode to the
// source's pixels, and the file stays PDF/A.
func TestLosslessDataKeptAsItIs(t *testing.T) {
	const w, h, dpi = 620, 877, 75
	rgb := testImage(w, h)
	var pngFile bytes.Buffer
	if err := png.Encode(&pngFile, rgb); err != nil {
		t.Fatal(err)
	}
	idat := pngIDAT(t, pngFile.Bytes())

	bw := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := uint8(255)
			if (y/15)%3 == 1 && x > w/10 && x < w*9/10 && (x/7)%5 != 0 {
				c = 0
			}
			bw.SetGray(x, y, color.Gray{c})
		}
	}
	strip := g4Strip(t, bw)

	doc := baseDocument(t)
	doc.Pages = []Page{
		{Image: Image{Width: w, Height: h, DPIX: dpi, DPIY: dpi, ColorSpace: RGB, BitsPerComponent: 8, Filter: "FlateDecode", Predictor: 15, Data: idat}},
		{Image: Image{Width: w, Height: h, DPIX: dpi, DPIY: dpi, ColorSpace: Gray, BitsPerComponent: 1, Filter: "CCITTFaxDecode", CCITT: CCITTParams{K: -1}, Data: strip}},
	}
	path := writeTemp(t, doc)
	pdf := readFile(t, path)
	if !bytes.Contains(pdf, idat) {
		t.Error("the PNG's IDAT data is not in the PDF byte for byte")
	}
	if !bytes.Contains(pdf, strip) {
		t.Error("the TIFF's G4 strip is not in the PDF byte for byte")
	}
	for _, want := range []string{
		fmt.Sprintf("/Filter /FlateDecode /DecodeParms <</Predictor 15 /Colors 3 /BitsPerComponent 8 /Columns %d>>", w),
		fmt.Sprintf("/Filter /CCITTFaxDecode /DecodeParms <</K -1 /Columns %d /Rows %d>>", w, h),
	} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("the PDF lacks %q", want)
		}
	}

	// Poppler decodes each image to the source's pixels.
	dir := t.TempDir()
	run(t, "pdfimages", "-png", path, filepath.Join(dir, "im"))
	for i, src := range []image.Image{rgb, bw} {
		name := filepath.Join(dir, fmt.Sprintf("im-%03d.png", i))
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Bounds().Dx() != w || got.Bounds().Dy() != h {
			t.Fatalf("page %d's image decodes to %v, want %d×%d", i+1, got.Bounds(), w, h)
		}
		differ := 0
		for y := range h {
			for x := range w {
				r1, g1, b1, _ := src.At(x, y).RGBA()
				r2, g2, b2, _ := got.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					differ++
				}
			}
		}
		if differ > 0 {
			t.Errorf("page %d: %d of %d pixels differ from the source", i+1, differ, w*h)
		}
	}

	if rep := veraPDF(t, path); !rep.Compliant {
		t.Fatalf("veraPDF says the file is not PDF/A-2u:\n%s", rep.Summary())
	}
}

func TestImageParametersChecked(t *testing.T) {
	for _, c := range []struct {
		img  Image
		want string
	}{
		{Image{Filter: "DCTDecode", Predictor: 15}, "predictor 15 for a DCTDecode image is not supported"},
		{Image{Filter: "FlateDecode", Predictor: 2}, "predictor 2 for a FlateDecode image is not supported"},
		{Image{Filter: "CCITTFaxDecode", ColorSpace: RGB, BitsPerComponent: 8}, "a CCITT fax-coded image must be 1-bit grey"},
	} {
		img := c.img
		img.Width, img.Height, img.DPIX, img.DPIY, img.Data = 8, 8, 300, 300, []byte{0x78, 0x9c}
		if img.BitsPerComponent == 0 {
			img.BitsPerComponent = 8
		}
		if err := img.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s, predictor %d: %v, want %q", img.Filter, img.Predictor, err, c.want)
		}
	}
}
