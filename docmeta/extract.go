package docmeta

import (
	"fmt"
	"image"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"scanstation/ocr"
)

// A word is an OCR word with its box turned upright.
type word struct {
	text string
	box  image.Rectangle
	conf float64 // 0..1
	line int
}

func (w word) cx() int { return (w.box.Min.X + w.box.Max.X) / 2 }
func (w word) cy() int { return (w.box.Min.Y + w.box.Max.Y) / 2 }

// A row is the words at one height of the page, left to right: Tesseract
// often reads the organ and the motto, or the number and the date, as one
// line, and sometimes splits one printed line in two.
type row struct {
	words []word
}

func (r row) text() string { return joinWords(r.words) }

func (r row) box() image.Rectangle {
	var b image.Rectangle
	for i, w := range r.words {
		if i == 0 {
			b = w.box
		} else {
			b = b.Union(w.box)
		}
	}
	return b
}

// cy is the median of the words' vertical centres: accents and descenders
// move single boxes, not the median.
func (r row) cy() int {
	c := make([]int, len(r.words))
	for i, w := range r.words {
		c[i] = w.cy()
	}
	slices.Sort(c)
	return c[len(c)/2]
}

// leftOf returns the words whose centre lies left of x.
func (r row) leftOf(x int) []word {
	var out []word
	for _, w := range r.words {
		if w.cx() < x {
			out = append(out, w)
		}
	}
	return out
}

func joinWords(ws []word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}

func meanConf(ws []word) float64 {
	if len(ws) == 0 {
		return 0
	}
	s := 0.0
	for _, w := range ws {
		s += w.conf
	}
	return s / float64(len(ws))
}

// upright turns a box in the image as given into the upright page, whose
// size is returned too. orientation is ocr.Result.Orientation: the
// clockwise turn that makes the image read upright.
func upright(b image.Rectangle, orientation, width, height int) (image.Rectangle, int, int) {
	switch orientation {
	case 90:
		return image.Rect(height-b.Max.Y, b.Min.X, height-b.Min.Y, b.Max.X), height, width
	case 180:
		return image.Rect(width-b.Max.X, height-b.Max.Y, width-b.Min.X, height-b.Min.Y), width, height
	case 270:
		return image.Rect(b.Min.Y, width-b.Max.X, b.Max.Y, width-b.Min.X), height, width
	}
	return b, width, height
}

// hasAlnum tells whether s has a letter or a digit: rules and specks read as
// "—" or "." are dropped.
func hasAlnum(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// rows groups the words by height, top to bottom.
func rows(words []word) ([]row, int) {
	if len(words) == 0 {
		return nil, 0
	}
	heights := make([]int, len(words))
	for i, w := range words {
		heights[i] = w.box.Dy()
	}
	slices.Sort(heights)
	h := max(1, heights[len(heights)/2])

	// Tesseract's lines first, then lines at the same height joined.
	var lines []row
	for i, w := range words {
		if i == 0 || w.line != words[i-1].line {
			lines = append(lines, row{})
		}
		lines[len(lines)-1].words = append(lines[len(lines)-1].words, w)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].cy() < lines[j].cy() })
	var out []row
	for _, l := range lines {
		if n := len(out); n > 0 && abs(out[n-1].cy()-l.cy()) < h/2 && !overlapsX(out[n-1], l) {
			out[n-1].words = append(out[n-1].words, l.words...)
			continue
		}
		out = append(out, l)
	}
	for _, r := range out {
		sort.SliceStable(r.words, func(i, j int) bool { return r.words[i].box.Min.X < r.words[j].box.Min.X })
	}
	return out, h
}

func overlapsX(a, b row) bool {
	for _, v := range a.words {
		for _, w := range b.words {
			if v.box.Min.X < w.box.Max.X && w.box.Min.X < v.box.Max.X {
				return true
			}
		}
	}
	return false
}

func abs(v int) int { return max(v, -v) }

