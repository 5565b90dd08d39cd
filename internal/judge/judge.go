// Package judge runs the outside validators the tests trust more than our own code: veraPDF
// (PDF/A), pdfsig, pyHanko and EU DSS (signatures), qpdf (structure). It reads each one's
// machine-readable answer (XML, JSON, exit code and stdout), never its stderr, so a warning a
// judge prints there cannot turn a pass into a fail or a fail into a pass. A judge that is not
// installed, or cannot run, fails the test: it never skips it (scripts/setup.sh installs them).
//
// Only tests import this package.
package judge

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pdfa"
)

// Judges names the commands to run. The zero value finds them on PATH, where
// scripts/test.sh puts $SCANSTATION_TOOLS/bin first.
type Judges struct {
	VeraPDFCmd    string // default "verapdf"
	PdfSigCmd     string // default "pdfsig"
	QPDFCmd       string // default "qpdf"
	PyHankoPython string // a Python that can import pyhanko; default "pyhanko-python"
	DSSCmd        string // default "dss-judge" (internal/judge/dss, compiled by scripts/setup.sh)

	// DSSPolicy is the validation policy file DSS judges with; "" is DSS's default policy.
	// StrictDSSPolicy gives one that enforces what a certification signature permits.
	DSSPolicy string
}

func or(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

// Run runs a command and returns its stdout and whether it exited 0. Its stderr is kept out
// of the answer and shown only when the test fails. A command that is missing or cannot be
// started fails the test.
func Run(t testing.TB, name string, args ...string) (stdout string, ok bool) {
	t.Helper()
	out, code := run(t, name, args...)
	return out, code == 0
}

// run is Run with the exit code.
func run(t testing.TB, name string, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed; scripts/setup.sh installs it (a judge that is missing fails the test)", name)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", name, err)
	}
	if stderr.Len() > 0 {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s %s wrote on stderr (not read as its answer):\n%s", name, strings.Join(args, " "), stderr.String())
			}
		})
	}
	return stdout.String(), cmd.ProcessState.ExitCode()
}

// PDFA is veraPDF's verdict on a file against PDF/A-2u, from its XML report.
func PDFA(t testing.TB, path string) pdfa.VeraPDFReport {
	t.Helper()
	return Judges{}.PDFA(t, path)
}

// PDFA is veraPDF's verdict on a file against PDF/A-2u, from its XML report.
func (j Judges) PDFA(t testing.TB, path string) pdfa.VeraPDFReport {
	t.Helper()
	out, code := run(t, or(j.VeraPDFCmd, "verapdf"), "--flavour", "2u", "--format", "xml", path)
	rep, err := pdfa.ParseVeraPDFReport(strings.NewReader(out))
	if err != nil {
		t.Fatalf("veraPDF on %s (exit %d): %v", path, code, err)
	}
	return rep
}

// PdfSigVerdict is what poppler's pdfsig says about a file's signatures.
type PdfSigVerdict struct {
	ExitCode   int
	Signatures []PdfSigSignature
	Stdout     string
}

// PdfSigSignature is one "Signature #N" block of pdfsig's report.
type PdfSigSignature struct {
	SignerName          string
	SubFilter           string // "ETSI.CAdES.detached"
	Valid               bool   // "Signature Validation: Signature is Valid."
	TotalDocumentSigned bool
	Certificate         string // "Certificate Validation: ..."
	Fields              map[string]string
}

// AllValidWhole says whether there is at least one signature and each is valid; the last one
// must cover the whole document.
func (v PdfSigVerdict) AllValidWhole() bool {
	if len(v.Signatures) == 0 {
		return false
	}
	for _, s := range v.Signatures {
		if !s.Valid {
			return false
		}
	}
	return v.Signatures[len(v.Signatures)-1].TotalDocumentSigned
}

// PdfSig is pdfsig's verdict on a file, from its stdout.
func PdfSig(t testing.TB, path string) PdfSigVerdict {
	t.Helper()
	return Judges{}.PdfSig(t, path)
}

