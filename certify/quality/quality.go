// Package quality is the gate a scan passes before it is certified: Decree
// 30/2020/ND-CP Appendix I asks for a colour image (24-bit), at least 200
// dpi (300 for maps and technical drawings), at 100% scale, so that the
// page's physical size, pixels divided by dpi, is the size of the paper.
//
// It is pure logic over facts about each page (PageFacts), which the station
// takes from the decoded scan and its OCR; it reads no files. Check returns
// findings in plain words for the records-office operator, and which pages
// look blank. docs/quality.md explains the rules and their defaults.
package quality

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"
	"strings"

	"scanstation/lang"
)

// Defaults of the Decree and of this station, which a zero Rules applies.
const (
	DefaultMinDPI = 200 // Decree 30/2020 Appendix I; 300 for maps and drawings

	// DefaultToleranceMM is how far, in each direction, a page may be from
	// a paper size and still be that paper at 100%. A flatbed's full
	// platen is 8.5 in (215.9 mm) wide, so an A4 sheet scanned on the
	// whole glass is 5.9 mm wider than A4, and automatic cropping wobbles
	// by a millimetre; 7 mm passes both. It stays below half of the 17.6
	// mm between A4 and Letter heights, the closest pair of default
	// sizes, so no page matches two of them, and it still catches a scale
	// off by 2.4% or more on A4 (3.3% on A5).
	DefaultToleranceMM = 7

	// DefaultBlankInk is the share of dark thumbnail pixels below which a
	// page without OCR words is blank: 0.01%, about 14 thumbnail pixels
	// or 6 mm² of solid dark on A4. Measured on synthetic A4 scans with
	// sensor noise: a blank sheet 0, a lone page number 0.005%, a
	// two-letter word 0.017%, one line of 13-point text 0.1%, a full
	// letter 5%. It is low on purpose: a blank page kept costs nothing,
	// a page with a word on it dropped loses part of the record.
	DefaultBlankInk = 0.0001

	// dpiSlack forgives resolutions that are the nominal value up to
	// rounding: a scanner PDF sizes its page in whole points (2480 pixels
	// over 595.28 pt is 299.96 dpi), and metric units store 300 dpi as
	// 118 per cm.
	dpiSlack = 0.01
)

// Blank page policies for Rules.BlankPages.
const (
	BlankKeep   = "keep"   // keep blank pages; report them, do not fail
	BlankDrop   = "drop"   // leave blank pages out of the copy; report them, do not fail
	BlankReject = "reject" // fail a document that has a blank page
)

// Rules are what a hot-folder asks of its scans. The zero value applies the
// Decree's defaults.
type Rules struct {
	// RequireColor asks for colour scans (24 bits per pixel or more); nil
	// means true, as the Decree asks.
	RequireColor *bool

	MinDPI      float64 // zero means DefaultMinDPI; set 300 for maps and drawings
	PaperSizes  []Paper // nil means DefaultPapers; when several fit a scaled page, the first is named
	ToleranceMM float64 // zero means DefaultToleranceMM

	BlankPages string  // BlankKeep (also when empty or unknown), BlankDrop or BlankReject
	BlankInk   float64 // zero means DefaultBlankInk
}

func (r Rules) withDefaults() Rules {
	if r.RequireColor == nil {
		yes := true
		r.RequireColor = &yes
	}
	if r.MinDPI <= 0 {
		r.MinDPI = DefaultMinDPI
	}
	if len(r.PaperSizes) == 0 {
		r.PaperSizes = DefaultPapers()
	}
	if r.ToleranceMM <= 0 {
		r.ToleranceMM = DefaultToleranceMM
	}
	switch r.BlankPages {
	case BlankDrop, BlankReject:
	default:
		// An unknown word must not lose pages or stop work: keep them.
		// The configuration check refuses unknown words before this.
		r.BlankPages = BlankKeep
	}
	if r.BlankInk <= 0 {
		r.BlankInk = DefaultBlankInk
	}
	return r
}

// Blank reports whether a page is blank under r: no OCR words and less ink than r.BlankInk.
// Check and capture's division of a batch (blank backs, blank separator sheets) use this one test.
func (r Rules) Blank(p PageFacts) bool {
	return p.Words == 0 && p.Ink < r.withDefaults().BlankInk
}

