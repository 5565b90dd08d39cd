package scan

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

// referenceThumb is the thumbnail computed the slow, obvious way: the mean
// luminance of every block, through the standard library's grey model.
func referenceThumb(img image.Image) *image.Gray {
	b := img.Bounds()
	tw, th := (b.Dx()+thumbFactor-1)/thumbFactor, (b.Dy()+thumbFactor-1)/thumbFactor
	out := image.NewGray(image.Rect(0, 0, tw, th))
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			var sum, n int
			for y := ty * thumbFactor; y < min(b.Dy(), (ty+1)*thumbFactor); y++ {
				for x := tx * thumbFactor; x < min(b.Dx(), (tx+1)*thumbFactor); x++ {
					sum += int(color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y)
					n++
				}
			}
			out.Pix[ty*out.Stride+tx] = uint8((sum + n/2) / n)
		}
	}
	return out
}

// sameThumb reports the first pixel where got and want differ by more than
// tol (rounding differs a little between the fast and the slow way).
func sameThumb(got, want *image.Gray, tol int) error {
	if got == nil {
		return fmt.Errorf("no thumbnail")
	}
	if got.Bounds() != want.Bounds() {
		return fmt.Errorf("thumbnail is %v; want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	for y := 0; y < want.Bounds().Dy(); y++ {
		for x := 0; x < want.Bounds().Dx(); x++ {
			g, w := int(got.GrayAt(x, y).Y), int(want.GrayAt(x, y).Y)
			if g-w > tol || w-g > tol {
				return fmt.Errorf("thumbnail pixel (%d,%d) is %d; want %d", x, y, g, w)
			}
		}
	}
	return nil
}

// blockPage is a page whose thumbnail is easy to predict: light paper, a
// black bar, a red bar, and a size that is not a multiple of 8 each way.
func blockPage(colour bool) image.Image {
	r := image.Rect(0, 0, 203, 117)
	var img draw.Image = image.NewGray(r)
	if colour {
		img = image.NewRGBA(r)
	}
	draw.Draw(img, r, image.NewUniform(color.RGBA{240, 238, 230, 255}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(16, 16, 64, 40), image.NewUniform(color.Black), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(100, 60, 203, 117), image.NewUniform(color.RGBA{200, 30, 30, 255}), image.Point{}, draw.Src)
	return img
}

func TestThumbFromSamples(t *testing.T) {
	for _, colour := range []bool{false, true} {
		img := blockPage(colour)
		r := rasterFromImage(img, !colour)
		if err := sameThumb(r.thumb(), referenceThumb(img), 1); err != nil {
			t.Errorf("colour=%v: %v", colour, err)
		}
	}
	// Bilevel: the reference reads the thresholded picture; the packed
	// rows get garbage in their padding bits, which must not count.
	bw := bilevel(blockPage(false))
	r := rasterFromImage(bw, true)
	packBilevel(r)
	rowBytes := (r.width + 7) / 8
	for y := 0; y < r.height; y++ {
		r.samples[y*rowBytes+rowBytes-1] |= 0x1F // 203 = 25*8 + 3: five padding bits
	}
	if err := sameThumb(r.thumb(), referenceThumb(bw), 1); err != nil {
		t.Errorf("bilevel: %v", err)
	}
}

// Every format fills in ColorDepth as the file states it, and a thumbnail
// of the pixels the page holds.
func TestColorDepthAndThumbByFormat(t *testing.T) {
	dir := t.TempDir()
	colourImg, grayImg := blockPage(true), blockPage(false)

	// A colour JPEG of a grey picture is still a colour scan.
	grayAsColour := image.NewRGBA(grayImg.Bounds())
	draw.Draw(grayAsColour, grayAsColour.Bounds(), grayImg, image.Point{}, draw.Src)

	gray16 := image.NewGray16(image.Rect(0, 0, 9, 9))
	rgb48 := image.NewRGBA64(image.Rect(0, 0, 9, 9))
	pal16 := image.NewPaletted(image.Rect(0, 0, 9, 9), color.Palette{})
	for i := 0; i < 16; i++ {
		pal16.Palette = append(pal16.Palette, color.RGBA{uint8(16 * i), 0, 255 - uint8(16*i), 255})
	}

	tiffFile := func(name string, img image.Image) string {
		var buf bytes.Buffer
		if err := tiff.Encode(&buf, img, &tiff.Options{Compression: tiff.Deflate}); err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, buf.Bytes())
	}
	g4 := filepath.Join(dir, "bw.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "300", writeFile(t, dir, "bw.pbm", pbm(bilevel(grayImg))), g4)

	cases := []struct {
		name  string
		path  string
		depth int
		thumb image.Image // the picture the thumbnail must reduce; nil to skip
		tol   int
	}{
		{"colour JPEG", writeFile(t, dir, "c.jpg", encodeJPEG(t, colourImg)), 24, colourImg, 6},
		{"grey JPEG", writeFile(t, dir, "g.jpg", encodeJPEG(t, grayImg)), 8, grayImg, 6},
		{"colour JPEG of a grey page", writeFile(t, dir, "cg.jpg", encodeJPEG(t, grayAsColour)), 24, grayImg, 6},
		{"colour PNG", writeFile(t, dir, "c.png", encodePNG(t, colourImg)), 24, colourImg, 1},
		{"grey PNG", writeFile(t, dir, "g.png", encodePNG(t, grayImg)), 8, grayImg, 1},
		{"16-bit grey PNG", writeFile(t, dir, "g16.png", encodePNG(t, gray16)), 16, nil, 0},
		{"48-bit colour PNG", writeFile(t, dir, "c48.png", encodePNG(t, rgb48)), 48, nil, 0},
		{"16-colour palette PNG", writeFile(t, dir, "p4.png", encodePNG(t, pal16)), 4, pal16, 1},
		{"colour TIFF", tiffFile("c.tif", colourImg), 24, colourImg, 1},
		{"grey TIFF", tiffFile("g.tif", grayImg), 8, grayImg, 1},
		{"G4 TIFF", g4, 1, bilevel(grayImg), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, p := openPage(t, c.path, Options{}, 0)
			if p.ColorDepth != c.depth {
				t.Errorf("ColorDepth %d; want %d", p.ColorDepth, c.depth)
			}
			if p.ThumbScale != 1.0/8 {
				t.Errorf("ThumbScale %v; want 1/8", p.ThumbScale)
			}
			if p.Thumb == nil {
				t.Fatal("no thumbnail")
			}
			if c.thumb == nil {
				return
			}
			want := referenceThumb(c.thumb)
			if err := sameThumb(p.Thumb, want, c.tol); err != nil {
				t.Error(err)
			}
		})
	}
}

// Scanner PDFs: the JPEG page's thumbnail comes from the decode that
// checks it is whole; lossless pages from their samples.
func TestColorDepthAndThumbInPDF(t *testing.T) {
	dir := t.TempDir()
	colourImg, grayImg := blockPage(true), blockPage(false)
	jpg := writeFile(t, dir, "c.jpg", encodeJPEG(t, colourImg))
	png := writeFile(t, dir, "g.png", encodePNG(t, grayImg))
	g4 := filepath.Join(dir, "bw.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", "300", writeFile(t, dir, "bw.pbm", pbm(bilevel(grayImg))), g4)
	pdfPath := filepath.Join(dir, "scan.pdf")
	run(t, "img2pdf", "--imgsize", "300dpi", "-o", pdfPath, jpg, png, g4)

	doc, err := Open(pdfPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	want := []struct {
		depth int
		img   image.Image
		tol   int
	}{{24, colourImg, 6}, {8, grayImg, 1}, {1, bilevel(grayImg), 1}}
	for i, w := range want {
		p, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if p.ColorDepth != w.depth {
			t.Errorf("page %d: ColorDepth %d; want %d", i+1, p.ColorDepth, w.depth)
		}
		if err := sameThumb(p.Thumb, referenceThumb(w.img), w.tol); err != nil {
			t.Errorf("page %d: %v", i+1, err)
		}
	}
}

// The thumbnail of an A4 page is the size the package documents.
func TestThumbSizeA4(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, a4W, a4H))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	_, p := openPage(t, writeFile(t, dir, "a4.jpg", buf.Bytes()), Options{}, 0)
	if got := p.Thumb.Bounds().Size(); got != image.Pt(310, 439) {
		t.Errorf("A4 300 dpi thumbnail %v; want 310×439", got)
	}
}
