package samplescan

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"math"
)

// TIFF field types and tags used by WriteTIFF (TIFF 6.0, sections 2 and 8).
const (
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5

	tagNewSubfileType  = 254
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagYResolution     = 283
	tagPlanarConfig    = 284
	tagResolutionUnit  = 296
	tagPageNumber      = 297

	compressionDeflate = 8 // zlib stream, "Adobe Deflate"
	photometricGray    = 1 // BlackIsZero
	photometricRGB     = 2
	resolutionInch     = 2
	subfilePage        = 2 // one page of a multi-page document

	stripTarget = 256 << 10 // uncompressed bytes a strip should hold
)

// WriteTIFF writes pages as one little-endian multi-page TIFF, each page an
// IFD with Deflate-compressed strips and X/YResolution set to dpi. *image.Gray
// pages are stored as 8-bit grayscale, all others as 8-bit RGB (alpha is
// ignored: scans are opaque).
func WriteTIFF(w io.Writer, pages []image.Image, dpi float64) error {
	if len(pages) == 0 {
		return fmt.Errorf("write TIFF: no pages")
	}
	if len(pages) > math.MaxUint16 {
		return fmt.Errorf("write TIFF: %d pages are more than a TIFF page number can count", len(pages))
	}
	if !(dpi > 0 && dpi <= 100000) {
		return fmt.Errorf("write TIFF: resolution %g dpi cannot be recorded", dpi)
	}
	out := &countingWriter{w: w}
	// Header: little-endian, magic 42, first IFD right after the header.
	header := []byte{'I', 'I', 42, 0, 8, 0, 0, 0}
	if _, err := out.Write(header); err != nil {
		return fmt.Errorf("write TIFF: %w", err)
	}
	for i, img := range pages {
		if err := writeTIFFPage(out, img, dpi, i, len(pages)); err != nil {
			return fmt.Errorf("write TIFF page %d: %w", i+1, err)
		}
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type ifdEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte // the value, little-endian; placed inline when <= 4 bytes
}

func shorts(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func longs(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// writeTIFFPage writes one page at the writer's current offset, which is
// where the previous IFD (or the header) said it would be: the IFD first,
// then the values too large for it, then the strips. The IFD's own "next"
// pointer is therefore known before anything is written.
func writeTIFFPage(out *countingWriter, img image.Image, dpi float64, index, total int) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width > math.MaxUint32 || height > math.MaxUint32 {
		return fmt.Errorf("image size %d×%d cannot be stored", width, height)
	}
	gray, isGray := img.(*image.Gray)
	samples := 3
	if isGray {
		samples = 1
	}
	rowBytes := width * samples
	rowsPerStrip := max(1, stripTarget/rowBytes)

	// Compress every strip first: their sizes decide every offset.
	var strips [][]byte
	row := make([]byte, rowBytes)
	for y0 := 0; y0 < height; y0 += rowsPerStrip {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		for y := y0; y < min(y0+rowsPerStrip, height); y++ {
			if isGray {
				off := gray.PixOffset(b.Min.X, b.Min.Y+y)
				copy(row, gray.Pix[off:off+width])
			} else {
				rgbRow(row, img, b.Min.Y+y)
			}
			if _, err := zw.Write(row); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		strips = append(strips, buf.Bytes())
	}

	resolution := rational(dpi)
	photometric, bits := uint16(photometricRGB), shorts(8, 8, 8)
	if isGray {
		photometric, bits = photometricGray, shorts(8)
	}
	entries := []ifdEntry{
		{tagNewSubfileType, tiffLong, 1, longs(0)},
		{tagImageWidth, tiffLong, 1, longs(uint32(width))},
		{tagImageLength, tiffLong, 1, longs(uint32(height))},
		{tagBitsPerSample, tiffShort, uint32(samples), bits},
		{tagCompression, tiffShort, 1, shorts(compressionDeflate)},
		{tagPhotometric, tiffShort, 1, shorts(photometric)},
		{tagStripOffsets, tiffLong, uint32(len(strips)), nil}, // filled below
		{tagSamplesPerPixel, tiffShort, 1, shorts(uint16(samples))},
		{tagRowsPerStrip, tiffLong, 1, longs(uint32(rowsPerStrip))},
		{tagStripByteCounts, tiffLong, uint32(len(strips)), nil},
		{tagXResolution, tiffRational, 1, resolution},
		{tagYResolution, tiffRational, 1, resolution},
		{tagPlanarConfig, tiffShort, 1, shorts(1)},
		{tagResolutionUnit, tiffShort, 1, shorts(resolutionInch)},
		{tagPageNumber, tiffShort, 2, shorts(uint16(index), uint16(total))},
	}
	if total > 1 {
		entries[0].data = longs(subfilePage)
	}
	counts := make([]uint32, len(strips))
	for i, s := range strips {
		counts[i] = uint32(len(s))
	}
	entries[9].data = longs(counts...)
	entries[6].data = longs(make([]uint32, len(strips))...) // right size for the layout pass

	ifdStart := out.n
	ifdSize := int64(2 + 12*len(entries) + 4)
	extraSize := int64(0)
	for _, e := range entries {
		if len(e.data) > 4 {
			extraSize += int64(len(e.data)+1) &^ 1 // values start on word boundaries
		}
	}
	stripStart := ifdStart + ifdSize + extraSize
	offsets := make([]uint32, len(strips))
	pos := stripStart
	for i, s := range strips {
		offsets[i] = uint32(pos)
		pos += int64(len(s))
	}
	if pos&1 == 1 {
		pos++ // the next IFD must start on a word boundary
	}
	if pos > math.MaxUint32 {
		return fmt.Errorf("the file would exceed the 4 GiB a classic TIFF can address")
	}
	entries[6].data = longs(offsets...)
	next := uint32(0)
	if index < total-1 {
		next = uint32(pos)
	}

	var ifd, extra bytes.Buffer
	ifd.Write(shorts(uint16(len(entries))))
	for _, e := range entries {
		ifd.Write(shorts(e.tag, e.typ))
		ifd.Write(longs(e.count))
		if len(e.data) <= 4 {
			var inline [4]byte
			copy(inline[:], e.data)
			ifd.Write(inline[:])
			continue
		}
		ifd.Write(longs(uint32(ifdStart + ifdSize + int64(extra.Len()))))
		extra.Write(e.data)
		if extra.Len()&1 == 1 {
			extra.WriteByte(0)
		}
	}
	ifd.Write(longs(next))

	for _, part := range [][]byte{ifd.Bytes(), extra.Bytes()} {
		if _, err := out.Write(part); err != nil {
			return err
		}
	}
	for _, s := range strips {
		if _, err := out.Write(s); err != nil {
			return err
		}
	}
	if out.n&1 == 1 {
		if _, err := out.Write([]byte{0}); err != nil {
			return err
		}
	}
	return nil
}

// rational expresses dpi as a TIFF RATIONAL with two decimals of precision.
func rational(dpi float64) []byte {
	num, den := uint32(math.Round(dpi*100)), uint32(100)
	for _, p := range []uint32{2, 5} {
		for num%p == 0 && den%p == 0 {
			num, den = num/p, den/p
		}
	}
	return longs(num, den)
}

func rgbRow(row []byte, img image.Image, y int) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.RGBA:
		off := m.PixOffset(b.Min.X, y)
		for x := 0; x < b.Dx(); x++ {
			copy(row[3*x:3*x+3], m.Pix[off+4*x:off+4*x+3])
		}
	default:
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, y).RGBA()
			row[3*x], row[3*x+1], row[3*x+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
}
