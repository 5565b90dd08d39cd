// Package samplescan makes synthetic scans of Vietnamese administrative
// documents for tests and demonstrations.
//
// Pages are rendered by our own code with the Liberation Serif fonts (metric
// twins of Times New Roman, the face Decree 30/2020 prescribes), so tests never
// depend on downloaded or personal documents. The writers add what Go's
// standard encoders leave out and real scanners always write: the resolution
// (JFIF density, PNG pHYs, TIFF X/YResolution), because the station sizes PDF
// pages from pixels and dpi.
package samplescan

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// Options describe one rendered page. The zero value is an upright colour A4
// page at 300 dpi carrying the default document.
type Options struct {
	DPI   float64  // zero = 300
	Lines []string // zero = a default Vietnamese official letter (see Text)

	// Gray renders an 8-bit grayscale page (*image.Gray) instead of colour
	// (*image.RGBA).
	Gray bool

	// UpsideDown turns the finished page by 180°, as when a sheet is fed
	// into the scanner the wrong way round.
	UpsideDown bool

	// Skew turns the page content clockwise by this many degrees (lines
	// fall towards the right), as when a sheet is fed crooked. The ocr
	// package reports the same number as the counter-clockwise turn that
	// straightens it.
	Skew float64

	// Paper is the sheet size: "A4" (default), "A5", "A3", "Letter",
	// "Legal", or width × height in millimetres, "58x150mm" (a till receipt,
	// a business card).
	Paper string
}

// Body text is set at 13 pt, the size Decree 30/2020 asks for; it shrinks only
// when a line would not fit the paper (an A5 page with the default document).
const (
	bodyPoints    = 13.0
	minimumPoints = 6.0
	lineSpacing   = 1.35 // baseline to baseline, in multiples of the font size
)

// Margins in millimetres, from Decree 30/2020 Appendix I (left 30-35 mm for
// binding, right 15-20, top and bottom 20-25). They scale down with the paper.
const (
	marginLeftMM   = 30.0
	marginRightMM  = 20.0
	marginTopMM    = 20.0
	marginBottomMM = 20.0
)

var paperSizesMM = map[string][2]float64{
	"A3":     {297, 420},
	"A4":     {210, 297},
	"A5":     {148, 210},
	"LETTER": {215.9, 279.4},
	"LEGAL":  {215.9, 355.6},
}

// The colours of paper and ink as a scanner sees them: not pure white, not
// pure black.
var (
	paperRGB  = color.RGBA{247, 245, 238, 255}
	inkRGB    = color.RGBA{22, 24, 38, 255}
	paperGray = color.Gray{245}
	inkGray   = color.Gray{24}
)

type alignment int

const (
	alignLeft alignment = iota
	alignCenter
	alignRight
)

// A styledLine is one line of the page with its typographic role.
type styledLine struct {
	text        string
	bold        bool
	align       alignment
	spaceBefore float64 // extra space above, in multiples of the font size
}

// defaultDocument is a plausible official letter (công văn) of a provincial
// People's Committee. Every line fits an A4 text column at 13 pt.
var defaultDocument = []styledLine{
	{text: "ỦY BAN NHÂN DÂN", align: alignCenter},
	{text: "TỈNH BÀ RỊA - VŨNG TÀU", bold: true, align: alignCenter},
	{text: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold: true, align: alignCenter, spaceBefore: 0.8},
	{text: "Độc lập - Tự do - Hạnh phúc", bold: true, align: alignCenter},
	{text: "Số: 2417/UBND-VP", spaceBefore: 0.8},
	{text: "Bà Rịa - Vũng Tàu, ngày 05 tháng 6 năm 2020", align: alignRight},
	{text: "V/v triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan", bold: true, spaceBefore: 0.8},
	{text: "Kính gửi: Các sở, ban, ngành thuộc tỉnh.", spaceBefore: 0.8},
	{text: "Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của", spaceBefore: 0.8},
	{text: "Chính phủ về công tác văn thư, Ủy ban nhân dân tỉnh đề nghị các cơ"},
	{text: "quan, đơn vị rà soát, thống kê hồ sơ, tài liệu giấy cần số hóa và lập"},
	{text: "kế hoạch thực hiện trong năm."},
	{text: "Bản sao điện tử phải được ký số bằng chữ ký số của cơ quan, bảo đảm", spaceBefore: 0.5},
	{text: "tính toàn vẹn, xác thực và có giá trị pháp lý như bản chính. Văn thư"},
	{text: "cơ quan chịu trách nhiệm kiểm tra chất lượng ảnh quét, định dạng tệp"},
	{text: "tin và thông tin đầu vào trước khi chuyển vào hệ thống quản lý."},
	{text: "Trong quá trình thực hiện, nếu có vướng mắc, đề nghị các đơn vị phản", spaceBefore: 0.5},
	{text: "ánh về Văn phòng Ủy ban nhân dân tỉnh để được hướng dẫn kịp thời./."},
	{text: "TM. ỦY BAN NHÂN DÂN", bold: true, align: alignRight, spaceBefore: 1.2},
	{text: "CHỦ TỊCH", bold: true, align: alignRight},
	{text: "Nguyễn Văn Thọ", bold: true, align: alignRight, spaceBefore: 3},
}

