package station

import (
	"bytes"
	"compress/zlib"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pdfa"
	"scanstation/config"
	"scanstation/internal/judge"
)

// TestValidatePDFADecidesByTheReport runs validatePDFA with veraPDF behind wrapper scripts:
// the verdict is veraPDF's XML report on stdout, whatever is printed on stderr, and a run
// without a readable report refuses the file (fails closed).
func TestValidatePDFADecidesByTheReport(t *testing.T) {
	verapdf, err := exec.LookPath("verapdf")
	if err != nil {
		t.Fatalf("verapdf is not installed; scripts/setup.sh installs it (a judge that is missing fails the test)")
	}
	dir := t.TempDir()
	compliant, plain := filepath.Join(dir, "pdfa.pdf"), filepath.Join(dir, "plain.pdf")
	writePDFA(t, compliant)
	if err := os.WriteFile(plain, judge.PlainPDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A made-up warning of the kind a JVM or a font cache prints, with the words the old text
	// format was matched on.
	noisy := script("noisy-verapdf", `echo "WARNING: FAIL to read the font cache; PASS on to defaults" >&2
"`+verapdf+`" "$@"
status=$?
echo "FAIL : made-up warning after the run" >&2
exit $status`)
	station := func(command string) *Station {
		s := &Station{}
		s.conf.Store(&config.Config{Validation: config.Validation{VeraPDF: command}})
		return s
	}
	ctx := context.Background()

	if err := station(noisy).validatePDFA(ctx, compliant); err != nil {
		t.Errorf("a compliant file is refused because of a warning on stderr: %v", err)
	}
	err = station(noisy).validatePDFA(ctx, plain)
	if err == nil || !strings.Contains(err.Error(), "not PDF/A-2u compliant") || !strings.Contains(err.Error(), "6.") {
		t.Errorf("a plain PDF is not refused with the rules it fails: %v", err)
	}
	if err := station("").validatePDFA(ctx, plain); err != nil {
		t.Errorf("without validate.verapdf nothing is checked, but: %v", err)
	}

	// No report, or one that is not to be trusted: refused, saying veraPDF could not check.
	for _, c := range []struct {
		name, body string
		want       string // in the error, besides "could not check"
	}{
		{"text-verdict", `echo "PASS $4 2u"`, "reading veraPDF's XML report"},
		{"crash", `echo "java.lang.OutOfMemoryError: Java heap space" >&2; exit 1`, "OutOfMemoryError"},
		{"no-report", `echo '<report><jobs><job><taskException><exceptionMessage>encrypted</exceptionMessage></taskException></job></jobs></report>'`, "encrypted"},
		{"compliant-but-failed", `"` + verapdf + `" "$@"; exit 3`, "the run failed"},
	} {
		err := station(script(c.name, c.body)).validatePDFA(ctx, compliant)
		if err == nil || !strings.Contains(err.Error(), "veraPDF could not check the signed copy") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a refusal saying veraPDF could not check (%q)", c.name, err, c.want)
		}
	}
}

// writePDFA writes a one-page PDF/A-2u file.
func writePDFA(t *testing.T, path string) {
	t.Helper()
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatalf("the sRGB profile (icc-profiles-free; scripts/setup.sh installs it): %v", err)
	}
	const w, h = 100, 141
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(bytes.Repeat([]byte{250, 250, 245}, w*h))
	zw.Close()
	doc := &pdfa.Document{
		Pages:     []pdfa.Page{{Image: pdfa.Image{Width: w, Height: h, DPIX: 12, DPIY: 12, ColorSpace: pdfa.RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: z.Bytes()}}},
		Created:   time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC),
		OutputICC: icc,
	}
	var b bytes.Buffer
	if err := pdfa.Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
