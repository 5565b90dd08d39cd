package samplescan

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// The variants below are the harder pages of the OCR accuracy corpus
// (scripts/ocreval): a red seal stamped across the signature block, a
// two-column page, a page fed upside down. They are separate functions so
// that Render and RenderLetter keep drawing exactly what their tests expect.

// sealRGB is the red of a stamp pad as a scanner sees it.
var sealRGB = [3]float64{196, 32, 44}

// RenderSealed draws l as RenderLetter does, in colour, with a round red
// seal (two rings and a star, 36 mm across) stamped over the left part of
// the signature block, as an organ stamps over its signer's signature. The
// seal is translucent, as stamp ink is: the text under it stays darker than
// the seal. It carries no words, so l.Lines() is still the page's text.
func RenderSealed(l Letter, opt LetterOptions) (*image.RGBA, error) {
	opt.Gray = true
	withSigner, err := RenderLetter(l, opt)
	if err != nil {
		return nil, err
	}
	bare := l
	bare.Signer = nil
	without, err := RenderLetter(bare, opt)
	if err != nil {
		return nil, err
	}
	// The signature block is where the two drawings differ; finding it so
	// keeps RenderLetter's layout in one place.
	a, b := withSigner.(*image.Gray), without.(*image.Gray)
	box := image.Rectangle{}
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			if a.Pix[a.PixOffset(x, y)] != b.Pix[b.PixOffset(x, y)] {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if box.Empty() {
		return nil, fmt.Errorf("samplescan: the letter has no signature block to stamp the seal on")
	}
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
	}
	out := image.NewRGBA(a.Rect)
	for i, v := range a.Pix {
		// The same paper and ink colours as a colour RenderLetter page.
		cov := uint8(math.Round(float64(int(paperGray.Y)-int(v)) / float64(int(paperGray.Y)-int(inkGray.Y)) * 255))
		p := out.Pix[4*i : 4*i+4 : 4*i+4]
		p[0] = mix(paperRGB.R, inkRGB.R, cov)
		p[1] = mix(paperRGB.G, inkRGB.G, cov)
		p[2] = mix(paperRGB.B, inkRGB.B, cov)
		p[3] = 255
	}
	r := 18 / 25.4 * dpi
	cx := float64(box.Min.X) + float64(box.Dx())*0.22
	cy := float64(box.Min.Y+box.Max.Y) / 2
	stampSeal(out, cx, cy, r)
	return out, nil
}

// stampSeal multiplies a red seal of radius r centred on (cx, cy) into img.
func stampSeal(img *image.RGBA, cx, cy, r float64) {
	outer, inner := r*0.065, r*0.03 // ring half-widths
	star := starPolygon(cx, cy, r*0.3)
	b := image.Rect(int(cx-r-2), int(cy-r-2), int(cx+r+3), int(cy+r+3)).Intersect(img.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			d := math.Hypot(dx, dy)
			cov := 0.0
			switch {
			case math.Abs(d-(r-outer)) < outer:
				cov = 1
			case math.Abs(d-r*0.7) < inner:
				cov = 1
			case d > r*0.74 && d < r*0.84:
				// Letter-like strokes between the rings, where a real
				// seal names the organ: short radial dashes.
				angle := math.Atan2(dy, dx)
				if math.Mod(angle*40/math.Pi+80, 2) < 0.9 {
					cov = 1
				}
			case insidePolygon(star, float64(x), float64(y)):
				cov = 1
			}
			if cov == 0 {
				continue
			}
			// Stamp ink is uneven: some places take less of it.
			cov *= 0.8 + 0.2*math.Sin(float64(x)*0.05)*math.Cos(float64(y)*0.07)
			p := img.Pix[img.PixOffset(x, y):]
			for c := range 3 {
				f := 1 - cov*(1-sealRGB[c]/255)
				p[c] = uint8(math.Round(float64(p[c]) * f))
			}
		}
	}
}