// PageFacts is what the gate needs to know of one page.
type PageFacts struct {
	Number        int     // 1-based, as the operator counts; zero means its place in the list
	Width, Height int     // pixels
	DPIX, DPIY    float64 // as the file states them
	DPIKnown      bool    // false when the file states no resolution
	ColorDepth    int     // bits per pixel as delivered (scan.Page.ColorDepth); zero means unknown
	Ink           float64 // Ink of the page's thumbnail
	Words         int     // words OCR found; zero when not recognised, and blankness rests on Ink
	// JBIG2Symbols is true for a page its scanner stored with JBIG2
	// pattern matching (scan.Page.JBIG2Symbols): it is noted, not failed.
	JBIG2Symbols bool
}

// Finding is one thing wrong with, or worth telling about, one page.
type Finding struct {
	Page    int    // 1-based; zero for the document as a whole
	Rule    string // "color", "dpi", "scale", "blank" or "jbig2"
	Message string // plain words for the operator: what is wrong and what to do
	// Format and Args are Message before it was printed, so the station can print it in its
	// own language (package lang has Format as a key); an argument may be a lang.Text.
	Format string
	Args   []any
	Fails  bool // the finding fails the document; a blank page kept or dropped does not
}

// Result is the gate's verdict on a document.
type Result struct {
	Findings []Finding
	Blank    []int    // numbers of the pages judged blank
	Drop     []int    // numbers of the pages to leave out (blank pages under BlankDrop)
	Paper    []string // per page, the paper it was matched to ("A4"), or "" when none
}

// Failed reports whether any finding fails the document.
func (r Result) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Fails })
}

// Check applies rules to the pages of one document.
func Check(pages []PageFacts, rules Rules) Result {
	rules = rules.withDefaults()
	res := Result{Paper: make([]string, len(pages))}
	add := func(page int, rule string, fails bool, format string, args ...any) {
		res.Findings = append(res.Findings, Finding{Page: page, Rule: rule, Message: lang.T(format, args...).String(), Fails: fails, Format: format, Args: args})
	}
	for i, p := range pages {
		n := p.Number
		if n == 0 {
			n = i + 1
		}
		if rules.Blank(p) {
			res.Blank = append(res.Blank, n)
			const looks = "page %d looks blank (no text and almost no ink)"
			switch rules.BlankPages {
			case BlankKeep:
				add(n, "blank", false, looks+"; it is kept in the copy", n)
			case BlankDrop:
				res.Drop = append(res.Drop, n)
				add(n, "blank", false, looks+"; it is left out of the copy", n)
				continue // what is not kept need not meet the rules
			case BlankReject:
				add(n, "blank", true, looks+"; this station does not accept blank pages: take the blank sheet out and scan the document again", n)
			}
		}
		if p.JBIG2Symbols {
			// The scanner's bytes are the record and are kept; whether such a
			// copy is acceptable is for the office to judge, so it is said.
			add(n, "jbig2", false, "page %d was stored by the scanner with JBIG2 symbol coding (pattern matching), which can paint one character in place of a similar one (a 6 as an 8); the copy keeps the scanner's image as it is: compare figures and names with the paper, and where a legal copy must be exact, set the scanner to JBIG2 lossless, G4, JPEG or TIFF and scan it again", n)
		}
		if *rules.RequireColor && p.ColorDepth < 24 {
			if p.ColorDepth <= 0 {
				add(n, "color", true, "page %d: the file does not say how many colours it holds; the Decree asks for colour (24-bit): set the scanner to colour and scan it again", n)
			} else {
				add(n, "color", true, "page %d is scanned %s; the Decree asks for colour (24-bit): set the scanner to colour and scan it again", n, depthWords(p.ColorDepth))
			}
		}
		if !p.DPIKnown || p.DPIX <= 0 || p.DPIY <= 0 {
			add(n, "dpi", true, "page %d: the file carries no resolution (dpi), so neither the resolution nor the 100%% scale can be checked; set the scanner to record the resolution in the file and scan it again", n)
			continue
		}
		if low := min(p.DPIX, p.DPIY); low < rules.MinDPI*(1-dpiSlack) {
			add(n, "dpi", true, "page %d is scanned at %s; at least %s dpi is required: set the scanner to %s dpi or more and scan it again",
				n, dpiWords(p.DPIX, p.DPIY), number(rules.MinDPI), number(rules.MinDPI))
		}
		w, h := float64(p.Width)/p.DPIX*25.4, float64(p.Height)/p.DPIY*25.4
		if paper, ok := match(w, h, rules.PaperSizes, rules.ToleranceMM); ok {
			res.Paper[i] = paper.Name
			continue
		}
		why := scaleMessage(n, w, h, rules.PaperSizes, rules.ToleranceMM)
		add(n, "scale", true, why.Format, why.Args...)
	}
	if len(pages) > 0 && len(res.Blank) == len(pages) {
		add(0, "blank", true, "every page looks blank (no text and almost no ink), so there is nothing to certify: check that the sheets faced the right way in the scanner and scan the document again")
	}
	return res
}

