// Package separator prints the station's separator sheets and reads their
// codes back from scanned pages.
//
// A sheet is one A4 page: the record fields and the expected page count in
// plain Vietnamese for the clerk, and the same in a QR code for the station
// (capture.Sheet's payload). The page is one bilevel image, text and code
// alike, so every PDF viewer and printer shows exactly what the station
// drew, and the QR's modules stay sharp black squares.
//
// QR codes are made and read with gozxing, the Go port of ZXing: pure Go,
// encoder and decoder in one maintained module, so the station needs no C
// library for them.
package separator

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"scanstation/capture"
	"scanstation/certify/pdfa"
	"scanstation/docmeta"
	"scanstation/internal/samplescan"
)

// The code is 80 mm square (its quiet zone included) at the foot of the
// page, where the text above cannot reach it.
const (
	codeMM       = 80.0
	codeBottomMM = 20.0
	quietModules = 4
)

// labels are the fields' names as the clerk reads them.
var labels = map[string]string{
	"organ_id":      "Mã cơ quan",
	"organ_name":    "Cơ quan ban hành",
	"parent_organ":  "Cơ quan chủ quản",
	"code_number":   "Số",
	"code_notation": "Ký hiệu",
	"place":         "Địa danh",
	"issued_date":   "Ngày ban hành",
	"type_name":     "Loại văn bản",
	"subject":       "Trích yếu",
}

// Lines are the sheet's text, top to bottom.
func Lines(s capture.Sheet) []string {
	lines := []string{
		"PHIẾU TÁCH VĂN BẢN",
		"Đặt phiếu này ngay trước văn bản khi quét.",
		"Phiếu không được đưa vào bản sao số hóa.",
		"",
	}
	for _, name := range docmeta.FieldNames {
		v := s.Fields[name]
		if v == "" {
			continue
		}
		label := labels[name]
		if label == "" {
			label = name
		}
		lines = append(lines, wrap(label+": "+v, 64)...)
	}
	if s.Pages > 0 {
		lines = append(lines, "Số trang: "+strconv.Itoa(s.Pages)+" (không kể phiếu này và mặt sau để trắng)")
	} else {
		lines = append(lines, "Số trang: không ghi")
	}
	return lines
}

// wrap breaks s at spaces into lines of at most n characters.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > n {
			out = append(out, line)
			line = "    " + w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(out, line)
}

// Render draws the sheet as an A4 page at dpi: white is 255, ink 0, and
// nothing in between.
func Render(s capture.Sheet, dpi float64) (*image.Gray, error) {
	payload, err := s.Payload()
	if err != nil {
		return nil, err
	}
	text, err := samplescan.Render(samplescan.Options{DPI: dpi, Lines: Lines(s), Gray: true})
	if err != nil {
		return nil, fmt.Errorf("separator sheet: %w", err)
	}
	g, ok := text.(*image.Gray)
	if !ok {
		return nil, errors.New("separator sheet: the text was not drawn in grey")
	}
	// samplescan draws paper and ink as a scanner sees them; a printed
	// sheet wants pure white and black.
	for i, v := range g.Pix {
		if v < 128 {
			g.Pix[i] = 0
		} else {
			g.Pix[i] = 255
		}
	}
	bits, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_ERROR_CORRECTION: "M", gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		return nil, fmt.Errorf("separator sheet: QR code: %w", err)
	}
	modules := bits.GetWidth()
	px := func(mm float64) int { return int(math.Round(mm / 25.4 * dpi)) }
	module := px(codeMM) / (modules + 2*quietModules)
	if module < 2 {
		return nil, fmt.Errorf("separator sheet: at %g dpi a module of the %d-module code would be under 2 pixels", dpi, modules)
	}
	size := module * (modules + 2*quietModules)
	b := g.Bounds()
	left := (b.Dx() - size) / 2
	top := b.Dy() - px(codeBottomMM) - size
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			mx, my := x/module-quietModules, y/module-quietModules
			v := uint8(255)
			if mx >= 0 && my >= 0 && mx < modules && my < modules && bits.Get(mx, my) {
				v = 0
			}
			if v == 0 || g.Pix[g.PixOffset(left+x, top+y)] != 0 {
				g.SetGray(left+x, top+y, color.Gray{Y: v})
			} else {
				return nil, errors.New("separator sheet: the text runs into the code; shorten the subject")
			}
		}
	}
	return g, nil
}