// starPolygon returns a five-pointed star's corners, point up.
func starPolygon(cx, cy, r float64) [][2]float64 {
	var pts [][2]float64
	for i := range 10 {
		rr := r
		if i%2 == 1 {
			rr = r * 0.4
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts = append(pts, [2]float64{cx + rr*math.Cos(a), cy + rr*math.Sin(a)})
	}
	return pts
}

func insidePolygon(poly [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi, xj, yj := poly[i][0], poly[i][1], poly[j][0], poly[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// RenderTwoColumns draws l as a two-column page (a bulletin or a report
// annex): the organ, number and type heading across the page, then the
// body wrapped into two columns, left column first. It returns the page
// (colour, or *image.Gray when opt.Gray) and its text in reading order, one
// line per drawn line, in NFC. Skew is applied as in RenderLetter.
func RenderTwoColumns(l Letter, opt LetterOptions) (image.Image, []string, error) {
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
	}
	if dpi < 100 || dpi > 600 {
		return nil, nil, fmt.Errorf("samplescan: two-column resolution %g dpi is outside 100-600 dpi", dpi)
	}
	points := opt.Points
	if points == 0 {
		points = bodyPoints
	}
	spacing := opt.Spacing
	if spacing == 0 {
		spacing = lineSpacing
	}
	regular, bold, err := loadFonts()
	if err != nil {
		return nil, nil, err
	}
	italic, err := loadItalic()
	if err != nil {
		return nil, nil, err
	}
	px := func(mm float64) float64 { return mm / 25.4 * dpi }
	width, height := int(math.Round(px(210))), int(math.Round(px(297)))
	left, right, top := px(marginLeftMM), float64(width)-px(marginRightMM), px(marginTopMM)
	gutter := px(8)
	colW := (right - left - gutter) / 2
	em := points / 72 * dpi
	step := spacing * em

	p := &letterPage{ink: image.NewAlpha(image.Rect(0, 0, width, height)), dpi: dpi,
		fonts: [3]*sfnt.Font{regular, bold, italic}, faces: map[[2]float64]font.Face{}}
	defer p.close()

	var text []string
	y := top + em
	centre := (left + right) / 2
	head := func(s string, style letterStyle, size float64) error {
		s = norm.NFC.String(s)
		if err := p.text(s, style, size, 0, centre, right-left, y); err != nil {
			return err
		}
		text = append(text, s)
		y += step
		return nil
	}
	for _, s := range l.OrganLines {
		if err := head(s, styleBold, points); err != nil {
			return nil, nil, err
		}
	}
	y += step * 0.5
	if err := head(l.NumberLine(), styleRegular, points); err != nil {
		return nil, nil, err
	}
	if err := head(l.DateLine(), styleItalic, points); err != nil {
		return nil, nil, err
	}
	y += step * 0.5
	if err := head(strings.ToUpper(l.TypeName), styleBold, points+1); err != nil {
		return nil, nil, err
	}
	for _, s := range l.Subject {
		if err := head(s, styleBold, points); err != nil {
			return nil, nil, err
		}
	}
	y += step * 0.8

	face, err := p.face(styleRegular, points)
	if err != nil {
		return nil, nil, err
	}
	// Enough text to fill both columns well: the body twice over, the
	// second time from its other end, so that the columns differ.
	body := strings.Join(l.Body, " ")
	rev := append([]string(nil), l.Body...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	body += " " + strings.Join(rev, " ")
	lines := wrapWords(norm.NFC.String(body), face, colW)
	half := (len(lines) + 1) / 2
	for c, col := range [][]string{lines[:half], lines[half:]} {
		x := left + float64(c)*(colW+gutter)
		for i, s := range col {
			if err := p.text(s, styleRegular, points, x, -1, colW, y+float64(i)*step); err != nil {
				return nil, nil, err
			}
			text = append(text, s)
		}
	}
	if y+float64(half)*step > float64(height)-px(marginBottomMM) {
		return nil, nil, fmt.Errorf("samplescan: the two-column page runs past the bottom margin; give fewer body lines")
	}

	ink := p.ink
	if opt.Skew != 0 {
		ink = rotateAlpha(ink, opt.Skew)
	}
	if opt.Gray {
		return colourGray(ink), text, nil
	}
	return colourRGBA(ink), text, nil
}

// TurnedHalf returns img turned by 180°, as a sheet fed into the scanner
// the wrong way round; img is left as it is.
func TurnedHalf(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	p := out.Pix // four bytes a pixel, no padding: reverse pixel order
	for i, j := 0, len(p)-4; i < j; i, j = i+4, j-4 {
		for k := range 4 {
			p[i+k], p[j+k] = p[j+k], p[i+k]
		}
	}
	return out
}
