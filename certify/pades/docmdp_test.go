package pades

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pyhankoCertification asks pyHanko's library which signature certifies
// the document (the catalog's /Perms /DocMDP) and with which permission.
func pyhankoCertification(t testing.TB, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pyhanko")
	if err != nil {
		t.Fatal("pyhanko is not installed; run scripts/setup.sh")
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		t.Fatal(err)
	}
	script := `import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import read_certification_data
with open(sys.argv[1], "rb") as f:
    r = PdfFileReader(f)
    info = read_certification_data(r)
    for s in r.embedded_signatures:
        certifies = info is not None and s.sig_object.container_ref == info.author_sig.container_ref
        level = s.docmdp_level.name if s.docmdp_level else "-"
        print(s.field_name, "certification" if certifies else "approval", level)
`
	out, err := exec.Command(filepath.Join(filepath.Dir(bin), "python"), "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("pyhanko's reader: %v\n%s", err, out)
	}
	return string(out)
}

// TestStationFirstSignature signs a PDF/A the way the station signs a copy:
// visible mark, certification, timestamp. Then a second person approves.
func TestStationFirstSignature(t *testing.T) {
	pki, tsaPKI := rsaPKI(), testTSAPKI()
	srv := (&testTSA{t: t}).start()
	opt := vietnameseOptions()
	opt.Appearance = testAppearance(t, opt.Time)
	opt.Certify = true
	opt.TSA = &TSA{URL: srv.URL, Timeout: 10 * time.Second}
	before := time.Now().Add(-time.Second)
	signed := sign(t, pdfaPDF(t), pki.signer, opt)
	path := writeTemp(t, "certified.pdf", signed)

	roots := pki.roots()
	roots.AddCert(tsaPKI.ca)
	r := verifyOne(t, signed, VerifyOptions{Roots: roots})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 {
		t.Errorf("Verify: intact=%v whole=%v problems=%q", r.Intact, r.CoversWholeFile, r.Problems)
	}
	if !r.Certification || r.DocMDP != 2 {
		t.Errorf("Verify: certification=%v DocMDP=%d, want a certification with P=2", r.Certification, r.DocMDP)
	}
	if r.Level != "B-T" || !r.TimestampValid || r.Timestamp.Before(before) || r.Timestamp.After(time.Now()) ||
		r.TimestampSigner == nil || r.TimestampSigner.Subject.CommonName != "Scanstation Test TSA" {
		t.Errorf("Verify: level %q, timestamp %v (valid %v) by %v", r.Level, r.Timestamp, r.TimestampValid, r.TimestampSigner)
	}

	if out, _ := judge(t, "verapdf", "--flavour", "2u", "--format", "xml", path); !strings.Contains(out, `isCompliant="true"`) {
		t.Errorf("veraPDF says the certified file is not PDF/A-2u:\n%s", out)
	}
	if got := pyhankoCertification(t, path); got != "Signature1 certification FILL_FORMS\n" {
		t.Errorf("pyhanko reads the certification as %q", got)
	}
	ca, tsaCA := pki.writeCA(t), writeTemp(t, "tsa-ca.pem", tsaPKI.caPEM)
	out, _ := judge(t, "pyhanko", "sign", "validate", "--pretty-print", "--trust-replace", "--trust", ca, "--trust", tsaCA, path)
	for _, want := range []string{
		"The signature is judged VALID.",
		"Signature timestamp token: ",
		"The timestamp token is cryptographically sound.",
		"The TSA certificate is trusted.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pyhanko did not say %q:\n%s", want, out)
		}
	}
	if out, _ := judge(t, "pdfsig", path); !strings.Contains(out, "Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}

	// DocMDP P=2 allows another signature; pyHanko's look at the update
	// says whether ours stays within what the certification allows.
	approved := sign(t, signed, pki.signer, Options{Reason: "Phê duyệt", Time: opt.Time.Add(time.Hour)})
	path2 := writeTemp(t, "approved.pdf", approved)
	out, ok := judge(t, "pyhanko", "sign", "validate", "--trust-replace", "--trust", ca, "--trust", tsaCA, path2)
	if !ok || !strings.Contains(out, "TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS") ||
		!strings.Contains(out, "Signature2:") || strings.Contains(out, "ILLEGAL") {
		t.Errorf("pyhanko does not accept an approval signature after the certification:\n%s", out)
	}
	if got := pyhankoCertification(t, path2); got != "Signature1 certification FILL_FORMS\nSignature2 approval -\n" {
		t.Errorf("pyhanko reads the signatures as %q", got)
	}
	rep, err := Verify(approved, VerifyOptions{Roots: roots})
	if err != nil || len(rep.Signatures) != 2 {
		t.Fatalf("Verify: %v, %+v", err, rep)
	}
	if first, second := rep.Signatures[0], rep.Signatures[1]; !first.Certification || second.Certification || second.DocMDP != 0 || second.Level != "B-B" {
		t.Errorf("after approval: first certification=%v, second certification=%v DocMDP=%d level=%q", first.Certification, second.Certification, second.DocMDP, second.Level)
	}

	// A signed document can no longer be certified.
	var buf bytes.Buffer
	err = Sign(&buf, signed, pki.signer, Options{Certify: true})
	if err == nil || !strings.Contains(err.Error(), "already certified") || buf.Len() != 0 {
		t.Errorf("certifying a certified document: %v (wrote %d bytes)", err, buf.Len())
	}
}

func TestCertifyRefusesSignedDocument(t *testing.T) {
	once := sign(t, minimalPDF(0), rsaPKI().signer, Options{})
	var buf bytes.Buffer
	err := Sign(&buf, once, rsaPKI().signer, Options{Certify: true})
	if err == nil || !strings.Contains(err.Error(), `already has a signature (field "Signature1")`) || buf.Len() != 0 {
		t.Errorf("certifying a signed document: %v (wrote %d bytes)", err, buf.Len())
	}
}

func TestSignRefusesDocumentCertifiedWithoutChanges(t *testing.T) {
	certified := sign(t, minimalPDF(0), rsaPKI().signer, Options{Certify: true})
	// Turn P 2 into P 1 in the signed bytes; the signature breaks, but the
	// point is that the signer will not add to such a document.
	locked := bytes.Replace(certified, []byte("/P 2/V/1.2"), []byte("/P 1/V/1.2"), 1)
	if bytes.Equal(locked, certified) {
		t.Fatal("the certification's /P 2 was not found")
	}
	r := verifyOne(t, locked, VerifyOptions{})
	if !r.Certification || r.DocMDP != 1 {
		t.Errorf("Verify: certification=%v DocMDP=%d, want P=1", r.Certification, r.DocMDP)
	}
	err := Sign(&bytes.Buffer{}, locked, rsaPKI().signer, Options{})
	if err == nil || !strings.Contains(err.Error(), "no changes allowed") {
		t.Errorf("signing a document certified with no changes allowed: %v", err)
	}
}

func TestVerifyCertificationNeedsTheCatalog(t *testing.T) {
	certified := sign(t, minimalPDF(0), rsaPKI().signer, Options{Certify: true})
	// Rename the catalog's /Perms so it no longer names the signature.
	i := bytes.LastIndex(certified, []byte("/Perms "))
	spoiled := bytes.Clone(certified)
	copy(spoiled[i:], "/Xerms ")
	r := verifyOne(t, spoiled, VerifyOptions{})
	if r.Certification || !strings.Contains(strings.Join(r.Problems, " "), "does not name it as the certification") {
		t.Errorf("Verify: certification=%v problems=%q", r.Certification, r.Problems)
	}
}
