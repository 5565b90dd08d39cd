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
	"cmp"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"

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
// The first look is at the page at half resolution, each pixel the mean
// of four: that quarters the sensor noise's variance, and a noisy scan
// binarized at full resolution is speckled with dots that pass for finder
// patterns' rings. The second is at full resolution, for codes whose
// modules would come out under two pixels at half. Each look weighs every
// three finder patterns that lie as a code's corners do, not just the
// first three found: a pattern in the code's data can look like a corner,
// and ZXing's single finder stops at it. Reed-Solomon keeps any of those
// tries from returning other bytes than printed.
func Codes(img image.Image) ([]string, error) {
	g := grey(img)
	for _, look := range []*image.Gray{shrink(g), g} {
		text, err := decode(look)
		if err != nil {
			return nil, err
		}
		if text != "" {
			return []string{text}, nil
		}
	}
	return nil, nil
}

// decode looks for one QR code in g; "" when there is none it can read.
func decode(g *image.Gray) (string, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w < 21 || h < 21 {
		return "", nil // smaller than the smallest code at a pixel a module
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, h, 0, 0, w, h, false)
	if err != nil {
		return "", fmt.Errorf("reading codes: %w", err)
	}
	m, err := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
	if err != nil {
		return "", fmt.Errorf("reading codes: %w", err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	infos, err := multidetector.NewMultiFinderPatternFinder(m, nil).FindMulti(hints)
	if err != nil {
		if unreadable(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading codes: %w", err)
	}
	for _, info := range infos {
		text, err := read(m, info)
		if err != nil || text != "" {
			return text, err
		}
	}
	return "", nil
}

// read decodes the code whose three finder patterns info has found in m.
// ZXing takes the code's size in modules from the width of the finder
// patterns' black and white rings, and on a noisy scan that comes out a
// few per cent too large: the grid laid over the code is then 4 modules
// off and nothing decodes. The finder patterns' centres are found well, so
// when ZXing's size fails, read tries the code sizes next to it.
func read(m *gozxing.BitMatrix, info *detector.FinderPatternInfo) (string, error) {
	res, err := detector.NewDetector(m).ProcessFinderPatternInfo(info)
	if err == nil {
		text, err := decodeBits(res.GetBits())
		if err != nil || text != "" {
			return text, err
		}
	} else if !unreadable(err) {
		return "", fmt.Errorf("reading codes: %w", err)
	}
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	// The centres are dimension-7 modules apart.
	span := (gozxing.ResultPoint_Distance(tl, tr) + gozxing.ResultPoint_Distance(tl, bl)) / 2
	module := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	guess := span/module + 7
	var dims []int
	for v := 1; v <= 40; v++ {
		dim := 17 + 4*v
		if ratio := span / float64(dim-7) / module; ratio > 0.8 && ratio < 1.2 {
			dims = append(dims, dim)
		}
	}
	slices.SortFunc(dims, func(a, b int) int {
		return cmp.Compare(math.Abs(float64(a)-guess), math.Abs(float64(b)-guess))
	})
	for _, dim := range dims {
		bits, err := sample(m, tl, tr, bl, span/float64(dim-7), dim)
		if err != nil {
			if unreadable(err) {
				continue
			}
			return "", fmt.Errorf("reading codes: %w", err)
		}
		text, err := decodeBits(bits)
		if err != nil || text != "" {
			return text, err
		}
	}
	return "", nil
}

// sample lays a grid of dim modules of the given size over the code whose
// finder patterns' centres are tl, tr and bl, as ZXing's detector does:
// through the alignment pattern nearest the bottom-right corner when it is
// found, else over the parallelogram the centres make.
func sample(m *gozxing.BitMatrix, tl, tr, bl gozxing.ResultPoint, module float64, dim int) (*gozxing.BitMatrix, error) {
	version, err := decoder.Version_GetProvisionalVersionForDimension(dim)
	if err != nil {
		return nil, gozxing.WrapFormatException(err)
	}
	var align *detector.AlignmentPattern
	if len(version.GetAlignmentPatternCenters()) > 0 {
		// The alignment pattern is 3 modules in from where a bottom-right
		// finder pattern would be.
		brX := tr.GetX() - tl.GetX() + bl.GetX()
		brY := tr.GetY() - tl.GetY() + bl.GetY()
		k := 1 - 3/float64(dim-7)
		x := int(tl.GetX() + k*(brX-tl.GetX()))
		y := int(tl.GetY() + k*(brY-tl.GetY()))
		for _, reach := range []float64{4, 8, 16} {
			r := int(reach * module)
			x0, x1 := max(0, x-r), min(m.GetWidth()-1, x+r)
			y0, y1 := max(0, y-r), min(m.GetHeight()-1, y+r)
			if float64(x1-x0) < 3*module || float64(y1-y0) < 3*module {
				break
			}
			if a, nf := detector.NewAlignmentPatternFinder(m, x0, y0, x1-x0, y1-y0, module, nil).Find(); nf == nil {
				align = a
				break
			}
		}
	}
	transform := detector.Detector_createTransform(tl, tr, bl, align, dim)
	return detector.Detector_sampleGrid(m, transform, dim)
}

// decodeBits reads the code sampled into bits; "" when it cannot.
func decodeBits(bits *gozxing.BitMatrix) (string, error) {
	res, err := decoder.NewDecoder().Decode(bits, nil)
	if err != nil {
		if unreadable(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading codes: %w", err)
	}
	return res.GetText(), nil
}

// unreadable tells ZXing's "no code here" and "a code, but not one that
// decodes" from a fault in the reader itself.
func unreadable(err error) bool {
	var re gozxing.ReaderException
	return errors.As(err, &re)
}

// grey gives img as 8-bit grey, once, for all the looks. A JPEG scan's
// luma plane is that already.
func grey(img image.Image) *image.Gray {
	switch img := img.(type) {
	case *image.Gray:
		return img
	case *image.YCbCr:
		return &image.Gray{Pix: img.Y, Stride: img.YStride, Rect: img.Rect}
	case *image.RGBA:
		b := img.Rect
		g := image.NewGray(b)
		for y := 0; y < b.Dy(); y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
			out := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
			for x := range out {
				r, gr, bl := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
				// color.GrayModel's weights.
				out[x] = uint8((19595*r + 38470*gr + 7471*bl + 1<<15) >> 16)
			}
		}
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
