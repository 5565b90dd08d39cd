package pades

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// writeObject writes o in PDF syntax. We serialise pdfcpu's objects ourselves
// rather than through their PDFString methods because those silently drop
// values of a type they do not know, and a re-written page or catalog that
// quietly lost an entry would be a corrupt document.
func writeObject(b *bytes.Buffer, o types.Object) error {
	switch o := o.(type) {
	case nil:
		b.WriteString("null")
	case types.Boolean:
		b.WriteString(strconv.FormatBool(bool(o)))
	case types.Integer:
		b.WriteString(strconv.Itoa(int(o)))
	case types.Float:
		b.WriteString(strconv.FormatFloat(float64(o), 'f', -1, 64))
	case types.Name:
		b.WriteString("/" + types.EncodeName(string(o)))
	case types.StringLiteral:
		// pdfcpu keeps literal strings in their escaped form as found in the file.
		b.WriteString("(" + string(o) + ")")
	case types.HexLiteral:
		b.WriteString("<" + string(o) + ">")
	case types.IndirectRef:
		fmt.Fprintf(b, "%d %d R", o.ObjectNumber, o.GenerationNumber)
	case types.Array:
		b.WriteByte('[')
		for i, e := range o {
			if i > 0 {
				b.WriteByte(' ')
			}
			if err := writeObject(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case types.Dict:
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<<")
		for _, k := range keys {
			b.WriteString("/" + types.EncodeName(k) + " ")
			if err := writeObject(b, o[k]); err != nil {
				return fmt.Errorf("entry /%s: %w", k, err)
			}
		}
		b.WriteString(">>")
	default:
		return fmt.Errorf("cannot write a PDF object of type %T", o)
	}
	return nil
}

// textString encodes s as a PDF text string: a literal string when it is
// plain printable ASCII (the same bytes in PDFDocEncoding), otherwise UTF-16BE
// with a byte order mark, written in hex so no escaping can go wrong.
func textString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
		return "(" + r.Replace(s) + ")"
	}
	u := utf16.Encode([]rune(s))
	raw := make([]byte, 2, 2+2*len(u))
	raw[0], raw[1] = 0xfe, 0xff
	for _, c := range u {
		raw = append(raw, byte(c>>8), byte(c))
	}
	return "<" + strings.ToUpper(hex.EncodeToString(raw)) + ">"
}

// pdfDate formats t as a PDF date in t's own zone, e.g.
// D:20250305164318+07'00'.
func pdfDate(t time.Time) string {
	_, offset := t.Zone()
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("D:%s%c%02d'%02d'", t.Format("20060102150405"), sign, offset/3600, offset%3600/60)
}

// parsePDFDate reads a PDF date (ISO 32000-1 7.9.4). Fields after the year
// may be missing; the zone may be Z, +HH'mm', +HH'mm or +HHmm; without a zone
// the time is taken as UTC, which is what most readers do.
func parsePDFDate(s string) (time.Time, error) {
	orig := s
	s = strings.TrimPrefix(s, "D:")
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("%q is not a PDF date", orig) }
	digits := 0
	for digits < len(s) && digits < 14 && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits < 4 || digits%2 != 0 {
		return bad()
	}
	num := func(i, def int) int {
		if i+2 > digits {
			return def
		}
		n, _ := strconv.Atoi(s[i : i+2])
		return n
	}
	year, _ := strconv.Atoi(s[:4])
	month, day, hour, minute, second := num(4, 1), num(6, 1), num(8, 0), num(10, 0), num(12, 0)
	zone := strings.TrimSuffix(s[digits:], "'")
	loc := time.UTC
	switch {
	case zone == "" || zone == "Z" || zone == "Z00'00" || zone == "Z00":
	case zone[0] == '+' || zone[0] == '-':
		z := strings.ReplaceAll(zone[1:], "'", "")
		if len(z) != 2 && len(z) != 4 {
			return bad()
		}
		h, err1 := strconv.Atoi(z[:2])
		m := 0
		var err2 error
		if len(z) == 4 {
			m, err2 = strconv.Atoi(z[2:])
		}
		if err1 != nil || err2 != nil || h > 23 || m > 59 {
			return bad()
		}
		off := h*3600 + m*60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return bad()
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59 {
		return bad()
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, 0, loc), nil
}