var (
	// "Số:" and how OCR reads it: "S6:", "Sô:", "S0:", "So".
	numberLabel = regexp.MustCompile(`^s[a-z0-9]?[:;.,]?$`)
	// "ngày 05 tháng 6 năm 2020" on folded text, tolerating a slipped
	// letter in each word and a space lost or added.
	datePattern = regexp.MustCompile(`ng\S{0,2}[yv]\s*(\S{1,2}?)\s*th\S{1,2}ng\s*(\S{1,2}?)\s*n\S{1,2}m\s*(\S{4})`)
	vvPattern   = regexp.MustCompile(`^[vy][/|l1i]?[vy][.:,]?$`)
)

// Extract reads the metadata a Vietnamese administrative document prints in
// fixed places from the OCR of its first page: the issuing organ (top left,
// the parent organ on the first line), the number and notation ("Số:
// 2417/UBND-VP"), the place and date, the document type heading (or a "V/v"
// line under the number for a Công văn) and the subject. width and height
// are the size of the image as given to the OCR; page.Orientation is used to
// put the boxes upright. Fields it cannot read are left unknown; every value
// it gives has Source "extracted" and a confidence.
func Extract(page *ocr.Result, width, height int) Metadata {
	var m Metadata
	if page == nil {
		return m
	}
	var words []word
	for _, w := range page.Words {
		if !hasAlnum(w.Text) && w.Text != "-" && w.Text != "–" {
			continue
		}
		b, _, _ := upright(w.Box, page.Orientation, width, height)
		words = append(words, word{text: w.Text, box: b, conf: w.Confidence / 100, line: w.Line})
	}
	_, pw, ph := upright(image.Rectangle{}, page.Orientation, width, height)
	rs, h := rows(words)
	if len(rs) == 0 {
		return m
	}
	e := extractor{rows: rs, h: h, width: pw, height: ph}
	e.findSplit()
	e.number(&m)
	e.date(&m)
	e.organ(&m)
	e.typeAndSubject(&m)
	return m
}

type extractor struct {
	rows          []row
	h             int // median word height
	width, height int
	split         int // x between the organ column and the motto column
	mottoRow      int // index of the first row of the motto, -1 when none
	numberRow     int // index of the row with "Số:", -1 when none
	numberEnd     int // index in that row of the word after the number
	dateRow       int
}

