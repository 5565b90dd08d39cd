package ocr

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otiai10/gosseract/v2"
	"golang.org/x/text/unicode/norm"
)

// Options configure an Engine. The zero value reads Vietnamese with
// Tesseract's vie language model and its Vietnamese script model, from
// Tesseract's default folder, and detects turned pages.
type Options struct {
	Languages   []string // zero = []string{"vie", "Vietnamese"} (docs/ocr-models.md)
	TessdataDir string   // zero = Tesseract's default (TESSDATA_PREFIX or the built-in folder)

	// NoOrientation skips orientation detection (OSD). Pages fed upside
	// down or turned 90° counter-clockwise are then misread.
	NoOrientation bool

	// The rest configure a Pool's worker processes; an Engine ignores them.

	// PagesPerWorker is how many pages a worker reads before it is
	// replaced, giving back what gosseract leaked. Zero = 200; negative =
	// never replaced.
	PagesPerWorker int

	// PageTimeout bounds the reading of one page; a worker that takes
	// longer is stopped and the page fails. Zero = 5 minutes.
	PageTimeout time.Duration

	// Log receives what workers write to stdout and stderr (Leptonica's
	// messages, a crash report) and their replacements. Nil = slog.Default().
	Log *slog.Logger
}

// A Word is one recognised word.
type Word struct {
	Text       string          // NFC
	Box        image.Rectangle // pixels in the image as given, origin top-left
	Confidence float64         // 0..100
	Line       int             // 0-based text line on the page, in reading order
}

// A Result is everything recognised on one page.
type Result struct {
	Words []Word // in reading order

	// Orientation is 0, 90, 180 or 270: the clockwise degrees to turn the
	// image as given so that it reads upright (a PDF page's /Rotate).
	Orientation int

	// Skew is the counter-clockwise angle in degrees that straightens the
	// text lines of the upright page; 0 when unsure. |Skew| < 10.
	Skew float64

	// MeanConfidence is the mean word confidence, 0..100; 0 when no words.
	MeanConfidence float64

	// OrientationConfidence, 0..1, is how far the page supports its
	// Orientation. It is the product of three shares, each 0..1:
	//
	//   - agreement: of the words on lines of two or more words, the share
	//     on lines that run the way Orientation says (a one-word line shows
	//     no direction and is not counted);
	//   - support: the number of those words over 20, at most 1: a line of
	//     text (about 8 words) is too little for Tesseract's orientation
	//     detection, two lines are enough for it;
	//   - reading: when the page was read both ways up (the upright reading
	//     was doubtful, so the page turned by 180° was read too), the kept
	//     reading's mean word confidence minus the other's, over 20 points;
	//     otherwise the kept reading's mean word confidence from 50 (0) to
	//     80 (1): a reading that poor may be of a page still turned.
	//
	// It is 0 for a page without words, and for one whose words all stand
	// on lines of their own. Below ReviewOrientationBelow a person should
	// look at the page before it is signed.
	OrientationConfidence float64
}

// ReviewOrientationBelow is the OrientationConfidence below which a page's
// orientation is unsure. Measured on samplescan pages (docs/capture.md,
// "Orientation confidence"): every orientation decided wrongly scored at
// most 0.26 (a line turned 90° counter-clockwise, read as 270: 0.26; three
// lines upside down at 60 dpi, JPEG quality 10, read as upright: 0); pages
// of two or more lines decided rightly scored 0.70 or more (clean pages
// upright, upside down or turned 90°: 1.00; two lines: 0.85; a full page at
// 60 dpi, quality 10: 0.70). One line (0.40) and a page number alone (0.10)
// fall below on purpose: too little text to trust the decision unseen.
const ReviewOrientationBelow = 0.5

