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
	interlaced    bool
	transparency  bool // a tRNS chunk: a colour (or palette entries) to show as transparent
	dpiX, dpiY    float64
}

const (
	pngGray      = 0
	pngRGB       = 2
	pngGrayAlpha = 4
	pngRGBA      = 6
)

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
				info.interlaced = body[12] != 0
			} else if len(body) >= 9 && body[8] == 1 { // unit 1: the metre
				x := float64(binary.BigEndian.Uint32(body[0:4]))
				y := float64(binary.BigEndian.Uint32(body[4:8]))
				info.dpiX, info.dpiY = dpiFromMetric(x/100), dpiFromMetric(y/100)
			}
		case "tRNS":
			info.transparency = true
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
	gray := info.colorType == pngGray || info.colorType == pngGrayAlpha
	if pal, ok := img.(*image.Paletted); ok && isGrayPalette(pal.Palette) {
		gray = true
	}
	r := rasterFromImage(img, gray)
	r.depth = info.bitDepth // grey, grey with alpha, and palette indices
	if info.colorType == pngRGB || info.colorType == pngRGBA {
		r.depth = 3 * info.bitDepth
	}
	if info.colorType == pngGray && info.bitDepth == 1 {
		packBilevel(r)
	}
	p := &Page{Number: 1}
	d.setDPI(p, info.dpiX, info.dpiY)
	if d.keepsPNGRows(r) {
		if idat := pngImageData(data); idat != nil {
			p.Filter, p.Data, p.Predictor = "FlateDecode", idat, 15
			return d.rasterPage(p, r)
		}
	}
	return d.rasterPage(p, r)
}

// keepsPNGRows says whether the PNG's own image data goes into the PDF as
// it is, read with PNG predictor 15, instead of samples compressed again.
// The scanner's bytes are the record, and no second compression is spent:
// reading a noisy 300 dpi A4 colour page took 219 ms of CPU instead of 384,
// and its data came to 8.38 MB instead of 9.60 (a grey one to 5.65 MB
// instead of 5.41: PNG filters do not always beat plain samples).
//
// It takes the samples a PDF image reads unchanged: 8-bit grey or RGB and
// 1-bit grey (1 white, as in DeviceGray), one pass, nothing transparent.
// Palettes, alpha, 16-bit and 2- or 4-bit samples and interlaced files are
// decoded and compressed as before. Neither path reads gAMA, cHRM, sRGB or
// iCCP: the samples are shown as the output intent's sRGB, as they were.
func (d *Document) keepsPNGRows(r *raster) bool {
	info := d.png
	switch {
	case d.opt.PixelsOnly, info.interlaced, info.transparency:
		return false
	case info.colorType == pngGray && info.bitDepth == 1:
		return r.bilevel // LosslessAsJPEG keeps bilevel pages lossless
	case (info.colorType == pngGray || info.colorType == pngRGB) && info.bitDepth == 8:
		return !d.opt.LosslessAsJPEG
	}
	return false
}

// pngImageData returns the data of a PNG file's first run of IDAT chunks,
// one zlib stream of filtered rows, or nil when the chunks run past the
// end of the file. The file has been decoded already: its chunks are
// whole and its rows complete.
func pngImageData(file []byte) []byte {
	var spans [][2]int
	total := 0
	for off := 8; off+12 <= len(file); {
		n := int(binary.BigEndian.Uint32(file[off:]))
		kind := string(file[off+4 : off+8])
		end := off + 12 + n
		if n < 0 || end > len(file) || end < off {
			return nil
		}
		if kind == "IDAT" {
			spans = append(spans, [2]int{off + 8, off + 8 + n})
			total += n
		} else if len(spans) > 0 {
			break // IDAT chunks follow one another; anything after them is not image data
		}
		off = end
	}
	if total == 0 {
		return nil
	}
	data := make([]byte, 0, total)
	for _, s := range spans {
		data = append(data, file[s[0]:s[1]]...)
	}
	return data
}