func extracted(value string, conf float64) Field {
	return Field{Value: value, Confidence: round2(max(0, min(1, conf))), Source: SourceExtracted}
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// findSplit finds the left edge of the national motto: the organ block is
// left of it. Without a motto, the middle of the page.
func (e *extractor) findSplit() {
	e.split = e.width / 2
	e.mottoRow = -1
	for ri, r := range e.rows[:min(len(e.rows), 8)] {
		for i := 0; i+1 < len(r.words); i++ {
			a, b := fold(trimPunct(r.words[i].text)), fold(trimPunct(r.words[i+1].text))
			if (a == "cong" && strings.HasPrefix(b, "ho")) || (a == "doc" && b == "lap") {
				if e.mottoRow < 0 {
					e.mottoRow = ri
				}
				if x := r.words[i].box.Min.X - e.h/2; x > e.width/4 {
					e.split = min(e.split, x)
				}
			}
		}
	}
}

// number finds "Số: 2417/UBND-VP" in the upper half of the page.
func (e *extractor) number(m *Metadata) {
	e.numberRow = -1
	for ri, r := range e.rows {
		if r.box().Min.Y > e.height/2 {
			break
		}
		for i, w := range r.words {
			f := fold(w.text)
			var token string
			var used []word
			end := i + 1
			switch {
			case numberLabel.MatchString(f) && i+1 < len(r.words):
				// The token, with pieces OCR cut at "/" or "-" joined.
				token = r.words[i+1].text
				used = []word{w, r.words[i+1]}
				end = i + 2
				for end < len(r.words) && (strings.HasSuffix(token, "/") || strings.HasSuffix(token, "-") ||
					strings.HasPrefix(r.words[end].text, "/") || strings.HasPrefix(r.words[end].text, "-") &&
					r.words[end].text != "-") {
					token += r.words[end].text
					used = append(used, r.words[end])
					end++
				}
			case strings.HasPrefix(f, "so:") && len(f) > 4:
				_, rest, _ := strings.Cut(w.text, ":")
				token, used, end = rest, []word{w}, i+1
			default:
				continue
			}
			num, notation, mended, ok := parseNumber(token)
			if !ok {
				continue
			}
			conf := meanConf(used) * (1 - 0.1*float64(min(mended, 3)))
			m.CodeNumber = extracted(num, conf)
			m.CodeNotation = extracted(notation, conf)
			e.numberRow, e.numberEnd = ri, end
			return
		}
	}
}

var notationChars = regexp.MustCompile(`^[\p{L}0-9./-]+$`)

// parseNumber splits "12/2020/QĐ-UBND" into "12" and "2020/QĐ-UBND",
// mending OCR slips: letters for digits in the number and the year, "QD" for
// "QĐ". mended counts the slips.
func parseNumber(token string) (number, notation string, mended int, ok bool) {
	token = strings.TrimRight(token, ".,;:")
	token = strings.ReplaceAll(token, "Ð", "Đ") // Icelandic eth for Đ
	before, after, found := strings.Cut(token, "/")
	if !found || before == "" || after == "" {
		return "", "", 0, false
	}
	number, n, ok := digits(before)
	if !ok {
		return "", "", 0, false
	}
	mended += n
	segs := strings.Split(after, "/")
	for i, seg := range segs {
		if len([]rune(seg)) == 4 {
			if d, n, ok := digits(seg); ok && n <= 2 {
				segs[i] = d
				mended += n
				continue
			}
		}
		parts := strings.Split(seg, "-")
		for j, p := range parts {
			fixed := strings.Map(func(r rune) rune {
				if r == '0' {
					return 'O'
				}
				return r
			}, p)
			if hasDigitsOnly(p) {
				fixed = p // a number inside a notation stays a number
			}
			if s, ok := notationSlips[fixed]; ok {
				fixed = s
			} else if s, ok := notationSlips[strings.ToUpper(fixed)]; ok {
				fixed = s
			}
			if fixed != p {
				mended++
			}
			parts[j] = fixed
		}
		segs[i] = strings.Join(parts, "-")
	}
	notation = strings.Join(segs, "/")
	if !notationChars.MatchString(notation) || !hasLetter(notation) {
		return "", "", 0, false
	}
	return number, notation, mended, true
}

func hasDigitsOnly(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// date finds "Place, ngày DD tháng MM năm YYYY" in the upper half of the
// page: the date as yyyy-mm-dd and the place before it.
func (e *extractor) date(m *Metadata) {
	e.dateRow = -1
	for ri, r := range e.rows {
		if r.box().Min.Y > e.height/2 {
			break
		}
		// The folded text with each word's start, to map the match back.
		var b strings.Builder
		starts := make([]int, len(r.words))
		for i, w := range r.words {
			if i > 0 {
				b.WriteByte(' ')
			}
			starts[i] = b.Len()
			b.WriteString(fold(w.text))
		}
		text := b.String()
		loc := datePattern.FindStringSubmatchIndex(text)
		if loc == nil {
			continue
		}
		day, n1, ok1 := digits(text[loc[2]:loc[3]])
		month, n2, ok2 := digits(text[loc[4]:loc[5]])
		year, n3, ok3 := digits(text[loc[6]:loc[7]])
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		t, err := time.Parse("2006-1-2", fmt.Sprintf("%s-%s-%s", year, strings.TrimLeft(month, "0"), strings.TrimLeft(day, "0")))
		if err != nil || t.Year() < 1945 || t.Year() > time.Now().Year()+1 {
			continue
		}
		first, last := wordAt(starts, loc[0]), wordAt(starts, loc[1]-1)
		conf := meanConf(r.words[first:last+1]) * (1 - 0.1*float64(min(n1+n2+n3, 3)))
		m.IssuedDate = extracted(t.Format("2006-01-02"), conf)
		e.dateRow = ri

		// The place: the words before "ngày", after the number when it
		// shares the row.
		from := 0
		if ri == e.numberRow {
			from = e.numberEnd
		} else {
			// The date line is in the motto's column: what lies well
			// left of it (a number that was not read) is not the place.
			for from < first && r.words[from].cx() < e.split-2*e.h {
				from++
			}
		}
		if first > from {
			ws := r.words[from:first]
			texts := make([]string, len(ws))
			for i, w := range ws {
				texts[i] = w.text
			}
			restored, known := placeLexicon.restore(texts)
			place := strings.TrimRight(strings.Join(restored, " "), ", ")
			if hasLetter(place) {
				m.Place = extracted(place, meanConf(ws)*(0.8+0.2*known))
			}
		}
		return
	}
}

func wordAt(starts []int, offset int) int {
	i := sort.SearchInts(starts, offset+1) - 1
	return max(0, i)
}

// organKinds are the first words of an organ's name; a line of the organ
// block starting otherwise continues the line above ("ỦY BAN NHÂN DÂN" /
// "TỈNH BÀ RỊA - VŨNG TÀU" is one organ).
var organKinds = []string{
	"bo", "so", "cuc", "tong cuc", "chi cuc", "vu", "phong", "ban", "vien", "truong", "trung tam",
	"van phong", "thanh tra", "uy ban", "ubnd", "hdnd", "hoi dong", "toa an", "dai hoc", "hoc vien",
	"cong an", "benh vien", "kho bac", "cong ty", "tap doan", "ngan hang", "chi nhanh", "dang uy",
	"bo chi huy", "doan", "lien doan", "uy ban mat tran", "ubmttq",
}

func startsOrgan(line string) bool {
	f := fold(line)
	for _, k := range organKinds {
		if f == k || strings.HasPrefix(f, k+" ") {
			return true
		}
	}
	return false
}

// organ reads the block left of the motto above the number: the last organ
// named is the issuing organ, the ones above it its parent. Rows wholly
// above the motto (an organ block centred over it, as on the demo page)
// share no height with the motto column and are read whole.
func (e *extractor) organ(m *Metadata) {
	stop := len(e.rows)
	for _, i := range []int{e.numberRow, e.dateRow} {
		if i >= 0 {
			stop = min(stop, i)
		}
	}
	if stop == len(e.rows) {
		return // no number and no date: no header to read
	}
	var units [][]word
	var lines [][]string
	for ri, r := range e.rows[:stop] {
		ws := r.words
		if ri >= e.mottoRow {
			ws = r.leftOf(e.split)
		}
		ws = slices.DeleteFunc(slices.Clone(ws), func(w word) bool { return strayMark(w.text) })
		if len(ws) == 0 {
			continue
		}
		texts := make([]string, len(ws))
		for i, w := range ws {
			texts[i] = w.text
		}
		restored, _ := organLexicon.restore(texts)
		if len(units) == 0 || startsOrgan(strings.Join(restored, " ")) {
			units = append(units, nil)
			lines = append(lines, nil)
		}
		units[len(units)-1] = append(units[len(units)-1], ws...)
		lines[len(lines)-1] = append(lines[len(lines)-1], restored...)
	}
	if len(units) == 0 {
		return
	}
	last := len(units) - 1
	conf := func(i int) float64 {
		texts := make([]string, len(units[i]))
		for j, w := range units[i] {
			texts[j] = w.text
		}
		_, known := organLexicon.restore(texts)
		return meanConf(units[i]) * (0.8 + 0.2*known)
	}
	// An organ's name never ends in a full stop; the model sometimes reads the end of the
	// rule under the header as one.
	m.OrganName = extracted(strings.TrimRight(strings.Join(lines[last], " "), ".,"), conf(last))
	if last > 0 {
		var parent []string
		var ws []word
		for i := range last {
			parent = append(parent, lines[i]...)
			ws = append(ws, units[i]...)
		}
		m.ParentOrgan = extracted(strings.TrimRight(strings.Join(parent, " "), ".,"), meanConf(ws)*0.9)
	}
}

// typeAndSubject finds the type heading under the number (QUYẾT ĐỊNH, BÁO
// CÁO, ...) and the subject lines under it, or the "V/v" subject of a Công
// văn under the number.
func (e *extractor) typeAndSubject(m *Metadata) {
	start := max(e.numberRow, e.dateRow) + 1
	if start == 0 {
		return
	}
	for ri := start; ri < min(len(e.rows), start+4); ri++ {
		r := e.rows[ri]
		// "V/v ..." under the number, left of the motto column. A V/v
		// line that runs on past the column (one long line under the
		// number) keeps the words Tesseract read on its line; the right
		// column's content (the place and date) is on another line.
		if left := r.leftOf(e.split); len(left) > 0 && vvPattern.MatchString(fold(left[0].text)) {
			vv := left[0]
			var ws []word
			right := e.split
			for _, w := range r.words {
				if w.box.Min.X <= vv.box.Min.X {
					continue
				}
				if w.cx() < e.split || w.line == vv.line {
					ws = append(ws, w)
					right = max(right, w.box.Max.X)
				}
			}
			last := r
			for next := ri + 1; next < len(e.rows); next++ {
				n := e.rows[next]
				if n.cy()-last.cy() > 2*e.h || n.box().Max.X > right+e.h || startsBody(n.text()) {
					break
				}
				ws = append(ws, n.words...)
				last = n
			}
			if len(ws) > 0 {
				m.Subject = extracted(joinWords(ws), meanConf(ws)*0.95)
			}
			m.TypeName = extracted("Công văn", min(left[0].conf, 0.95))
			return
		}
		name, ok := typeHeading(r.text())
		if !ok {
			continue
		}
		m.TypeName = extracted(name, meanConf(r.words))
		var ws []word
		last, step := r, 0
		for next := ri + 1; next < len(e.rows) && next <= ri+4; next++ {
			n := e.rows[next]
			gap := n.cy() - last.cy()
			if step == 0 && gap > 2*e.h+e.h/2 || step > 0 && 2*gap > 3*step || startsBody(n.text()) || isUpper(n.text()) {
				break
			}
			if step == 0 {
				step = gap
			}
			ws = append(ws, n.words...)
			last = n
		}
		if len(ws) > 0 {
			m.Subject = extracted(joinWords(ws), meanConf(ws)*0.95)
		}
		return
	}
	// No heading and no V/v: the type its notation names.
	if m.CodeNotation.Known() {
		for _, seg := range strings.FieldsFunc(m.CodeNotation.Value, func(r rune) bool { return r == '-' || r == '/' }) {
			for _, t := range documentTypes {
				if t.abbr != "" && seg == t.abbr {
					m.TypeName = extracted(t.name, m.CodeNotation.Confidence*0.7)
					return
				}
			}
		}
	}
}

// startsBody tells whether a line opens the body rather than continuing a
// subject: "Kính gửi:", "Căn cứ ...".
func startsBody(line string) bool {
	f := fold(line)
	return strings.HasPrefix(f, "kinh gui") || strings.HasPrefix(f, "can cu")
}

// typeHeading reads a type heading ("QUYẾT ĐỊNH", read perhaps as "QUYET
// DINH") and returns the type's name.
func typeHeading(line string) (string, bool) {
	f := strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) {
			return ' '
		}
		return r
	}, fold(line))), " ")
	for _, t := range documentTypes {
		if f == fold(t.name) {
			return t.name, true
		}
	}
	return "", false
}

// strayMark says whether an OCR word is a mark standing alone, with no letter or digit: a tone
// mark or circumflex read apart from its letter ("ˆ", a modifier letter to Unicode), a dot.
// The dash of "BÀ RỊA - VŨNG TÀU" is part of a name and stays.
func strayMark(text string) bool {
	if text == "-" || text == "–" {
		return false
	}
	for _, r := range text {
		if unicode.IsDigit(r) || (unicode.IsLetter(r) && !unicode.Is(unicode.Lm, r)) {
			return false
		}
	}
	return true
}
