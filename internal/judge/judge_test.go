package judge

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/certify/pdfa"
)

// The judges' verdicts on four files: a PDF/A that passes, a plain PDF that fails, a signed
// PDF/A that passes and the same with one byte changed, which fails.
type corpus struct {
	compliant, plain, signed, tampered, trust string
}

var (
	corpusOnce sync.Once
	shared     corpus
	corpusErr  error
)

func files(t *testing.T) corpus {
	t.Helper()
	corpusOnce.Do(func() { shared, corpusErr = makeCorpus(t) })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return shared
}

func makeCorpus(t *testing.T) (corpus, error) {
	dir, err := os.MkdirTemp("", "judge-corpus-")
	if err != nil {
		return corpus{}, err
	}
	c := corpus{
		compliant: filepath.Join(dir, "pdfa.pdf"),
		plain:     filepath.Join(dir, "plain.pdf"),
		signed:    filepath.Join(dir, "signed.pdf"),
		tampered:  filepath.Join(dir, "tampered.pdf"),
		trust:     filepath.Join(dir, "ca.pem"),
	}
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		return c, fmt.Errorf("the sRGB profile (icc-profiles-free; scripts/setup.sh installs it): %w", err)
	}
	const w, h = 100, 141 // an A4-shaped page at 12 dpi
	raw := bytes.Repeat([]byte{250, 250, 245}, w*h)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	doc := &pdfa.Document{
		Pages:     []pdfa.Page{{Image: pdfa.Image{Width: w, Height: h, DPIX: 12, DPIY: 12, ColorSpace: pdfa.RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: z.Bytes()}}},
		Title:     "Bản sao điện tử",
		Created:   time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC),
		OutputICC: icc,
	}
	var b bytes.Buffer
	if err := pdfa.Write(&b, doc); err != nil {
		return c, err
	}
	if err := os.WriteFile(c.compliant, b.Bytes(), 0o644); err != nil {
		return c, err
	}
	if err := os.WriteFile(c.plain, PlainPDF(), 0o644); err != nil {
		return c, err
	}

	// A test CA (the trust anchor) and the signer it certifies: pyHanko, rightly, does not
	// take a self-signed signing certificate as its own anchor.
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scanstation judge test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return c, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "Văn thư thử nghiệm", Organization: []string{"scanstation judge test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		return c, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return c, err
	}
	keyFile := filepath.Join(dir, "signer.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return c, err
	}
	certFile := filepath.Join(dir, "signer.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return c, err
	}
	if err := os.WriteFile(c.trust, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return c, err
	}
	// pyHanko signs; it is a tool nobody here wrote, and the other judges read its work.
	cmd := exec.Command("pyhanko", "sign", "addsig", "--field", "Signature1", "--use-pades", "pemder",
		"--key", keyFile, "--cert", certFile, "--chain", c.trust, "--no-pass", c.compliant, c.signed)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return c, fmt.Errorf("pyhanko sign addsig: %v\n%s", err, stderr.String())
	}
	signed, err := os.ReadFile(c.signed)
	if err != nil {
		return c, err
	}
	// Change one byte of the page image, inside the signed range.
	i := bytes.Index(signed, []byte("stream\n")) + len("stream\n") + 20
	signed[i] ^= 0x01
	return c, os.WriteFile(c.tampered, signed, 0o644)
}

func TestVerdicts(t *testing.T) {
	c := files(t)
	if rep := PDFA(t, c.compliant); !rep.Compliant {
		t.Errorf("veraPDF: our PDF/A is not compliant:\n%s", rep.Summary())
	}
	if rep := PDFA(t, c.plain); rep.Compliant || len(rep.Failures) == 0 {
		t.Errorf("veraPDF: a plain PDF passes as PDF/A-2u: %+v", rep)
	}
	if v := PdfSig(t, c.signed); !v.AllValidWhole() || len(v.Signatures) != 1 || v.Signatures[0].SignerName != "Văn thư thử nghiệm" {
		t.Errorf("pdfsig on the signed file: %+v", v)
	}
	if v := PdfSig(t, c.tampered); v.AllValidWhole() || len(v.Signatures) != 1 {
		t.Errorf("pdfsig accepts a changed byte: %+v", v)
	}
	v := PyHanko(t, c.signed, PyHankoOptions{Trust: []string{c.trust}, AdES: true})
	s, err := v.Field("Signature1")
	if err != nil || !s.BottomLine || s.Summary != "INTACT:TRUSTED,UNTOUCHED" || s.Coverage != "ENTIRE_FILE" || s.AdES == nil || !s.AdES.BottomLine || s.AdES.Summary != "INTACT:TRUSTED,UNTOUCHED" {
		t.Errorf("pyHanko on the signed file (%v):\n%s", err, v)
	}
	if v := PyHanko(t, c.signed, PyHankoOptions{}); v.Signatures[0].Trusted || v.Signatures[0].BottomLine {
		t.Errorf("pyHanko trusts a self-signed certificate nobody named:\n%s", v)
	}
	if v := PyHanko(t, c.tampered, PyHankoOptions{Trust: []string{c.trust}}); v.Signatures[0].Intact || v.Signatures[0].BottomLine {
		t.Errorf("pyHanko accepts a changed byte:\n%s", v)
	}
	if v := QPDFCheck(t, c.signed); !v.Clean() {
		t.Errorf("qpdf --check on the signed file: %+v", v)
	}
	if got := QPDFJSON(t, c.signed, "--json-key=pages")["pages"]; reflect.ValueOf(got).Len() != 1 {
		t.Errorf("qpdf --json sees pages %v", got)
	}
}

