package pades

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"scanstation/internal/judge"
)

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

	if rep := judge.PDFA(t, path); !rep.Compliant {
		t.Errorf("veraPDF says the certified file is not PDF/A-2u:\n%s", rep.Summary())
	}
	ca, tsaCA := pki.writeCA(t), writeTemp(t, "tsa-ca.pem", tsaPKI.caPEM)
	trust := judge.PyHankoOptions{Trust: []string{ca, tsaCA}}
	v := judge.PyHanko(t, path, trust)
	sig := pyhankoField(t, v, "Signature1")
	if len(v.Signatures) != 1 || !sig.Certification || sig.DocMDPLevel != "FILL_FORMS" {
		t.Errorf("pyhanko does not read one certification with FILL_FORMS: certification=%v\n%s", sig.Certification, v)
	}
	if !sig.BottomLine {
		t.Errorf("pyhanko does not judge the signature valid:\n%s", v)
	}
	if ts := sig.Timestamp; ts == nil || !ts.Intact || !ts.Valid || !ts.Trusted {
		t.Errorf("pyhanko does not see a sound timestamp token from a trusted TSA:\n%s", v)
	}
	if ps := judge.PdfSig(t, path); pdfsigValid(ps) != 1 {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}

	// DocMDP P=2 allows another signature; pyHanko's look at the update
	// says whether ours stays within what the certification allows.
	approved := sign(t, signed, pki.signer, Options{Reason: "Phê duyệt", Time: opt.Time.Add(time.Hour)})
	path2 := writeTemp(t, "approved.pdf", approved)
	v = judge.PyHanko(t, path2, trust)
	first, second := pyhankoField(t, v, "Signature1"), pyhankoField(t, v, "Signature2")
	for _, s := range v.Signatures {
		if !s.BottomLine || strings.Contains(s.Summary, "ILLEGAL") {
			t.Errorf("pyhanko does not accept %s after the certification:\n%s", s.Field, v)
		}
	}
	if !strings.Contains(first.Summary, "TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS") ||
		first.ModificationLevel != "FORM_FILLING" || first.DocMDPOK == nil || !*first.DocMDPOK {
		t.Errorf("pyhanko does not call the approval an acceptable form filling after the certification:\n%s", v)
	}
	if len(v.Signatures) != 2 || !first.Certification || first.DocMDPLevel != "FILL_FORMS" || second.Certification || second.DocMDPLevel != "" {
		t.Errorf("pyhanko reads the signatures as certification=%v %q and certification=%v %q:\n%s",
			first.Certification, first.DocMDPLevel, second.Certification, second.DocMDPLevel, v)
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
