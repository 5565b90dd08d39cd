package mark

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image/color"
	"image/png"

	"scanstation/certify/pades"
)

// decodeSeal turns the seal's PNG into a PDF image (RGB and, unless the PNG
// is opaque, an alpha mask), and gives its size on paper: widthMM wide and
// as tall as its proportions make it.
func decodeSeal(data []byte, widthMM float64) (img *pades.Image, w, h float64, err error) {
	if len(data) == 0 {
		return nil, 0, 0, errors.New("the circular01 certification mark needs the agency's seal image (a PNG); set mark.seal_image in the configuration")
	}
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("the seal image is not a readable PNG: %w", err)
	}
	b := src.Bounds()
	if b.Dx() < 16 || b.Dy() < 16 {
		return nil, 0, 0, fmt.Errorf("the seal image is only %d × %d pixels; use a scan of the seal at 300 dpi or more", b.Dx(), b.Dy())
	}
	rgb := make([]byte, 0, 3*b.Dx()*b.Dy())
	alpha := make([]byte, 0, b.Dx()*b.Dy())
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			rgb = append(rgb, c.R, c.G, c.B)
			alpha = append(alpha, c.A)
			opaque = opaque && c.A == 0xff
		}
	}
	img = &pades.Image{Width: b.Dx(), Height: b.Dy(), RGB: deflate(rgb)}
	if !opaque {
		img.Alpha = deflate(alpha)
	}
	w = widthMM * mm
	return img, w, w * float64(b.Dy()) / float64(b.Dx()), nil
}

func deflate(data []byte) []byte {
	var out bytes.Buffer
	// The level is valid and writes to a bytes.Buffer do not fail, so the
	// errors can only be nil.
	zw, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	return out.Bytes()
}
