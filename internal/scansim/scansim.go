// Package scansim turns a clean page image into what a scanner gives back
// from the printed sheet: crooked, blurred, noisy, grey or colour, JPEG
// compressed. It is for measuring readers (the separator sheet's QR code)
// against conditions that can be named and repeated.
package scansim

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Condition is one way of scanning a sheet.
type Condition struct {
	DPI  float64 // the resolution the page was rendered at; only reported
	Skew float64 // degrees, clockwise, as a sheet fed crooked
	JPEG int     // JPEG quality 1-100; 0 keeps the pixels as they are
	Grey bool    // a greyscale scan; otherwise colour, paper slightly warm
}

func (c Condition) String() string {
	s := fmt.Sprintf("%g dpi", c.DPI)
	if c.Skew != 0 {
		s += fmt.Sprintf(", skew %+g°", c.Skew)
	}
	if c.JPEG != 0 {
		s += fmt.Sprintf(", JPEG q%d", c.JPEG)
	}
	if c.Grey {
		s += ", grey"
	} else {
		s += ", colour"
	}
	return s
}

// Scan degrades page (white 255, ink 0) as c says. seed makes the noise
// repeatable.
func Scan(page *image.Gray, c Condition, seed uint64) (image.Image, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5ca9))
	g := blur(rotate(page, c.Skew))
	// Paper is not white and toner not black to a scanner; the sensor
	// adds noise.
	for i, v := range g.Pix {
		level := 28 + float64(v)/255*(236-28) + rng.NormFloat64()*6
		g.Pix[i] = uint8(math.Max(0, math.Min(255, math.Round(level))))
	}
	var img image.Image = g
	if !c.Grey {
		rgb := image.NewRGBA(g.Rect)
		for i, v := range g.Pix {
			rgb.Pix[4*i] = v
			rgb.Pix[4*i+1] = uint8(float64(v) * 0.98)
			rgb.Pix[4*i+2] = uint8(float64(v) * 0.93)
			rgb.Pix[4*i+3] = 255
		}
		img = rgb
	}
	if c.JPEG == 0 {
		return img, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: c.JPEG}); err != nil {
		return nil, fmt.Errorf("scansim: %w", err)
	}
	return jpeg.Decode(&buf)
}

// rotate turns src clockwise by degrees about its centre, sampling
// bilinearly; what comes in from outside the page is white, like the
// scanner's lid.
func rotate(src *image.Gray, degrees float64) *image.Gray {
	b := src.Rect
	dst := image.NewGray(b)
	if degrees == 0 {
		copy(dst.Pix, src.Pix)
		return dst
	}
	sin, cos := math.Sincos(degrees * math.Pi / 180)
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= b.Dx() || y >= b.Dy() {
			return 255
		}
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			// The source point that lands on (x, y).
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			v := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
			dst.Pix[y*dst.Stride+x] = uint8(math.Round(v))
		}
	}
	return dst
}

// blur softens edges as printing and scanning do: a 3×3 box.
func blur(src *image.Gray) *image.Gray {
	b := src.Rect
	dst := image.NewGray(b)
	w, h := b.Dx(), b.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0, 0
			for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
				for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
					sum += int(src.Pix[yy*src.Stride+xx])
					n++
				}
			}
			dst.SetGray(b.Min.X+x, b.Min.Y+y, color.Gray{Y: uint8(sum / n)})
		}
	}
	return dst
}
