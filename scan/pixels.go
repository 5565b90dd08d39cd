package scan

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// raster is a decoded page in the form a PDF image XObject stores it:
// 8-bit grey or RGB samples, or 1-bit rows padded to whole bytes with 0
// for black.
type raster struct {
	width, height int
	gray          bool
	bilevel       bool
	samples       []byte
	depth         int // bits per pixel as the file delivered them: Page.ColorDepth

	// withHeader, when set, is samples with their PNM header in front (newSamples), so that
	// pnm hands out these bytes rather than a copy of them.
	withHeader []byte
}

// newSamples allocates the samples of a grey or colour raster behind room for their PNM
// header. A page's OCR image is then the decoded samples themselves: on a 300 dpi A4 colour
// page that is one 26 MB buffer per page in flight instead of two (docs/ocr-memory.md,
// "Daemon memory").
func (r *raster) newSamples() {
	header := r.pnmHeader()
	buf := make([]byte, len(header)+r.rowBytes()*r.height)
	copy(buf, header)
	r.samples = buf[len(header):]
	r.withHeader = buf
}

func (r *raster) pnmHeader() string {
	switch {
	case r.bilevel:
		return fmt.Sprintf("P4\n%d %d\n", r.width, r.height)
	case r.gray:
		return fmt.Sprintf("P5\n%d %d\n255\n", r.width, r.height)
	}
	return fmt.Sprintf("P6\n%d %d\n255\n", r.width, r.height)
}

func (r *raster) rowBytes() int {
	if r.bilevel {
		return (r.width + 7) / 8
	}
	if r.gray {
		return r.width
	}
	return 3 * r.width
}

// rasterFromImage converts a decoded image into samples, flattening any
// transparency onto white paper and reducing 16-bit samples to 8.
// gray says the source is a grey image; colour images stay RGB even when
// every pixel happens to be grey, since the scanner was set to colour.
func rasterFromImage(img image.Image, gray bool) *raster {
	b := img.Bounds()
	r := &raster{width: b.Dx(), height: b.Dy(), gray: gray}
	r.newSamples()
	out := r.samples
	put := func(i int, red, green, blue uint8) int {
		if gray {
			out[i] = red
			return i + 1
		}
		out[i], out[i+1], out[i+2] = red, green, blue
		return i + 3
	}
	i := 0
	switch m := img.(type) {
	case *image.Gray:
		if gray {
			for y := 0; y < r.height; y++ {
				row := m.Pix[y*m.Stride : y*m.Stride+r.width]
				i += copy(out[i:], row)
			}
			return r
		}
		for y := 0; y < r.height; y++ {
			for _, v := range m.Pix[y*m.Stride : y*m.Stride+r.width] {
				i = put(i, v, v, v)
			}
		}
	case *image.Gray16:
		for y := 0; y < r.height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*r.width]
			for x := 0; x < len(row); x += 2 {
				i = put(i, row[x], row[x], row[x])
			}
		}
	case *image.NRGBA:
		for y := 0; y < r.height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*r.width]
			for x := 0; x < len(row); x += 4 {
				a := uint32(row[x+3])
				i = put(i, onWhiteN(row[x], a), onWhiteN(row[x+1], a), onWhiteN(row[x+2], a))
			}
		}
	case *image.RGBA:
		for y := 0; y < r.height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*r.width]
			for x := 0; x < len(row); x += 4 {
				a := row[x+3]
				i = put(i, row[x]+255-a, row[x+1]+255-a, row[x+2]+255-a)
			}
		}
	case *image.Paletted:
		lut := make([][3]uint8, 256)
		for k, c := range m.Palette {
			red, green, blue, a := c.RGBA()
			lut[k] = [3]uint8{onWhiteP(red, a), onWhiteP(green, a), onWhiteP(blue, a)}
		}
		for y := 0; y < r.height; y++ {
			for _, k := range m.Pix[y*m.Stride : y*m.Stride+r.width] {
				c := lut[k]
				i = put(i, c[0], c[1], c[2])
			}
		}
	default:
		// 16-bit colour and anything rarer: slower, but exact.
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				red, green, blue, a := m.At(x, y).RGBA()
				i = put(i, onWhiteP(red, a), onWhiteP(green, a), onWhiteP(blue, a))
			}
		}
	}
	return r
}

// onWhiteN composites a non-premultiplied 8-bit sample over white.
func onWhiteN(c uint8, a uint32) uint8 {
	return uint8((uint32(c)*a + 255*(255-a) + 127) / 255)
}

// onWhiteP composites a premultiplied 16-bit sample over white, to 8 bits.
func onWhiteP(c, a uint32) uint8 {
	return uint8((c + 0xffff - a) >> 8)
}

func isGrayPalette(p color.Palette) bool {
	for _, c := range p {
		r, g, b, _ := c.RGBA()
		if r != g || g != b {
			return false
		}
	}
	return true
}

