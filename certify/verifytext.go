package certify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// appearanceText reads the text the widget's normal appearance shows, line by line,
// through each font's /ToUnicode map (the mark's fonts are Identity-H, whose codes are
// glyph IDs and mean nothing without it). unreadable counts the characters no map names.
func appearanceText(xref *model.XRefTable, widget types.Dict) (lines []string, unreadable int, err error) {
	ap, err := xref.DereferenceDict(widget["AP"])
	if err != nil || ap == nil {
		return nil, 0, errors.New("the signature's widget has no appearance")
	}
	tr := &textReader{xref: xref, fonts: map[string]*textFont{}}
	if err := tr.form(ap["N"], 0); err != nil {
		return nil, 0, err
	}
	tr.newLine()
	return tr.lines, tr.unreadable, nil
}

type textReader struct {
	xref       *model.XRefTable
	fonts      map[string]*textFont // by font dictionary object number, or name for direct ones
	lines      []string
	line       strings.Builder
	unreadable int
}

// textFont decodes a font's codes to text.
type textFont struct {
	codeLen   int               // bytes a code: 2 for Type0 fonts, 1 for simple ones
	toUnicode map[string]string // code bytes → text
}

func (tr *textReader) newLine() {
	if s := strings.TrimSpace(tr.line.String()); s != "" {
		tr.lines = append(tr.lines, s)
	}
	tr.line.Reset()
}

// form reads a form XObject's content with its own resources; forms it draws (Do) are
// read too, a few levels deep.
func (tr *textReader) form(o types.Object, depth int) error {
	sd, _, err := tr.xref.DereferenceStreamDict(o)
	if err != nil || sd == nil {
		return errors.New("the signature's appearance is not a drawing")
	}
	if err := sd.Decode(); err != nil {
		return fmt.Errorf("the signature's appearance cannot be decoded: %w", err)
	}
	res, _ := tr.xref.DereferenceDict(sd.Dict["Resources"])
	var fontRes, xobjRes types.Dict
	if res != nil {
		fontRes, _ = tr.xref.DereferenceDict(res["Font"])
		xobjRes, _ = tr.xref.DereferenceDict(res["XObject"])
	}

	var font *textFont
	var operands []token
	show := func(s string) {
		if font == nil {
			tr.unreadable += len(s) // text without a font cannot be read
			return
		}
		tr.line.WriteString(font.decode(s, &tr.unreadable))
	}
	for lx := (lexer{b: sd.Content}); ; {
		t, ok := lx.next()
		if !ok {
			break
		}
		if t.kind != tokOp {
			operands = append(operands, t)
			continue
		}
		last := func(i int) token { // the i-th operand from the end, from 1
			if len(operands) < i {
				return token{}
			}
			return operands[len(operands)-i]
		}
		switch t.s {
		case "BT", "ET", "T*":
			tr.newLine()
		case "Td", "TD":
			if y, _ := strconv.ParseFloat(last(1).s, 64); y != 0 {
				tr.newLine()
			}
		case "Tf":
			if n := last(2); n.kind == tokName {
				font, err = tr.font(fontRes, n.s)
				if err != nil {
					return err
				}
			}
		case "Tj":
			if s := last(1); s.kind == tokString {
				show(s.s)
			}
		case "'", "\"":
			tr.newLine()
			if s := last(1); s.kind == tokString {
				show(s.s)
			}
		case "TJ":
			// The array's strings, with a space where a large move right stands for one.
			start := len(operands)
			for start > 0 && operands[start-1].kind != tokArrayStart {
				start--
			}
			for _, o := range operands[start:] {
				switch o.kind {
				case tokString:
					show(o.s)
				case tokNumber:
					if n, _ := strconv.ParseFloat(o.s, 64); n < -250 {
						tr.line.WriteByte(' ')
					}
				}
			}
		case "Do":
			if n := last(1); n.kind == tokName && xobjRes != nil && depth < 4 {
				if sd, _, err := tr.xref.DereferenceStreamDict(xobjRes[n.s]); err == nil && sd != nil {
					if st, _ := sd.Dict["Subtype"].(types.Name); st == "Form" {
						tr.newLine()
						if err := tr.form(xobjRes[n.s], depth+1); err != nil {
							return err
						}
						tr.newLine()
					}
				}
			}
		}
		operands = operands[:0]
	}
	return nil
}