// PdfSig is pdfsig's verdict on a file, from its stdout and exit code.
func (j Judges) PdfSig(t testing.TB, path string) PdfSigVerdict {
	t.Helper()
	out, code := run(t, or(j.PdfSigCmd, "pdfsig"), path)
	return PdfSigVerdict{ExitCode: code, Signatures: parsePdfSig(out), Stdout: out}
}

// parsePdfSig reads pdfsig's report: a "Signature #N:" line, then "  - Key: value" lines
// (one, "Total document signed", has no value).
func parsePdfSig(out string) []PdfSigSignature {
	var sigs []PdfSigSignature
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Signature #") {
			sigs = append(sigs, PdfSigSignature{Fields: map[string]string{}})
			continue
		}
		item, isItem := strings.CutPrefix(strings.TrimSpace(line), "- ")
		if !isItem || len(sigs) == 0 {
			continue
		}
		s := &sigs[len(sigs)-1]
		key, value, _ := strings.Cut(item, ": ")
		s.Fields[key] = value
		switch key {
		case "Signer Certificate Common Name":
			s.SignerName = value
		case "Signature Type":
			s.SubFilter = value
		case "Signature Validation":
			s.Valid = value == "Signature is Valid."
		case "Certificate Validation":
			s.Certificate = value
		case "Total document signed":
			s.TotalDocumentSigned = true
		}
	}
	return sigs
}

// QPDFVerdict is what `qpdf --check` says: exit 0 is a clean file, 3 a file with warnings,
// 2 a file with errors.
type QPDFVerdict struct {
	ExitCode int
	Stdout   string
}

// Clean says the file has neither errors nor warnings.
func (v QPDFVerdict) Clean() bool {
	return v.ExitCode == 0 && strings.Contains(v.Stdout, "No syntax or stream encoding errors found")
}

// QPDFCheck runs `qpdf --check`.
func QPDFCheck(t testing.TB, path string) QPDFVerdict {
	t.Helper()
	return Judges{}.QPDFCheck(t, path)
}

// QPDFCheck runs `qpdf --check`.
func (j Judges) QPDFCheck(t testing.TB, path string) QPDFVerdict {
	t.Helper()
	out, code := run(t, or(j.QPDFCmd, "qpdf"), "--check", path)
	return QPDFVerdict{ExitCode: code, Stdout: out}
}

// QPDFJSON returns qpdf's JSON view of a file (`qpdf --json=2 ARGS... FILE`), decoded.
func QPDFJSON(t testing.TB, path string, args ...string) map[string]any {
	t.Helper()
	return Judges{}.QPDFJSON(t, path, args...)
}

// QPDFJSON returns qpdf's JSON view of a file (`qpdf --json=2 ARGS... FILE`), decoded.
func (j Judges) QPDFJSON(t testing.TB, path string, args ...string) map[string]any {
	t.Helper()
	out, code := run(t, or(j.QPDFCmd, "qpdf"), append(append([]string{"--json=2"}, args...), path)...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("qpdf --json on %s (exit %d): %v", path, code, err)
	}
	return doc
}

//go:embed pyhanko_judge.py
var pyhankoScript []byte

// PyHankoVerdict is pyHanko's verdict, read through its Python API.
type PyHankoVerdict struct {
	Signatures         []PyHankoSignature `json:"signatures"`
	DocumentTimestamps int                `json:"document_timestamps"`
}

