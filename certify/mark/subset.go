package mark

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// subsetFont returns a TrueType font that draws the glyphs in keep (and the
// glyphs they are built from) exactly like ttf, with every other glyph
// emptied. Glyph IDs do not change, so the codes already written in a
// content stream stay valid; glyphs after the highest one kept are cut off.
//
// Only what a PDF reader needs stays: the outlines without their hinting
// instructions (and so without the hinting tables: PDF readers scale glyphs
// to any size and mostly ignore hints), the metrics, OS/2, a version 3 post
// table (no glyph names) and a small cmap for the characters in cmap, so that
// the program is still an ordinary font to any tool that opens it.
func subsetFont(ttf []byte, keep map[uint16]bool, cmap map[rune]uint16) ([]byte, error) {
	tables, err := tableDirectory(ttf)
	if err != nil {
		return nil, err
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if tables[tag] == nil {
			return nil, fmt.Errorf("the font has no %q table (is it a TrueType font?)", tag)
		}
	}
	head, hhea, maxp := tables["head"], tables["hhea"], tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, errors.New("the font's head, hhea or maxp table is cut short")
	}
	numGlyphs := int(binary.BigEndian.Uint16(maxp[4:]))
	longLoca := binary.BigEndian.Uint16(head[50:]) != 0
	offsets, err := glyphOffsets(tables["loca"], numGlyphs, longLoca, len(tables["glyf"]))
	if err != nil {
		return nil, err
	}
	glyf := tables["glyf"]
	glyph := func(g int) []byte { return glyf[offsets[g]:offsets[g+1]] }

	// Close keep over composite glyphs: an accented Vietnamese letter in
	// Liberation is a base letter plus one or two marks by reference.
	closed := map[uint16]bool{}
	todo := []uint16{0} // .notdef is always there
	for g := range keep {
		todo = append(todo, g)
	}
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if int(g) >= numGlyphs {
			return nil, fmt.Errorf("glyph %d is beyond the font's %d glyphs", g, numGlyphs)
		}
		if closed[g] {
			continue
		}
		closed[g] = true
		_, parts, err := stripGlyph(glyph(int(g)))
		if err != nil {
			return nil, fmt.Errorf("glyph %d: %w", g, err)
		}
		for _, p := range parts {
			if !closed[p] {
				todo = append(todo, p)
			}
		}
	}
	last := 0
	for g := range closed {
		last = max(last, int(g))
	}
	n := last + 1

	// glyf and loca, short loca when it fits (offsets are stored halved).
	var newGlyf []byte
	locs := make([]int, n+1)
	for g := 0; g < n; g++ {
		locs[g] = len(newGlyf)
		if closed[uint16(g)] {
			data, _, err := stripGlyph(glyph(g))
			if err != nil {
				return nil, fmt.Errorf("glyph %d: %w", g, err)
			}
			newGlyf = append(newGlyf, data...)
			if len(newGlyf)%2 == 1 {
				newGlyf = append(newGlyf, 0)
			}
		}
	}
	locs[n] = len(newGlyf)
	short := len(newGlyf) <= 0x1FFFE
	var loca []byte
	for _, o := range locs {
		if short {
			loca = binary.BigEndian.AppendUint16(loca, uint16(o/2))
		} else {
			loca = binary.BigEndian.AppendUint32(loca, uint32(o))
		}
	}

	// hmtx: a full metric for every glyph up to the last kept, zero for the
	// emptied ones.
	numHMetrics := int(binary.BigEndian.Uint16(hhea[34:]))
	hmtx := tables["hmtx"]
	if numHMetrics == 0 || len(hmtx) < 4*numHMetrics+2*(numGlyphs-numHMetrics) {
		return nil, errors.New("the font's hmtx table is cut short")
	}
	var newHmtx []byte
	for g := 0; g < n; g++ {
		var adv, lsb uint16
		if closed[uint16(g)] {
			if g < numHMetrics {
				adv = binary.BigEndian.Uint16(hmtx[4*g:])
				lsb = binary.BigEndian.Uint16(hmtx[4*g+2:])
			} else {
				adv = binary.BigEndian.Uint16(hmtx[4*(numHMetrics-1):])
				lsb = binary.BigEndian.Uint16(hmtx[4*numHMetrics+2*(g-numHMetrics):])
			}
		}
		newHmtx = binary.BigEndian.AppendUint16(newHmtx, adv)
		newHmtx = binary.BigEndian.AppendUint16(newHmtx, lsb)
	}

	newHead := slices.Clone(head)
	binary.BigEndian.PutUint32(newHead[8:], 0) // checkSumAdjustment, set last
	locFormat := uint16(1)
	if short {
		locFormat = 0
	}
	binary.BigEndian.PutUint16(newHead[50:], locFormat)
	newHhea := slices.Clone(hhea)
	binary.BigEndian.PutUint16(newHhea[34:], uint16(n))
	newMaxp := slices.Clone(maxp)
	binary.BigEndian.PutUint16(newMaxp[4:], uint16(n))

	out := map[string][]byte{
		"cmap": buildCmap(cmap),
		"glyf": newGlyf,
		"head": newHead,
		"hhea": newHhea,
		"hmtx": newHmtx,
		"loca": loca,
		"maxp": newMaxp,
	}
	if os2 := tables["OS/2"]; os2 != nil {
		out["OS/2"] = os2
	}
	if post := tables["post"]; len(post) >= 32 {
		p := slices.Clone(post[:32])
		binary.BigEndian.PutUint32(p, 0x00030000)
		out["post"] = p
	}
	return writeFont(out), nil
}