// font reads the font named name in res, once per font object.
func (tr *textReader) font(res types.Dict, name string) (*textFont, error) {
	if res == nil || res[name] == nil {
		return nil, fmt.Errorf("the appearance uses a font (%s) it does not include", name)
	}
	key := "/" + name
	if ref, ok := res[name].(types.IndirectRef); ok {
		key = ref.String()
	}
	if f, ok := tr.fonts[key]; ok {
		return f, nil
	}
	d, err := tr.xref.DereferenceDict(res[name])
	if err != nil || d == nil {
		return nil, fmt.Errorf("the appearance's font %s cannot be read", name)
	}
	f := &textFont{codeLen: 1}
	if st, _ := d["Subtype"].(types.Name); st == "Type0" {
		f.codeLen = 2 // Identity-H, as the mark writes, and the usual CJK CMaps
	}
	if sd, _, err := tr.xref.DereferenceStreamDict(d["ToUnicode"]); err == nil && sd != nil {
		if err := sd.Decode(); err != nil {
			return nil, fmt.Errorf("the Unicode map of the appearance's font %s cannot be decoded: %w", name, err)
		}
		f.toUnicode = parseToUnicode(sd.Content)
	}
	tr.fonts[key] = f
	return f, nil
}

func (f *textFont) decode(s string, unreadable *int) string {
	var b strings.Builder
	for i := 0; i < len(s); i += f.codeLen {
		code := s[i:min(i+f.codeLen, len(s))]
		if t, ok := f.toUnicode[code]; ok {
			b.WriteString(t)
		} else {
			b.WriteRune('\uFFFD')
			*unreadable++
		}
	}
	return b.String()
}

// parseToUnicode reads the bfchar and bfrange entries of a ToUnicode CMap.
func parseToUnicode(cmap []byte) map[string]string {
	m := map[string]string{}
	var operands []token
	mode := ""
	for lx := (lexer{b: cmap}); ; {
		t, ok := lx.next()
		if !ok {
			return m
		}
		if t.kind != tokOp {
			operands = append(operands, t)
			continue
		}
		switch t.s {
		case "beginbfchar", "beginbfrange":
			mode = t.s
		case "endbfchar":
			for i := 0; i+1 < len(operands); i += 2 {
				if operands[i].kind == tokString && operands[i+1].kind == tokString {
					m[operands[i].s] = utf16BE(operands[i+1].s)
				}
			}
			mode = ""
		case "endbfrange":
			bfranges(m, operands)
			mode = ""
		}
		if mode == "" || t.s == mode {
			operands = operands[:0]
		}
	}
}

// bfranges reads "<lo> <hi> <dst>" (dst's last byte counts up) and "<lo> <hi> [<d>...]".
func bfranges(m map[string]string, ops []token) {
	for i := 0; i+2 < len(ops); {
		lo, hi := ops[i], ops[i+1]
		if lo.kind != tokString || hi.kind != tokString || len(lo.s) != len(hi.s) || len(lo.s) == 0 || len(lo.s) > 4 {
			return
		}
		from, to := codeValue(lo.s), codeValue(hi.s)
		if to < from || to-from > 0xffff {
			return
		}
		code := func(v uint32) string {
			b := make([]byte, len(lo.s))
			for j := len(b) - 1; j >= 0; j-- {
				b[j] = byte(v)
				v >>= 8
			}
			return string(b)
		}
		if ops[i+2].kind == tokArrayStart {
			j := i + 3
			for v := from; j < len(ops) && ops[j].kind == tokString; v, j = v+1, j+1 {
				if v <= to {
					m[code(v)] = utf16BE(ops[j].s)
				}
			}
			i = j + 1 // past the array's end
			continue
		}
		dst := []byte(ops[i+2].s)
		for v := from; v <= to && len(dst) > 0; v++ {
			m[code(v)] = utf16BE(string(dst))
			dst = bytes.Clone(dst)
			dst[len(dst)-1]++
		}
		i += 3
	}
}

func codeValue(s string) uint32 {
	var v uint32
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint32(s[i])
	}
	return v
}

