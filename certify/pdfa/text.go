package pdfa

import (
	"image"
	"math"
	"math/bits"
	"slices"
	"unicode"
)

// rect is an axis-aligned rectangle in PDF points, y growing upwards.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) dx() float64 { return r.x1 - r.x0 }
func (r rect) dy() float64 { return r.y1 - r.y0 }

func (r rect) union(o rect) rect {
	return rect{math.Min(r.x0, o.x0), math.Min(r.y0, o.y0), math.Max(r.x1, o.x1), math.Max(r.y1, o.y1)}
}

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// pageGeometry relates the stored image's pixels to the page.
//
// Three spaces matter. Stored page space is the PDF page before /Rotate:
// the image fills its media box exactly, as scanned. Straightened space is
// stored page space after the skew correction: the image is drawn turned
// by the skew angle about the page centre. Upright page space is what the
// reader sees after the viewer has turned the page by /Rotate. The text
// layer is laid out in upright space, where lines run straight from left
// to right, and one matrix carries it back into page space.
type pageGeometry struct {
	w, h   float64 // stored page size in points
	sx, sy float64 // points per pixel
	rotate int     // 0, 90, 180 or 270
	skew   float64 // degrees, counter-clockwise
}

func newPageGeometry(img *Image, rotate int, skew float64) pageGeometry {
	sx, sy := 72/img.DPIX, 72/img.DPIY
	return pageGeometry{
		w: float64(img.Width) * sx, h: float64(img.Height) * sy,
		sx: sx, sy: sy,
		rotate: rotate,
		skew:   skew,
	}
}

// uprightToStored maps upright page space into stored page space. The
// viewer turns the stored page clockwise by rotate, so this map turns the
// upright page counter-clockwise by the same angle and moves it back onto
// the media box.
func (g pageGeometry) uprightToStored() matrix {
	switch g.rotate {
	case 90:
		return matrix{0, 1, -1, 0, g.w, 0}
	case 180:
		return matrix{-1, 0, 0, -1, g.w, g.h}
	case 270:
		return matrix{0, -1, 1, 0, 0, g.h}
	}
	return matrix{1, 0, 0, 1, 0, 0}
}

// storedToUpright is the inverse of uprightToStored.
func (g pageGeometry) storedToUpright(x, y float64) (float64, float64) {
	switch g.rotate {
	case 90:
		return y, g.w - x
	case 180:
		return g.w - x, g.h - y
	case 270:
		return g.h - y, x
	}
	return x, y
}

// uprightBox converts a word box in stored image pixels (origin top left)
// to upright page space. On a skewed page the box is moved where the skew
// correction takes the word, keeping its size: the text layer follows the
// image, but its lines are written level on the straightened page rather
// than tilted with the scan, so text extraction sees straight lines.
func (g pageGeometry) uprightBox(r image.Rectangle) rect {
	x0, y0 := float64(r.Min.X)*g.sx, g.h-float64(r.Max.Y)*g.sy
	x1, y1 := float64(r.Max.X)*g.sx, g.h-float64(r.Min.Y)*g.sy
	if g.skew != 0 {
		cx, cy := g.skewMatrix().apply((x0+x1)/2, (y0+y1)/2)
		hw, hh := (x1-x0)/2, (y1-y0)/2
		x0, y0, x1, y1 = cx-hw, cy-hh, cx+hw, cy+hh
	}
	ax, ay := g.storedToUpright(x0, y0)
	bx, by := g.storedToUpright(x1, y1)
	return rect{math.Min(ax, bx), math.Min(ay, by), math.Max(ax, bx), math.Max(ay, by)}
}

// skewMatrix turns the stored page by the skew angle counter-clockwise about
// its centre.
func (g pageGeometry) skewMatrix() matrix {
	s, c := math.Sincos(g.skew * math.Pi / 180)
	cx, cy := g.w/2, g.h/2
	return matrix{c, s, -s, c, cx - c*cx + s*cy, cy - s*cx - c*cy}
}

// placedWord is one word of the invisible text layer in upright space.
type placedWord struct {
	codes    []uint16 // character codes (UTF-16 units), a trailing space included when one follows
	x, y     float64  // start of the baseline
	size     float64  // font size, the same for the whole line
	hscale   float64  // horizontal scaling in percent (Tz)
	lineHead bool     // first word of a line
}

