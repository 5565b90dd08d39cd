// Package scan reads the files a document scanner writes (JPEG, PNG,
// TIFF including multi-page and CCITT Group 4, and scanner PDFs with one
// image per page) into pages ready to be embedded in a PDF and read by
// Tesseract.
//
// The scanner's bytes are the record: a JPEG page is passed through
// untouched, never re-encoded, and so are a scanner PDF's JBIG2 and JPEG
// 2000 images and JPEGs wrapped in Flate, decoded only for OCR (by
// jbig2dec and OpenJPEG, see codecs.go). So are a PNG's compressed rows
// (with their PNG predictors) and a TIFF's CCITT Group 4 strip. Other
// lossless pages are decoded and their samples recompressed with Flate (or,
// on request, encoded as JPEG).
//
// Each page also carries what the quality gate needs: the colour depth the
// file was delivered in and a small luminance thumbnail, made from the
// pixels the decoder produced anyway (a JPEG is decoded once, to prove it
// is whole, and the thumbnail comes from that decode).
//
// Everything about the input is checked from its headers before pixels are
// decoded, so a hostile or broken file is refused with an *InputError whose
// reason an operator can act on, rather than exhausting memory.
package scan

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"scanstation/lang"
)

// Limits bound what a single input may cost. Zero fields take safe defaults.
type Limits struct {
	MaxFileSize int64 // bytes; default 500 MiB
	MaxPages    int   // default 300 (some 6 minutes of OCR and 3 GB at A4 300 dpi; see defaultMaxPages)
	MaxPixels   int64 // per page; default 200 million (an A0 sheet at 400 dpi is ~190 million)
}

const (
	defaultMaxFileSize = 500 << 20
	// defaultMaxPages is three full 50-sheet feeder loads scanned on both
	// sides. Measured on 2 cores, A4 300 dpi colour pages cost the station
	// about 1.3 s of OCR and 8 MB of memory each until the document is
	// built: 2000 pages would hold it for 45 minutes or more and need 17 GB.
	defaultMaxPages    = 300
	defaultMaxPixels   = 200_000_000
	defaultDPI         = 300
	defaultJPEGQuality = 85
)

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = defaultMaxFileSize
	}
	if l.MaxPages <= 0 {
		l.MaxPages = defaultMaxPages
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = defaultMaxPixels
	}
	return l
}

// Options control how a file is read. The zero value is ready to use.
type Options struct {
	Limits Limits

	// AssumeDPI is the resolution used when the file carries none;
	// zero means 300. Pages that use it report DPIKnown false.
	AssumeDPI float64

	// LosslessAsJPEG re-encodes lossless grey and colour pages (PNG, TIFF,
	// Flate-compressed PDF images) as JPEG for smaller output. Bilevel
	// pages stay 1-bit Flate: they are already small and JPEG would blur
	// the strokes OCR and readers depend on.
	LosslessAsJPEG bool

	// JPEGQuality is the quality for LosslessAsJPEG, 1 to 100; zero means 85.
	JPEGQuality int

	// PixelsOnly leaves out what only a PDF needs: a page decoded from lossless samples gets
	// no Data (its Filter is ""), which saves recompressing them (on a 300 dpi A4 colour
	// page, about a third of the page's decoding). For a caller that wants the pixels alone
	// (OCRImage, Thumb), such as a preview. Pages kept byte for byte (JPEG, JBIG2, JPEG 2000)
	// still carry their bytes, which cost nothing to keep.
	PixelsOnly bool
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.withDefaults()
	if o.AssumeDPI <= 0 {
		o.AssumeDPI = defaultDPI
	}
	if o.JPEGQuality <= 0 || o.JPEGQuality > 100 {
		o.JPEGQuality = defaultJPEGQuality
	}
	return o
}

// Document is an opened scanner file. Pages are decoded one at a time by
// Page, so a long TIFF is never held in memory all at once. Page may be
// called from several goroutines.
type Document struct {
	Path     string
	Format   string // "jpeg", "png", "tiff" or "pdf"
	NumPages int

	opt  Options
	file *os.File
	size int64

	jpeg *jpegInfo
	png  *pngInfo
	tiff *tiffInfo

	pdfMu sync.Mutex // pdfcpu's context is not safe for concurrent use
	pdf   *model.Context
}