// tableDirectory maps each table tag of a TrueType font to its bytes.
func tableDirectory(ttf []byte) (map[string][]byte, error) {
	if len(ttf) < 12 {
		return nil, errors.New("the font file is too short")
	}
	switch v := binary.BigEndian.Uint32(ttf); v {
	case 0x00010000, 0x74727565: // 1.0, 'true'
	case 0x4f54544f: // 'OTTO'
		return nil, errors.New("it is an OpenType font with PostScript outlines; choose a TrueType (.ttf) font")
	case 0x74746366: // 'ttcf'
		return nil, errors.New("it is a font collection (.ttc); choose a single TrueType (.ttf) font")
	default:
		return nil, fmt.Errorf("it is not a TrueType font (version tag %08x)", v)
	}
	count := int(binary.BigEndian.Uint16(ttf[4:]))
	tables := make(map[string][]byte, count)
	for i := 0; i < count; i++ {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, errors.New("the font's table directory is cut short")
		}
		tag := string(ttf[rec : rec+4])
		off := uint64(binary.BigEndian.Uint32(ttf[rec+8:]))
		length := uint64(binary.BigEndian.Uint32(ttf[rec+12:]))
		if off+length > uint64(len(ttf)) {
			return nil, fmt.Errorf("the font's %q table lies outside the file", tag)
		}
		tables[tag] = ttf[off : off+length]
	}
	return tables, nil
}

// glyphOffsets reads loca: numGlyphs+1 offsets into glyf, checked to rise
// and to stay inside glyf.
func glyphOffsets(loca []byte, numGlyphs int, long bool, glyfLen int) ([]int, error) {
	size := 2
	if long {
		size = 4
	}
	if len(loca) < size*(numGlyphs+1) {
		return nil, errors.New("the font's loca table is cut short")
	}
	offs := make([]int, numGlyphs+1)
	for i := range offs {
		if long {
			offs[i] = int(binary.BigEndian.Uint32(loca[4*i:]))
		} else {
			offs[i] = 2 * int(binary.BigEndian.Uint16(loca[2*i:]))
		}
		if offs[i] > glyfLen || i > 0 && offs[i] < offs[i-1] {
			return nil, fmt.Errorf("the font's loca table is damaged at glyph %d", i)
		}
	}
	return offs, nil
}

// Composite glyph flags (OpenType glyf table).
const (
	argsAreWords     = 0x0001
	haveScale        = 0x0008
	moreComponents   = 0x0020
	haveXYScale      = 0x0040
	haveTwoByTwo     = 0x0080
	haveInstructions = 0x0100
)

