package docmeta

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Where a field's value came from.
const (
	SourceExtracted  = "extracted"   // read from the OCR of page 1
	SourceSidecar    = "sidecar"     // scan.yaml or scan.json next to the scan
	SourceHotFolder  = "hot-folder"  // the hot-folder's defaults
	SourceFolderName = "folder-name" // the folder name pattern
	SourceConsole    = "console"     // typed by a clerk in the console; Field.By names who
)

// A Field is one metadata value with how sure we are of it and where it came
// from. The zero Field is an unknown value.
type Field struct {
	Value string `json:"value"`
	// Confidence is 0..1: for extracted values an estimate from the OCR's
	// word confidences and the fixes that were needed; supplied values
	// have 1.
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
	// By names the person who supplied the value (a clerk's correction), for the record.
	By string `json:"by,omitempty"`
}

// Known tells whether the field has a value.
func (f Field) Known() bool { return f.Value != "" }

// Metadata is what Decree 30/2020 Appendix VI asks of a document record, as
// far as page 1 tells it, and what operators supplied.
type Metadata struct {
	OrganID      Field // "000.00.00.H41"; never extracted
	OrganName    Field // the issuing organ
	ParentOrgan  Field // the organ above it, first line of the block; not in Appendix VI
	CodeNumber   Field // số: "2417"
	CodeNotation Field // ký hiệu: "UBND-VP", "2020/QĐ-UBND"
	Place        Field // "Bà Rịa - Vũng Tàu"
	IssuedDate   Field // yyyy-mm-dd
	TypeName     Field // "Công văn", "Quyết định", ...
	Subject      Field // trích yếu, without a leading "V/v"

	// Set by the caller.
	Language   string // "vi"
	PageAmount int
}

// fields lists the Field members with their names, in the order documents
// print them. The names are the sidecar keys and Problem.Field values.
func (m *Metadata) fields() []namedField {
	return []namedField{
		{"organ_id", &m.OrganID},
		{"organ_name", &m.OrganName},
		{"parent_organ", &m.ParentOrgan},
		{"code_number", &m.CodeNumber},
		{"code_notation", &m.CodeNotation},
		{"place", &m.Place},
		{"issued_date", &m.IssuedDate},
		{"type_name", &m.TypeName},
		{"subject", &m.Subject},
	}
}

type namedField struct {
	name string
	f    *Field
}

// FieldNames are the names of the metadata fields, as used in sidecar files,
// folder patterns and Problem.Field.
var FieldNames = func() []string {
	var m Metadata
	var out []string
	for _, nf := range m.fields() {
		out = append(out, nf.name)
	}
	return out
}()

// Get returns the field called name (one of FieldNames), or false.
func (m *Metadata) Get(name string) (*Field, bool) {
	for _, nf := range m.fields() {
		if nf.name == name {
			return nf.f, true
		}
	}
	return nil, false
}

// Merge returns extracted with the known fields of each supplied Metadata
// laid over it, later ones winning: Merge(extracted, folderName, hotFolder,
// sidecar). Each field keeps the Source of the value that won. Language and
// PageAmount are taken from the last Metadata that sets them.
func Merge(extracted Metadata, supplied ...Metadata) Metadata {
	out := extracted
	for _, s := range supplied {
		dst := out.fields()
		for i, nf := range s.fields() {
			if nf.f.Known() {
				*dst[i].f = *nf.f
			}
		}
		if s.Language != "" {
			out.Language = s.Language
		}
		if s.PageAmount != 0 {
			out.PageAmount = s.PageAmount
		}
	}
	return out
}