// Text returns the lines Render draws for opt, in NFC, top to bottom, for
// comparing with recognised text. Empty strings stand for blank lines.
func Text(opt Options) []string {
	lines := layoutLines(opt)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

func layoutLines(opt Options) []styledLine {
	if opt.Lines == nil {
		return defaultDocument
	}
	lines := make([]styledLine, len(opt.Lines))
	for i, s := range opt.Lines {
		lines[i] = styledLine{text: norm.NFC.String(s)}
	}
	return lines
}

// Render draws the page described by opt. An A4 page at 300 dpi is
// 2480×3508 pixels. The result is *image.RGBA, or *image.Gray when opt.Gray.
func Render(opt Options) (image.Image, error) {
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
	}
	if dpi < 50 || dpi > 1200 {
		return nil, fmt.Errorf("samplescan: resolution %g dpi is outside 50-1200 dpi", dpi)
	}
	if math.IsNaN(opt.Skew) || math.Abs(opt.Skew) > 45 {
		return nil, fmt.Errorf("samplescan: skew %g° is outside ±45°", opt.Skew)
	}
	paper := opt.Paper
	if paper == "" {
		paper = "A4"
	}
	sizeMM, ok := paperSizesMM[strings.ToUpper(paper)]
	if !ok {
		var w, h float64
		if n, err := fmt.Sscanf(strings.ToLower(paper), "%gx%gmm", &w, &h); err != nil || n != 2 || !(w >= 20 && h >= 20 && w <= 1000 && h <= 1000) {
			return nil, fmt.Errorf("samplescan: unknown paper size %q (known: A3, A4, A5, Letter, Legal, or WxHmm from 20 to 1000 mm)", paper)
		}
		sizeMM = [2]float64{w, h}
	}
	regular, bold, err := loadFonts()
	if err != nil {
		return nil, err
	}
	lines := layoutLines(opt)
	for i, l := range lines {
		if r, missing := missingGlyph(l.text, regular, bold); missing {
			return nil, fmt.Errorf("samplescan: line %d: the font has no glyph for %q (U+%04X)", i+1, r, r)
		}
	}

	px := func(mm float64) int { return int(math.Round(mm / 25.4 * dpi)) }
	width, height := px(sizeMM[0]), px(sizeMM[1])
	// Margins follow the A4 proportions on smaller or larger paper.
	scale := sizeMM[0] / 210
	left, right := px(marginLeftMM*scale), px(marginRightMM*scale)
	top, bottom := px(marginTopMM*scale), px(marginBottomMM*scale)

	points, err := fitPoints(lines, regular, bold, dpi, width-left-right, height-top-bottom)
	if err != nil {
		return nil, fmt.Errorf("samplescan: %s paper: %w", paper, err)
	}
	faceOpt := &opentype.FaceOptions{Size: points, DPI: dpi, Hinting: font.HintingNone}
	regularFace, err := opentype.NewFace(regular, faceOpt)
	if err != nil {
		return nil, fmt.Errorf("samplescan: regular face: %w", err)
	}
	defer regularFace.Close()
	boldFace, err := opentype.NewFace(bold, faceOpt)
	if err != nil {
		return nil, fmt.Errorf("samplescan: bold face: %w", err)
	}
	defer boldFace.Close()

	// Text is drawn as coverage into a mask; skew and turning act on the
	// mask, and only the last step gives it paper and ink colours.
	ink := image.NewAlpha(image.Rect(0, 0, width, height))
	em := points / 72 * dpi
	baseline := float64(top) + em // first baseline one em below the top margin
	for _, l := range lines {
		baseline += l.spaceBefore * em
		face := regularFace
		if l.bold {
			face = boldFace
		}
		d := font.Drawer{Dst: ink, Src: image.Opaque, Face: face}
		advance := d.MeasureString(l.text)
		x := fixed.I(left)
		switch l.align {
		case alignCenter:
			x = fixed.I(left) + (fixed.I(width-left-right)-advance)/2
		case alignRight:
			x = fixed.I(width-right) - advance
		}
		d.Dot = fixed.Point26_6{X: x, Y: fixed.Int26_6(math.Round(baseline * 64))}
		d.DrawString(l.text)
		baseline += lineSpacing * em
	}

	if opt.Skew != 0 {
		ink = rotateAlpha(ink, opt.Skew)
	}
	if opt.UpsideDown {
		turnHalf(ink)
	}
	if opt.Gray {
		return colourGray(ink), nil
	}
	return colourRGBA(ink), nil
}

