package mark

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"

	"scanstation/certify/pades"
)

// DefaultFontFile is Liberation Serif, metric-compatible with the Times New
// Roman the decree names (Debian package fonts-liberation2).
const DefaultFontFile = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"

// face is one TrueType font being used for one mark: the glyphs shown so far
// and the text each one stands for.
type face struct {
	path string
	ttf  []byte
	f    *sfnt.Font
	buf  sfnt.Buffer
	upem float64

	used  map[uint16]string // glyph → the text it shows (ToUnicode)
	runes map[rune]uint16   // character → glyph, for the subset's cmap
}

func openFace(path string) (*face, error) {
	ttf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the mark's font: %w", err)
	}
	if _, err := tableDirectory(ttf); err != nil {
		return nil, fmt.Errorf("the mark's font %s cannot be used: %w", path, err)
	}
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("the mark's font %s cannot be read: %w", path, err)
	}
	return &face{path: path, ttf: ttf, f: f, upem: float64(f.UnitsPerEm()),
		used: map[uint16]string{}, runes: map[rune]uint16{}}, nil
}

// ppem asks sfnt for values at one pixel per font unit, so fixed-point
// results are exact font units.
func (fc *face) ppem() fixed.Int26_6 { return fixed.Int26_6(fc.f.UnitsPerEm()) << 6 }

// thousandths converts font units to PDF glyph space (1/1000 em).
func (fc *face) thousandths(v fixed.Int26_6) float64 {
	return math.Round(float64(v)/64*1000/fc.upem*1000) / 1000
}

// shaped is one line of text as glyphs, and its width in 1/1000 em.
type shaped struct {
	text   string
	glyphs []uint16
	width  float64
}

// shape maps a line to glyphs one character at a time (NFC first, so an
// accented Vietnamese letter typed as letter plus combining marks becomes
// the one precomposed character the font has a glyph for). Liberation needs
// no ligatures or mark positioning for Vietnamese; kerning is not applied,
// as in the office programs the decree's examples come from.
func (fc *face) shape(text string) (shaped, error) {
	text = norm.NFC.String(text)
	s := shaped{text: text}
	for _, r := range text {
		g, err := fc.f.GlyphIndex(&fc.buf, r)
		if err != nil {
			return shaped{}, fmt.Errorf("looking up %q in the mark's font: %w", r, err)
		}
		if g == 0 {
			return shaped{}, fmt.Errorf("the mark's font %s has no letter %q (U+%04X) in %q; choose a font that covers Vietnamese (mark.font)",
				fc.path, r, r, text)
		}
		adv, err := fc.f.GlyphAdvance(&fc.buf, g, fc.ppem(), font.HintingNone)
		if err != nil {
			return shaped{}, fmt.Errorf("the mark's font %s: width of %q: %w", fc.path, r, err)
		}
		gid := uint16(g)
		if _, ok := fc.used[gid]; !ok {
			fc.used[gid] = string(r)
		}
		if _, ok := fc.runes[r]; !ok {
			fc.runes[r] = gid
		}
		s.glyphs = append(s.glyphs, gid)
		s.width += fc.thousandths(adv)
	}
	return s, nil
}

// metrics are the font's vertical metrics in 1/1000 em.
type metrics struct{ ascent, descent, lineGap, capHeight float64 }

func (fc *face) metrics() (metrics, error) {
	m, err := fc.f.Metrics(&fc.buf, fc.ppem(), font.HintingNone)
	if err != nil {
		return metrics{}, fmt.Errorf("the mark's font %s: metrics: %w", fc.path, err)
	}
	return metrics{
		ascent:    fc.thousandths(m.Ascent),
		descent:   fc.thousandths(m.Descent),
		lineGap:   fc.thousandths(m.Height - m.Ascent - m.Descent),
		capHeight: fc.thousandths(m.CapHeight),
	}, nil
}

// pdfFont subsets the font to the glyphs shown and fills in what the PDF
// font dictionaries repeat from it.
func (fc *face) pdfFont() (*pades.Font, error) {
	keep := make(map[uint16]bool, len(fc.used))
	for g := range fc.used {
		keep[g] = true
	}
	program, err := subsetFont(fc.ttf, keep, fc.runes)
	if err != nil {
		return nil, fmt.Errorf("the mark's font %s cannot be subset: %w", fc.path, err)
	}
	m, err := fc.metrics()
	if err != nil {
		return nil, err
	}
	bounds, err := fc.f.Bounds(&fc.buf, fc.ppem(), font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("the mark's font %s: bounds: %w", fc.path, err)
	}
	out := &pades.Font{
		BaseFont:  fc.subsetTag() + "+" + fc.postScriptName(),
		Program:   program,
		Widths:    map[uint16]float64{},
		ToUnicode: map[uint16]string{},
		Ascent:    m.ascent,
		Descent:   -m.descent,
		CapHeight: m.capHeight,
		StemV:     fc.stemV(),
		Flags:     4, // symbolic: glyphs are reached by ID, not through a standard encoding
		// sfnt's bounds have y pointing down.
		BBox: [4]float64{fc.thousandths(bounds.Min.X), -fc.thousandths(bounds.Max.Y),
			fc.thousandths(bounds.Max.X), -fc.thousandths(bounds.Min.Y)},
	}
	if post := fc.f.PostTable(); post != nil {
		out.ItalicAngle = post.ItalicAngle
		if post.IsFixedPitch {
			out.Flags |= 1
		}
		if post.ItalicAngle != 0 {
			out.Flags |= 64
		}
	}
	for g, text := range fc.used {
		adv, err := fc.f.GlyphAdvance(&fc.buf, sfnt.GlyphIndex(g), fc.ppem(), font.HintingNone)
		if err != nil {
			return nil, fmt.Errorf("the mark's font %s: width of glyph %d: %w", fc.path, g, err)
		}
		out.Widths[g] = fc.thousandths(adv)
		out.ToUnicode[g] = text
	}
	return out, nil
}

// subsetTag is the six capital letters PDF puts before a subset font's name,
// derived from the glyphs kept so that different subsets get different tags.
func (fc *face) subsetTag() string {
	gids := make([]uint16, 0, len(fc.used))
	for g := range fc.used {
		gids = append(gids, g)
	}
	slices.Sort(gids)
	h := fnv.New32a()
	for _, g := range gids {
		h.Write([]byte{byte(g >> 8), byte(g)})
	}
	v := h.Sum32()
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + byte(v%26)
		v /= 26
	}
	return string(tag)
}

// postScriptName is the font's PostScript name, kept to the characters a
// PDF name may hold without escapes.
func (fc *face) postScriptName() string {
	name, err := fc.f.Name(&fc.buf, sfnt.NameIDPostScript)
	if err != nil || name == "" {
		name = "Font"
	}
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && !strings.ContainsRune("()<>[]{}/%#", r) {
			return r
		}
		return -1
	}, name)
}

// stemV estimates the dominant vertical stem width from the OS/2 weight
// class, since no TrueType table records it; readers use it only when they
// must substitute the font, which an embedded font never needs.
func (fc *face) stemV() float64 {
	weight := 400.0
	if tables, err := tableDirectory(fc.ttf); err == nil {
		if os2 := tables["OS/2"]; len(os2) >= 6 {
			weight = float64(binary.BigEndian.Uint16(os2[4:]))
		}
	}
	return math.Round(50 + (weight/65)*(weight/65))
}
