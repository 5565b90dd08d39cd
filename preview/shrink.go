package preview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strconv"

	"scanstation/scan"
)

// shrinkPage decodes the page's pixels and averages them down to w × h
// (or stretches them, for a page smaller than a thumbnail).
//
// It reads the page's OCRImage, which scan makes for every page: the
// scanner's JPEG itself (decoded by libjpeg, reduced, else by image/jpeg),
// or PNM samples, which need no decoding at all.
func shrinkPage(p *scan.Page, w, h int) (*image.RGBA, error) {
	b := p.OCRImage
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8 {
		if img, ok := shrinkJPEG(b, p.Width, p.Height, w, h); ok {
			return img, nil
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			// scan decoded this JPEG a moment ago, so this is not the file's fault.
			return nil, fmt.Errorf("decoding the page's JPEG: %w", err)
		}
		switch m := img.(type) {
		case *image.YCbCr:
			return shrinkYCbCr(m, w, h), nil
		case *image.Gray:
			return grayRGBA(shrink(m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy(), 1, w, h), w, h), nil
		}
		// Nothing else gets past scan; this is for safety, not speed.
		rgba := image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
		draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		out.Pix = shrink(rgba.Pix, rgba.Stride, rgba.Rect.Dx(), rgba.Rect.Dy(), 4, w, h)
		return out, nil
	}
	magic, pw, ph, samples, err := parsePNM(b)
	if err != nil {
		return nil, fmt.Errorf("reading the page's pixels: %w", err)
	}
	switch magic {
	case "P4":
		return grayRGBA(shrink(expandBits(samples, pw, ph), pw, pw, ph, 1, w, h), w, h), nil
	case "P5":
		return grayRGBA(shrink(samples, pw, pw, ph, 1, w, h), w, h), nil
	}
	return rgbRGBA(shrink(samples, 3*pw, pw, ph, 3, w, h), w, h), nil
}

// parsePNM reads a binary PNM (P4, P5 or P6 with maxval 255, as scan
// writes them) and returns its samples without copying.
func parsePNM(b []byte) (magic string, w, h int, samples []byte, err error) {
	if len(b) < 2 || b[0] != 'P' || (b[1] != '4' && b[1] != '5' && b[1] != '6') {
		return "", 0, 0, nil, errors.New("neither JPEG nor binary PNM")
	}
	magic = string(b[:2])
	fields := 3
	if magic == "P4" {
		fields = 2
	}
	var nums []int
	i := 2
	for len(nums) < fields {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] == '#') {
			if b[i] == '#' {
				for i < len(b) && b[i] != '\n' {
					i++
				}
				continue
			}
			i++
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(string(b[i:j]))
		if err != nil || n <= 0 {
			return "", 0, 0, nil, errors.New("damaged PNM header")
		}
		nums = append(nums, n)
		i = j
	}
	i++ // the single whitespace before the samples
	w, h = nums[0], nums[1]
	if fields == 3 && nums[2] != 255 {
		return "", 0, 0, nil, fmt.Errorf("PNM with %d levels, not 256", nums[2])
	}
	size := int64(w) * int64(h)
	switch magic {
	case "P4":
		size = int64((w+7)/8) * int64(h)
	case "P6":
		size *= 3
	}
	if i > len(b) || int64(len(b)-i) < size {
		return "", 0, 0, nil, errors.New("PNM samples cut short")
	}
	return magic, w, h, b[i : i+int(size)], nil
}

// expandBits widens PBM rows (1 for black, rows padded to whole bytes) to
// 8-bit grey.
func expandBits(bits []byte, w, h int) []byte {
	rowBytes := (w + 7) / 8
	out := make([]byte, w*h)
	for y := 0; y < h; y++ {
		row := bits[y*rowBytes : (y+1)*rowBytes]
		dst := out[y*w : (y+1)*w]
		for x := range dst {
			if row[x>>3]&(0x80>>(x&7)) == 0 {
				dst[x] = 0xFF
			}
		}
	}
	return out
}

// shrink averages src, w × h pixels of n interleaved 8-bit samples with
// rows stride bytes apart, to dw × dh: each output pixel is the mean of the
// source pixels its box covers. The boxes tile the source, so every source
// sample is read once. (When dw > w a box is one pixel, repeated.)
func shrink(src []byte, stride, w, h, n, dw, dh int) []byte {
	x0s, x1s := boxes(w, dw)
	y0s, y1s := boxes(h, dh)
	dst := make([]byte, dw*dh*n)
	acc := make([]uint32, dw*n)
	for oy := 0; oy < dh; oy++ {
		clear(acc)
		for y := y0s[oy]; y < y1s[oy]; y++ {
			row := src[y*stride : y*stride+w*n]
			switch n {
			case 1:
				for ox := range dw {
					var s uint32
					for _, v := range row[x0s[ox]:x1s[ox]] {
						s += uint32(v)
					}
					acc[ox] += s
				}
			case 3:
				for ox := range dw {
					var r, g, b uint32
					px := row[3*x0s[ox] : 3*x1s[ox]]
					for i := 0; i+2 < len(px); i += 3 {
						r += uint32(px[i])
						g += uint32(px[i+1])
						b += uint32(px[i+2])
					}
					acc[3*ox] += r
					acc[3*ox+1] += g
					acc[3*ox+2] += b
				}
			default:
				for ox := range dw {
					for x := x0s[ox]; x < x1s[ox]; x++ {
						for c := range n {
							acc[ox*n+c] += uint32(row[x*n+c])
						}
					}
				}
			}
		}
		rows := uint32(y1s[oy] - y0s[oy])
		out := dst[oy*dw*n : (oy+1)*dw*n]
		for ox := range dw {
			cnt := rows * uint32(x1s[ox]-x0s[ox])
			for c := range n {
				out[ox*n+c] = uint8((acc[ox*n+c] + cnt/2) / cnt)
			}
		}
	}
	return dst
}

// boxes splits 0..n into d runs, as even as whole pixels allow; with d > n
// a run is one pixel, repeated.
func boxes(n, d int) (start, end []int) {
	start, end = make([]int, d), make([]int, d)
	for i := range d {
		start[i] = min(i*n/d, n-1)
		end[i] = max(start[i]+1, (i+1)*n/d)
	}
	return start, end
}

// shrinkYCbCr averages a decoded JPEG's planes separately and converts
// only the small result to RGB: averaging commutes with the (affine)
// conversion, and it is a sixth of the work of converting first.
func shrinkYCbCr(m *image.YCbCr, w, h int) *image.RGBA {
	yw, yh := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := yw, yh
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		cw = (yw + 1) / 2
	case image.YCbCrSubsampleRatio420:
		cw, ch = (yw+1)/2, (yh+1)/2
	case image.YCbCrSubsampleRatio440:
		ch = (yh + 1) / 2
	case image.YCbCrSubsampleRatio411:
		cw = (yw + 3) / 4
	case image.YCbCrSubsampleRatio410:
		cw, ch = (yw+3)/4, (yh+1)/2
	}
	ys := shrink(m.Y, m.YStride, yw, yh, 1, w, h)
	cbs := shrink(m.Cb, m.CStride, cw, ch, 1, w, h)
	crs := shrink(m.Cr, m.CStride, cw, ch, 1, w, h)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range ys {
		r, g, b := color.YCbCrToRGB(ys[i], cbs[i], crs[i])
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = r, g, b, 0xFF
	}
	return out
}

func grayRGBA(g []byte, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range g {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = v, v, v, 0xFF
	}
	return out
}

func rgbRGBA(rgb []byte, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 0xFF
	}
	return out
}
