package samplescan

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// WriteTIFFPagewise writes a multi-page uncompressed TIFF into w the way libtiff writes one
// through one open file: each page's pixels, then its directory, and only then the link to it
// from the header or from the directory of the page before. Between two pages the file is a
// valid TIFF of the pages so far. between, if not nil, is called after each page but the last,
// with the number of pages written: a scanner waiting for the next sheet.
func WriteTIFFPagewise(w io.WriteSeeker, pages []image.Image, dpi float64, between func(done int)) error {
	if len(pages) == 0 {
		return fmt.Errorf("write TIFF: no pages")
	}
	le := binary.LittleEndian
	var end int64
	put := func(b []byte) error {
		if _, err := w.Seek(end, io.SeekStart); err != nil {
			return err
		}
		n, err := w.Write(b)
		end += int64(n)
		return err
	}
	patch := func(at int64, v uint32) error {
		if _, err := w.Seek(at, io.SeekStart); err != nil {
			return err
		}
		_, err := w.Write(le.AppendUint32(nil, v))
		return err
	}
	if err := put([]byte{'I', 'I', 42, 0, 0, 0, 0, 0}); err != nil {
		return fmt.Errorf("write TIFF: %w", err)
	}
	link := int64(4)
	res := uint32(math.Round(dpi))
	for i, img := range pages {
		b := img.Bounds()
		width, height := b.Dx(), b.Dy()
		pix := make([]byte, 0, width*height*3)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				pix = append(pix, c.R, c.G, c.B)
			}
		}
		stripAt := end
		if err := put(pix); err != nil {
			return fmt.Errorf("write TIFF page %d: %w", i+1, err)
		}
		if end%2 == 1 {
			put([]byte{0})
		}
		valuesAt := uint32(end)
		values := le.AppendUint32(nil, res)
		values = le.AppendUint32(values, 1)
		values = le.AppendUint32(values, res)
		values = le.AppendUint32(values, 1)
		values = le.AppendUint16(values, 8)
		values = le.AppendUint16(values, 8)
		values = le.AppendUint16(values, 8)
		values = append(values, 0, 0)
		if err := put(values); err != nil {
			return fmt.Errorf("write TIFF page %d: %w", i+1, err)
		}
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32
		}
		entries := []entry{
			{256, 4, 1, uint32(width)},
			{257, 4, 1, uint32(height)},
			{258, 3, 3, valuesAt + 16}, // BitsPerSample 8,8,8
			{259, 3, 1, 1},             // no compression
			{262, 3, 1, 2},             // RGB
			{273, 4, 1, uint32(stripAt)},
			{277, 3, 1, 3},
			{278, 4, 1, uint32(height)},
			{279, 4, 1, uint32(len(pix))},
			{282, 5, 1, valuesAt},
			{283, 5, 1, valuesAt + 8},
			{284, 3, 1, 1},
			{296, 3, 1, 2}, // inches
		}
		ifdAt := end
		ifd := le.AppendUint16(nil, uint16(len(entries)))
		for _, e := range entries {
			ifd = le.AppendUint16(ifd, e.tag)
			ifd = le.AppendUint16(ifd, e.typ)
			ifd = le.AppendUint32(ifd, e.count)
			if e.typ == 3 && e.count == 1 {
				ifd = le.AppendUint16(ifd, uint16(e.value))
				ifd = le.AppendUint16(ifd, 0)
			} else {
				ifd = le.AppendUint32(ifd, e.value)
			}
		}
		ifd = le.AppendUint32(ifd, 0) // no next page yet
		if err := put(ifd); err != nil {
			return fmt.Errorf("write TIFF page %d: %w", i+1, err)
		}
		if err := patch(link, uint32(ifdAt)); err != nil {
			return fmt.Errorf("write TIFF page %d: %w", i+1, err)
		}
		link = ifdAt + 2 + int64(len(entries))*12
		if i < len(pages)-1 && between != nil {
			between(i + 1)
		}
	}
	return nil
}
