// Package mark builds the visible certification mark of a digitised copy:
// the copy label, the agency and the signing time (and, in the older
// profile, the agency's seal) in the top right corner of page 1. The mark
// is a signature widget's appearance (pades.Appearance), so the mark and the
// signature are one object in the file: a reader shows the mark, and a
// click on it leads to the signature.
//
// The mark's font is embedded as a subset: only the glyphs shown (and the
// glyphs accented letters are built from), with glyph IDs kept, so the
// content stream's codes are glyph IDs of the embedded program.
package mark

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
	"time"

	"scanstation/certify/pades"
)

// Profile is the rule the mark follows.
type Profile string

const (
	// Decree30 is Decree 30/2020/ND-CP Appendix I, the current rule for a
	// paper-to-electronic copy: top right of page 1 inside the margin, no
	// image, the copy label, the copying agency and the signing time in
	// Times New Roman (or a metric twin) 10 pt black. The default.
	Decree30 Profile = "decree30"
	// Circular01 is Circular 01/2019/TT-BNV, still asked for by some
	// provinces: the agency's red seal at its real size, top right of page
	// 1, with the agency and the signing time beside it.
	Circular01 Profile = "circular01"
)

// Defaults of Options.
const (
	DefaultCopyLabel  = "SAO Y"
	DefaultFontSize   = 10.0
	DefaultSealSizeMM = 36.0
	DefaultMarginMM   = 10.0

	// DefaultMinMarginMM is the narrowest margin ShrinkSmall gives a small page: most
	// printers print to 3-5 mm of the edge, so a printed copy still shows the whole mark.
	DefaultMinMarginMM = 3.0
	// LegalFontSize is the size Decree 30/2020 Appendix I gives the mark's text. ShrinkSmall
	// never goes below it.
	LegalFontSize = 10.0
)

// SmallPolicy says what Build does with a page too small for the mark inside its margins:
// a receipt, a business card, an A7 slip.
type SmallPolicy string

const (
	// ShrinkSmall brings a larger font down to the decree's 10 pt, then narrows the margins
	// (down to MinMarginMM) until the mark fits; it refuses only a page too small even so.
	// The default.
	ShrinkSmall SmallPolicy = "shrink"
	// RefuseSmall refuses every page on which the mark does not fit as configured.
	RefuseSmall SmallPolicy = "refuse"
)

// Options say what the mark shows. The zero value of every field but Agency
// and Time means its default.
type Options struct {
	Profile    Profile        // empty means Decree30
	CopyLabel  string         // decree30 only: "SAO Y" (default), "SAO LỤC", "TRÍCH SAO"
	Agency     string         // the copying agency's name, as it should read; required
	Time       time.Time      // the signing time, exactly the signature's; required
	Zone       *time.Location // where Time is shown; nil means Asia/Ho_Chi_Minh (+07:00)
	TimeFormat string         // see FormatTime; empty means DefaultTimeFormat
	FontFile   string         // a TrueType font; empty means DefaultFontFile
	FontSize   float64        // points; 0 means 10
	SealPNG    []byte         // circular01: the seal, red on a transparent background
	SealSizeMM float64        // circular01: the seal's width on paper; 0 means 36 mm
	MarginMM   float64        // the mark stays this far from the top and right edges; 0 means 10 mm
	SmallPages SmallPolicy    // a page too small for the mark; empty means ShrinkSmall
	// MinMarginMM is the narrowest margin ShrinkSmall may use; 0 means 3 mm, and more than
	// MarginMM means MarginMM.
	MinMarginMM float64
}

// Page describes page 1 of the document the mark goes on.
type Page struct {
	WidthPt, HeightPt float64 // the MediaBox (origin at 0,0), unrotated
	Rotate            int     // the page's /Rotate: the mark goes top right as displayed, upright

	// Ink is optional: page 1's image scaled to the MediaBox, unrotated like
	// it, at any resolution (an eighth of the scan's is plenty). Dark pixels
	// are ink, and the mark moves off them when it can.
	Ink *image.Gray
}

// Placement is where the mark went.
type Placement struct {
	Rect  [4]float64 // llx lly urx ury in the page's default user space (before /Rotate)
	Moved bool       // true when ink under the usual place moved the mark
	Where string     // in plain words, for the operator and the conversion record

	// The margin (mm) and font size (pt) the mark was laid out with: the configured ones,
	// or what ShrinkSmall chose for a small page (and Where says so).
	MarginMM, FontSize float64
}

const mm = 72 / 25.4 // points in a millimetre