func utf16BE(s string) string {
	u := make([]uint16, len(s)/2)
	for i := range u {
		u[i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
	}
	return string(utf16.Decode(u))
}

// A small lexer for content streams and CMaps: what text extraction needs, no more.
type tokenKind int

const (
	tokNone tokenKind = iota
	tokNumber
	tokString // literal or hex, decoded to its bytes
	tokName   // without the slash
	tokOp
	tokArrayStart
	tokArrayEnd
	tokDictStart
	tokDictEnd
)

type token struct {
	kind tokenKind
	s    string
}

type lexer struct {
	b []byte
	i int
}

func isSpace(c byte) bool { return bytes.IndexByte([]byte(" \t\r\n\f\x00"), c) >= 0 }

func isDelim(c byte) bool { return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0 }

func (lx *lexer) next() (token, bool) {
	for lx.i < len(lx.b) {
		c := lx.b[lx.i]
		switch {
		case isSpace(c):
			lx.i++
		case c == '%':
			for lx.i < len(lx.b) && lx.b[lx.i] != '\n' && lx.b[lx.i] != '\r' {
				lx.i++
			}
		case c == '(':
			return token{tokString, lx.literal()}, true
		case c == '<' && lx.i+1 < len(lx.b) && lx.b[lx.i+1] == '<':
			lx.i += 2
			return token{kind: tokDictStart}, true
		case c == '>' && lx.i+1 < len(lx.b) && lx.b[lx.i+1] == '>':
			lx.i += 2
			return token{kind: tokDictEnd}, true
		case c == '<':
			end := bytes.IndexByte(lx.b[lx.i:], '>')
			if end < 0 {
				end = len(lx.b) - lx.i
			}
			digits := strings.Map(func(r rune) rune {
				if r < 128 && isSpace(byte(r)) {
					return -1
				}
				return r
			}, string(lx.b[lx.i+1:lx.i+end]))
			if len(digits)%2 == 1 {
				digits += "0"
			}
			lx.i += end + 1
			s, _ := hex.DecodeString(digits)
			return token{tokString, string(s)}, true
		case c == '[' || c == '{':
			lx.i++
			return token{kind: tokArrayStart}, true
		case c == ']' || c == '}' || c == ')' || c == '>':
			lx.i++
			if c == ']' || c == '}' {
				return token{kind: tokArrayEnd}, true
			}
		case c == '/':
			lx.i++
			return token{tokName, lx.word()}, true
		default:
			w := lx.word()
			if w == "" { // a stray delimiter
				lx.i++
				continue
			}
			if _, err := strconv.ParseFloat(w, 64); err == nil {
				return token{tokNumber, w}, true
			}
			if w == "ID" {
				lx.skipInlineImage()
			}
			return token{tokOp, w}, true
		}
	}
	return token{}, false
}

func (lx *lexer) word() string {
	start := lx.i
	for lx.i < len(lx.b) && !isSpace(lx.b[lx.i]) && !isDelim(lx.b[lx.i]) {
		lx.i++
	}
	return string(lx.b[start:lx.i])
}

// literal reads a (string) with its escapes and balanced parentheses.
func (lx *lexer) literal() string {
	var b strings.Builder
	lx.i++ // (
	for depth := 1; lx.i < len(lx.b); lx.i++ {
		c := lx.b[lx.i]
		switch {
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth == 0 {
				lx.i++
				return b.String()
			}
		case c == '\\' && lx.i+1 < len(lx.b):
			lx.i++
			e := lx.b[lx.i]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '\r':
				if lx.i+1 < len(lx.b) && lx.b[lx.i+1] == '\n' {
					lx.i++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := 0
					for n := 0; n < 3 && lx.i < len(lx.b) && lx.b[lx.i] >= '0' && lx.b[lx.i] <= '7'; n++ {
						v = v*8 + int(lx.b[lx.i]-'0')
						lx.i++
					}
					lx.i--
					b.WriteByte(byte(v))
				} else {
					b.WriteByte(e)
				}
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// skipInlineImage passes over an inline image's data, up to its EI.
func (lx *lexer) skipInlineImage() {
	for j := lx.i + 1; j+2 <= len(lx.b); j++ {
		if lx.b[j] == 'E' && lx.b[j+1] == 'I' && isSpace(lx.b[j-1]) && (j+2 == len(lx.b) || isSpace(lx.b[j+2])) {
			lx.i = j
			return
		}
	}
	lx.i = len(lx.b)
}
