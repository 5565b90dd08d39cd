package samplescan

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// A Letter is an administrative document laid out as Decree 30/2020
// Appendix I prescribes: the issuing organ top left with the national motto
// beside it, the number under the organ with the place and date beside it,
// then the document type and subject (or, for a Công văn, a "V/v" line under
// the number), the body and the signature block. Its fields are also the
// labels the document metadata should be read back as.
type Letter struct {
	// OrganLines are the lines of the organ block as printed, the parent
	// organ (when there is one) first.
	OrganLines []string
	// ParentOrgan and OrganName are the labels: the parent organ's name, or
	// "" when the block names one organ only, and the issuing organ's name
	// (its lines joined by a space).
	ParentOrgan, OrganName string

	CodeNumber   string // "12"
	CodeNotation string // "2020/QĐ-UBND"; printed as "Số: 12/2020/QĐ-UBND"
	Place        string // "Bà Rịa - Vũng Tàu"
	Date         time.Time
	TypeName     string   // "Công văn" prints a V/v line; others print the type as a heading
	Subject      []string // the subject (trích yếu) as printed, line by line, without "V/v"

	Recipient string   // "Kính gửi" line of a Công văn; "" for none
	Body      []string // body lines
	Signer    []string // signature block lines; the last is the signer's name
}

// LetterOptions describe how a Letter is put on paper.
type LetterOptions struct {
	DPI    float64 // zero = 300
	Gray   bool
	Skew   float64 // degrees clockwise, as in Options
	Points float64 // body size; zero = 13 (Decree 30 allows 13-14)
	// Spacing is the baseline distance in multiples of the font size; zero =
	// 1.35.
	Spacing float64
	// LeftMM is the left margin; zero = 30 mm.
	LeftMM float64
	// NoRules leaves out the short rules under the organ and the motto.
	NoRules bool
}

// NumberLine returns the number line as printed: "Số: 2417/UBND-VP".
func (l Letter) NumberLine() string {
	return "Số: " + l.CodeNumber + "/" + l.CodeNotation
}

// DateLine returns the place and date line as printed: "Bà Rịa - Vũng Tàu,
// ngày 05 tháng 6 năm 2020". Days below 10 and the months January and
// February are written with a leading zero, as Decree 30/2020 asks.
func (l Letter) DateLine() string {
	month := fmt.Sprint(int(l.Date.Month()))
	if l.Date.Month() <= 2 {
		month = "0" + month
	}
	return fmt.Sprintf("%s, ngày %02d tháng %s năm %d", l.Place, l.Date.Day(), month, l.Date.Year())
}

// IsCongVan tells whether the letter is an official letter, printed with a
// "V/v" subject under the number instead of a type heading.
func (l Letter) IsCongVan() bool { return l.TypeName == "Công văn" }

// Lines returns the text RenderLetter draws, top to bottom and left to right
// in the header, in NFC.
func (l Letter) Lines() []string {
	var out []string
	out = append(out, l.OrganLines...)
	out = append(out, motto...)
	out = append(out, l.NumberLine(), l.DateLine())
	if l.IsCongVan() {
		for i, s := range l.Subject {
			if i == 0 {
				s = "V/v " + s
			}
			out = append(out, s)
		}
		if l.Recipient != "" {
			out = append(out, "Kính gửi: "+l.Recipient)
		}
	} else {
		out = append(out, strings.ToUpper(l.TypeName))
		out = append(out, l.Subject...)
	}
	out = append(out, l.Body...)
	out = append(out, l.Signer...)
	for i := range out {
		out[i] = norm.NFC.String(out[i])
	}
	return out
}

var motto = []string{"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"}

// Header columns as fractions of the text width: the organ block on the
// left, the motto on the right.
const letterSplit = 0.42

type letterStyle int

const (
	styleRegular letterStyle = iota
	styleBold
	styleItalic
)

// letterPage draws lines of text into an ink mask.
type letterPage struct {
	ink   *image.Alpha
	dpi   float64
	fonts [3]*sfnt.Font
	faces map[[2]float64]font.Face // style and size (tenths of a point)
}

