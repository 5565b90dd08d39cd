package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"

	"golang.org/x/image/tiff"
)

// TIFF tags and values this package reads itself. golang.org/x/image/tiff
// decodes the pixels but reads only the first IFD and reports no
// resolution, so the IFD chain is walked here.
const (
	tagImageWidth     = 256
	tagImageLength    = 257
	tagBitsPerSample  = 258
	tagCompression    = 259
	tagPhotometric    = 262
	tagFillOrder      = 266
	tagStripOffsets   = 273
	tagSamplesPerPix  = 277
	tagRowsPerStrip   = 278
	tagStripBytes     = 279
	tagXResolution    = 282
	tagYResolution    = 283
	tagResolutionUnit = 296
	tagT6Options      = 293

	photometricWhiteIsZero = 0
	photometricBlackIsZero = 1
	photometricRGB         = 2
	photometricPalette     = 3
	photometricSeparated   = 5
	photometricYCbCr       = 6

	compressionG3      = 3
	compressionG4      = 4
	compressionOldJPEG = 6
	compressionJPEG    = 7
)

// tiffTagsRead are the tags this package looks at; the pixel decoder reads
// the directory again by itself.
var tiffTagsRead = map[uint16]bool{
	tagImageWidth: true, tagImageLength: true, tagBitsPerSample: true, tagCompression: true,
	tagPhotometric: true, tagStripOffsets: true, tagSamplesPerPix: true,
	tagXResolution: true, tagYResolution: true, tagResolutionUnit: true,
	tagFillOrder: true, tagRowsPerStrip: true, tagStripBytes: true, tagT6Options: true,
}

// CCITTParams are the decoding parameters of fax-coded page data
// (Page.CCITT), as a PDF's /DecodeParms for CCITTFaxDecode has them.
type CCITTParams struct {
	K int // -1: Group 4
	// BlackIs1 says the decoded runs show the other way round: coded
	// white as 0 bits, black as 1. A TIFF says so with BlackIsZero.
	BlackIs1 bool
}

type tiffReader struct {
	r     io.ReaderAt
	size  int64
	order binary.ByteOrder
	first int64
}

func newTIFFReader(r io.ReaderAt, size int64) (*tiffReader, error) {
	var h [8]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, noEOF(err)
	}
	t := &tiffReader{r: r, size: size}
	switch string(h[:4]) {
	case "II*\x00":
		t.order = binary.LittleEndian
	case "MM\x00*":
		t.order = binary.BigEndian
	default:
		return nil, errors.New("not a TIFF header")
	}
	t.first = int64(t.order.Uint32(h[4:]))
	return t, nil
}

type tiffEntry struct {
	typ   uint16
	count uint32
	value [4]byte // the value itself when it fits, else its offset
}

type tiffIFD struct {
	t       *tiffReader
	offset  int64
	entries map[uint16]tiffEntry
	next    int64
}

func (t *tiffReader) readIFD(off int64) (*tiffIFD, error) {
	if off < 8 || off+2 > t.size {
		return nil, fmt.Errorf("directory offset %d outside the file", off)
	}
	var nb [2]byte
	if _, err := t.r.ReadAt(nb[:], off); err != nil {
		return nil, noEOF(err)
	}
	n := int(t.order.Uint16(nb[:]))
	buf := make([]byte, 12*n+4)
	if _, err := t.r.ReadAt(buf, off+2); err != nil {
		return nil, noEOF(err)
	}
	ifd := &tiffIFD{t: t, offset: off, entries: make(map[uint16]tiffEntry, len(tiffTagsRead))}
	for i := 0; i < n; i++ {
		e := buf[12*i : 12*i+12]
		tag := t.order.Uint16(e[0:2])
		if !tiffTagsRead[tag] {
			// A directory may list up to 65535 entries; a page's are kept
			// while the document is open, so only those read here are.
			continue
		}
		var en tiffEntry
		en.typ = t.order.Uint16(e[2:4])
		en.count = t.order.Uint32(e[4:8])
		copy(en.value[:], e[8:12])
		ifd.entries[tag] = en
	}
	ifd.next = int64(t.order.Uint32(buf[12*n:]))
	return ifd, nil
}

