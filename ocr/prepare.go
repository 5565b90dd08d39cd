package ocr

/*
#cgo LDFLAGS: -lleptonica
#include <math.h>
#include <stdlib.h>
#include <leptonica/allheaders.h>

typedef struct {
	int width, height;   // of the image as given
	float angle, conf;   // skew found: Leptonica's clockwise degrees that straighten, and its confidence
	int rotated;         // the page handed over is the image turned by angle (clockwise)
	unsigned char *data; // the page to hand Tesseract, or NULL: hand over the image as given
	size_t size;
} prepared;

// redChannel is the page Tesseract reads when red ink is to vanish: the
// red channel of a colour page, where a red seal is nearly as light as the
// paper and black ink stays dark (blue ink should too, having little red;
// not measured). NULL when the page is not colour.
static PIX *redChannel(PIX *pix) {
	if (pixGetDepth(pix) != 32) {
		return NULL;
	}
	return pixGetRGBComponent(pix, COLOR_RED);
}

// findSkew measures the skew on a binarised copy reduced 2× (sampled: the
// search only needs the lines' direction), on that copy turned by 90° too
// when the lines found are too few to trust.
static void findSkew(PIX *pix, float minConf, float *angle, float *conf) {
	*angle = 0;
	*conf = 0;
	PIX *small = NULL;
	l_int32 d = pixGetDepth(pix);
	if (d == 1) {
		small = pixClone(pix);
	} else if (d == 32 && pixGetColormap(pix) == NULL) {
		small = pixScaleRGBToGrayFast(pix, 2, COLOR_GREEN);
	} else {
		PIX *g = pixConvertTo8(pix, 0);
		if (g != NULL) {
			small = pixScaleBySampling(g, 0.5, 0.5);
			pixDestroy(&g);
		}
	}
	if (small == NULL) {
		return;
	}
	PIX *bin = pixGetDepth(small) == 1 ? pixClone(small) : pixThresholdToBinary(small, 130);
	pixDestroy(&small);
	if (bin == NULL) {
		return;
	}
	// 2 and 1 on the halved page are Leptonica's defaults (4 and 2) on the
	// whole one; a 1 bpp page is searched at full size with the defaults.
	int sweep = d == 1 ? 4 : 2, search = d == 1 ? 2 : 1;
	if (pixFindSkewSweepAndSearch(bin, angle, conf, sweep, search, 7.0, 1.0, 0.01) != 0) {
		*angle = 0;
		*conf = 0;
	}
	if (*conf < minConf) {
		// The lines may run up or down: a page fed turned by 90°. Turns
		// commute, so the angle that straightens them in a copy turned by
		// 90° straightens them in the page as given.
		PIX *across = pixRotate90(bin, 1);
		float a, c;
		if (across != NULL && pixFindSkewSweepAndSearch(across, &a, &c, sweep, search, 7.0, 1.0, 0.01) == 0 && c > *conf) {
			*angle = a;
			*conf = c;
		}
		pixDestroy(&across);
	}
	pixDestroy(&bin);
}

// prepare decodes a page and finds its skew; when it is at least minAngle
// degrees with confidence minConf, it turns a copy about its centre to
// straighten it (area mapping, same size, white brought in). The page to
// hand over is written as an uncompressed TIFF when it differs from the
// image as given, and when it has 8 bits a pixel or fewer: such a page is
// cheaper to write and read again (9 ms on a 300 dpi A4 page) than to
// decode a second time from JPEG (40 ms). Returns 1 when the image
// cannot be decoded, 2 when it is larger than maxSide a side.
static int prepare(const unsigned char *data, size_t size, float minAngle, float minConf,
		int dropRed, int maxSide, prepared *p) {
	p->data = NULL;
	p->size = 0;
	p->rotated = 0;
	p->angle = 0;
	p->conf = 0;
	PIX *pix = pixReadMem(data, size);
	if (pix == NULL) {
		return 1;
	}
	p->width = pixGetWidth(pix);
	p->height = pixGetHeight(pix);
	if (p->width > maxSide || p->height > maxSide) {
		pixDestroy(&pix);
		return 2;
	}
	findSkew(pix, minConf, &p->angle, &p->conf);
	PIX *page = dropRed ? redChannel(pix) : NULL;
	if (page == NULL) {
		page = pixClone(pix);
	} else {
		pixCopyResolution(page, pix);
	}
	pixDestroy(&pix);
	if (p->conf >= minConf && fabsf(p->angle) >= minAngle) {
		PIX *turned = pixRotate(page, p->angle * 3.14159265358979 / 180, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
		if (turned != NULL) {
			pixCopyResolution(turned, page);
			pixDestroy(&page);
			page = turned;
			p->rotated = 1;
		}
	}
	if (p->rotated || pixGetDepth(page) <= 8) {
		if (pixWriteMem(&p->data, &p->size, page, IFF_TIFF) != 0) {
			p->data = NULL;
			p->rotated = 0;
		}
	}
	pixDestroy(&page);
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"unsafe"
)

// preparation says how a page is made ready for Tesseract. The zero value
// hands the image over as given.
type preparation struct {
	minAngle float64 // degrees; 0 = never turn
	dropRed  bool    // hand over the red channel of a colour page (doc.go, Red ink)
}

// defaultPreparation is how an Engine prepares pages (doc.go, Skew).
var defaultPreparation = preparation{minAngle: 1.5, dropRed: true}

// minSkewConfidence is Leptonica's own bar for deskewing (skew.c,
// MinAllowedConfidence): below it the lines found say little.
const minSkewConfidence = 3.0

// A readyPage is the page Tesseract reads.
type readyPage struct {
	data          []byte  // the image to read
	width, height int     // of the image as given; the one read has the same size
	turned        float64 // clockwise degrees the image read was turned about its centre; 0 = not turned
}

// prepare decodes img with Leptonica, the decoder Tesseract uses, and makes
// the page Tesseract is to read. gosseract hands a failed decode (a null
// image) straight to Tesseract, which crashes the process, so nothing
// reaches it unchecked.
func prepare(img []byte, how preparation) (readyPage, error) {
	if len(img) == 0 {
		return readyPage{}, errors.New("the image is empty")
	}
	minAngle := how.minAngle
	if minAngle <= 0 {
		minAngle = math.Inf(1)
	}
	var p C.prepared
	switch C.prepare((*C.uchar)(unsafe.Pointer(&img[0])), C.size_t(len(img)), C.float(minAngle), minSkewConfidence,
		C.int(btoi(how.dropRed)), maxSide, &p) {
	case 0:
	case 2:
		return readyPage{}, fmt.Errorf("the image is %d×%d pixels; Tesseract reads at most %d pixels a side", int(p.width), int(p.height), maxSide)
	default:
		return readyPage{}, errors.New("the image cannot be read: it is not a JPEG, PNG, TIFF or PNM file, or it is damaged")
	}
	r := readyPage{data: img, width: int(p.width), height: int(p.height)}
	if p.data != nil {
		defer C.lept_free(unsafe.Pointer(p.data))
		r.data = C.GoBytes(unsafe.Pointer(p.data), C.int(p.size))
		if p.rotated != 0 {
			r.turned = float64(p.angle)
		}
	}
	return r, nil
}

// unturn maps a box of the page read back into the image as given: the
// inverse of Leptonica's turn by turned degrees clockwise about (w/2, h/2),
// integer halves as pixRotate takes them. The box is the bounding box of
// the turned corners, clipped to the image.
func unturn(b image.Rectangle, turned float64, width, height int) image.Rectangle {
	if turned == 0 {
		return b
	}
	sin, cos := math.Sincos(turned * math.Pi / 180)
	cx, cy := float64(width/2), float64(height/2)
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, c := range [4]image.Point{b.Min, {b.Max.X, b.Min.Y}, {b.Min.X, b.Max.Y}, b.Max} {
		dx, dy := float64(c.X)-cx, float64(c.Y)-cy
		// A clockwise turn (y pointing down) took (x, y) to
		// (cx + dx·cos − dy·sin, cy + dx·sin + dy·cos); this undoes it.
		x, y := cx+dx*cos+dy*sin, cy-dx*sin+dy*cos
		minX, maxX = min(minX, x), max(maxX, x)
		minY, maxY = min(minY, y), max(maxY, y)
	}
	out := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
	return out.Intersect(image.Rect(0, 0, width, height))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