// Page is one decoded page.
type Page struct {
	Number        int // 1-based
	Width, Height int // pixels
	DPIX, DPIY    float64
	DPIKnown      bool // false when DPIX and DPIY are Options.AssumeDPI

	// Rotate is the page's /Rotate from a scanner PDF (0, 90, 180 or
	// 270, clockwise when shown); always 0 for image files. The pixels
	// are not rotated: whoever builds the output page applies it.
	Rotate int

	Gray             bool // DeviceGray, else DeviceRGB
	BitsPerComponent int  // 8, or 1 for bilevel pages

	// Filter says what Data is: "DCTDecode" means Data is a JPEG file;
	// "FlateDecode" means Data is zlib-compressed samples with each row
	// padded to a whole byte, as a PDF image XObject expects (for 1-bit
	// pages, 0 is black).
	//
	// A scanner PDF's JBIG2 and JPEG 2000 images, and a JPEG it wrapped
	// in Flate, are kept byte for byte too: "JBIG2Decode" (with
	// JBIG2Globals, the shared segments, nil when there are none),
	// "JPXDecode" (a JPEG 2000 file), and "FlateDecode DCTDecode" (a
	// filter pipeline, names in the order a PDF lists them: a JPEG file
	// zlib-compressed).
	//
	// A PNG's own compressed rows and a TIFF's Group 4 strip are kept as
	// they are too: "FlateDecode" with Predictor 15, and "CCITTFaxDecode"
	// (fax-coded 1-bit grey, read with CCITT).
	Filter       string
	Data         []byte
	JBIG2Globals []byte

	// Predictor is, for "FlateDecode" data, the PNG predictor its rows were
	// filtered with before compression: 15 when Data is a PNG file's image
	// data, each row led by its filter type; 0 for plain samples.
	Predictor int

	// CCITT describes "CCITTFaxDecode" data.
	CCITT CCITTParams

	// JBIG2Symbols is true for a JBIG2 page coded by pattern matching
	// (symbol or pattern dictionaries): the encoder may have painted one
	// character in place of a similar one, so the page is flagged in the
	// record. See jbig2Coding.
	JBIG2Symbols bool

	// OCRImage is an encoded image Leptonica's pixReadMem reads: the JPEG
	// itself for JPEG pages, otherwise PNM (P4 for bilevel, P5 grey, P6
	// colour).
	OCRImage []byte

	// ColorDepth is the bits per pixel of the scan as the file delivers
	// it, counting colour samples only (not alpha): 24 for colour, 48
	// for 16-bit colour, 8 for greyscale, 1 for bilevel, and the index
	// size (8, 4, ...) for a palette image. It says how the scanner was
	// set, not what the pixels look like: a colour JPEG of a grey page
	// is 24.
	ColorDepth int

	// Thumb is the page's luminance reduced by ThumbScale each way, each
	// pixel the mean of the block it covers (blocks on the right and
	// bottom edges may be smaller). It is made from the pixels the
	// decoder produced anyway, for blank-page detection and for looking
	// for ink where a mark is to be stamped. Thumb pixel (x, y) covers
	// page pixels from (x/ThumbScale, y/ThumbScale), before any Rotate.
	Thumb      *image.Gray
	ThumbScale float64 // thumbnail pixels per page pixel, e.g. 1/8
}

// InputError reports a file that cannot be used as a scan. Reason is
// written for the records-office operator: what is wrong and what to do.
type InputError struct {
	Path   string
	Page   int // 1-based; 0 when the problem is the whole file
	Reason string
	Err    error // the underlying technical cause, if any

	// Format and Args are Reason before it was printed, so the station can print it in its
	// own language (package lang has Format as a key); an argument may be a lang.Text.
	Format string
	Args   []any
}

func (e *InputError) Error() string {
	if e.Page > 0 {
		return fmt.Sprintf("%s, page %d: %s", e.Path, e.Page, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}

func (e *InputError) Unwrap() error { return e.Err }

func (d *Document) inputError(page int, err error, format string, args ...any) *InputError {
	t := lang.T(format, args...)
	return &InputError{Path: d.Path, Page: page, Reason: t.String(), Err: err, Format: format, Args: args}
}

// Open opens the scanner file at path, recognises its type from its
// content (never its name), and checks its size, page count and every
// page's pixel count that can be read from headers. It decodes no pixels.
func Open(path string, opt Options) (*Document, error) {
	d := &Document{Path: path, opt: opt.withDefaults()}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	d.file = f
	if err := d.open(); err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

func (d *Document) open() error {
	fi, err := d.file.Stat()
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return d.inputError(0, nil, "this is not a regular file")
	}
	d.size = fi.Size()
	if d.size == 0 {
		return d.inputError(0, nil, "the file is empty (0 bytes); the scan was not saved completely, scan the document again")
	}
	if d.size > d.opt.Limits.MaxFileSize {
		return d.inputError(0, nil, "the file is %s, larger than the %s this station accepts; split the document into smaller scans",
			byteSize(d.size), byteSize(d.opt.Limits.MaxFileSize))
	}
	head := make([]byte, 1024)
	n, err := d.file.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("scan: reading %s: %w", d.Path, err)
	}
	head = head[:n]

	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		d.Format = "jpeg"
		return d.openJPEG()
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		d.Format = "png"
		return d.openPNG()
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		d.Format = "tiff"
		return d.openTIFF()
	case bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		return d.inputError(0, nil, "this is a BigTIFF file, which is not supported; save the scan as ordinary TIFF, JPEG or PDF")
	case bytes.Contains(head, []byte("%PDF-")):
		d.Format = "pdf"
		return d.openPDF()
	}
	return d.inputError(0, nil, "%s; the station accepts scans saved as JPEG, PNG, TIFF or PDF", describeUnknown(head))
}