// noise is what a judge might print on stderr on a bad day: a deprecation warning, and words
// that would flip a verdict if stderr were read as part of the answer.
const noise = `CryptographyDeprecationWarning: DSA is deprecated and support will be removed in a future release.
WARNING: made up by judge_test: isCompliant="false" isCompliant="true" FAIL PASS
  - Signature Validation: Signature is Invalid.
  - Signature Validation: Signature is Valid.
  - Total document signed
{"signatures": [], "document_timestamps": 9}
{"file":"x.pdf","signatures":[{"indication":"TOTAL_PASSED","sub_indication":null}],"counts":{"passed":9}}
No syntax or stream encoding errors found
`

// noisy returns a command that prints noise on stderr, then runs the real judge.
func noisy(t *testing.T, real string) string {
	t.Helper()
	path, err := exec.LookPath(real)
	if err != nil {
		t.Fatalf("%s is not installed; scripts/setup.sh installs it", real)
	}
	wrapper := filepath.Join(t.TempDir(), real)
	script := fmt.Sprintf("#!/bin/sh\ncat >&2 <<'NOISE'\n%sNOISE\nexec '%s' \"$@\"\n", noise, path)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// TestWarningsOnStderrChangeNoVerdict feeds every judge-reading helper a made-up warning on
// stderr and checks that each verdict, pass or fail, stays what it was.
func TestWarningsOnStderrChangeNoVerdict(t *testing.T) {
	c := files(t)
	quiet := Judges{}
	loud := Judges{
		VeraPDFCmd:    noisy(t, "verapdf"),
		PdfSigCmd:     noisy(t, "pdfsig"),
		QPDFCmd:       noisy(t, "qpdf"),
		PyHankoPython: noisy(t, "pyhanko-python"),
		DSSCmd:        noisy(t, "dss-judge"),
	}
	same := func(what string, a, b any) {
		t.Helper()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: a warning on stderr changed the verdict\nquiet: %+v\nnoisy: %+v", what, a, b)
		}
	}
	for _, f := range []string{c.compliant, c.plain} {
		same("veraPDF on "+filepath.Base(f), quiet.PDFA(t, f), loud.PDFA(t, f))
	}
	for _, f := range []string{c.signed, c.tampered, c.plain} {
		same("pdfsig on "+filepath.Base(f), quiet.PdfSig(t, f), loud.PdfSig(t, f))
		same("qpdf on "+filepath.Base(f), quiet.QPDFCheck(t, f), loud.QPDFCheck(t, f))
	}
	for _, f := range []string{c.signed, c.tampered} {
		opt := PyHankoOptions{Trust: []string{c.trust}, AdES: true}
		same("pyHanko on "+filepath.Base(f), quiet.PyHanko(t, f, opt), loud.PyHanko(t, f, opt))
	}
	both := []string{c.signed, c.tampered}
	same("EU DSS on "+filepath.Base(c.signed)+" and "+filepath.Base(c.tampered),
		withoutClock(quiet.DSSMany(t, both, c.trust)), withoutClock(loud.DSSMany(t, both, c.trust)))
}

// withoutClock drops the times DSS takes from the clock of its run (the validation time, and
// the best signature time when nothing proves an earlier one), so two runs compare equal.
func withoutClock(vs []DSSVerdict) []DSSVerdict {
	for i := range vs {
		for j := range vs[i].Signatures {
			if vs[i].Signatures[j].BestSignatureTime.Equal(vs[i].ValidationTime) {
				vs[i].Signatures[j].BestSignatureTime = time.Time{}
			}
		}
		vs[i].ValidationTime = time.Time{}
	}
	return vs
}

// fatalRecorder stands in for a test to see whether a helper fails it.
type fatalRecorder struct {
	testing.TB
	failed  bool
	message string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failed, r.message = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *fatalRecorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *fatalRecorder) Skipf(string, ...any) {
	panic("a judge that is missing must fail the test, not skip it")
}
func (r *fatalRecorder) Helper() {}

// TestMissingJudgeFails: a judge that is not installed fails the test; it never skips.
func TestMissingJudgeFails(t *testing.T) {
	c := files(t)
	missing := Judges{VeraPDFCmd: "verapdf-not-installed", PdfSigCmd: "pdfsig-not-installed",
		QPDFCmd: "qpdf-not-installed", PyHankoPython: "pyhanko-not-installed", DSSCmd: "dss-judge-not-installed"}
	for name, call := range map[string]func(testing.TB){
		"veraPDF": func(tb testing.TB) { missing.PDFA(tb, c.compliant) },
		"pdfsig":  func(tb testing.TB) { missing.PdfSig(tb, c.signed) },
		"qpdf":    func(tb testing.TB) { missing.QPDFCheck(tb, c.signed) },
		"pyHanko": func(tb testing.TB) { missing.PyHanko(tb, c.signed, PyHankoOptions{}) },
		"EU DSS":  func(tb testing.TB) { missing.DSS(tb, c.signed, c.trust) },
	} {
		r := &fatalRecorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); call(r) }()
		<-done
		if !r.failed || !strings.Contains(r.message, "not installed") {
			t.Errorf("%s missing: failed=%v %q", name, r.failed, r.message)
		}
	}
}
