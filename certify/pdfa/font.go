package pdfa

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// fontMetrics are the values the PDF font dictionaries must repeat from
// the embedded TrueType program; validators compare them (widths above
// all), so they are read from the program instead of being assumed.
type fontMetrics struct {
	unitsPerEm  int
	bbox        [4]int // xMin yMin xMax yMax, font units
	ascent      int
	descent     int
	advance     int // advance width of glyph 1, font units
	italicAngle float64
	fixedPitch  bool
	numGlyphs   int
}

// scale converts font units to the 1/1000 em of PDF glyph space.
func (m *fontMetrics) scale(v int) float64 {
	return float64(v) * 1000 / float64(m.unitsPerEm)
}

// parseFontMetrics reads the few tables we need from a TrueType font. The
// invisible text layer draws every character with glyph 1, so the font must
// have at least two glyphs and glyph 1 must advance.
func parseFontMetrics(ttf []byte) (*fontMetrics, error) {
	if len(ttf) < 12 {
		return nil, errors.New("file too short")
	}
	if v := binary.BigEndian.Uint32(ttf); v != 0x00010000 && v != 0x74727565 {
		return nil, fmt.Errorf("not a TrueType font (version tag %08x)", v)
	}
	tables := map[string][]byte{}
	count := int(binary.BigEndian.Uint16(ttf[4:]))
	for i := 0; i < count; i++ {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, errors.New("table directory cut short")
		}
		tag := string(ttf[rec : rec+4])
		off := int(binary.BigEndian.Uint32(ttf[rec+8:]))
		length := int(binary.BigEndian.Uint32(ttf[rec+12:]))
		if off < 0 || length < 0 || off+length > len(ttf) {
			return nil, fmt.Errorf("table %q lies outside the file", tag)
		}
		tables[tag] = ttf[off : off+length]
	}
	need := func(tag string, size int) ([]byte, error) {
		t, ok := tables[tag]
		if !ok {
			return nil, fmt.Errorf("no %q table", tag)
		}
		if len(t) < size {
			return nil, fmt.Errorf("%q table too short", tag)
		}
		return t, nil
	}
	head, err := need("head", 54)
	if err != nil {
		return nil, err
	}
	hhea, err := need("hhea", 36)
	if err != nil {
		return nil, err
	}
	maxp, err := need("maxp", 6)
	if err != nil {
		return nil, err
	}
	hmtx, err := need("hmtx", 4)
	if err != nil {
		return nil, err
	}
	i16 := func(b []byte, at int) int { return int(int16(binary.BigEndian.Uint16(b[at:]))) }
	u16 := func(b []byte, at int) int { return int(binary.BigEndian.Uint16(b[at:])) }

	m := &fontMetrics{
		unitsPerEm: u16(head, 18),
		bbox:       [4]int{i16(head, 36), i16(head, 38), i16(head, 40), i16(head, 42)},
		ascent:     i16(hhea, 4),
		descent:    i16(hhea, 6),
		numGlyphs:  u16(maxp, 4),
	}
	if m.unitsPerEm == 0 {
		return nil, errors.New("units per em is zero")
	}
	if m.numGlyphs < 2 {
		return nil, errors.New("the font has no glyph 1 to draw the invisible text with")
	}
	// hmtx holds numberOfHMetrics (advance, lsb) pairs; later glyphs repeat
	// the last advance.
	nh := u16(hhea, 34)
	if nh == 0 || len(hmtx) < 4*nh {
		return nil, errors.New("horizontal metrics are missing")
	}
	gid := 1
	if gid >= nh {
		gid = nh - 1
	}
	m.advance = u16(hmtx, 4*gid)
	if m.advance == 0 {
		return nil, errors.New("glyph 1 has no advance width")
	}
	if post, ok := tables["post"]; ok && len(post) >= 16 {
		m.italicAngle = float64(int32(binary.BigEndian.Uint32(post[4:]))) / 65536
		m.fixedPitch = binary.BigEndian.Uint32(post[12:]) != 0
	}
	return m, nil
}