// describeUnknown names what a file that is not a scan probably is, so the
// operator can tell a misplaced document from a broken scan.
func describeUnknown(head []byte) lang.Text {
	known := []struct {
		magic string
		name  string
	}{
		{"GIF87a", "a GIF image"}, {"GIF89a", "a GIF image"}, {"BM", "a BMP image"},
		{"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"}, {"\xff\x4f\xff\x51", "a JPEG 2000 image"},
		{"PK\x03\x04", "a ZIP archive or office document"}, {"\xd0\xcf\x11\xe0", "an old Microsoft Office document"},
		{"{\\rtf", "an RTF document"},
	}
	for _, k := range known {
		if bytes.HasPrefix(head, []byte(k.magic)) {
			return lang.T("this is %s, not a scan", lang.T(k.name))
		}
	}
	if len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return lang.T("this is a WebP image, not a scan")
	}
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		return lang.T("this is a HEIC/HEIF or video file, not a scan")
	}
	if looksLikeText(head) {
		return lang.T("this is a text file, not a scanned image")
	}
	return lang.T("this file is not an image or PDF the station recognises")
}

func looksLikeText(b []byte) bool {
	// The sample may end in the middle of a UTF-8 sequence.
	for i := 0; i < utf8.UTFMax-1 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			return false
		}
	}
	return true
}

// Page decodes page i (0-based). It reads the file anew each time, so a
// caller that needs a page twice should keep it.
func (d *Document) Page(i int) (*Page, error) {
	if d.file == nil {
		return nil, errors.New("scan: Page called on a closed document")
	}
	if i < 0 || i >= d.NumPages {
		return nil, fmt.Errorf("scan: page index %d out of range: %s has %d pages", i, d.Path, d.NumPages)
	}
	switch d.Format {
	case "jpeg":
		return d.jpegPage()
	case "png":
		return d.pngPage()
	case "tiff":
		return d.tiffPage(i)
	case "pdf":
		return d.pdfPage(i)
	}
	return nil, fmt.Errorf("scan: unknown format %q", d.Format)
}

// Close releases the file. It is safe to call more than once.
func (d *Document) Close() error {
	if d.file == nil {
		return nil
	}
	err := d.file.Close()
	d.file = nil
	d.pdf = nil
	return err
}

// checkPixels refuses a page whose header claims more pixels than the
// limit, before anything is allocated for it.
func (d *Document) checkPixels(page, w, h int) error {
	if w <= 0 || h <= 0 {
		return d.inputError(page, nil, "the image is empty (%s pixels); scan the page again", dims(w, h))
	}
	if int64(w)*int64(h) > d.opt.Limits.MaxPixels {
		return d.inputError(page, nil, "the image claims %s pixels (%s), more than the %s this station accepts per page; the file is damaged or was scanned at far too high a resolution, scan it again at 300 dpi",
			dims(w, h), pixelCount(int64(w)*int64(h)), pixelCount(d.opt.Limits.MaxPixels))
	}
	return nil
}

func (d *Document) checkPageCount(n int) error {
	if n > d.opt.Limits.MaxPages {
		return d.inputError(0, nil, "the file has more than %d pages, the most this station accepts in one file; split the document", d.opt.Limits.MaxPages)
	}
	return nil
}

// readAll reads the whole file; its size was checked against the limit in Open.
func (d *Document) readAll() ([]byte, error) {
	b := make([]byte, d.size)
	if _, err := d.file.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("scan: reading %s: %w", d.Path, err)
	}
	return b, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// pixelCount and dims give their numbers as text: a printer in a language would group their
// digits (100.000), which no scanner's settings show.
func pixelCount(n int64) lang.Text {
	if n >= 1e6 {
		return lang.T("%s million pixels", strconv.FormatFloat(float64(n)/1e6, 'f', 0, 64))
	}
	return lang.T("%s pixels", strconv.FormatInt(n, 10))
}

func dims(w, h int) string { return strconv.Itoa(w) + "×" + strconv.Itoa(h) }