// fitPoints finds the largest font size up to 13 pt at which every line fits
// the text column and all lines fit the page height.
func fitPoints(lines []styledLine, regular, bold *sfnt.Font, dpi float64, columnPx, textHeightPx int) (float64, error) {
	widest := 0.0 // in pixels at 1 pt
	for _, l := range lines {
		f := regular
		if l.bold {
			f = bold
		}
		w, err := advanceAtOnePoint(f, l.text, dpi)
		if err != nil {
			return 0, err
		}
		widest = math.Max(widest, w)
	}
	points := bodyPoints
	if widest > 0 {
		points = math.Min(points, float64(columnPx)/widest)
	}
	ems := 1.0 // the first baseline sits one em below the top margin
	for _, l := range lines {
		ems += l.spaceBefore + lineSpacing
	}
	points = math.Min(points, float64(textHeightPx)/(ems*dpi/72))
	if points < minimumPoints {
		return 0, fmt.Errorf("%d lines do not fit the page even at %g pt; give fewer or shorter lines",
			len(lines), minimumPoints)
	}
	return math.Floor(points*10) / 10, nil
}

func advanceAtOnePoint(f *sfnt.Font, s string, dpi float64) (float64, error) {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 100, DPI: dpi, Hinting: font.HintingNone})
	if err != nil {
		return 0, err
	}
	defer face.Close()
	return float64(font.MeasureString(face, s)) / 64 / 100, nil
}

func missingGlyph(s string, fonts ...*sfnt.Font) (rune, bool) {
	var buf sfnt.Buffer
	for _, r := range s {
		if r == ' ' {
			continue
		}
		for _, f := range fonts {
			if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
				return r, true
			}
		}
	}
	return 0, false
}

// fontDirs are where distributions put Liberation fonts (Debian liberation2
// first, then the older Debian package, Fedora, Arch).
var fontDirs = []string{
	"/usr/share/fonts/truetype/liberation2",
	"/usr/share/fonts/truetype/liberation",
	"/usr/share/fonts/liberation-serif",
	"/usr/share/fonts/liberation",
	"/usr/share/fonts/TTF",
}

func loadFonts() (regular, bold *sfnt.Font, err error) {
	for _, dir := range fontDirs {
		regularPath := filepath.Join(dir, "LiberationSerif-Regular.ttf")
		boldPath := filepath.Join(dir, "LiberationSerif-Bold.ttf")
		if _, err := os.Stat(regularPath); err != nil {
			continue
		}
		if regular, err = parseFont(regularPath); err != nil {
			return nil, nil, err
		}
		if bold, err = parseFont(boldPath); err != nil {
			return nil, nil, err
		}
		return regular, bold, nil
	}
	return nil, nil, errors.New("samplescan: Liberation Serif font not found in " + strings.Join(fontDirs, ", ") +
		"; install the fonts-liberation2 package")
}

func parseFont(path string) (*sfnt.Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samplescan: read font: %w", err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("samplescan: font %s is damaged: %w", path, err)
	}
	return f, nil
}

// rotateAlpha turns the mask clockwise by degrees about its centre, keeping
// its size; corners that come from outside the sheet are left empty (paper).
// Bilinear sampling keeps glyph edges soft, as a scanner's optics would.
func rotateAlpha(src *image.Alpha, degrees float64) *image.Alpha {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewAlpha(b)
	sin, cos := math.Sincos(degrees * math.Pi / 180)
	cx, cy := float64(w-1)/2, float64(h-1)/2
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < h; y++ {
		dy := float64(y) - cy
		for x := 0; x < w; x++ {
			dx := float64(x) - cx
			// The inverse turn (counter-clockwise in image coordinates,
			// y pointing down) finds where this pixel came from.
			sx := cx + dx*cos + dy*sin
			sy := cy - dx*sin + dy*cos
			x0, y0 := math.Floor(sx), math.Floor(sy)
			fx, fy := sx-x0, sy-y0
			ix, iy := int(x0), int(y0)
			v := (at(ix, iy)*(1-fx)+at(ix+1, iy)*fx)*(1-fy) +
				(at(ix, iy+1)*(1-fx)+at(ix+1, iy+1)*fx)*fy
			dst.Pix[y*dst.Stride+x] = uint8(v + 0.5)
		}
	}
	return dst
}

// turnHalf turns the mask by 180° in place. A freshly made mask has no
// padding between rows, so the turn is a reversal of its pixels.
func turnHalf(m *image.Alpha) {
	p := m.Pix
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
}

func mix(paper, ink uint8, coverage uint8) uint8 {
	a := int(coverage)
	return uint8((int(paper)*(255-a) + int(ink)*a + 127) / 255)
}

func colourGray(ink *image.Alpha) *image.Gray {
	out := image.NewGray(ink.Bounds())
	for i, a := range ink.Pix {
		out.Pix[i] = mix(paperGray.Y, inkGray.Y, a)
	}
	return out
}

func colourRGBA(ink *image.Alpha) *image.RGBA {
	out := image.NewRGBA(ink.Bounds())
	for i, a := range ink.Pix {
		p := out.Pix[4*i : 4*i+4 : 4*i+4]
		p[0] = mix(paperRGB.R, inkRGB.R, a)
		p[1] = mix(paperRGB.G, inkRGB.G, a)
		p[2] = mix(paperRGB.B, inkRGB.B, a)
		p[3] = 255
	}
	return out
}
