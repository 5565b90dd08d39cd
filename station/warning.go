package station

import (
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/message"

	"scanstation/journal"
	"scanstation/lang"
)

// A warning is one line of a job's warnings: something about the copy that did not stop it (a
// blank page kept, a page turned with doubt, a page a person left out). The line keeps the
// warning's kind and its words as format and arguments, so the sidecar, approve's list and the
// console print it in their language, and the station finds a page's doubt by its kind and
// page rather than by its English words. A line an older station wrote, plain English, is
// shown as it is.
type warning struct {
	Kind string // a quality rule ("blank", "jbig2", ...) or one of the kinds below
	Page int    // of the scan, from 1; 0 for the document as a whole
	Text lang.Text
}

// The kinds of warning the station itself writes; the quality gate's are its rules' names.
const (
	warnOrientation = "orientation" // OCR is not sure which way up the page reads
	warnLeftOut     = "left_out"    // a person left the page out of the copy
	warnRecord      = "record"      // a value read from page 1 that was not used
)

// warningLine is how a warning is kept: a JSON object, which no English warning starts like.
type warningLine struct {
	Kind   string     `json:"kind"`
	Page   int        `json:"page,omitempty"`
	Format string     `json:"format"`
	Args   []argument `json:"args,omitempty"`
}

// argument keeps an argument's type, so "%d" gets an int back rather than JSON's float64.
type argument struct {
	Int   *int64       `json:"i,omitempty"`
	Float *float64     `json:"f,omitempty"`
	Str   *string      `json:"s,omitempty"`
	Text  *warningLine `json:"t,omitempty"`
}

func (w warning) String() string {
	data, err := json.Marshal(warningLine{Kind: w.Kind, Page: w.Page, Format: w.Text.Format, Args: arguments(w.Text.Args)})
	if err != nil {
		return w.Text.String() // of plain values: cannot happen
	}
	return string(data)
}

func arguments(args []any) []argument {
	out := make([]argument, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			n := int64(v)
			out[i].Int = &n
		case int64:
			out[i].Int = &v
		case float64:
			out[i].Float = &v
		case string:
			out[i].Str = &v
		case lang.Text:
			out[i].Text = &warningLine{Format: v.Format, Args: arguments(v.Args)}
		default:
			s := fmt.Sprint(v)
			out[i].Str = &s
		}
	}
	return out
}

func (l warningLine) text() lang.Text {
	t := lang.Text{Format: l.Format, Args: make([]any, len(l.Args))}
	for i, a := range l.Args {
		switch {
		case a.Int != nil:
			t.Args[i] = int(*a.Int)
		case a.Float != nil:
			t.Args[i] = *a.Float
		case a.Str != nil:
			t.Args[i] = *a.Str
		case a.Text != nil:
			t.Args[i] = a.Text.text()
		default:
			t.Args[i] = ""
		}
	}
	return t
}

// parseWarning reads a kept line; false for a plain line.
func parseWarning(line string) (warning, bool) {
	if !strings.HasPrefix(line, "{") {
		return warning{}, false
	}
	var l warningLine
	if json.Unmarshal([]byte(line), &l) != nil || l.Format == "" {
		return warning{}, false
	}
	return warning{Kind: l.Kind, Page: l.Page, Text: l.text()}, true
}

// WarningsIn are the job's warnings printed by p, one a line.
func WarningsIn(p *message.Printer, job *journal.Job) []string {
	var out []string
	for _, line := range warningLines(job) {
		if w, ok := parseWarning(line); ok {
			line = w.Text.In(p)
		}
		out = append(out, line)
	}
	return out
}