// Build lays out the mark for page and returns it as a signature appearance
// for page 1, and where it was put.
func Build(page Page, opt Options) (*pades.Appearance, Placement, error) {
	rotate, err := page.check()
	if err != nil {
		return nil, Placement{}, err
	}
	opt, err = opt.withDefaults()
	if err != nil {
		return nil, Placement{}, err
	}
	when, err := FormatTime(opt.Time, opt.Zone, opt.TimeFormat)
	if err != nil {
		return nil, Placement{}, fmt.Errorf("the mark's time format: %w", err)
	}
	fc, err := openFace(opt.FontFile)
	if err != nil {
		return nil, Placement{}, err
	}
	m, err := fc.metrics()
	if err != nil {
		return nil, Placement{}, err
	}

	dispW, dispH := page.WidthPt, page.HeightPt
	if rotate == 90 || rotate == 270 {
		dispW, dispH = dispH, dispW
	}
	d := drawer{fc: fc, m: m, opt: opt, when: when, dispW: dispW}
	if opt.Profile == Circular01 {
		if d.seal, d.sealW, d.sealH, err = decodeSeal(opt.SealPNG, opt.SealSizeMM); err != nil {
			return nil, Placement{}, err
		}
	}
	fits := func(l layout, margin float64) bool {
		return l.bw <= dispW-2*margin && l.bh <= dispH-2*margin
	}
	margin, size := opt.MarginMM, opt.FontSize
	l, err := d.layout(size, margin*mm)
	if err != nil {
		return nil, Placement{}, err
	}
	if !fits(l, margin*mm) {
		if opt.SmallPages == RefuseSmall {
			return nil, Placement{}, fmt.Errorf("page 1 (%.0f × %.0f mm) is too small for the certification mark (%.0f × %.0f mm) inside its %s mm margins, and mark.small_pages is %q; set it to %q to narrow the margins (down to mark.min_margin_mm) and use the decree's %g pt on small pages",
				dispW/mm, dispH/mm, l.bw/mm, l.bh/mm, num(margin), RefuseSmall, ShrinkSmall, LegalFontSize)
		}
		var ok bool
		if l, margin, size, ok, err = d.shrink(fits); err != nil {
			return nil, Placement{}, err
		}
		if !ok {
			up := func(v float64) string { return num(math.Ceil(v*10) / 10) }
			return nil, Placement{}, fmt.Errorf("page 1 (%.0f × %.0f mm) is too small for the certification mark: even at %g pt with %s mm margins it is %.0f × %.0f mm, so the page would have to be at least %s × %s mm; shorten the agency's name, or scan the original onto a larger sheet",
				dispW/mm, dispH/mm, size, num(margin), l.bw/mm, l.bh/mm, up(l.bw/mm+2*margin), up(l.bh/mm+2*margin))
		}
	}
	c, bw, bh := l.content, l.bw, l.bh

	place := placeMark(page, rotate, dispW, dispH, bw, bh, margin*mm)
	place.MarginMM, place.FontSize = margin, size
	var changes []string
	if margin != opt.MarginMM {
		changes = append(changes, fmt.Sprintf("margin %s mm instead of %s", num(margin), num(opt.MarginMM)))
	}
	if size != opt.FontSize {
		changes = append(changes, fmt.Sprintf("font %s pt instead of %s", num(size), num(opt.FontSize)))
	}
	if len(changes) > 0 {
		place.Where += "; small page: " + strings.Join(changes, ", ")
	}
	pdfFont, err := fc.pdfFont()
	if err != nil {
		return nil, Placement{}, err
	}
	w, h := place.Rect[2]-place.Rect[0], place.Rect[3]-place.Rect[1]
	var content bytes.Buffer
	fmt.Fprintf(&content, "q %s cm\n", uprightMatrix(rotate, w, h))
	content.Write(c)
	content.WriteString("Q\n")
	a := &pades.Appearance{
		Page:    1,
		Rect:    place.Rect,
		Content: content.Bytes(),
		Fonts:   map[string]*pades.Font{"F1": pdfFont},
	}
	if d.seal != nil {
		a.Images = map[string]*pades.Image{"Im1": d.seal}
	}
	return a, place, nil
}

// drawer lays out one mark's lines at a font size and margin.
type drawer struct {
	fc           *face
	m            metrics
	opt          Options
	when         string
	seal         *pades.Image
	sealW, sealH float64
	dispW        float64 // the displayed page's width, which limits the agency's line
}

// layout is the mark drawn upright in a bw × bh box.
type layout struct {
	bw, bh  float64
	content []byte
}