// uint returns the first value of a SHORT or LONG entry.
func (ifd *tiffIFD) uint(tag uint16) (uint32, bool) {
	e, ok := ifd.entries[tag]
	if !ok || e.count == 0 {
		return 0, false
	}
	var size uint32
	switch e.typ {
	case 3: // SHORT
		size = 2
	case 4: // LONG
		size = 4
	default:
		return 0, false
	}
	v := e.value[:]
	if uint64(e.count)*uint64(size) > 4 {
		// Too long to fit in the entry: the entry holds an offset.
		var b [4]byte
		if _, err := ifd.t.r.ReadAt(b[:size], int64(ifd.t.order.Uint32(v))); err != nil {
			return 0, false
		}
		v = b[:]
	}
	if size == 2 {
		return uint32(ifd.t.order.Uint16(v[:2])), true
	}
	return ifd.t.order.Uint32(v), true
}

func (ifd *tiffIFD) rational(tag uint16) float64 {
	e, ok := ifd.entries[tag]
	if !ok || e.typ != 5 || e.count == 0 {
		return 0
	}
	var b [8]byte
	if _, err := ifd.t.r.ReadAt(b[:], int64(ifd.t.order.Uint32(e.value[:]))); err != nil {
		return 0
	}
	num, den := ifd.t.order.Uint32(b[:4]), ifd.t.order.Uint32(b[4:])
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// resolution returns the dots per inch, or zeros when the directory has
// no resolution or no absolute unit.
func (ifd *tiffIFD) resolution() (x, y float64) {
	x, y = ifd.rational(tagXResolution), ifd.rational(tagYResolution)
	unit, ok := ifd.uint(tagResolutionUnit)
	if !ok {
		unit = 2 // the TIFF default is inches
	}
	switch unit {
	case 2:
		return x, y
	case 3:
		return dpiFromMetric(x), dpiFromMetric(y)
	}
	return 0, 0
}

type tiffInfo struct {
	reader *tiffReader
	ifds   []*tiffIFD
}

func (d *Document) openTIFF() error {
	t, err := newTIFFReader(d.file, d.size)
	if err != nil {
		return d.inputError(0, err, "the TIFF file is damaged (its header cannot be read); scan the document again")
	}
	info := &tiffInfo{reader: t}
	seen := make(map[int64]bool)
	for off := t.first; off != 0; {
		page := len(info.ifds) + 1
		if seen[off] {
			return d.inputError(0, nil, "the TIFF file is damaged (its page list loops back on itself); scan the document again")
		}
		seen[off] = true
		if err := d.checkPageCount(page); err != nil {
			return err
		}
		ifd, err := t.readIFD(off)
		if err != nil {
			return d.inputError(page, err, "the TIFF file is damaged or incomplete (the page's directory cannot be read); scan the document again")
		}
		w, _ := ifd.uint(tagImageWidth)
		h, _ := ifd.uint(tagImageLength)
		if err := d.checkPixels(page, int(w), int(h)); err != nil {
			return err
		}
		info.ifds = append(info.ifds, ifd)
		off = ifd.next
	}
	if len(info.ifds) == 0 {
		return d.inputError(0, nil, "the TIFF file contains no pages; scan the document again")
	}
	d.tiff = info
	d.NumPages = len(info.ifds)
	return nil
}

// tiffPageView presents a TIFF file whose header points at another page's
// directory, so the single-image decoder reads that page. Only the 8
// header bytes differ; the file itself is read in place, not copied.
type tiffPageView struct {
	r      io.ReaderAt
	header [8]byte
}

func (v *tiffPageView) ReadAt(p []byte, off int64) (int, error) {
	n, err := v.r.ReadAt(p, off)
	if off < int64(len(v.header)) {
		copy(p[:n], v.header[off:])
	}
	return n, err
}

func (d *Document) tiffPage(i int) (*Page, error) {
	info := d.tiff
	ifd := info.ifds[i]
	page := i + 1
	compression, _ := ifd.uint(tagCompression)
	photometric, _ := ifd.uint(tagPhotometric)
	bits, _ := ifd.uint(tagBitsPerSample)
	if _, ok := ifd.entries[tagBitsPerSample]; !ok {
		bits = 1
	}
	switch {
	case compression == compressionJPEG || compression == compressionOldJPEG:
		return nil, d.inputError(page, nil, "the TIFF page is JPEG-compressed inside TIFF, which is not supported yet; set the scanner to save JPEG files, or TIFF with LZW, Deflate or G4 compression")
	case photometric == photometricSeparated:
		return nil, d.inputError(page, nil, "the TIFF page is in CMYK colour, which is not supported; set the scanner to scan in RGB colour (or greyscale) and scan again")
	case photometric == photometricYCbCr:
		return nil, d.inputError(page, nil, "the TIFF page is stored as YCbCr, which is not supported; set the scanner to RGB colour")
	}

	if d.opt.PixelsOnly {
		if p, ok := d.tiffPixelsPage(i); ok {
			return p, nil
		}
	}

	var header [8]byte
	if _, err := d.file.ReadAt(header[:4], 0); err != nil {
		return nil, fmt.Errorf("scan: reading %s: %w", d.Path, err)
	}
	info.reader.order.PutUint32(header[4:], uint32(ifd.offset))
	view := &tiffPageView{r: d.file, header: header}
	img, err := tiff.Decode(io.NewSectionReader(view, 0, d.size))
	if err != nil {
		var unsupported tiff.UnsupportedError
		switch {
		case errors.As(err, &unsupported):
			return nil, d.inputError(page, err, "the TIFF page uses a feature that is not supported (%s); save the scan as ordinary TIFF (LZW, Deflate, PackBits, G4 or uncompressed), JPEG or PDF", string(unsupported))
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, d.inputError(page, err, "the TIFF page is incomplete (the file ends too early); the scan was not saved completely, scan the document again")
		}
		return nil, d.inputError(page, err, "the TIFF page is damaged and cannot be read (%v); scan the document again", err)
	}

	gray := photometric == photometricWhiteIsZero || photometric == photometricBlackIsZero
	if pal, ok := img.(*image.Paletted); ok && isGrayPalette(pal.Palette) {
		gray = true
	}
	r := rasterFromImage(img, gray)
	r.depth = int(bits) // grey and palette indices; extra (alpha) samples do not count
	if photometric == photometricRGB {
		r.depth = 3 * int(bits)
	}
	if gray && bits == 1 {
		// The decoder expanded 1-bit samples to 0 and 255, with 0 black.
		packBilevel(r)
		if (compression == compressionG3 || compression == compressionG4) && photometric == photometricBlackIsZero {
			// x/image/tiff always shows CCITT's coded white runs as white.
			// libtiff, which wrote or reads nearly every such file (and
			// Leptonica with it), yields white runs as 0 bits and lets
			// BlackIsZero make them black. Follow libtiff.
			for k := range r.samples {
				r.samples[k] = ^r.samples[k]
			}
		}
	}
	p := &Page{Number: page}
	x, y := ifd.resolution()
	d.setDPI(p, x, y)
	if r.bilevel && compression == compressionG4 && !d.opt.PixelsOnly {
		if strip := d.g4Strip(ifd, r.height); strip != nil {
			p.Filter, p.Data = "CCITTFaxDecode", strip
			p.CCITT = CCITTParams{K: -1, BlackIs1: photometric == photometricBlackIsZero}
			return d.rasterPage(p, r)
		}
	}
	return d.rasterPage(p, r)
}

// g4Strip returns the coded data of a Group 4 page, to go into the PDF as
// it is (CCITTFaxDecode), or nil when a PDF reader could not read it so.
// A page in several strips is refused: each strip's coding starts afresh
// (its first row is coded against a white one), so strips cannot be
// joined into one image's data. Also refused are grey-level and palette
// pages, bits filled from the least significant end (FillOrder 2), which
// PDF's filter does not read, and uncompressed mode (T6Options bit 1).
// Those pages have their decoded samples compressed as before.
func (d *Document) g4Strip(ifd *tiffIFD, height int) []byte {
	photometric, _ := ifd.uint(tagPhotometric)
	if photometric != photometricWhiteIsZero && photometric != photometricBlackIsZero {
		return nil
	}
	if spp, ok := ifd.uint(tagSamplesPerPix); ok && spp != 1 {
		return nil
	}
	if fill, ok := ifd.uint(tagFillOrder); ok && fill != 1 {
		return nil
	}
	if opts, _ := ifd.uint(tagT6Options); opts&2 != 0 {
		return nil
	}
	if rows, ok := ifd.uint(tagRowsPerStrip); ok && int64(rows) < int64(height) {
		return nil
	}
	if ifd.entries[tagStripOffsets].count != 1 || ifd.entries[tagStripBytes].count != 1 {
		return nil
	}
	off, _ := ifd.uint(tagStripOffsets)
	n, _ := ifd.uint(tagStripBytes)
	if n == 0 || int64(off)+int64(n) > d.size {
		return nil
	}
	strip := make([]byte, n)
	if _, err := d.file.ReadAt(strip, int64(off)); err != nil {
		return nil
	}
	return strip
}
