package scan

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
)

// GrayImage decodes the page's OCRImage into grey pixels, for readers that look for shapes
// rather than colours (barcodes and QR codes on separator sheets).
func (p *Page) GrayImage() (*image.Gray, error) {
	if len(p.OCRImage) >= 2 && p.OCRImage[0] == 'P' && p.OCRImage[1] >= '4' && p.OCRImage[1] <= '6' {
		r, err := readPNM(p.OCRImage)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", p.Number, err)
		}
		return r.grayImage(), nil
	}
	img, err := jpeg.Decode(bytes.NewReader(p.OCRImage))
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", p.Number, err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g, nil
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
	return g, nil
}

// grayImage gives the raster as 8-bit grey: 1-bit pages widened (0 black, as stored), colour
// pages by luma.
func (r *raster) grayImage() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, r.width, r.height))
	row := r.rowBytes()
	for y := 0; y < r.height; y++ {
		line := r.samples[y*row : (y+1)*row]
		out := g.Pix[y*g.Stride : y*g.Stride+r.width]
		switch {
		case r.bilevel:
			for x := range out {
				if line[x/8]&(0x80>>(x%8)) != 0 {
					out[x] = 0xff
				}
			}
		case r.gray:
			copy(out, line)
		default:
			for x := range out {
				R, G, B := uint32(line[3*x]), uint32(line[3*x+1]), uint32(line[3*x+2])
				out[x] = uint8((19595*R + 38470*G + 7471*B + 1<<15) >> 16)
			}
		}
	}
	return g
}