// depthWords names a colour depth as a scanner's settings do.
func depthWords(bits int) lang.Text {
	switch bits {
	case 1:
		return lang.T("in black and white (1-bit)")
	case 8:
		// A 256-colour palette is 8 bits too; the cure is the same.
		return lang.T("in grayscale or 256 colours (8-bit)")
	case 16:
		return lang.T("in 16-bit grayscale")
	}
	return lang.T("with only %d bits per pixel", bits)
}

func dpiWords(x, y float64) string {
	if math.Round(x) == math.Round(y) {
		return number(x) + " dpi"
	}
	return number(x) + " × " + number(y) + " dpi"
}

// number writes a measure to the nearest whole unit, as the operator reads
// it on the scanner.
func number(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', -1, 64) }

// match finds the first paper that a w × h mm page is, either way round.
func match(w, h float64, papers []Paper, tol float64) (Paper, bool) {
	for _, p := range papers {
		if fits(w, h, p.WidthMM, p.HeightMM, tol) || fits(w, h, p.HeightMM, p.WidthMM, tol) {
			return p, true
		}
	}
	return Paper{}, false
}

func fits(w, h, pw, ph, tol float64) bool {
	return math.Abs(w-pw) <= tol && math.Abs(h-ph) <= tol
}

// scaleMessage explains a page that is no paper size: if it has a paper's
// proportions it was scaled, and the message says by how much; otherwise it
// was cropped or padded, and the message names the nearest paper.
func scaleMessage(n int, w, h float64, papers []Paper, tol float64) lang.Text {
	const size = "page %d measures %s × %s mm, which is no known paper size"
	for _, p := range papers {
		for _, pw := range [][2]float64{{p.WidthMM, p.HeightMM}, {p.HeightMM, p.WidthMM}} {
			sx, sy := w/pw[0], h/pw[1]
			// Scaled when both sides changed by the same factor: within
			// the tolerance measured on the paper's long side.
			if math.Abs(sx-sy)*max(pw[0], pw[1]) <= tol {
				scale := (sx + sy) / 2
				return lang.T(size+" (%s is %s × %s mm): it looks scaled to %s%%; scan at 100%%, and check that the scanner records the resolution it scans at",
					n, number(w), number(h), p.Name, number(p.WidthMM), number(p.HeightMM), number(100*scale))
			}
		}
	}
	nearest, best := Paper{}, math.Inf(1)
	for _, p := range papers {
		d := min(math.Max(math.Abs(w-p.WidthMM), math.Abs(h-p.HeightMM)),
			math.Max(math.Abs(w-p.HeightMM), math.Abs(h-p.WidthMM)))
		if d < best {
			nearest, best = p, d
		}
	}
	return lang.T(size+" (the nearest, %s, is %s × %s mm): set the scanner's page size to the paper's size, or to automatic, at 100%%, and scan it again",
		n, number(w), number(h), nearest.Name, number(nearest.WidthMM), number(nearest.HeightMM))
}

// Thresholds of Ink. A scanner shows white paper at 220-250, recycled or
// yellowed paper lower, so "dark" is measured from the page's own paper:
// the 90th percentile of its thumbnail, as long as at least a tenth of it is
// paper. The floor keeps a region that is nearly all ink (a photograph, a
// seal) from calling its own ink paper. A thumbnail pixel is the mean of an
// 8×8 block, so 48 levels below paper is a block about a fifth covered by
// black text, and sensor noise, averaged over 64 pixels, never gets there.
const (
	paperPercentile = 0.90
	paperFloor      = 176
	inkContrast     = 48
)

// Ink returns the share of thumb's pixels that are dark against the page's
// paper, from 0 (blank) to 1. It is meant for scan.Page.Thumb, or a part of
// it (SubImage) such as where a mark is to be stamped.
func Ink(thumb *image.Gray) float64 {
	if thumb == nil {
		return 0
	}
	b := thumb.Bounds()
	total := b.Dx() * b.Dy()
	if total == 0 {
		return 0
	}
	var hist [256]int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := thumb.PixOffset(b.Min.X, y)
		for _, v := range thumb.Pix[i : i+b.Dx()] {
			hist[v]++
		}
	}
	paper, seen := 255, 0
	for v := range 256 {
		seen += hist[v]
		if float64(seen) >= paperPercentile*float64(total) {
			paper = v
			break
		}
	}
	paper = max(paper, paperFloor)
	dark := 0
	for v := range paper - inkContrast {
		dark += hist[v]
	}
	return float64(dark) / float64(total)
}