// layoutWords places words in upright page space. Words that follow each
// other on one line get one baseline and one font size: text extractors
// join words into lines only when those agree, and the glyph-less font's
// single glyph is exactly one em tall, so the invisible text then covers
// the line. Each word is stretched (Tz) so its advance runs to the start
// of the next word, a space included, which keeps the spaces between
// words for copy and paste; the last word of a line fills its own box.
// advance is the glyph's advance width in em.
//
// Lines that follow each other down a column (a run, see nextInColumn)
// also share one font size, the median of their heights, each line's em
// box centred on the line. The reason is reading order: poppler
// (pdftotext, Evince, Okular) puts two lines in one block only when their
// font sizes differ by less than 5 %, and a line's height depends on its
// letters (descenders, capitals, tone marks, a tall bracket), not only on
// the type. With each line sized to its own box a column fell apart into
// blocks of a line or two, which poppler then read in another order than
// the OCR: on a two-column page, the columns interleaved.
func layoutWords(words []Word, g pageGeometry, advance float64) []placedWord {
	type item struct {
		box   rect
		codes []uint16
	}
	items := make([]item, 0, len(words))
	for _, w := range words {
		codes := textCodes(w.Text, nil)
		if len(codes) == 0 || w.Box.Dx() <= 0 || w.Box.Dy() <= 0 {
			continue
		}
		items = append(items, item{g.uprightBox(w.Box), codes})
	}

	// A line continues while each word lies to the right of the one
	// before and overlaps it vertically by at least half the smaller
	// height. Comparing neighbours, not the whole line, follows lines that
	// drift on a skewed scan.
	var lines []textLine
	for start := 0; start < len(items); {
		end := start + 1
		box := items[start].box
		gap := 0.0
		for end < len(items) && sameLine(items[end-1].box, items[end].box) {
			gap = max(gap, items[end].box.x0-items[end-1].box.x1)
			box = box.union(items[end].box)
			end++
		}
		lines = append(lines, textLine{start: start, end: end, box: box, apart: gap > 2*box.dy()})
		start = end
	}
	sizeLines(lines)

	placed := make([]placedWord, 0, len(items))
	for _, l := range lines {
		y := (l.box.y0+l.box.y1)/2 - l.size/2
		for i := l.start; i < l.end; i++ {
			it := items[i]
			span := it.box.dx()
			codes := it.codes
			if i+1 < l.end {
				if gap := items[i+1].box.x0 - it.box.x0; gap > span {
					span = gap
					codes = append(codes, ' ')
				}
			}
			placed = append(placed, placedWord{
				codes:    codes,
				x:        it.box.x0,
				y:        y,
				size:     l.size,
				hscale:   100 * span / (float64(len(codes)) * advance * l.size),
				lineHead: i == l.start,
			})
		}
	}
	return placed
}

// textLine is one line of words in upright space: the words
// [start, end) of the page, their box and the font size given to them.
type textLine struct {
	start, end int
	box        rect
	size       float64
	// apart says the line has a gap wider than twice its height: two
	// blocks side by side that Tesseract read as one line, as the organ
	// and the motto at the head of a letter. poppler splits it, and the
	// halves are not lines of a column.
	apart bool
}

// lineRun is a run of lines down a column, [start, end) of the page's
// lines.
type lineRun struct {
	start, end int
	box        rect
	size       float64 // the median of the lines' heights
	reach      float64 // the font size that keeps the run one block in poppler; 0 for one line
}

// sizeLines gives each line its run's font size. A run continues while
// the next line lies where nextInColumn expects it and is of about the
// run's height, loosely (a line without descenders, or one with a tall
// bracket or stacked tone marks, is still set in the same type). The
// first line of a run, though, must match the lines after it closely: a
// heading set larger or bolder than the text under it becomes a run of
// its own, and poppler then keeps it a block of its own rather than
// aligning it with the other column's text.
func sizeLines(lines []textLine) {
	var runs []lineRun
	for start := 0; start < len(lines); {
		heights := []float64{lines[start].box.dy()}
		var pitches []float64
		box := lines[start].box
		end := start + 1
		for ; end < len(lines) && !lines[start].apart && !lines[end].apart; end++ {
			pitch, ok := nextInColumn(lines[end-1].box, lines[end].box, median(heights), pitches)
			if !ok {
				break
			}
			if end == start+1 {
				var next []float64
				for _, l := range lines[end:min(end+3, len(lines))] {
					next = append(next, l.box.dy())
				}
				if r := heights[0] / median(next); r < 1/1.12 || r > 1.12 {
					break
				}
			} else if r := lines[end].box.dy() / median(heights); r < 1/1.3 || r > 1.3 {
				break
			}
			heights = append(heights, lines[end].box.dy())
			pitches = append(pitches, pitch)
			box = box.union(lines[end].box)
		}
		r := lineRun{start: start, end: end, box: box, size: median(heights)}
		if len(pitches) > 0 {
			r.reach = slices.Max(pitches) / maxPitch
		}
		runs = append(runs, r)
		start = end
	}
	for _, r := range runs {
		size := r.size
		if r.reach > size && besideAnother(r, runs) {
			size = r.reach
		}
		for i := r.start; i < r.end; i++ {
			lines[i].size = size
		}
	}
}

