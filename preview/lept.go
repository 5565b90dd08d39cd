package preview

/*
#cgo LDFLAGS: -lleptonica
#include <stdlib.h>
#include <leptonica/allheaders.h>

// jpegReduced decodes a JPEG with libjpeg's scaled IDCT, at 1/reduction of
// its size each way (1, 2, 4 or 8), into packed samples: RGB, or grey
// when gray is set. *w and *h are the decoded size; the result is freed with
// free. NULL when libjpeg cannot read it or warned about its data.
static unsigned char *jpegReduced(const unsigned char *data, size_t size, int reduction, int *w, int *h, int *gray) {
	l_int32 warnings = 0;
	PIX *pix = pixReadMemJpeg(data, size, 0, reduction, &warnings, 0);
	if (pix == NULL) {
		return NULL;
	}
	l_int32 d = pixGetDepth(pix);
	if (warnings != 0 || (d != 8 && d != 32) || pixGetColormap(pix) != NULL) {
		pixDestroy(&pix);
		return NULL;
	}
	*w = pixGetWidth(pix);
	*h = pixGetHeight(pix);
	*gray = d == 8;
	l_int32 wpl = pixGetWpl(pix);
	l_uint32 *lines = pixGetData(pix);
	unsigned char *out = malloc((size_t)*w * *h * (d == 8 ? 1 : 3));
	if (out == NULL) {
		pixDestroy(&pix);
		return NULL;
	}
	unsigned char *o = out;
	for (l_int32 y = 0; y < *h; y++) {
		l_uint32 *line = lines + (size_t)y * wpl;
		if (d == 8) {
			for (l_int32 x = 0; x < *w; x++) {
				*o++ = GET_DATA_BYTE(line, x);
			}
			continue;
		}
		for (l_int32 x = 0; x < *w; x++) {
			l_uint32 v = line[x];
			*o++ = (v >> L_RED_SHIFT) & 0xff;
			*o++ = (v >> L_GREEN_SHIFT) & 0xff;
			*o++ = (v >> L_BLUE_SHIFT) & 0xff;
		}
	}
	pixDestroy(&pix);
	return out;
}

// encodeJPEG encodes RGBA samples (alpha ignored) as a baseline JPEG with
// libjpeg. The result is freed with lept_free; NULL on failure.
static unsigned char *encodeJPEG(const unsigned char *rgba, int w, int h, int stride, int quality, size_t *size) {
	PIX *pix = pixCreateNoInit(w, h, 32);
	if (pix == NULL) {
		return NULL;
	}
	pixSetSpp(pix, 3);
	l_int32 wpl = pixGetWpl(pix);
	l_uint32 *lines = pixGetData(pix);
	for (l_int32 y = 0; y < h; y++) {
		const unsigned char *row = rgba + (size_t)y * stride;
		l_uint32 *line = lines + (size_t)y * wpl;
		for (l_int32 x = 0; x < w; x++) {
			line[x] = ((l_uint32)row[4*x] << L_RED_SHIFT) | ((l_uint32)row[4*x+1] << L_GREEN_SHIFT) |
				((l_uint32)row[4*x+2] << L_BLUE_SHIFT);
		}
	}
	l_uint8 *out = NULL;
	l_ok failed = pixWriteMemJpeg(&out, size, pix, quality, 0);
	pixDestroy(&pix);
	if (failed) {
		return NULL;
	}
	return out;
}
*/
import "C"

import (
	"errors"
	"image"
	"unsafe"
)

// shrinkJPEG decodes a JPEG (the scanner's own, which package scan has
// already decoded whole once) with libjpeg at the largest reduction of 2, 4
// or 8 that still leaves at least w × h pixels, and averages it down to
// w × h: libjpeg's scaled IDCT skips most of a full decode's work, and even
// unscaled libjpeg is several times faster than image/jpeg. It reports
// false when libjpeg cannot read the JPEG cleanly; the caller then decodes
// it with image/jpeg.
func shrinkJPEG(data []byte, fullW, fullH, w, h int) (*image.RGBA, bool) {
	if len(data) == 0 {
		return nil, false
	}
	reduction := 1
	for _, r := range []int{8, 4, 2} {
		// libjpeg rounds a scaled size up.
		if (fullW+r-1)/r >= 2*w && (fullH+r-1)/r >= 2*h {
			reduction = r
			break
		}
	}
	var cw, ch, cg C.int
	out := C.jpegReduced((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(reduction), &cw, &ch, &cg)
	if out == nil {
		return nil, false
	}
	defer C.free(unsafe.Pointer(out))
	sw, sh := int(cw), int(ch)
	if cg != 0 {
		samples := unsafe.Slice((*byte)(unsafe.Pointer(out)), sw*sh)
		return grayRGBA(shrink(samples, sw, sw, sh, 1, w, h), w, h), true
	}
	samples := unsafe.Slice((*byte)(unsafe.Pointer(out)), 3*sw*sh)
	return rgbRGBA(shrink(samples, 3*sw, sw, sh, 3, w, h), w, h), true
}

// encodeJPEG encodes a preview with libjpeg, several times faster than
// image/jpeg at the same quality.
func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w == 0 || h == 0 {
		return nil, errors.New("an empty picture")
	}
	var size C.size_t
	out := C.encodeJPEG((*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(w), C.int(h), C.int(img.Stride), C.int(quality), &size)
	if out == nil {
		return nil, errors.New("libjpeg could not encode it")
	}
	defer C.lept_free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}
