package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"scanstation/docmeta"
)

// SheetPrefix starts the payload of every separator sheet the station
// prints; the number after the slash is the format's version. A code that
// starts with "SCANSTATION-SEP/" is a separator sheet, readable or not.
const (
	SheetPrefix  = "SCANSTATION-SEP/"
	SheetVersion = 1
)

// MaxPayload is the longest payload the station prints. At this length the
// QR code (error correction M) is version 25 or below, whose modules are
// still 0.6 mm wide on the printed sheet: a 200 dpi scan gives each one
// almost five pixels.
const MaxPayload = 1000

// A Sheet is what a separator sheet says about the document behind it.
type Sheet struct {
	// Pages is how many pages with content the document has; 0 when the
	// sheet does not say.
	Pages int `json:"pages,omitempty"`
	// Fields are record fields under docmeta's names (type_name,
	// code_number, code_notation, issued_date, organ_name, subject, ...).
	Fields map[string]string `json:"fields,omitempty"`
}

// Payload encodes the sheet for its QR code: the prefix with the version, a
// newline, and a JSON object whose text outside ASCII is written as \u
// escapes. Keeping the code ASCII means any QR reader gets the same bytes
// back, whatever it guesses about character sets.
func (s Sheet) Payload() (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(SheetPrefix + strconv.Itoa(SheetVersion) + "\n{")
	first := true
	if s.Pages > 0 {
		b.WriteString(`"pages":` + strconv.Itoa(s.Pages))
		first = false
	}
	// docmeta's order, so the same sheet always gives the same code.
	for _, name := range docmeta.FieldNames {
		v, ok := s.Fields[name]
		if !ok || v == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(asciiJSON(name) + ":" + asciiJSON(norm.NFC.String(v)))
	}
	b.WriteByte('}')
	if b.Len() > MaxPayload {
		return "", fmt.Errorf("separator sheet: the fields take %d bytes in the code, more than the %d a sheet holds; shorten the subject", b.Len(), MaxPayload)
	}
	return b.String(), nil
}

// asciiJSON quotes s as a JSON string with every rune outside printable
// ASCII escaped.
func asciiJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// IsSheet reports whether a code read from a page is a separator sheet's,
// whether or not its payload then parses: a sheet this station cannot read
// must still not become a page of a document.
func IsSheet(code string) bool {
	return strings.HasPrefix(strings.TrimLeft(code, " \r\n\t\ufeff"), SheetPrefix)
}

// ParseSheet reads a separator sheet's payload. Unknown fields, values
// outside the limits of Decree 30/2020 Appendix VI, a page count that is not
// a positive whole number and a version newer than this station's are
// errors: the document behind such a sheet is refused, never filed with a
// guess.
func ParseSheet(code string) (Sheet, error) {
	code = strings.TrimLeft(code, " \r\n\t\ufeff")
	rest, ok := strings.CutPrefix(code, SheetPrefix)
	if !ok {
		return Sheet{}, errors.New("separator sheet: the code is not a separator sheet's")
	}
	ver, body, _ := strings.Cut(rest, "\n")
	n, err := strconv.Atoi(strings.TrimSpace(ver))
	if err != nil || n < 1 {
		return Sheet{}, fmt.Errorf("separator sheet: version %q is not a number", ver)
	}
	if n > SheetVersion {
		return Sheet{}, fmt.Errorf("separator sheet: format version %d is newer than this station reads (%d); update the station or print the sheet again", n, SheetVersion)
	}
	if !utf8.ValidString(body) {
		return Sheet{}, errors.New("separator sheet: the code is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return Sheet{}, fmt.Errorf("separator sheet: the fields are not readable: %w", err)
	}
	if dec.More() {
		return Sheet{}, errors.New("separator sheet: text after the fields")
	}
	s := Sheet{Fields: map[string]string{}}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := raw[k]
		if k == "pages" {
			num, ok := v.(json.Number)
			p, err := strconv.Atoi(string(num))
			if !ok || err != nil || p < 1 {
				return Sheet{}, fmt.Errorf("separator sheet: pages %v is not a whole number above 0", v)
			}
			s.Pages = p
			continue
		}
		str, ok := v.(string)
		if !ok {
			return Sheet{}, fmt.Errorf("separator sheet: field %s is not text", k)
		}
		s.Fields[k] = norm.NFC.String(str)
	}
	if err := s.check(); err != nil {
		return Sheet{}, err
	}
	return s, nil
}

// check refuses field names docmeta does not know and values outside the
// Appendix's limits, with the same words a sidecar gets.
func (s Sheet) check() error {
	if s.Pages < 0 {
		return fmt.Errorf("separator sheet: pages %d is below 0", s.Pages)
	}
	if _, err := s.Metadata(); err != nil {
		return err
	}
	return nil
}

// SourceSheet is the Source of record fields read from a separator sheet.
const SourceSheet = "separator-sheet"

// Metadata gives the sheet's fields as record fields from the source
// SourceSheet, for docmeta.Merge: values an operator supplies in a sidecar
// are laid over them.
func (s Sheet) Metadata() (docmeta.Metadata, error) {
	var m docmeta.Metadata
	names := make([]string, 0, len(s.Fields))
	for k := range s.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		f, ok := m.Get(k)
		if !ok {
			return docmeta.Metadata{}, fmt.Errorf("separator sheet: unknown field %q (known: %s)", k, strings.Join(docmeta.FieldNames, ", "))
		}
		v := norm.NFC.String(s.Fields[k])
		if v == "" {
			continue
		}
		if k == "issued_date" {
			if t, err := docmeta.ParseDate(v); err == nil {
				v = t.Format("2006-01-02")
			}
		}
		*f = docmeta.Field{Value: v, Confidence: 1, Source: SourceSheet}
	}
	if problems := m.Validate(); len(problems) > 0 {
		reasons := make([]string, len(problems))
		for i, p := range problems {
			reasons[i] = p.Field + ": " + p.Reason
		}
		return docmeta.Metadata{}, errors.New("separator sheet: " + strings.Join(reasons, "; "))
	}
	return m, nil
}
