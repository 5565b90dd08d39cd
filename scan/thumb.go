package scan

import (
	"image"
	"math/bits"
)

// thumbFactor is how many page pixels, each way, one thumbnail pixel
// stands for. An A4 page at 300 dpi becomes 310×439 (37.5 dpi): enough to
// see a line of 10-point text as a row of grey blocks, small enough (136
// KB) to keep with every page. The box average also drowns sensor noise
// and dust specks, which a blank-page test must not count as ink. 8 is
// also one byte of a bilevel row, so those blocks are counted by popcount.
const thumbFactor = 8

// thumbnail accumulates a box-filtered luminance thumbnail row by row, so
// that every decoder can feed it from the samples it already holds.
type thumbnail struct {
	w, h   int // page pixels
	out    *image.Gray
	sum    []uint32 // per thumbnail column, over the current block row
	filled int      // page rows added to the current block row
	y      int      // next thumbnail row
}

func newThumbnail(w, h int) *thumbnail {
	tw, th := (w+thumbFactor-1)/thumbFactor, (h+thumbFactor-1)/thumbFactor
	return &thumbnail{w: w, h: h, out: image.NewGray(image.Rect(0, 0, tw, th)), sum: make([]uint32, tw)}
}

// endRow closes a page row; after every thumbFactor rows (or the last
// row) it writes one thumbnail row of block means. Blocks at the right and
// bottom edges may be smaller and are averaged over the pixels they have.
func (t *thumbnail) endRow() {
	t.filled++
	if t.filled < thumbFactor && t.y*thumbFactor+t.filled < t.h {
		return
	}
	row := t.out.Pix[t.y*t.out.Stride:]
	for x, s := range t.sum {
		bw := min(thumbFactor, t.w-x*thumbFactor)
		n := uint32(bw * t.filled)
		row[x] = uint8((s + n/2) / n)
		t.sum[x] = 0
	}
	t.filled = 0
	t.y++
}

// thumbGray makes the thumbnail of 8-bit grey (or luma) samples.
func thumbGray(pix []byte, stride, w, h int) *image.Gray {
	t := newThumbnail(w, h)
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w]
		for x := range t.sum {
			var s uint32
			for _, v := range row[x*thumbFactor : min(w, (x+1)*thumbFactor)] {
				s += uint32(v)
			}
			t.sum[x] += s
		}
		t.endRow()
	}
	return t.out
}

// thumbRGB makes the thumbnail of packed 8-bit RGB samples. Luminance is
// linear in R, G and B, so the block sums of each channel are weighted
// once per block instead of once per pixel; the weights are those of
// color.GrayModel (ITU-R BT.601), the same luma a JPEG's Y channel holds.
func thumbRGB(pix []byte, stride, w, h int) *image.Gray {
	t := newThumbnail(w, h)
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+3*w]
		for x := range t.sum {
			var r, g, b uint32
			block := row[3*x*thumbFactor : 3*min(w, (x+1)*thumbFactor)]
			for i := 0; i < len(block); i += 3 {
				r += uint32(block[i])
				g += uint32(block[i+1])
				b += uint32(block[i+2])
			}
			// At most 8 pixels of 255 per channel: the products fit 32 bits.
			t.sum[x] += (19595*r + 38470*g + 7471*b + 1<<15) >> 16
		}
		t.endRow()
	}
	return t.out
}

// thumbBilevel makes the thumbnail of 1-bit rows padded to whole bytes,
// 1 for white: a block is as light as the share of its pixels that are
// white.
func thumbBilevel(pix []byte, w, h int) *image.Gray {
	t := newThumbnail(w, h)
	rowBytes := (w + 7) / 8
	// The padding bits of the last byte are whatever the writer left.
	lastMask := byte(0xFF)
	if r := w % 8; r != 0 {
		lastMask = byte(0xFF << (8 - r))
	}
	for y := 0; y < h; y++ {
		row := pix[y*rowBytes : (y+1)*rowBytes]
		last := len(row) - 1
		for x, b := range row[:last] {
			t.sum[x] += 255 * uint32(bits.OnesCount8(b))
		}
		t.sum[last] += 255 * uint32(bits.OnesCount8(row[last]&lastMask))
		t.endRow()
	}
	return t.out
}

// thumbImage makes the thumbnail of an image a decoder returned, reading
// the luminance plane directly where there is one.
func thumbImage(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		// JFIF's Y is full-range BT.601 luma: the luminance itself.
		return thumbGray(m.Y[m.YOffset(b.Min.X, b.Min.Y):], m.YStride, b.Dx(), b.Dy())
	case *image.Gray:
		return thumbGray(m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy())
	}
	// Anything else (a CMYK JPEG is refused before it gets here) goes
	// through the general path, slowly but correctly.
	r := rasterFromImage(img, false)
	return r.thumb()
}

// thumb makes the thumbnail of a raster.
func (r *raster) thumb() *image.Gray {
	switch {
	case r.bilevel:
		return thumbBilevel(r.samples, r.width, r.height)
	case r.gray:
		return thumbGray(r.samples, r.width, r.width, r.height)
	}
	return thumbRGB(r.samples, 3*r.width, r.width, r.height)
}