// layout lays the mark out at size points for a page with margin points each side.
func (d *drawer) layout(size, margin float64) (layout, error) {
	fc, m, opt := d.fc, d.m, d.opt
	gap := 2 * mm // between the seal and the text
	pad := 0.3 * size
	// The agency's line may be 80 mm wide, or as wide as the page leaves inside its margins
	// (less the frame's padding, or the seal beside it).
	maxText := min(80*mm, d.dispW-2*margin-2*pad)
	if d.seal != nil {
		maxText = min(80*mm, d.dispW-2*margin-d.sealW-gap)
	}

	// The lines, as glyphs: only the agency's name is long enough to wrap.
	var texts []string
	if opt.Profile == Decree30 {
		texts = append(texts, opt.CopyLabel)
	}
	agency, err := wrap(fc, opt.Agency, maxText*1000/size)
	if err != nil {
		return layout{}, err
	}
	texts = append(texts, agency...)
	texts = append(texts, d.when)
	lines := make([]shaped, len(texts))
	textW := 0.0
	for i, t := range texts {
		if lines[i], err = fc.shape(t); err != nil {
			return layout{}, err
		}
		textW = max(textW, lines[i].width*size/1000)
	}
	scale := size / 1000
	ascent, descent := m.ascent*scale, m.descent*scale
	lead := (m.ascent + m.descent + m.lineGap) * scale
	textH := ascent + descent + float64(len(lines)-1)*lead

	// The box in its upright (displayed) orientation, and what goes in it.
	var l layout
	var textX, baseline float64
	var c bytes.Buffer
	if d.seal == nil {
		l.bw, l.bh = textW+2*pad, textH+2*pad
		textX, baseline = pad, l.bh-pad-ascent
		// A thin frame, drawn inside the box so none of it is clipped.
		fmt.Fprintf(&c, "0 G 0.5 w 0.25 0.25 %s %s re S\n", num(l.bw-0.5), num(l.bh-0.5))
	} else {
		l.bw, l.bh = d.sealW+gap+textW, max(d.sealH, textH)
		textX, baseline = d.sealW+gap, (l.bh+textH)/2-ascent
		fmt.Fprintf(&c, "q %s 0 0 %s 0 %s cm /Im1 Do Q\n", num(d.sealW), num(d.sealH), num((l.bh-d.sealH)/2))
	}
	fmt.Fprintf(&c, "BT 0 g /F1 %s Tf %s %s Td", num(size), num(textX), num(baseline))
	for i, l := range lines {
		if i > 0 {
			fmt.Fprintf(&c, " 0 %s Td", num(-lead))
		}
		c.WriteString(" <")
		for _, g := range l.glyphs {
			fmt.Fprintf(&c, "%04X", g)
		}
		c.WriteString("> Tj")
	}
	c.WriteString(" ET\n")
	l.content = c.Bytes()
	return l, nil
}

// shrink finds the mark for a page too small for it at the configured size and margin: first
// the font comes down to the decree's 10 pt (a larger size is the office's choice, and a
// smaller mark covers less of a small original), then the margin narrows, in half
// millimetres, down to MinMarginMM. It returns the first layout that fits, with its margin
// (mm) and size (pt); when none fits, ok is false and the smallest layout tried is returned
// for the refusal to name.
func (d *drawer) shrink(fits func(layout, float64) bool) (l layout, marginMM, size float64, ok bool, err error) {
	opt := d.opt
	sizes := []float64{opt.FontSize}
	for s := math.Ceil(opt.FontSize) - 1; s > LegalFontSize; s-- {
		sizes = append(sizes, s)
	}
	if opt.FontSize > LegalFontSize {
		sizes = append(sizes, LegalFontSize)
	}
	margins := []float64{opt.MarginMM}
	for m := math.Ceil(opt.MarginMM*2)/2 - 0.5; m > opt.MinMarginMM; m -= 0.5 {
		margins = append(margins, m)
	}
	if opt.MinMarginMM < opt.MarginMM {
		margins = append(margins, opt.MinMarginMM)
	}
	for _, marginMM = range margins {
		for _, size = range sizes {
			if l, err = d.layout(size, marginMM*mm); err != nil {
				return layout{}, 0, 0, false, err
			}
			if fits(l, marginMM*mm) {
				return l, marginMM, size, true, nil
			}
		}
	}
	return l, marginMM, size, false, nil
}

