package pdfa

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// VeraPDFReport is what veraPDF's machine-readable report (`--format xml`, on stdout) says
// about one file: the station's fail-closed check and the tests' judge both read it, never
// veraPDF's human-readable text or its warnings on stderr.
type VeraPDFReport struct {
	Compliant bool
	Profile   string
	Failures  []VeraPDFFailure // each failed rule, in the order veraPDF gives
}

// VeraPDFFailure is one failed rule of the validation profile.
type VeraPDFFailure struct {
	Clause      string // ISO 19005-2 clause, e.g. "6.2.4.3"
	Test        int
	Description string
	Checks      int // how many times the rule failed
}

func (f VeraPDFFailure) String() string {
	return fmt.Sprintf("%s-%d (%d×): %s", f.Clause, f.Test, f.Checks, f.Description)
}

// Summary names every failed rule, one a line.
func (r VeraPDFReport) Summary() string {
	if r.Compliant {
		return "compliant with " + r.Profile
	}
	lines := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// ParseVeraPDFReport reads veraPDF's XML report for a single file. A report that holds no
// validation result (veraPDF could not parse the file, ran out of memory, met an encrypted
// file) is an error, never a pass.
func ParseVeraPDFReport(r io.Reader) (VeraPDFReport, error) {
	var doc struct {
		Jobs []struct {
			Reports []struct {
				Profile   string `xml:"profileName,attr"`
				Compliant string `xml:"isCompliant,attr"`
				Rules     []struct {
					Clause      string `xml:"clause,attr"`
					Test        int    `xml:"testNumber,attr"`
					Status      string `xml:"status,attr"`
					Checks      int    `xml:"failedChecks,attr"`
					Description string `xml:"description"`
				} `xml:"details>rule"`
			} `xml:"validationReport"`
			TaskException string `xml:"taskException>exceptionMessage"`
		} `xml:"jobs>job"`
	}
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return VeraPDFReport{}, fmt.Errorf("reading veraPDF's XML report: %w", err)
	}
	if len(doc.Jobs) != 1 {
		return VeraPDFReport{}, fmt.Errorf("veraPDF's report has %d jobs, want 1", len(doc.Jobs))
	}
	job := doc.Jobs[0]
	if len(job.Reports) != 1 {
		why := strings.TrimSpace(job.TaskException)
		if why == "" {
			why = "no validation result"
		}
		return VeraPDFReport{}, fmt.Errorf("veraPDF could not validate the file: %s", why)
	}
	rep := job.Reports[0]
	out := VeraPDFReport{Profile: rep.Profile}
	switch rep.Compliant {
	case "true":
		out.Compliant = true
	case "false":
	default:
		return VeraPDFReport{}, fmt.Errorf("veraPDF's report says isCompliant=%q", rep.Compliant)
	}
	for _, rule := range rep.Rules {
		if rule.Status == "failed" {
			out.Failures = append(out.Failures, VeraPDFFailure{rule.Clause, rule.Test, strings.TrimSpace(rule.Description), rule.Checks})
		}
	}
	if out.Compliant && len(out.Failures) > 0 {
		return VeraPDFReport{}, fmt.Errorf("veraPDF's report says compliant but lists %d failed rules", len(out.Failures))
	}
	return out, nil
}
