package scan

import (
	"bytes"
	"strconv"
)

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m×n: first m, then n, as PDF's cm operator composes them.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// contentSummary is what a page's content streams draw, as far as this
// package cares: which XObjects are painted where, and whether anything
// else visible (paths, text, shadings, inline images) is drawn.
type contentSummary struct {
	draws        []xobjectDraw
	paintsVector bool
	showsText    bool
	inlineImage  bool
}

type xobjectDraw struct {
	name string
	ctm  matrix
}

// contentToken is one lexical element of a content stream: an operator
// (op set) or an operand, of which only numbers and names are kept.
type contentToken struct {
	op     string
	num    float64
	isNum  bool
	name   string
	isName bool
}

// lexContent splits a content stream into tokens. Strings, arrays and
// dictionaries are skipped as single operands: nothing this package looks
// at needs their values.
func lexContent(b []byte, emit func(contentToken) bool) {
	i := 0
	for i < len(b) {
		c := b[i]
		switch {
		case isPDFSpace(c):
			i++
		case c == '%':
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		case c == '(':
			depth := 0
			for i < len(b) {
				switch b[i] {
				case '\\':
					i++
				case '(':
					depth++
				case ')':
					depth--
				}
				i++
				if depth == 0 {
					break
				}
			}
			if !emit(contentToken{}) {
				return
			}
		case c == '<' && i+1 < len(b) && b[i+1] == '<', c == '>' && i+1 < len(b) && b[i+1] == '>':
			i += 2 // dictionary delimiters carry no operand of interest
		case c == '<':
			end := bytes.IndexByte(b[i:], '>')
			if end < 0 {
				return
			}
			i += end + 1
			if !emit(contentToken{}) {
				return
			}
		case c == '[' || c == ']' || c == '{' || c == '}':
			i++
			if c == ']' && !emit(contentToken{}) {
				return
			}
		case c == '/':
			j := i + 1
			for j < len(b) && !isPDFSpace(b[j]) && !isPDFDelimiter(b[j]) {
				j++
			}
			if !emit(contentToken{name: string(b[i+1 : j]), isName: true}) {
				return
			}
			i = j
		default:
			j := i
			for j < len(b) && !isPDFSpace(b[j]) && !isPDFDelimiter(b[j]) {
				j++
			}
			if j == i {
				j++ // a stray delimiter such as ')'
			}
			word := string(b[i:j])
			i = j
			if v, err := strconv.ParseFloat(word, 64); err == nil {
				if !emit(contentToken{num: v, isNum: true}) {
					return
				}
				continue
			}
			if word == "BI" {
				// Inline image: skip its data, which may hold any bytes,
				// up to the EI operator.
				end := indexEI(b[i:])
				if end < 0 {
					i = len(b)
				} else {
					i += end + 2
				}
			}
			if !emit(contentToken{op: word}) {
				return
			}
		}
	}
}

// indexEI finds the "EI" operator that ends inline image data: EI
// surrounded by white space.
func indexEI(b []byte) int {
	for k := 1; k+2 <= len(b); k++ {
		if b[k] == 'E' && b[k+1] == 'I' && isPDFSpace(b[k-1]) && (k+2 == len(b) || isPDFSpace(b[k+2])) {
			return k
		}
	}
	return -1
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// summarizeContent interprets the operators that place and paint things.
// doXObject is called for each Do so Form XObjects can be followed.
func summarizeContent(content []byte, ctm matrix, sum *contentSummary, doXObject func(name string, ctm matrix)) {
	type state struct {
		ctm        matrix
		renderMode int
	}
	st := state{ctm: ctm}
	var stack []state
	var nums []float64
	var lastName string
	lexContent(content, func(t contentToken) bool {
		switch {
		case t.isNum:
			nums = append(nums, t.num)
			return true
		case t.isName:
			lastName = t.name
			return true
		case t.op == "":
			return true // an operand this package ignores
		}
		switch t.op {
		case "q":
			stack = append(stack, st)
		case "Q":
			if n := len(stack); n > 0 {
				st, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if len(nums) >= 6 {
				var m matrix
				copy(m[:], nums[len(nums)-6:])
				st.ctm = m.mul(st.ctm)
			}
		case "Tr":
			if len(nums) >= 1 {
				st.renderMode = int(nums[len(nums)-1])
			}
		case "Do":
			doXObject(lastName, st.ctm)
		case "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh":
			sum.paintsVector = true
		case "Tj", "TJ", "'", "\"":
			// Mode 3 is invisible text, as in a scanner's own OCR layer;
			// mode 7 only clips.
			if st.renderMode != 3 && st.renderMode != 7 {
				sum.showsText = true
			}
		case "BI":
			sum.inlineImage = true
		}
		nums = nums[:0]
		return true
	})
}