// Text returns the recognised words, one text line per line.
func (r *Result) Text() string {
	var b strings.Builder
	for i, w := range r.Words {
		if i > 0 {
			if w.Line != r.Words[i-1].Line {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(w.Text)
	}
	return b.String()
}

// An Engine is one Tesseract instance. It is not meant for concurrent use:
// recognition of one page at a time is what it does (calls are serialised);
// use a Pool to recognise pages in parallel.
type Engine struct {
	mu           sync.Mutex
	client       *gosseract.Client // nil once closed
	singleThread bool
	retryTurned  bool // orientation detection wanted
	prep         preparation
	psm          gosseract.PageSegMode // the mode Tesseract is in
}

// warmUpImage is a small white PGM: recognising it makes Tesseract load its
// models when the engine is created, so a missing language is reported then
// rather than on the first document.
func warmUpImage() []byte {
	const side = 32
	header := []byte("P5 32 32 255\n")
	img := make([]byte, len(header), len(header)+side*side)
	copy(img, header)
	for range side * side {
		img = append(img, 255)
	}
	return img
}

// NewEngine starts one Tesseract with the models loaded.
//
// Tesseract runs single-threaded: a station runs one engine per core, and
// Tesseract's own OpenMP threads would only compete with the other engines.
// An OMP_THREAD_LIMIT set in the process environment at start-up is left to
// OpenMP to honour instead.
func NewEngine(opt Options) (*Engine, error) {
	langs := opt.Languages
	if len(langs) == 0 {
		langs = []string{"vie", "Vietnamese"}
	}
	where := opt.TessdataDir
	if where == "" {
		where = "Tesseract's default tessdata folder"
	}
	if !opt.NoOrientation && !tesseractCanLoad(opt.TessdataDir, "osd") {
		return nil, fmt.Errorf("ocr: the orientation model osd.traineddata is not in %s; "+
			"install the tesseract-ocr-osd package, or turn orientation detection off", where)
	}
	c := gosseract.NewClient()
	c.Trim = false
	if err := c.SetLanguage(langs...); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if opt.TessdataDir != "" {
		if err := c.SetTessdataPrefix(opt.TessdataDir); err != nil {
			c.Close()
			return nil, fmt.Errorf("ocr: %w", err)
		}
	}
	// The page segmentation mode goes in as a variable: gosseract's
	// SetPageSegMode acts before Tesseract is initialised, and
	// initialisation resets it to Tesseract's default (a single block).
	c.SetVariable("tessedit_pageseg_mode", strconv.Itoa(int(gosseract.PSM_AUTO)))
	c.SetVariable(gosseract.DEBUG_FILE, os.DevNull) // no diagnostics on stderr for each page

	_, limitSet := os.LookupEnv("OMP_THREAD_LIMIT")
	e := &Engine{client: c, singleThread: !limitSet, retryTurned: !opt.NoOrientation, prep: defaultPreparation,
		psm: gosseract.PSM_AUTO}
	if _, err := e.recognize(readyPage{data: warmUpImage(), width: 32, height: 32}); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: Tesseract could not load the languages %s from %s (%v); "+
			"install %s or correct the tessdata folder",
			strings.Join(langs, "+"), where, err, modelPackages(langs))
	}
	return e, nil
}

// ErrClosed is returned when an Engine or Pool is used after Close.
var ErrClosed = errors.New("ocr: the OCR engine is closed")

// Recognize reads the text of one page. img is an encoded image Leptonica
// can read (JPEG, PNG, TIFF, PNM); the image is only read, never changed.
// A page without text gives a Result without words and no error.
func (e *Engine) Recognize(img []byte) (*Result, error) {
	page, err := prepare(img, e.prep)
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	res, err := e.recognize(page)
	if err != nil && !errors.Is(err, ErrClosed) {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	return res, err
}

func (e *Engine) recognize(page readyPage) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil {
		return nil, ErrClosed
	}
	if e.singleThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		limitOpenMPToThisThread()
	}
	width, height := page.width, page.height
	// OSD only when the reading without it may be of a turned page: it
	// costs 0.2-0.4 s CPU on every page (doc.go, Orientation).
	words, err := e.read(page.data, width, height, gosseract.PSM_AUTO)
	if err != nil {
		return nil, err
	}
	if e.retryTurned && unsure(words) {
		again, err := e.read(page.data, width, height, gosseract.PSM_AUTO_OSD)
		if err != nil {
			return nil, err
		}
		if meanConfidence(again) > meanConfidence(words) {
			words = again
		}
	}
	o := orientation(words)
	var other float64 // mean confidence of the reading not kept
	readBothWays := false
	if e.retryTurned && o == 0 && len(words) > 0 && meanConfidence(words) < retryBelowConfidence {
		turned, err := turnedHalf(page.data)
		if err != nil {
			return nil, err
		}
		again, err := e.read(turned, width, height, gosseract.PSM_AUTO_OSD)
		if err != nil {
			return nil, err
		}
		readBothWays, other = true, meanConfidence(again)
		if meanConfidence(again) >= meanConfidence(words)+retryGain {
			// Back into the image as given: successive words now run
			// right to left, which orientation reads as 180.
			bounds := image.Rect(0, 0, width, height)
			for i := range again {
				b := again[i].Box
				again[i].Box = image.Rect(width-b.Max.X, height-b.Max.Y, width-b.Min.X, height-b.Min.Y).Intersect(bounds)
			}
			other = meanConfidence(words)
			words = again
			o = orientation(words)
		}
	}
	if page.turned != 0 {
		for i := range words {
			words[i].Box = unturn(words[i].Box, page.turned, width, height)
		}
	}
	return &Result{
		Words:          words,
		Orientation:    o,
		Skew:           skew(words, o, width, height),
		MeanConfidence: meanConfidence(words),

		OrientationConfidence: orientationConfidence(words, o, readBothWays, other),
	}, nil
}

// unsure reports whether a reading without orientation detection may be
// of a turned page: no words, words not running left to right, or a low
// mean confidence (a page read upside down scored 58-72, clean upright
// pages 95-97).
func unsure(words []Word) bool {
	return len(words) == 0 || orientation(words) != 0 || meanConfidence(words) < retryBelowConfidence
}