// PyHankoSignature is pyHanko's status of one (non-timestamp) signature.
type PyHankoSignature struct {
	Field             string       `json:"field"`
	SubFilter         string       `json:"subfilter"`    // "/ETSI.CAdES.detached"
	DocMDPLevel       string       `json:"docmdp_level"` // "FILL_FORMS" on a certification signature, "" otherwise
	Summary           string       `json:"summary"`      // "INTACT:TRUSTED,UNTOUCHED"
	BottomLine        bool         `json:"bottom_line"`  // "The signature is judged VALID."
	Intact            bool         `json:"intact"`
	Valid             bool         `json:"valid"`
	Trusted           bool         `json:"trusted"`
	Coverage          string       `json:"coverage"`           // "ENTIRE_FILE", "ENTIRE_REVISION"
	ModificationLevel string       `json:"modification_level"` // "NONE", "FORM_FILLING", "LTA_UPDATES", "OTHER"
	DocMDPOK          *bool        `json:"docmdp_ok"`
	Timestamp         *PyHankoTS   `json:"timestamp"` // the signature timestamp (B-T), if any
	Error             string       `json:"error"`
	AdES              *PyHankoAdES `json:"ades"` // with PyHankoOptions.AdES

	// Certification says the catalog's /Perms /DocMDP names this signature: it certifies
	// the document (DocMDPLevel is its permission) rather than approves it.
	Certification bool `json:"certification"`
}

// PyHankoTS is pyHanko's status of a signature timestamp token.
type PyHankoTS struct {
	Intact  bool `json:"intact"`
	Valid   bool `json:"valid"`
	Trusted bool `json:"trusted"`
}

// PyHankoAdES is pyHanko's EN 319 102-1 validation of a signature (`adesverify`).
type PyHankoAdES struct {
	Indication    string `json:"indication"` // "PASSED", "INDETERMINATE", "FAILED"
	SubIndication string `json:"sub_indication"`
	Error         string `json:"error"`
	Summary       string `json:"summary"`     // as `adesverify` prints it: "INTACT:TRUSTED,UNTOUCHED"
	BottomLine    bool   `json:"bottom_line"` // what `adesverify` exits by
}

// PyHankoOptions says what pyHanko trusts and what it is asked.
type PyHankoOptions struct {
	Trust []string // PEM or DER files of the only trust anchors
	AdES  bool     // also run the EN 319 102-1 validation (adesverify), no revocation check
}

// PyHanko asks pyHanko's library about every signature of a file.
func PyHanko(t testing.TB, path string, opt PyHankoOptions) PyHankoVerdict {
	t.Helper()
	return Judges{}.PyHanko(t, path, opt)
}