// packBilevel turns 8-bit grey samples into 1-bit rows: 1 for white, 0
// for black, as DeviceGray with BitsPerComponent 1 reads them.
func packBilevel(r *raster) {
	w, h := r.width, r.height
	rowBytes := (w + 7) / 8
	packed := make([]byte, rowBytes*h)
	for y := 0; y < h; y++ {
		src := r.samples[y*w : (y+1)*w]
		dst := packed[y*rowBytes : (y+1)*rowBytes]
		for x, v := range src {
			if v >= 0x80 {
				dst[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	r.samples, r.bilevel, r.gray = packed, true, true
}

// pnm encodes the raster as a binary PNM file, which Leptonica reads from
// memory without decompression. A raster whose samples were allocated by
// newSamples gives its own bytes, not a copy: the raster must not change
// afterwards.
func (r *raster) pnm() []byte {
	header := r.pnmHeader()
	if !r.bilevel && len(r.samples) > 0 && len(r.withHeader) == len(header)+len(r.samples) &&
		string(r.withHeader[:len(header)]) == header && &r.withHeader[len(header)] == &r.samples[0] {
		return r.withHeader
	}
	out := make([]byte, len(header)+len(r.samples))
	n := copy(out, header)
	copy(out[n:], r.samples)
	if r.bilevel {
		// PBM has 1 for black, the opposite of PDF's DeviceGray.
		for k := n; k < len(out); k++ {
			out[k] = ^out[k]
		}
	}
	return out
}

// flate compresses the samples at zlib's fastest level. On a noisy A4
// colour page at 300 dpi the default level took 3.5 s against 0.6 s for
// the whole page, for output only 9% smaller: it would have cost as much
// as the OCR. Those who want small files set LosslessAsJPEG.
func (r *raster) flate() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(r.samples) / 4)
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(r.samples); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *raster) jpeg(quality int) ([]byte, error) {
	var img image.Image
	if r.gray {
		img = &image.Gray{Pix: r.samples, Stride: r.width, Rect: image.Rect(0, 0, r.width, r.height)}
	} else {
		img = r.ycbcr420()
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ycbcr420 converts colour samples into the 4:2:0 YCbCr image/jpeg writes, each chroma sample
// the rounded mean of its 2×2 pixels, as the encoder itself averages them when given RGBA.
// It holds 1.5 bytes a pixel where an RGBA copy held 4: 13 MB instead of 35 MB on a 300 dpi
// A4 page (docs/ocr-memory.md, "Daemon memory").
func (r *raster) ycbcr420() *image.YCbCr {
	w, h := r.width, r.height
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	stride := 3 * w
	for cy := 0; cy < (h+1)/2; cy++ {
		rows := [2]int{2 * cy, min(2*cy+1, h-1)}
		for cx := 0; cx < (w+1)/2; cx++ {
			cols := [2]int{2 * cx, min(2*cx+1, w-1)}
			var cb, cr int32
			for _, y := range rows {
				for _, x := range cols {
					i := y*stride + 3*x
					yy, b, rr := color.RGBToYCbCr(r.samples[i], r.samples[i+1], r.samples[i+2])
					m.Y[y*m.YStride+x] = yy
					cb += int32(b)
					cr += int32(rr)
				}
			}
			m.Cb[cy*m.CStride+cx] = uint8((cb + 2) >> 2)
			m.Cr[cy*m.CStride+cx] = uint8((cr + 2) >> 2)
		}
	}
	return m
}

// rasterPage completes p from a decoded raster: the data to embed and the
// image for OCR. A page whose Data are already set keeps them: they are the
// file's own compressed bytes (a PNG's rows, a G4 strip), not compressed a
// second time.
func (d *Document) rasterPage(p *Page, r *raster) (*Page, error) {
	p.Width, p.Height = r.width, r.height
	p.Gray = r.gray
	p.BitsPerComponent = 8
	if r.bilevel {
		p.BitsPerComponent = 1
	}
	var err error
	switch {
	case d.opt.PixelsOnly, p.Data != nil:
	case d.opt.LosslessAsJPEG && !r.bilevel:
		p.Filter = "DCTDecode"
		p.Data, err = r.jpeg(d.opt.JPEGQuality)
	default:
		p.Filter = "FlateDecode"
		p.Data, err = r.flate()
	}
	if err != nil {
		return nil, fmt.Errorf("scan: compressing page %d of %s: %w", p.Number, d.Path, err)
	}
	p.OCRImage = r.pnm()
	p.ColorDepth = r.depth
	p.Thumb, p.ThumbScale = r.thumb(), 1.0/thumbFactor
	return p, nil
}

// setDPI fills in the page's resolution, or the assumed one when the file
// has none (x or y zero or implausible).
func (d *Document) setDPI(p *Page, x, y float64) {
	const lowest, highest = 10, 100000
	if x < lowest || y < lowest || x > highest || y > highest {
		p.DPIX, p.DPIY, p.DPIKnown = d.opt.AssumeDPI, d.opt.AssumeDPI, false
		return
	}
	p.DPIX, p.DPIY, p.DPIKnown = x, y, true
}

// dpiFromMetric converts a per-centimetre density to dots per inch.
// Metric units cannot express common resolutions exactly (300 dpi is
// 118.11 per cm, stored as 118), so the result is rounded to a whole dpi;
// the error stays under half a percent of the page size.
func dpiFromMetric(perCentimetre float64) float64 {
	v := perCentimetre * 2.54
	return float64(int64(v + 0.5))
}