// Paper is a sheet size, in either orientation.
type Paper struct {
	Name              string
	WidthMM, HeightMM float64
}

// papers are the sizes ParsePaper knows by name: ISO 216 A and B, the
// Japanese B sizes of many copiers, and the two American sizes.
var papers = []Paper{
	{"A0", 841, 1189}, {"A1", 594, 841}, {"A2", 420, 594}, {"A3", 297, 420},
	{"A4", 210, 297}, {"A5", 148, 210}, {"A6", 105, 148},
	{"B4", 250, 353}, {"B5", 176, 250},
	{"JIS-B4", 257, 364}, {"JIS-B5", 182, 257},
	{"Letter", 215.9, 279.4}, {"Legal", 215.9, 355.6},
}

// DefaultPapers returns the sizes a zero Rules accepts: A4 (named first
// when a scaled page fits several), A3, A5, B4, B5, Letter and Legal.
func DefaultPapers() []Paper {
	var out []Paper
	for _, name := range []string{"A4", "A3", "A5", "B4", "B5", "Letter", "Legal"} {
		p, _ := ParsePaper(name)
		out = append(out, p)
	}
	return out
}

// ParsePaper reads a paper size from configuration: a name (A0-A6, B4,
// B5, JIS-B4, JIS-B5, Letter, Legal; any case) or a size in millimetres,
// "210x297mm".
func ParsePaper(s string) (Paper, error) {
	t := strings.TrimSpace(s)
	for _, p := range papers {
		if strings.EqualFold(t, p.Name) {
			return p, nil
		}
	}
	bad := fmt.Errorf("paper size %q is not known: write a name (A0 to A6, B4, B5, JIS-B4, JIS-B5, Letter, Legal) or a size in millimetres such as 210x297mm", s)
	num, ok := strings.CutSuffix(strings.ToLower(t), "mm")
	if !ok {
		return Paper{}, bad
	}
	ws, hs, ok := strings.Cut(strings.ReplaceAll(num, "×", "x"), "x")
	if !ok {
		return Paper{}, bad
	}
	w, errW := strconv.ParseFloat(strings.TrimSpace(ws), 64)
	h, errH := strconv.ParseFloat(strings.TrimSpace(hs), 64)
	if errW != nil || errH != nil {
		return Paper{}, bad
	}
	if !(w >= 10 && h >= 10 && w <= 5000 && h <= 5000) {
		return Paper{}, fmt.Errorf("paper size %q: each side must be between 10 and 5000 mm", s)
	}
	return Paper{Name: exact(w) + "×" + exact(h) + " mm", WidthMM: w, HeightMM: h}, nil
}

// exact writes a size as given, without trailing zeros.
func exact(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
