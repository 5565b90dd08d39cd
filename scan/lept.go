package scan

/*
#cgo LDFLAGS: -lleptonica
#include <stdlib.h>
#include <string.h>
#include <leptonica/allheaders.h>

// leptTIFF decodes the first directory of an in-memory TIFF. Returns NULL
// when Leptonica (libtiff) cannot read it.
static PIX *leptTIFF(const unsigned char *data, size_t size) {
	return pixReadMemTiff(data, size, 0);
}

// leptSamples copies a decoded page into rows of packed samples, the
// layout of a raster: 3 bytes a pixel from 32 bpp, 1 from 8 bpp, and from
// 1 bpp whole bytes a row with 0 for black (Leptonica has 1 for black).
static void leptSamples(PIX *pix, unsigned char *out) {
	l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix), d = pixGetDepth(pix);
	l_int32 wpl = pixGetWpl(pix);
	l_uint32 *data = pixGetData(pix);
	for (l_int32 y = 0; y < h; y++) {
		l_uint32 *line = data + (size_t)y * wpl;
		switch (d) {
		case 32:
			for (l_int32 x = 0; x < w; x++) {
				l_uint32 v = line[x];
				*out++ = (v >> L_RED_SHIFT) & 0xff;
				*out++ = (v >> L_GREEN_SHIFT) & 0xff;
				*out++ = (v >> L_BLUE_SHIFT) & 0xff;
			}
			break;
		case 8:
			for (l_int32 x = 0; x < w; x++) {
				*out++ = GET_DATA_BYTE(line, x);
			}
			break;
		case 1:
			for (l_int32 x = 0; x < (w + 7) / 8; x++) {
				*out++ = ~GET_DATA_BYTE(line, x);
			}
			if (w % 8 != 0) {
				out[-1] &= 0xff << (8 - w % 8); // padding bits 0, as packBilevel leaves them
			}
			break;
		}
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// maxLeptFile bounds the files tiffPixelsPage reads: it holds the whole file in
// memory for each page, which for a long multi-page TIFF would cost more
// than the faster decoder saves.
const maxLeptFile = 128 << 20

// tiffPixelsPage reads TIFF page i with Leptonica (libtiff, with zlib or
// libdeflate, in C) for a caller that wants the pixels only
// (Options.PixelsOnly): a noisy 300 dpi A4 colour Deflate page is read in
// 165 ms against 270 ms with golang.org/x/image/tiff (docs/benchmarks.md),
// and its samples are not copied into the PNM.
// It takes only the plain pages scanners write (1 or 3 samples of 8 bits,
// or 1 bit, grey or RGB) and reports false for anything else, and for
// anything Leptonica cannot read, so that the page is then read by
// tiffPage's own decoder and refused in its words. A lossless page decodes
// to the same samples either way (TestLeptonicaSameAsGo); the pages a PDF
// is built from are always read by tiffPage's own decoder.
func (d *Document) tiffPixelsPage(i int) (*Page, bool) {
	ifd := d.tiff.ifds[i]
	if d.size > maxLeptFile {
		return nil, false
	}
	photometric, _ := ifd.uint(tagPhotometric)
	bits, ok := ifd.uint(tagBitsPerSample)
	if !ok {
		bits = 1
	}
	spp, ok := ifd.uint(tagSamplesPerPix)
	if !ok {
		spp = 1
	}
	w, _ := ifd.uint(tagImageWidth)
	h, _ := ifd.uint(tagImageLength)
	if w == 0 || h == 0 {
		return nil, false
	}
	r := &raster{width: int(w), height: int(h), depth: int(bits)}
	grey := photometric == photometricWhiteIsZero || photometric == photometricBlackIsZero
	var wantDepth C.l_int32
	switch {
	case photometric == photometricRGB && spp == 3 && bits == 8:
		wantDepth, r.depth = 32, 24
	case grey && spp == 1 && bits == 8:
		wantDepth, r.gray = 8, true
	case grey && spp == 1 && bits == 1:
		wantDepth, r.gray, r.bilevel = 1, true, true
	default:
		return nil, false
	}

	// The whole file, with its header pointing at page i's directory (as
	// tiffPageView does for the Go decoder), so libtiff reads exactly the
	// directory scan checked rather than walking the chain by itself.
	data := make([]byte, d.size)
	if n, _ := d.file.ReadAt(data, 0); n != len(data) {
		return nil, false
	}
	d.tiff.reader.order.PutUint32(data[4:8], uint32(ifd.offset))
	pix := C.leptTIFF((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)))
	if pix == nil {
		return nil, false
	}
	defer C.pixDestroy(&pix)
	if int(C.pixGetWidth(pix)) != r.width || int(C.pixGetHeight(pix)) != r.height ||
		C.pixGetDepth(pix) != wantDepth || C.pixGetColormap(pix) != nil {
		return nil, false
	}

	p := &Page{Number: i + 1}
	x, y := ifd.resolution()
	d.setDPI(p, x, y)
	if r.bilevel {
		// PNM's bits are the opposite of the raster's; these pages are
		// small, and rasterPage makes them as for any other decoder.
		r.samples = make([]byte, r.rowBytes()*r.height)
		C.leptSamples(pix, (*C.uchar)(unsafe.Pointer(&r.samples[0])))
		page, err := d.rasterPage(p, r)
		return page, err == nil
	}
	// Grey and colour samples go straight after a PNM header: the page's
	// OCRImage is this buffer, not a copy of it (26 MB on a 300 dpi A4
	// colour page). What follows is rasterPage's PixelsOnly case.
	header := fmt.Sprintf("P6\n%d %d\n255\n", r.width, r.height)
	if r.gray {
		header = "P5" + header[2:]
	}
	pnm := make([]byte, len(header)+r.rowBytes()*r.height)
	copy(pnm, header)
	r.samples = pnm[len(header):]
	C.leptSamples(pix, (*C.uchar)(unsafe.Pointer(&r.samples[0])))
	p.Width, p.Height = r.width, r.height
	p.Gray = r.gray
	p.BitsPerComponent = 8
	p.OCRImage = pnm
	p.ColorDepth = r.depth
	p.Thumb, p.ThumbScale = r.thumb(), 1.0/thumbFactor
	return p, true
}