func (p *letterPage) face(style letterStyle, points float64) (font.Face, error) {
	key := [2]float64{float64(style), math.Round(points * 10)}
	if f, ok := p.faces[key]; ok {
		return f, nil
	}
	f, err := opentype.NewFace(p.fonts[style], &opentype.FaceOptions{Size: key[1] / 10, DPI: p.dpi, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	p.faces[key] = f
	return f, nil
}

func (p *letterPage) close() {
	for _, f := range p.faces {
		f.Close()
	}
}

// text draws s centred on centreX (or from x when centreX is negative) at
// baseline, shrunk to fit width pixels when it would not.
func (p *letterPage) text(s string, style letterStyle, points float64, x, centreX, width, baseline float64) error {
	f, err := p.face(style, points)
	if err != nil {
		return err
	}
	adv := float64(font.MeasureString(f, s)) / 64
	if width > 0 && adv > width {
		points = math.Floor(points*width/adv*10) / 10
		if f, err = p.face(style, points); err != nil {
			return err
		}
		adv = float64(font.MeasureString(f, s)) / 64
	}
	if centreX >= 0 {
		x = centreX - adv/2
	}
	d := font.Drawer{Dst: p.ink, Src: image.Opaque, Face: f}
	d.Dot = fixed.Point26_6{X: fixed.Int26_6(math.Round(x * 64)), Y: fixed.Int26_6(math.Round(baseline * 64))}
	d.DrawString(s)
	return nil
}

// rule draws a horizontal line of the given length centred on centreX.
func (p *letterPage) rule(centreX, length, y float64) {
	thick := max(1, int(math.Round(p.dpi/150)))
	x0, x1 := int(centreX-length/2), int(centreX+length/2)
	for yy := int(y); yy < int(y)+thick; yy++ {
		for x := x0; x < x1; x++ {
			p.ink.SetAlpha(x, yy, color.Alpha{A: 255})
		}
	}
}

// wrapWords breaks s into lines no wider than width pixels in face f.
func wrapWords(s string, f font.Face, width float64) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if cur != "" && float64(font.MeasureString(f, try))/64 > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// RenderLetter draws l on an A4 page. The result is *image.RGBA, or
// *image.Gray when opt.Gray.
func RenderLetter(l Letter, opt LetterOptions) (image.Image, error) {
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
	}
	if dpi < 100 || dpi > 600 {
		return nil, fmt.Errorf("samplescan: letter resolution %g dpi is outside 100-600 dpi", dpi)
	}
	if math.IsNaN(opt.Skew) || math.Abs(opt.Skew) > 10 {
		return nil, fmt.Errorf("samplescan: letter skew %g° is outside ±10°", opt.Skew)
	}
	points := opt.Points
	if points == 0 {
		points = bodyPoints
	}
	spacing := opt.Spacing
	if spacing == 0 {
		spacing = lineSpacing
	}
	leftMM := opt.LeftMM
	if leftMM == 0 {
		leftMM = marginLeftMM
	}
	regular, bold, err := loadFonts()
	if err != nil {
		return nil, err
	}
	italic, err := loadItalic()
	if err != nil {
		return nil, err
	}
	for i, s := range l.Lines() {
		if r, missing := missingGlyph(s, regular, bold, italic); missing {
			return nil, fmt.Errorf("samplescan: letter line %d: the font has no glyph for %q (U+%04X)", i+1, r, r)
		}
	}

	px := func(mm float64) float64 { return mm / 25.4 * dpi }
	width, height := int(math.Round(px(210))), int(math.Round(px(297)))
	left, right, top := px(leftMM), float64(width)-px(marginRightMM), px(marginTopMM)
	split := left + (right-left)*letterSplit
	leftCentre, rightCentre, pageCentre := (left+split)/2, (split+right)/2, (left+right)/2
	em := points / 72 * dpi
	step := spacing * em

	p := &letterPage{ink: image.NewAlpha(image.Rect(0, 0, width, height)), dpi: dpi,
		fonts: [3]*sfnt.Font{regular, bold, italic}, faces: map[[2]float64]font.Face{}}
	defer p.close()

	// Header: organ block left, motto right, both from the same first
	// baseline; header type one point smaller than the body.
	head := points - 1
	colWidth := split - left - em/2
	y := top + em
	for i, s := range l.OrganLines {
		style := styleBold
		if i == 0 && l.ParentOrgan != "" {
			style = styleRegular
		}
		if err := p.text(s, style, head, 0, leftCentre, colWidth, y+float64(i)*step); err != nil {
			return nil, err
		}
	}
	organBottom := y + float64(len(l.OrganLines)-1)*step
	if err := p.text(motto[0], styleBold, head, 0, rightCentre, right-split, y); err != nil {
		return nil, err
	}
	if err := p.text(motto[1], styleBold, points, 0, rightCentre, right-split, y+step); err != nil {
		return nil, err
	}
	if !opt.NoRules {
		p.rule(leftCentre, colWidth/3, organBottom+em*0.45)
		p.rule(rightCentre, (right-split)*0.55, y+step+em*0.45)
	}

	// Number under the organ, place and date beside it.
	y = max(organBottom, y+step) + step*1.3
	if err := p.text(l.NumberLine(), styleRegular, points, 0, leftCentre, colWidth, y); err != nil {
		return nil, err
	}
	if err := p.text(l.DateLine(), styleItalic, points, 0, rightCentre, right-split, y); err != nil {
		return nil, err
	}

	if l.IsCongVan() {
		small, err := p.face(styleRegular, head)
		if err != nil {
			return nil, err
		}
		lines := wrapWords("V/v "+strings.Join(l.Subject, " "), small, colWidth)
		for _, s := range lines {
			y += step * 0.95
			if err := p.text(s, styleRegular, head, 0, leftCentre, colWidth, y); err != nil {
				return nil, err
			}
		}
		if l.Recipient != "" {
			y += step * 1.6
			if err := p.text("Kính gửi: "+l.Recipient, styleRegular, points+1, 0, pageCentre, right-left, y); err != nil {
				return nil, err
			}
		}
	} else {
		y += step * 2
		if err := p.text(strings.ToUpper(l.TypeName), styleBold, points+1, 0, pageCentre, right-left, y); err != nil {
			return nil, err
		}
		for _, s := range l.Subject {
			y += step
			if err := p.text(s, styleBold, points+1, 0, pageCentre, right-left, y); err != nil {
				return nil, err
			}
		}
		if !opt.NoRules {
			p.rule(pageCentre, (right-left)*0.2, y+em*0.8)
			y += em * 0.5
		}
	}

	y += step * 0.8
	for _, s := range l.Body {
		y += step
		if err := p.text(s, styleRegular, points, left+em*1.5, -1, right-left-em*1.5, y); err != nil {
			return nil, err
		}
	}
	signCentre := split + (right-split)/2
	y += step * 0.8
	for i, s := range l.Signer {
		y += step
		if i == len(l.Signer)-1 {
			y += step * 2.5
		}
		if err := p.text(s, styleBold, points, 0, signCentre, right-split, y); err != nil {
			return nil, err
		}
	}
	if y > float64(height)-px(marginBottomMM) {
		return nil, fmt.Errorf("samplescan: the letter runs %d px past the bottom margin; give fewer body lines",
			int(y-(float64(height)-px(marginBottomMM))))
	}

	ink := p.ink
	if opt.Skew != 0 {
		ink = rotateAlpha(ink, opt.Skew)
	}
	if opt.Gray {
		return colourGray(ink), nil
	}
	return colourRGBA(ink), nil
}

func loadItalic() (*sfnt.Font, error) {
	for _, dir := range fontDirs {
		path := filepath.Join(dir, "LiberationSerif-Italic.ttf")
		if _, err := os.Stat(path); err == nil {
			return parseFont(path)
		}
	}
	return nil, fmt.Errorf("samplescan: Liberation Serif Italic not found in %s; install the fonts-liberation2 package",
		strings.Join(fontDirs, ", "))
}