// MarshalJSON writes the known fields only, each with its value, confidence
// and source, under the names in FieldNames.
func (m Metadata) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	add := func(name string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		fmt.Fprintf(&b, "%q:%s", name, data)
		return nil
	}
	for _, nf := range m.fields() {
		if nf.f.Known() {
			if err := add(nf.name, nf.f); err != nil {
				return nil, err
			}
		}
	}
	if m.Language != "" {
		if err := add("language", m.Language); err != nil {
			return nil, err
		}
	}
	if m.PageAmount != 0 {
		if err := add("page_amount", m.PageAmount); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads what MarshalJSON writes, so a record kept as JSON (the journal, a
// sidecar) comes back with its confidences and sources.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*m = Metadata{}
	for _, nf := range m.fields() {
		if v, ok := raw[nf.name]; ok {
			if err := json.Unmarshal(v, nf.f); err != nil {
				return fmt.Errorf("%s: %w", nf.name, err)
			}
		}
	}
	if v, ok := raw["language"]; ok {
		if err := json.Unmarshal(v, &m.Language); err != nil {
			return fmt.Errorf("language: %w", err)
		}
	}
	if v, ok := raw["page_amount"]; ok {
		if err := json.Unmarshal(v, &m.PageAmount); err != nil {
			return fmt.Errorf("page_amount: %w", err)
		}
	}
	return nil
}

// A Problem is a value outside the limits of Decree 30/2020 Appendix VI.
type Problem struct {
	Field  string // one of FieldNames
	Source string // where the value came from
	Reason string // in English

	// Format and Args are Reason before it was printed, so the station can print it in its
	// own language (package lang has Format as a key).
	Format string
	Args   []any
}

func (p Problem) String() string {
	return fmt.Sprintf("%s (%s): %s", p.Field, p.Source, p.Reason)
}

// Problems are the values a supplier gave that Validate refuses, as an error: the station
// prints each one's reason in its own language, where Error has them in English.
type Problems []Problem

func (ps Problems) Error() string {
	reasons := make([]string, len(ps))
	for i, p := range ps {
		reasons[i] = p.Field + ": " + p.Reason
	}
	return strings.Join(reasons, "; ")
}

// Limits of Decree 30/2020 Appendix VI, in characters. Place and TypeName
// have none there; ours keep a broken value out of the record.
var maxChars = map[string]int{
	"organ_id":      13,
	"organ_name":    200,
	"parent_organ":  200,
	"code_number":   11,
	"code_notation": 30,
	"place":         100,
	"type_name":     100,
	"subject":       500,
}

var (
	organIDPattern = regexp.MustCompile(`^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$`)
	numberPattern  = regexp.MustCompile(`^\d+$`)
)

// Validate checks each known field against Appendix VI: lengths, the shape
// of OrganID (DDD.DD.DD.Xnn), a number made of digits, a notation without
// spaces and a real calendar date. A value that is too long is reported,
// never truncated.
func (m Metadata) Validate() []Problem {
	var out []Problem
	for _, nf := range m.fields() {
		if !nf.f.Known() {
			continue
		}
		bad := func(format string, args ...any) {
			out = append(out, Problem{Field: nf.name, Source: nf.f.Source, Reason: fmt.Sprintf(format, args...),
				Format: format, Args: args})
		}
		v := nf.f.Value
		if !utf8.ValidString(v) {
			bad("not valid UTF-8")
			continue
		}
		if strings.TrimSpace(v) != v || strings.ContainsAny(v, "\n\r\t") {
			bad("leading or trailing space, or a line break, in %q", v)
		}
		if limit, ok := maxChars[nf.name]; ok {
			if n := utf8.RuneCountInString(v); n > limit {
				bad("%d characters, more than the %d Appendix VI allows", n, limit)
			}
		}
		switch nf.name {
		case "organ_id":
			if !organIDPattern.MatchString(v) {
				bad("%q is not of the form DDD.DD.DD.Xnn (like 000.00.00.H41)", v)
			}
		case "code_number":
			if !numberPattern.MatchString(v) {
				bad("%q is not a number (digits only)", v)
			}
		case "code_notation":
			if strings.ContainsAny(v, " ") {
				bad("%q contains a space", v)
			}
		case "issued_date":
			if _, err := ParseDate(v); err != nil {
				bad(notADate, v) // ParseDate's words, kept as a format to be printed in a language
			}
		}
	}
	return out
}

// ParseDate reads a date as yyyy-mm-dd (also dd/mm/yyyy, as Vietnamese
// documents write it) and refuses dates that do not exist.
func ParseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf(notADate, s)
}

const notADate = "%q is not a real date as yyyy-mm-dd"