// maxPitch is how far apart, in font sizes, the baselines of two lines of
// one run may be for poppler to keep them in one block: it joins lines
// whose baselines are at most 1.5 font sizes apart. Lines set with wide
// spacing (one and a half, double) are further apart than that in their
// own heights, and each becomes a block of its own. In a single column
// that does no harm, but where columns stand side by side poppler takes
// such blocks, aligned line by line, for the cells of a table and reads
// across the columns, row by row (samplescan's two-column letters with
// line spacing 1.45 or more read so). So a run with another run beside it gets the font
// size its pitch over maxPitch asks for: its em boxes grow about their
// lines, staying clear of each other. A single column keeps boxes as
// tall as its lines.
const maxPitch = 1.45

// besideAnother reports whether another run stands beside r: level with it
// in part, and to its left or right.
func besideAnother(r lineRun, runs []lineRun) bool {
	for _, q := range runs {
		if q.start != r.start && q.box.y0 < r.box.y1 && q.box.y1 > r.box.y0 &&
			(q.box.x0 >= r.box.x1 || q.box.x1 <= r.box.x0) {
			return true
		}
	}
	return false
}

// nextInColumn reports whether line cur, read after line prev, lies where
// the next line of a run does, given the height of the run's lines and
// the pitches (distances between the centres of successive lines) so far,
// and returns the pitch from prev to cur. The next line lies below prev at
// about the run's pitch (a wider gap starts a new paragraph or section,
// and the next column starts above) and overlaps it across the page.
func nextInColumn(prev, cur rect, height float64, pitches []float64) (float64, bool) {
	pitch := (prev.y0 + prev.y1 - cur.y0 - cur.y1) / 2
	if pitch < height/2 || cur.x0 >= prev.x1 || cur.x1 <= prev.x0 {
		return 0, false
	}
	if len(pitches) == 0 {
		return pitch, pitch <= 2.5*height
	}
	p := median(pitches)
	return pitch, pitch >= 0.8*p && pitch <= 1.25*p
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func sameLine(prev, cur rect) bool {
	if cur.x0 <= prev.x0 {
		return false
	}
	overlap := math.Min(prev.y1, cur.y1) - math.Max(prev.y0, cur.y0)
	return overlap >= 0.5*math.Min(prev.dy(), cur.dy())
}

// textCodes appends to dst the character codes for s under Identity-H: the
// UTF-16 code units of its characters, which the ToUnicode map sends back
// to the same characters. Characters that cannot be mapped are left out
// (NUL, the byte order marks PDF/A forbids in ToUnicode, controls) or
// replaced (characters outside the BMP, which would need surrogate pairs,
// become U+FFFD). White space becomes a plain space; leading and trailing
// space is dropped.
func textCodes(s string, dst []uint16) []uint16 {
	start := len(dst)
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			r = ' '
		case r == 0xFEFF || r == 0xFFFE || unicode.IsControl(r):
			continue
		case r > 0xFFFF || r == unicode.ReplacementChar:
			r = unicode.ReplacementChar
		}
		if r == ' ' && (len(dst) == start || dst[len(dst)-1] == ' ') {
			continue
		}
		dst = append(dst, uint16(r))
	}
	for len(dst) > start && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// codeSet records which character codes the text layer uses, for the
// ToUnicode map and the CIDToGIDMap.
type codeSet struct {
	bits [1 << 16 / 64]uint64
	max  int
}

func (s *codeSet) add(c uint16) {
	s.bits[c/64] |= 1 << (c % 64)
	s.max = max(s.max, int(c))
}

func (s *codeSet) each(f func(uint16)) {
	for i, word := range s.bits {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			f(uint16(i*64 + b))
		}
	}
}
