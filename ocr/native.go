package ocr

/*
#cgo LDFLAGS: -lleptonica -ltesseract -lgomp
#include <stdlib.h>
#include <omp.h>
#include <leptonica/allheaders.h>
#include <tesseract/capi.h>

// turnedHalf decodes the image, turns it by 180° and encodes it as an
// uncompressed TIFF (fast to write and it keeps the resolution). The result
// is freed with lept_free.
static unsigned char *turnedHalf(const unsigned char *data, size_t size, size_t *outSize) {
	PIX *pix = pixReadMem(data, size);
	if (pix == NULL) {
		return NULL;
	}
	PIX *turned = pixRotate180(NULL, pix);
	pixDestroy(&pix);
	if (turned == NULL) {
		return NULL;
	}
	l_uint8 *out = NULL;
	int failed = pixWriteMem(&out, outSize, turned, IFF_TIFF);
	pixDestroy(&turned);
	if (failed) {
		return NULL;
	}
	return out;
}

// canLoad reports whether Tesseract finds and loads the given language
// (e.g. "osd") in datapath (NULL: Tesseract's default).
static int canLoad(const char *datapath, const char *language) {
	TessBaseAPI *api = TessBaseAPICreate();
	int ok = TessBaseAPIInit3(api, datapath, language) == 0;
	TessBaseAPIEnd(api);
	TessBaseAPIDelete(api);
	return ok;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// maxSide is the largest width or height Tesseract accepts (INT16_MAX).
// Beyond it Tesseract refuses the page and gosseract v2.4.1 walks a null
// result iterator: an 873-byte PNG of 33000×20 pixels crashed the process.
const maxSide = 32767

// turnedHalf returns img turned by 180° as an uncompressed TIFF, for
// recognition only: the record keeps the image as scanned.
func turnedHalf(img []byte) ([]byte, error) {
	if len(img) == 0 {
		return nil, errors.New("the image is empty")
	}
	var size C.size_t
	out := C.turnedHalf((*C.uchar)(unsafe.Pointer(&img[0])), C.size_t(len(img)), &size)
	if out == nil {
		return nil, errors.New("the image could not be turned for a second reading")
	}
	defer C.lept_free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}

// tesseractCanLoad reports whether Tesseract can load language from
// tessdataDir ("" = Tesseract's own default), resolving the folder exactly
// as the engine will.
func tesseractCanLoad(tessdataDir, language string) bool {
	var dir *C.char
	if tessdataDir != "" {
		dir = C.CString(tessdataDir)
		defer C.free(unsafe.Pointer(dir))
	}
	lang := C.CString(language)
	defer C.free(unsafe.Pointer(lang))
	return C.canLoad(dir, lang) != 0
}

// limitOpenMPToThisThread makes OpenMP parallel regions started from the
// calling OS thread run on that thread alone. The caller must hold the
// thread (runtime.LockOSThread) until Tesseract returns.
//
// Setting OMP_THREAD_LIMIT with os.Setenv does not work here: libgomp reads
// its environment in a shared-library constructor, before the Go runtime
// starts. omp_set_max_active_levels(0) has the same effect at run time:
// every parallel region becomes inactive and runs with one thread.
func limitOpenMPToThisThread() {
	C.omp_set_max_active_levels(0)
}