// WritePDF writes the sheet as a one-page PDF/A-2u file at 300 dpi. icc is
// the sRGB profile PDF/A's output intent needs.
func WritePDF(w io.Writer, s capture.Sheet, icc []byte, created time.Time) error {
	const dpi = 300
	g, err := Render(s, dpi)
	if err != nil {
		return err
	}
	data, err := bilevel(g)
	if err != nil {
		return err
	}
	title := "Phiếu tách văn bản"
	if t := s.Fields["type_name"]; t != "" {
		title += ": " + t
	}
	doc := &pdfa.Document{
		Pages: []pdfa.Page{{Image: pdfa.Image{
			Width: g.Rect.Dx(), Height: g.Rect.Dy(), DPIX: dpi, DPIY: dpi,
			ColorSpace: pdfa.Gray, BitsPerComponent: 1, Filter: "FlateDecode", Data: data,
		}}},
		Title:     title,
		Creator:   "scanstation separator",
		Producer:  "scanstation",
		Created:   created,
		OutputICC: icc,
	}
	if err := pdfa.Write(w, doc); err != nil {
		return fmt.Errorf("separator sheet: %w", err)
	}
	return nil
}

// bilevel packs g, already black and white, one bit a pixel with 1 for
// white as DeviceGray has it, and compresses it for FlateDecode.
func bilevel(g *image.Gray) ([]byte, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	row := (w + 7) / 8
	var buf bytes.Buffer
	z := zlib.NewWriter(&buf)
	line := make([]byte, row)
	for y := 0; y < h; y++ {
		clear(line)
		for x := 0; x < w; x++ {
			if g.Pix[g.PixOffset(x, y)] >= 128 {
				line[x/8] |= 0x80 >> (x % 8)
			}
		}
		if _, err := z.Write(line); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Codes returns the payloads of the QR codes found on a scanned page, none
// when it has none. The station prints one code a sheet, and a page with
// one readable code is all separation needs, so the reader stops at the
// first.
//
// One look at the whole page misses about one sheet in a few dozen: the
// finder patterns are found but noise makes the module size come out a
// little wrong. The reader then looks again differently (without the
// thorough hint, at each half of the page, at half the resolution), and
// Reed-Solomon keeps any of those looks from returning other bytes than
// printed. A page without a code costs all the looks, still well under its
// OCR.
func Codes(img image.Image) ([]string, error) {
	g := grey(img)
	b := g.Rect
	half := func(r image.Rectangle) image.Image { return g.SubImage(r) }
	looks := []struct {
		img      image.Image
		thorough bool
	}{
		{g, true},
		{g, false},
		{half(image.Rect(b.Min.X, b.Min.Y+b.Dy()/2, b.Max.X, b.Max.Y)), true}, // where the code is printed
		{half(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+b.Dy()/2)), true}, // a sheet fed upside down
		{shrink(g), true},
	}
	for _, l := range looks {
		text, err := decode(l.img, l.thorough)
		if err != nil {
			return nil, err
		}
		if text != "" {
			return []string{text}, nil
		}
	}
	return nil, nil
}

// decode looks for one QR code in img; "" when there is none it can read.
func decode(img image.Image, thorough bool) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("reading codes: %w", err)
	}
	var hints map[gozxing.DecodeHintType]any
	if thorough {
		hints = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		var nf gozxing.NotFoundException
		var ce gozxing.ChecksumException
		var fe gozxing.FormatException
		if errors.As(err, &nf) || errors.As(err, &ce) || errors.As(err, &fe) {
			return "", nil
		}
		return "", fmt.Errorf("reading codes: %w", err)
	}
	return res.GetText(), nil
}

// grey gives img as 8-bit grey, once, for all the looks.
func grey(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

// shrink halves g's resolution by averaging 2×2 pixels.
func shrink(g *image.Gray) *image.Gray {
	b := g.Rect
	out := image.NewGray(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			o := g.PixOffset(b.Min.X+2*x, b.Min.Y+2*y)
			sum := int(g.Pix[o]) + int(g.Pix[o+1]) + int(g.Pix[o+g.Stride]) + int(g.Pix[o+g.Stride+1])
			out.Pix[y*out.Stride+x] = uint8(sum / 4)
		}
	}
	return out
}