// stripGlyph returns one glyph's outline without its hinting instructions,
// and the glyphs it is made of when it is a composite.
func stripGlyph(data []byte) (out []byte, parts []uint16, err error) {
	if len(data) == 0 {
		return nil, nil, nil
	}
	if len(data) < 10 {
		return nil, nil, errors.New("outline cut short")
	}
	contours := int(int16(binary.BigEndian.Uint16(data)))
	if contours >= 0 {
		// header, endPtsOfContours, instructionLength, instructions, the rest.
		at := 10 + 2*contours
		if at+2 > len(data) {
			return nil, nil, errors.New("outline cut short")
		}
		n := int(binary.BigEndian.Uint16(data[at:]))
		if at+2+n > len(data) {
			return nil, nil, errors.New("instructions run past the outline")
		}
		out = append(out, data[:at]...)
		out = append(out, 0, 0)
		out = append(out, data[at+2+n:]...)
		return out, nil, nil
	}
	at := 10
	for {
		if at+4 > len(data) {
			return nil, nil, errors.New("composite outline cut short")
		}
		flags := binary.BigEndian.Uint16(data[at:])
		parts = append(parts, binary.BigEndian.Uint16(data[at+2:]))
		size := componentSize(flags)
		if at+size > len(data) {
			return nil, nil, errors.New("composite outline cut short")
		}
		at += size
		if flags&moreComponents == 0 {
			break
		}
	}
	// Cut the instructions after the last component and clear the flag
	// that announces them.
	out = slices.Clone(data[:at])
	for c := 10; c < at; {
		flags := binary.BigEndian.Uint16(out[c:])
		binary.BigEndian.PutUint16(out[c:], flags&^haveInstructions)
		c += componentSize(flags)
	}
	return out, parts, nil
}

// componentSize is the size of one composite glyph component record:
// flags, glyph index, two offsets (bytes or words) and an optional scale.
func componentSize(flags uint16) int {
	size := 4
	if flags&argsAreWords != 0 {
		size += 4
	} else {
		size += 2
	}
	switch {
	case flags&haveScale != 0:
		size += 2
	case flags&haveXYScale != 0:
		size += 4
	case flags&haveTwoByTwo != 0:
		size += 8
	}
	return size
}

// buildCmap writes a cmap with one Windows Unicode BMP subtable (format 4)
// holding one segment per character.
func buildCmap(m map[rune]uint16) []byte {
	runes := make([]rune, 0, len(m))
	for r := range m {
		if r < 0xFFFF {
			runes = append(runes, r)
		}
	}
	slices.Sort(runes)
	segs := len(runes) + 1 // and the final 0xFFFF segment
	var sub []byte
	u16 := func(v int) { sub = binary.BigEndian.AppendUint16(sub, uint16(v)) }
	length := 16 + 8*segs
	searchRange, entrySelector := 1, 0
	for searchRange*2 <= segs {
		searchRange *= 2
		entrySelector++
	}
	u16(4)
	u16(length)
	u16(0) // language
	u16(2 * segs)
	u16(2 * searchRange)
	u16(entrySelector)
	u16(2*segs - 2*searchRange)
	for _, r := range runes {
		u16(int(r)) // endCode
	}
	u16(0xFFFF)
	u16(0) // reservedPad
	for _, r := range runes {
		u16(int(r)) // startCode
	}
	u16(0xFFFF)
	for _, r := range runes {
		u16(int(m[r]) - int(r)) // idDelta, modulo 65536
	}
	u16(1)
	for range segs {
		u16(0) // idRangeOffset
	}
	head := []byte{0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0, 12} // version 0, one subtable (3,1) at 12
	return append(head, sub...)
}

// writeFont lays out a TrueType file from its tables: the directory sorted
// by tag, each table on a 4-byte boundary, checksums, and head's
// checkSumAdjustment.
func writeFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	searchRange, entrySelector := 1, 0
	for searchRange*2 <= n {
		searchRange *= 2
		entrySelector++
	}
	var out []byte
	out = binary.BigEndian.AppendUint32(out, 0x00010000)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = binary.BigEndian.AppendUint16(out, uint16(16*searchRange))
	out = binary.BigEndian.AppendUint16(out, uint16(entrySelector))
	out = binary.BigEndian.AppendUint16(out, uint16(16*(n-searchRange)))
	off := 12 + 16*n
	headAt := 0
	for _, t := range tags {
		data := tables[t]
		out = append(out, t...)
		out = binary.BigEndian.AppendUint32(out, checksum(data))
		out = binary.BigEndian.AppendUint32(out, uint32(off))
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		if t == "head" {
			headAt = off
		}
		off += (len(data) + 3) &^ 3
	}
	for _, t := range tags {
		out = append(out, tables[t]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	return out
}

// checksum is the OpenType table checksum: the sum of the big-endian uint32
// words, the last one padded with zeros.
func checksum(b []byte) uint32 {
	var sum uint32
	for len(b) >= 4 {
		sum += binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	var last [4]byte
	copy(last[:], b)
	return sum + binary.BigEndian.Uint32(last[:])
}