// PyHanko asks pyHanko's library about every signature of a file.
func (j Judges) PyHanko(t testing.TB, path string, opt PyHankoOptions) PyHankoVerdict {
	t.Helper()
	script := filepath.Join(t.TempDir(), "pyhanko_judge.py")
	if err := os.WriteFile(script, pyhankoScript, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{script}
	for _, f := range opt.Trust {
		args = append(args, "--trust", f)
	}
	if opt.AdES {
		args = append(args, "--ades")
	}
	out, code := run(t, or(j.PyHankoPython, "pyhanko-python"), append(args, path)...)
	var v PyHankoVerdict
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 {
		t.Fatalf("pyHanko could not judge %s (exit %d): %v\n%s", path, code, err, out)
	}
	return v
}

// Field returns the signature in the named field.
func (v PyHankoVerdict) Field(name string) (PyHankoSignature, error) {
	for _, s := range v.Signatures {
		if s.Field == name {
			return s, nil
		}
	}
	return PyHankoSignature{}, fmt.Errorf("pyHanko sees no signature in field %q (it sees %d)", name, len(v.Signatures))
}

// String is a line per signature, for test failure messages.
func (v PyHankoVerdict) String() string {
	var b strings.Builder
	for _, s := range v.Signatures {
		fmt.Fprintf(&b, "%s %s docmdp=%s %s bottom_line=%v coverage=%s modification=%s", s.Field, s.SubFilter, s.DocMDPLevel, s.Summary, s.BottomLine, s.Coverage, s.ModificationLevel)
		if s.Timestamp != nil {
			fmt.Fprintf(&b, " timestamp=%+v", *s.Timestamp)
		}
		if s.AdES != nil {
			fmt.Fprintf(&b, " ades=%+v", *s.AdES)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, " error=%s", s.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// PlainPDF is a valid PDF 1.4 with one empty page and nothing PDF/A asks for: a file veraPDF
// refuses and every other reader opens.
func PlainPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// DSSVerdict is EU DSS's validation report on one file: its simple report, with DSS's default
// validation policy (or Judges.DSSPolicy), only the given trust anchors, and nothing fetched
// from the network.
type DSSVerdict struct {
	File                 string         `json:"file"`
	ValidationTime       time.Time      `json:"validation_time"`
	Policy               string         `json:"policy"`      // the policy's name
	PolicyFile           string         `json:"policy_file"` // "" for DSS's default policy
	SignaturesCount      int            `json:"signatures_count"`
	ValidSignaturesCount int            `json:"valid_signatures_count"`
	Signatures           []DSSSignature `json:"signatures"`
	// Timestamps are those not attached to one signature: PAdES document timestamps.
	Timestamps []DSSTimestamp `json:"timestamps"`
	Counts     DSSCounts      `json:"counts"`
	Error      string         `json:"error"` // why DSS could not judge the file; "" when it did
}

// DSSSignature is DSS's conclusion on one signature.
type DSSSignature struct {
	ID                string         `json:"id"`
	Format            string         `json:"format"`         // "PAdES-BASELINE-B", "PAdES-BASELINE-LTA"
	Indication        string         `json:"indication"`     // "TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"
	SubIndication     string         `json:"sub_indication"` // "HASH_FAILURE", "NO_CERTIFICATE_CHAIN_FOUND"...
	SigningTime       time.Time      `json:"signing_time"`   // claimed
	BestSignatureTime time.Time      `json:"best_signature_time"`
	SignedBy          string         `json:"signed_by"`
	Errors            []DSSMessage   `json:"errors"`
	Warnings          []DSSMessage   `json:"warnings"`
	Infos             []DSSMessage   `json:"infos"`
	Timestamps        []DSSTimestamp `json:"timestamps"` // signature timestamps, and document timestamps over it
}

// DSSTimestamp is DSS's conclusion on one timestamp.
type DSSTimestamp struct {
	ID             string       `json:"id"`
	Type           string       `json:"type"`       // "SIGNATURE_TIMESTAMP", "DOCUMENT_TIMESTAMP"...
	Indication     string       `json:"indication"` // "PASSED", "INDETERMINATE", "FAILED"
	SubIndication  string       `json:"sub_indication"`
	ProductionTime time.Time    `json:"production_time"`
	ProducedBy     string       `json:"produced_by"`
	Errors         []DSSMessage `json:"errors"`
	Warnings       []DSSMessage `json:"warnings"`
	Infos          []DSSMessage `json:"infos"`
}

// DSSMessage is one line of DSS's simple report: a key naming the check, and its text.
type DSSMessage struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DSSCounts tallies the indications of all signatures and timestamps in a file.
type DSSCounts struct {
	Signatures    int `json:"signatures"`
	Timestamps    int `json:"timestamps"`
	Passed        int `json:"passed"`
	Indeterminate int `json:"indeterminate"`
	Failed        int `json:"failed"`
}

// String is a line per signature and timestamp, for test failure messages.
func (v DSSVerdict) String() string {
	var b strings.Builder
	ts := func(indent string, t DSSTimestamp) {
		fmt.Fprintf(&b, "%stimestamp %s %s %s/%s at %s", indent, t.ID, t.Type, t.Indication, t.SubIndication, t.ProductionTime.Format(time.RFC3339))
		for _, m := range t.Errors {
			fmt.Fprintf(&b, "\n%s  error: %s", indent, m.Value)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s: %d signatures, %d valid\n", v.File, v.SignaturesCount, v.ValidSignaturesCount)
	for _, s := range v.Signatures {
		fmt.Fprintf(&b, "signature %s %s %s/%s best time %s", s.ID, s.Format, s.Indication, s.SubIndication, s.BestSignatureTime.Format(time.RFC3339))
		for _, m := range s.Errors {
			fmt.Fprintf(&b, "\n  error: %s", m.Value)
		}
		for _, m := range s.Warnings {
			fmt.Fprintf(&b, "\n  warning: %s", m.Value)
		}
		b.WriteByte('\n')
		for _, t := range s.Timestamps {
			ts("  ", t)
		}
	}
	for _, t := range v.Timestamps {
		ts("", t)
	}
	return b.String()
}

//go:embed dss/strict-policy.xml
var strictDSSPolicy []byte

// StrictDSSPolicy writes DSS's default validation policy with DocMDP, FieldMDP, SigFieldLock
// and UndefinedChanges raised from a warning to a failure (dss/strict-policy.xml says why) to
// a temporary file, for Judges.DSSPolicy.
func StrictDSSPolicy(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "strict-policy.xml")
	if err := os.WriteFile(path, strictDSSPolicy, 0o644); err != nil {
		t.Fatalf("writing DSS's strict policy: %v", err)
	}
	return path
}

// DSS is EU DSS's verdict on a file, trusting only the certificates in the PEM files given.
func DSS(t testing.TB, path string, trustPEMs ...string) DSSVerdict {
	t.Helper()
	return Judges{}.DSS(t, path, trustPEMs...)
}

// DSS is EU DSS's verdict on a file, trusting only the certificates in the PEM files given.
func (j Judges) DSS(t testing.TB, path string, trustPEMs ...string) DSSVerdict {
	t.Helper()
	return j.DSSMany(t, []string{path}, trustPEMs...)[0]
}

// DSSMany is DSS on several files in one run: DSS runs in a JVM, whose start costs more than
// judging a small file, so a test with many files asks once.
func DSSMany(t testing.TB, paths []string, trustPEMs ...string) []DSSVerdict {
	t.Helper()
	return Judges{}.DSSMany(t, paths, trustPEMs...)
}

// DSSMany is DSS on several files in one run, a verdict per file in the same order.
func (j Judges) DSSMany(t testing.TB, paths []string, trustPEMs ...string) []DSSVerdict {
	t.Helper()
	if len(paths) == 0 || len(trustPEMs) == 0 {
		t.Fatalf("DSS needs a file and a trust anchor (got %d files, %d anchors)", len(paths), len(trustPEMs))
	}
	var args []string
	if j.DSSPolicy != "" {
		args = append(args, "--policy", j.DSSPolicy)
	}
	for _, f := range trustPEMs {
		args = append(args, "--trust", f)
	}
	out, code := run(t, or(j.DSSCmd, "dss-judge"), append(args, paths...)...)
	dec := json.NewDecoder(strings.NewReader(out))
	var verdicts []DSSVerdict
	for dec.More() {
		var v DSSVerdict
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("EU DSS's answer on %s (exit %d) is not the JSON we read: %v\n%s", strings.Join(paths, " "), code, err, out)
		}
		verdicts = append(verdicts, v)
	}
	if len(verdicts) != len(paths) {
		t.Fatalf("EU DSS answered for %d of %d files (exit %d):\n%s", len(verdicts), len(paths), code, out)
	}
	for i, v := range verdicts {
		if v.File != paths[i] || v.Error != "" {
			t.Fatalf("EU DSS could not judge %s (exit %d): %s", paths[i], code, or(v.Error, "it answered for "+v.File))
		}
		// A dss-judge older than --policy would judge with the default policy and say nothing.
		if v.PolicyFile != j.DSSPolicy {
			t.Fatalf("EU DSS judged %s with the policy %q, not %q (is dss-judge compiled from this tree? scripts/setup.sh)", paths[i], v.PolicyFile, j.DSSPolicy)
		}
	}
	if code != 0 {
		t.Fatalf("EU DSS judged %s but exited %d", strings.Join(paths, " "), code)
	}
	return verdicts
}