// check validates the page and returns its rotation as 0, 90, 180 or 270.
func (p Page) check() (int, error) {
	if !(p.WidthPt > 0 && p.HeightPt > 0) || math.IsInf(p.WidthPt, 0) || math.IsInf(p.HeightPt, 0) {
		return 0, fmt.Errorf("page 1 has no usable size (%g × %g pt)", p.WidthPt, p.HeightPt)
	}
	r := (p.Rotate%360 + 360) % 360
	if r%90 != 0 {
		return 0, fmt.Errorf("page 1 has a rotation of %d degrees; PDF allows only multiples of 90", p.Rotate)
	}
	if p.Ink != nil && p.Ink.Rect.Empty() {
		return 0, errors.New("the page image given for finding a free place for the mark is empty")
	}
	return r, nil
}

func (o Options) withDefaults() (Options, error) {
	switch o.Profile {
	case "":
		o.Profile = Decree30
	case Decree30, Circular01:
	default:
		return o, fmt.Errorf("unknown certification mark profile %q: use %q or %q", o.Profile, Decree30, Circular01)
	}
	if o.CopyLabel == "" {
		o.CopyLabel = DefaultCopyLabel
	}
	o.Agency = strings.Join(strings.Fields(o.Agency), " ")
	if o.Agency == "" {
		return o, errors.New("the certification mark needs the copying agency's name; set station.agency in the configuration")
	}
	if o.Time.IsZero() {
		return o, errors.New("the certification mark needs the signing time")
	}
	if o.FontFile == "" {
		o.FontFile = DefaultFontFile
	}
	if o.FontSize == 0 {
		o.FontSize = DefaultFontSize
	}
	if !(o.FontSize >= 4 && o.FontSize <= 72) {
		return o, fmt.Errorf("the certification mark's font size %g pt is not between 4 and 72", o.FontSize)
	}
	if o.SealSizeMM == 0 {
		o.SealSizeMM = DefaultSealSizeMM
	}
	if !(o.SealSizeMM > 0 && o.SealSizeMM <= 100) {
		return o, fmt.Errorf("the seal size %g mm is not between 0 and 100 mm", o.SealSizeMM)
	}
	if o.MarginMM == 0 {
		o.MarginMM = DefaultMarginMM
	}
	if !(o.MarginMM >= 0 && o.MarginMM <= 50) {
		return o, fmt.Errorf("the certification mark's margin %g mm is not between 0 and 50 mm", o.MarginMM)
	}
	switch o.SmallPages {
	case "":
		o.SmallPages = ShrinkSmall
	case ShrinkSmall, RefuseSmall:
	default:
		return o, fmt.Errorf("unknown policy for pages too small for the certification mark %q: use %q or %q", o.SmallPages, ShrinkSmall, RefuseSmall)
	}
	if o.MinMarginMM == 0 {
		o.MinMarginMM = DefaultMinMarginMM
	}
	if !(o.MinMarginMM >= 0 && o.MinMarginMM <= 50) {
		return o, fmt.Errorf("the certification mark's smallest margin %g mm is not between 0 and 50 mm", o.MinMarginMM)
	}
	o.MinMarginMM = min(o.MinMarginMM, o.MarginMM)
	return o, nil
}

// wrap breaks text into lines no wider than limit (1/1000 em) at spaces. A
// word wider than the limit gets a line of its own.
func wrap(fc *face, text string, limit float64) ([]string, error) {
	space, err := fc.shape(" ")
	if err != nil {
		return nil, err
	}
	var lines []string
	var line string
	var width float64
	for _, word := range strings.Fields(text) {
		w, err := fc.shape(word)
		if err != nil {
			return nil, err
		}
		if line != "" && width+space.width+w.width > limit {
			lines = append(lines, line)
			line, width = "", 0
		}
		if line != "" {
			line += " "
			width += space.width
		}
		line += word
		width += w.width
	}
	return append(lines, line), nil
}

// uprightMatrix is the cm that turns the form's drawing, made in the upright
// box (w', h' as displayed), into the box's own unrotated space (w × h), so
// that on a page shown turned by rotate degrees clockwise the mark reads
// upright.
func uprightMatrix(rotate int, w, h float64) string {
	switch rotate {
	case 90:
		return "0 1 -1 0 " + num(w) + " 0"
	case 180:
		return "-1 0 0 -1 " + num(w) + " " + num(h)
	case 270:
		return "0 -1 1 0 0 " + num(h)
	}
	return "1 0 0 1 0 0"
}

// num writes a number for a content stream: at most three decimals, no
// exponent, no trailing zeros.
func num(f float64) string {
	s := strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}
