package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/png"
	"io"
)

// pngInfo is what a PNG's chunks before the image data say.
type pngInfo struct {
	width, height int
	bitDepth      int
	colorType     int
	dpiX, dpiY    float64
}

// parsePNGHeader reads IHDR and any pHYs chunk, skipping over other
// chunks without reading them, up to the first image data.
func parsePNGHeader(r io.ReaderAt, size int64) (*pngInfo, error) {
	info := &pngInfo{}
	off := int64(8)
	first := true
	for {
		var h [8]byte
		if _, err := r.ReadAt(h[:], off); err != nil {
			return nil, noEOF(err)
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		kind := string(h[4:8])
		if first {
			if kind != "IHDR" || n != 13 {
				return nil, errors.New("the first chunk is not IHDR")
			}
			first = false
		}
		switch kind {
		case "IHDR", "pHYs":
			body := make([]byte, min(n, 13))
			if _, err := r.ReadAt(body, off+8); err != nil {
				return nil, noEOF(err)
			}
			if kind == "IHDR" {
				info.width = int(binary.BigEndian.Uint32(body[0:4]))
				info.height = int(binary.BigEndian.Uint32(body[4:8]))
				info.bitDepth = int(body[8])
				info.colorType = int(body[9])
			} else if len(body) >= 9 && body[8] == 1 { // unit 1: the metre
				x := float64(binary.BigEndian.Uint32(body[0:4]))
				y := float64(binary.BigEndian.Uint32(body[4:8]))
				info.dpiX, info.dpiY = dpiFromMetric(x/100), dpiFromMetric(y/100)
			}
		case "IDAT", "IEND":
			return info, nil
		}
		off += 12 + n // length, type, data, CRC
		if off >= size {
			return nil, io.ErrUnexpectedEOF
		}
	}
}

func (d *Document) openPNG() error {
	info, err := parsePNGHeader(d.file, d.size)
	if err != nil {
		return d.inputError(0, err, "the PNG file is damaged or incomplete (its header cannot be read); scan the document again")
	}
	if err := d.checkPixels(0, info.width, info.height); err != nil {
		return err
	}
	d.png = info
	d.NumPages = 1
	return nil
}

func (d *Document) pngPage() (*Page, error) {
	data, err := d.readAll()
	if err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		// A PNG ends with an IEND chunk; without one, the save was cut off.
		if errors.Is(err, io.ErrUnexpectedEOF) || !bytes.HasSuffix(data, []byte("IEND\xaeB`\x82")) {
			return nil, d.inputError(0, err, "the PNG image is incomplete (the file ends too early); the scan was not saved completely, scan the document again")
		}
		return nil, d.inputError(0, err, "the PNG image is damaged and cannot be read (%v); scan the document again", err)
	}
	info := d.png
	const (
		colorGray      = 0
		colorRGB       = 2
		colorGrayAlpha = 4
		colorRGBA      = 6
	)
	gray := info.colorType == colorGray || info.colorType == colorGrayAlpha
	if pal, ok := img.(*image.Paletted); ok && isGrayPalette(pal.Palette) {
		gray = true
	}
	r := rasterFromImage(img, gray)
	r.depth = info.bitDepth // grey, grey with alpha, and palette indices
	if info.colorType == colorRGB || info.colorType == colorRGBA {
		r.depth = 3 * info.bitDepth
	}
	if info.colorType == colorGray && info.bitDepth == 1 {
		packBilevel(r)
	}
	p := &Page{Number: 1}
	d.setDPI(p, info.dpiX, info.dpiY)
	return d.rasterPage(p, r)
}