// OSD needs a fair amount of text to decide; a page with a line or two fed
// upside down comes back from it unturned and misread. Such a reading has a
// low mean confidence (58-72 measured, against 95-97 for clean pages read
// the right way up), so a low-confidence upright reading is tried once more
// on the image turned by 180°, and the turned reading is kept only when it
// is clearly better.
const (
	retryBelowConfidence = 80
	retryGain            = 10
)

// read runs one recognition. Text, HOCRText and GetBoundingBoxes* each
// recognise the page again, so everything is derived from this one answer.
func (e *Engine) read(img []byte, width, height int, psm gosseract.PageSegMode) ([]Word, error) {
	if psm != e.psm {
		// Applied at once: the client is initialised (NewEngine read a page).
		if err := e.client.SetVariable("tessedit_pageseg_mode", strconv.Itoa(int(psm))); err != nil {
			return nil, err
		}
		e.psm = psm
	}
	if err := e.client.SetImageFromBytes(img); err != nil {
		return nil, err
	}
	boxes, err := e.client.GetBoundingBoxesVerbose()
	if err != nil {
		return nil, err
	}
	return words(boxes, image.Rect(0, 0, width, height)), nil
}

// words turns Tesseract's boxes into Words: blank words dropped, text in
// NFC, boxes clipped to the image, lines numbered across the page.
func words(boxes []gosseract.BoundingBox, bounds image.Rectangle) []Word {
	out := make([]Word, 0, len(boxes))
	line := -1
	var last [3]int
	for _, b := range boxes {
		text := strings.TrimSpace(norm.NFC.String(b.Word))
		if text == "" {
			continue
		}
		key := [3]int{b.BlockNum, b.ParNum, b.LineNum}
		if line < 0 || key != last {
			line++
			last = key
		}
		out = append(out, Word{
			Text:       text,
			Box:        b.Box.Canon().Intersect(bounds),
			Confidence: max(0, min(100, b.Confidence)),
			Line:       line,
		})
	}
	return out
}

// Close releases the Tesseract instance. It waits for a recognition in
// progress. Closing twice is harmless.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil {
		return nil
	}
	err := e.client.Close()
	e.client = nil
	return err
}

// orientationVotes counts the words orientation hears (those on lines of two
// or more words) and, of those, the words on lines that run the way o says.
// A line alone given to orientation reports its own direction, so the vote
// is the decision's own rule.
func orientationVotes(words []Word, o int) (agree, voting int) {
	for _, line := range lines(words) {
		if len(line) < 2 {
			continue
		}
		voting += len(line)
		if orientation(line) == o {
			agree += len(line)
		}
	}
	return agree, voting
}

// orientationConfidence computes Result.OrientationConfidence (its comment
// says what it measures). other is the mean confidence of the reading not
// kept when the page was read both ways.
func orientationConfidence(words []Word, o int, readBothWays bool, other float64) float64 {
	agree, voting := orientationVotes(words, o)
	if voting == 0 {
		return 0
	}
	agreement := float64(agree) / float64(voting)
	support := min(1, float64(voting)/orientationFullSupport)
	var reading float64
	if readBothWays {
		reading = (meanConfidence(words) - other) / orientationClearMargin
	} else {
		reading = (meanConfidence(words) - orientationPoorReading) / (retryBelowConfidence - orientationPoorReading)
	}
	return agreement * support * max(0, min(1, reading))
}

// The scales of OrientationConfidence's parts. 20 words is about two lines:
// OSD decided two lines turned 90° rightly, one line wrongly. A turned
// reading is kept when it wins by retryGain (10), which scores 0.5; on clean
// pages of one or two lines the right way up beat the wrong way by 23-39
// points. A wrong-way-up reading measured 58-72, a clean right-way-up one
// 95-97; below 50 a reading says nothing about which way up the page is.
const (
	orientationFullSupport = 20 // words
	orientationClearMargin = 20 // points of mean confidence
	orientationPoorReading = 50 // mean confidence
)

// ModelPackage names the Debian package that installs Tesseract's model for lang: language
// models come in tesseract-ocr-LANG, script models (capitalised names such as Vietnamese) in
// tesseract-ocr-script-ABBREVIATION.
func ModelPackage(lang string) string {
	scripts := map[string]string{"Vietnamese": "viet", "Latin": "latn", "Cyrillic": "cyrl"}
	if abbr, ok := scripts[lang]; ok {
		return "tesseract-ocr-script-" + abbr
	}
	return "tesseract-ocr-" + strings.ReplaceAll(strings.ToLower(lang), "_", "-")
}

func modelPackages(langs []string) string {
	names := make([]string, len(langs))
	for i, l := range langs {
		names[i] = ModelPackage(l)
	}
	return strings.Join(names, ", ")
}
