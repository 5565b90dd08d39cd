package pades

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// check finds what would make a visible appearance a broken or non-PDF/A
// widget, before anything is signed.
func (a *Appearance) check() error {
	if a.Page < 0 {
		return fmt.Errorf("the signature appearance names page %d; pages count from 1", a.Page)
	}
	if a.Rect[2] <= a.Rect[0] || a.Rect[3] <= a.Rect[1] {
		return fmt.Errorf("the signature appearance's rectangle %s has no width or height (it is llx lly urx ury)", numberArray(a.Rect))
	}
	for _, name := range slices.Sorted(maps.Keys(a.Fonts)) {
		if err := a.Fonts[name].check(); err != nil {
			return fmt.Errorf("the signature appearance's font %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Images)) {
		if err := a.Images[name].check(); err != nil {
			return fmt.Errorf("the signature appearance's image %s: %w", name, err)
		}
	}
	return nil
}

func (f *Font) check() error {
	switch {
	case f == nil:
		return errors.New("is missing")
	case f.BaseFont == "":
		return errors.New("has no name (BaseFont)")
	case len(f.Program) == 0:
		return errors.New("has no font program; PDF/A needs every font embedded")
	}
	// PDF/A-2u (ISO 19005-2 6.2.11.7.2): every glyph shown has a Unicode
	// value, and not one of the values that mean "none".
	for _, gid := range slices.Sorted(maps.Keys(f.Widths)) {
		text, ok := f.ToUnicode[gid]
		if !ok || text == "" {
			return fmt.Errorf("glyph %d has a width but no Unicode text; PDF/A-2u needs both", gid)
		}
		if !utf8.ValidString(text) || strings.ContainsAny(text, "\x00\ufeff\ufffe") {
			return fmt.Errorf("glyph %d has Unicode text %q, which PDF/A-2u does not allow", gid, text)
		}
	}
	for gid := range f.ToUnicode {
		if _, ok := f.Widths[gid]; !ok {
			return fmt.Errorf("glyph %d has Unicode text but no width; PDF/A needs widths that agree with the font program", gid)
		}
	}
	return nil
}

func (im *Image) check() error {
	if im == nil {
		return errors.New("is missing")
	}
	if im.Width <= 0 || im.Height <= 0 {
		return fmt.Errorf("is %d×%d pixels", im.Width, im.Height)
	}
	// Wrong sample counts make readers draw garbage or nothing, which on a
	// certification mark nobody would notice until it matters.
	if err := inflatedSize(im.RGB, 3*im.Width*im.Height); err != nil {
		return fmt.Errorf("colour samples: %w", err)
	}
	if im.Alpha != nil {
		if err := inflatedSize(im.Alpha, im.Width*im.Height); err != nil {
			return fmt.Errorf("alpha samples: %w", err)
		}
	}
	return nil
}

// inflatedSize checks that zlib data holds exactly want bytes.
func inflatedSize(data []byte, want int) error {
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not zlib data: %w", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, int64(want)+1))
	if err != nil {
		return fmt.Errorf("damaged zlib data: %w", err)
	}
	if n != int64(want) {
		return fmt.Errorf("%d bytes where the size asks for %d", n, want)
	}
	return nil
}

// writeAppearance writes the widget's normal appearance as object apNum, a
// form XObject, and the fonts and images its resources name, numbered by
// newNum. The zero Appearance writes an empty form with a zero box: what
// PDF/A (ISO 19005-2 6.3.3) still requires of an invisible signature.
func (u *update) writeAppearance(apNum int, a *Appearance, newNum func() int) error {
	w, h := a.Rect[2]-a.Rect[0], a.Rect[3]-a.Rect[1]
	fontNames := slices.Sorted(maps.Keys(a.Fonts))
	imageNames := slices.Sorted(maps.Keys(a.Images))
	fontNums := make([]int, len(fontNames))
	imageNums := make([]int, len(imageNames))

	var res strings.Builder
	res.WriteString("<<")
	if len(fontNames) > 0 {
		res.WriteString("/Font<<")
		for i, name := range fontNames {
			fontNums[i] = newNum()
			fmt.Fprintf(&res, "/%s %d 0 R", types.EncodeName(name), fontNums[i])
		}
		res.WriteString(">>")
	}
	if len(imageNames) > 0 {
		res.WriteString("/XObject<<")
		for i, name := range imageNames {
			imageNums[i] = newNum()
			fmt.Fprintf(&res, "/%s %d 0 R", types.EncodeName(name), imageNums[i])
		}
		res.WriteString(">>")
	}
	res.WriteString(">>")

	// The content stays unfiltered: it is small, and readable when someone
	// has to find out why a mark looks wrong.
	u.begin(apNum, 0)
	fmt.Fprintf(&u.buf, "<</Type/XObject/Subtype/Form/BBox %s/Resources %s/Length %d>>\nstream\n",
		numberArray([4]float64{0, 0, w, h}), res.String(), len(a.Content))
	u.buf.Write(a.Content)
	u.buf.WriteString("\nendstream")
	u.end()

	for i, name := range fontNames {
		if err := u.writeFont(fontNums[i], a.Fonts[name], newNum); err != nil {
			return fmt.Errorf("the signature appearance's font %s: %w", name, err)
		}
	}
	for i, name := range imageNames {
		u.writeImage(imageNums[i], a.Images[name], newNum)
	}
	return nil
}

// writeFont writes f as a Type0 font over a CIDFontType2 (ISO 32000-1
// 9.7): codes are 2-byte glyph IDs (/Identity-H with /CIDToGIDMap
// /Identity), so any glyph of the program can be shown and the /ToUnicode
// map gives each one its text.
func (u *update) writeFont(num int, f *Font, newNum func() int) error {
	cidNum, descNum, fileNum, toUniNum := newNum(), newNum(), newNum(), newNum()
	name := "/" + types.EncodeName(f.BaseFont)

	u.begin(num, 0)
	fmt.Fprintf(&u.buf, "<</Type/Font/Subtype/Type0/BaseFont %s/Encoding/Identity-H/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>",
		name, cidNum, toUniNum)
	u.end()

	u.begin(cidNum, 0)
	fmt.Fprintf(&u.buf, "<</Type/Font/Subtype/CIDFontType2/BaseFont %s/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor %d 0 R/CIDToGIDMap/Identity/W %s>>",
		name, descNum, widthsArray(f.Widths))
	u.end()

	flags := f.Flags
	if flags == 0 {
		flags = 4 // Symbolic: glyphs are reached by ID, not through a standard encoding
	}
	u.begin(descNum, 0)
	fmt.Fprintf(&u.buf, "<</Type/FontDescriptor/FontName %s/Flags %d/FontBBox %s/ItalicAngle %s/Ascent %s/Descent %s/CapHeight %s/StemV %s/FontFile2 %d 0 R>>",
		name, flags, numberArray(f.BBox), number(f.ItalicAngle), number(f.Ascent), number(f.Descent), number(f.CapHeight), number(f.StemV), fileNum)
	u.end()

	program, err := compress(f.Program)
	if err != nil {
		return err
	}
	u.begin(fileNum, 0)
	fmt.Fprintf(&u.buf, "<</Length %d/Length1 %d/Filter/FlateDecode>>\nstream\n", len(program), len(f.Program))
	u.buf.Write(program)
	u.buf.WriteString("\nendstream")
	u.end()

	// Compressed, the map is a third of its size (800 bytes for the
	// mark's 35 glyphs); every document carries it.
	cmap, err := compress(toUnicodeCMap(f.ToUnicode))
	if err != nil {
		return err
	}
	u.begin(toUniNum, 0)
	fmt.Fprintf(&u.buf, "<</Length %d/Filter/FlateDecode>>\nstream\n", len(cmap))
	u.buf.Write(cmap)
	u.buf.WriteString("\nendstream")
	u.end()
	return nil
}

// compress returns data zlib-compressed at the best level: what it
// compresses here is small and goes into every document.
func compress(data []byte) ([]byte, error) {
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// writeImage writes im as an image XObject, with its alpha as a soft mask.
func (u *update) writeImage(num int, im *Image, newNum func() int) {
	smask := 0
	if im.Alpha != nil {
		smask = newNum()
	}
	u.begin(num, 0)
	fmt.Fprintf(&u.buf, "<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB/BitsPerComponent 8/Filter/FlateDecode", im.Width, im.Height)
	if smask != 0 {
		fmt.Fprintf(&u.buf, "/SMask %d 0 R", smask)
	}
	fmt.Fprintf(&u.buf, "/Length %d>>\nstream\n", len(im.RGB))
	u.buf.Write(im.RGB)
	u.buf.WriteString("\nendstream")
	u.end()
	if smask == 0 {
		return
	}
	u.begin(smask, 0)
	fmt.Fprintf(&u.buf, "<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray/BitsPerComponent 8/Filter/FlateDecode/Length %d>>\nstream\n",
		im.Width, im.Height, len(im.Alpha))
	u.buf.Write(im.Alpha)
	u.buf.WriteString("\nendstream")
	u.end()
}

// widthsArray writes a CIDFont's /W: runs of consecutive glyph IDs share
// one entry, "first [w1 w2 ...]".
func widthsArray(widths map[uint16]float64) string {
	var b strings.Builder
	b.WriteByte('[')
	gids := slices.Sorted(maps.Keys(widths))
	for i, g := range gids {
		if i == 0 || g != gids[i-1]+1 {
			if i > 0 {
				b.WriteString("]")
			}
			fmt.Fprintf(&b, "%d[", g)
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(number(widths[g]))
	}
	if len(gids) > 0 {
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.String()
}

// toUnicodeCMap writes the CMap (Adobe technical note 5411) that maps each
// 2-byte glyph code to its text in UTF-16BE.
func toUnicodeCMap(m map[uint16]string) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	gids := slices.Sorted(maps.Keys(m))
	// A bfchar block holds at most 100 entries.
	for chunk := range slices.Chunk(gids, 100) {
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, c := range utf16.Encode([]rune(m[g])) {
				fmt.Fprintf(&b, "%04X", c)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")
	return b.Bytes()
}

func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func numberArray(v [4]float64) string {
	var b []byte
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return string(append(b, ']'))
}
