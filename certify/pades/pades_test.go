package pades

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"scanstation/internal/judge"
	"scanstation/internal/tsatest"
)

var hanoi = time.FixedZone("ICT", 7*3600)

// pyhankoField returns pyHanko's verdict on the signature in the named field, and fails
// the test when pyHanko sees no such signature.
func pyhankoField(t testing.TB, v judge.PyHankoVerdict, field string) judge.PyHankoSignature {
	t.Helper()
	s, err := v.Field(field)
	if err != nil {
		t.Fatalf("%v:\n%s", err, v)
	}
	return s
}

// pdfsigValid counts the signatures pdfsig calls valid.
func pdfsigValid(v judge.PdfSigVerdict) int {
	n := 0
	for _, s := range v.Signatures {
		if s.Valid {
			n++
		}
	}
	return n
}

// jsonStrings collects every string value in a decoded JSON document.
func jsonStrings(v any, into map[string]bool) map[string]bool {
	if into == nil {
		into = map[string]bool{}
	}
	switch v := v.(type) {
	case string:
		into[v] = true
	case []any:
		for _, e := range v {
			jsonStrings(e, into)
		}
	case map[string]any:
		for _, e := range v {
			jsonStrings(e, into)
		}
	}
	return into
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sign(t testing.TB, pdf []byte, s Signer, opt Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Sign(&out, pdf, s, opt); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

func verifyOne(t testing.TB, pdf []byte, opt VerifyOptions) SignatureReport {
	t.Helper()
	rep, err := Verify(pdf, opt)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(rep.Signatures) != 1 {
		t.Fatalf("Verify found %d signatures, want 1", len(rep.Signatures))
	}
	return rep.Signatures[0]
}

func vietnameseOptions() Options {
	return Options{
		Time:        time.Date(2025, 3, 5, 16, 43, 18, 0, hanoi),
		Name:        "Nguyễn Thị Hồng Nhung",
		Reason:      "Sao y bản chính",
		Location:    "Bà Rịa - Vũng Tàu",
		ContactInfo: "vanthu@sonoivu.example.vn",
	}
}

func TestSignKeepsOriginalBytesAndAddsOneUpdate(t *testing.T) {
	orig := minimalPDF(0)
	signed := sign(t, orig, rsaPKI().signer, vietnameseOptions())
	if !bytes.HasPrefix(signed, orig) {
		t.Fatal("the signed file does not start with the original bytes unchanged")
	}
	update := signed[len(orig):]
	if n := bytes.Count(update, []byte("%%EOF")); n != 1 {
		t.Errorf("the update has %d %%%%EOF markers, want exactly 1", n)
	}
	if n := bytes.Count(update, []byte("\nxref\n")); n != 1 {
		t.Errorf("the update has %d xref tables, want 1 (the original has a table)", n)
	}
	for _, want := range []string{
		"/Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached",
		"/M (D:20250305164318+07'00')",
		"/SigFlags 3",
		"/F 4/Rect [0 0 0 0]",
		"/BBox [0 0 0 0]",
		`(a\(b\)c\\d)`, // page 1's escaped literal string re-written intact
		"/Prev ",
		"/ID[<00112233445566778899AABBCCDDEEFF><",
	} {
		if !bytes.Contains(update, []byte(want)) {
			t.Errorf("the update lacks %q", want)
		}
	}
	// Without a TSA the placeholder holds the CMS made and nothing more: every byte kept is
	// two in each document (issue 15: a JPEG page grows at most 5%).
	if cms, unused := contentsUse(t, update); unused != 0 {
		t.Errorf("/Contents keeps %d bytes unused after a %d-byte CMS signed with RSA; want none", unused, cms)
	}
}

// contentsUse reads the first /Contents in pdf and returns how long the CMS (or token) in it
// is, by its DER header, and how many bytes of the placeholder are left after it.
func contentsUse(t testing.TB, pdf []byte) (used, unused int) {
	t.Helper()
	i := bytes.Index(pdf, []byte("/Contents <"))
	if i < 0 {
		t.Fatal("no /Contents")
	}
	i += len("/Contents <")
	j := bytes.IndexByte(pdf[i:], '>')
	der, err := hex.DecodeString(string(pdf[i : i+j]))
	if err != nil {
		t.Fatal(err)
	}
	in := cryptobyte.String(der)
	var cms cryptobyte.String
	if !in.ReadASN1Element(&cms, cbasn1.SEQUENCE) {
		t.Fatal("/Contents does not start with a DER SEQUENCE")
	}
	return len(cms), len(in)
}

func TestContentsSizedFromTheCMS(t *testing.T) {
	// An ECDSA signature's length varies by a byte or two; room is kept for the longest.
	signed := sign(t, minimalPDF(0), newTestPKI(mustEC()).signer, vietnameseOptions())
	if cms, unused := contentsUse(t, signed); unused > 3 {
		t.Errorf("/Contents keeps %d bytes unused after a %d-byte CMS signed with ECDSA P-256; want at most 3", unused, cms)
	}

	// With a TSA: the first token's length is not known, so room is kept for a large one; from
	// then on the room is the largest token seen plus tokenMargin.
	tsa := tsatest.Start(t, tsatest.Options{})
	opt := vietnameseOptions()
	opt.TSA = &TSA{URL: tsa.URL}
	pki := rsaPKI()
	sign(t, minimalPDF(0), pki.signer, opt)
	seen := opt.TSA.largestToken()
	if seen == 0 {
		t.Fatal("the TSA value did not note its token's length")
	}
	second := sign(t, minimalPDF(0), pki.signer, opt)
	// One authority's tokens differ by a few bytes (serial, nonce, genTime's fractions).
	if cms, unused := contentsUse(t, second); unused > tokenMargin+16 {
		t.Errorf("the second B-T signature keeps %d bytes unused after a %d-byte CMS (first token %d bytes); want at most %d", unused, cms, seen, tokenMargin+16)
	}
	if r := verifyOne(t, second, VerifyOptions{Roots: pki.roots()}); !r.Intact || r.Level != "B-T" {
		t.Errorf("the second B-T signature: intact=%v level=%q problems=%q", r.Intact, r.Level, r.Problems)
	}

	// A token larger than the room (the authority changed certificates) is an error to retry,
	// not a second signature by the key; the retry fits.
	opt.TSA.largest.Store(100)
	var out bytes.Buffer
	err := SignContext(context.Background(), &out, minimalPDF(0), pki.signer, opt)
	if !errors.Is(err, ErrTSAUnavailable) || !strings.Contains(err.Error(), "the next attempt keeps room for it") || out.Len() != 0 {
		t.Errorf("a token larger than the room: %v, %d bytes written", err, out.Len())
	}
	sign(t, minimalPDF(0), pki.signer, opt)

	// A document timestamp signs with no key of ours, so a token too large for the room is
	// asked for again with room for it.
	docTSA := tsatest.Start(t, tsatest.Options{})
	ts := &TSA{URL: docTSA.URL}
	ts.largest.Store(100)
	out.Reset()
	if err := AddDocumentTimestamp(context.Background(), &out, minimalPDF(0), ts); err != nil {
		t.Fatal(err)
	}
	if n := docTSA.Requests(); n != 2 {
		t.Errorf("a document timestamp with too little room asked the TSA %d times, want twice", n)
	}
	if token, unused := contentsUse(t, out.Bytes()); unused > tokenMargin+16 {
		t.Errorf("the document timestamp keeps %d bytes unused after its %d-byte token; want at most %d", unused, token, tokenMargin+16)
	}
}

func TestSignedPDFPassesOutsideValidators(t *testing.T) {
	pki := rsaPKI()
	signed := sign(t, minimalPDF(0), pki.signer, vietnameseOptions())
	path := writeTemp(t, "signed.pdf", signed)

	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 {
		t.Errorf("Verify: intact=%v whole=%v problems=%q", r.Intact, r.CoversWholeFile, r.Problems)
	}
	if r.Field != "Signature1" || r.SubFilter != "ETSI.CAdES.detached" {
		t.Errorf("Verify: field %q subfilter %q", r.Field, r.SubFilter)
	}
	if !r.Signer.Equal(pki.signer.Chain[0]) || len(r.Chain) != 2 {
		t.Errorf("Verify: signer %v with %d certificates", r.Signer.Subject, len(r.Chain))
	}
	want := vietnameseOptions()
	if !r.SigningTime.Equal(want.Time) || r.Name != want.Name || r.Reason != want.Reason ||
		r.Location != want.Location || r.ContactInfo != want.ContactInfo {
		t.Errorf("Verify read back time %v name %q reason %q location %q contact %q", r.SigningTime, r.Name, r.Reason, r.Location, r.ContactInfo)
	}

	ps := judge.PdfSig(t, path)
	if len(ps.Signatures) != 1 || !ps.AllValidWhole() {
		t.Errorf("pdfsig does not call the one signature valid over the whole document:\n%s", ps.Stdout)
	} else if s := ps.Signatures[0]; s.SubFilter != "ETSI.CAdES.detached" || s.SignerName != "Văn thư Sở Nội vụ" {
		t.Errorf("pdfsig reads subfilter %q and signer %q:\n%s", s.SubFilter, s.SignerName, ps.Stdout)
	}

	// pyHanko, with our CA as its only trust anchor, and its AdES validation (EN 319 102-1),
	// which also wants what PAdES asks of the CMS; a test CA has no revocation service to ask.
	ca := pki.writeCA(t)
	v := judge.PyHanko(t, path, judge.PyHankoOptions{Trust: []string{ca}, AdES: true})
	if len(v.Signatures) != 1 || v.DocumentTimestamps != 0 {
		t.Errorf("pyhanko sees %d signatures and %d document timestamps, want 1 and 0:\n%s", len(v.Signatures), v.DocumentTimestamps, v)
	}
	sig := pyhankoField(t, v, "Signature1")
	if sig.SubFilter != "/ETSI.CAdES.detached" {
		t.Errorf("pyhanko reads the subfilter as %q", sig.SubFilter)
	}
	if !sig.BottomLine || sig.Summary != "INTACT:TRUSTED,UNTOUCHED" {
		t.Errorf("pyhanko does not judge the signature valid, intact, trusted and untouched:\n%s", v)
	}
	if sig.Coverage != "ENTIRE_FILE" {
		t.Errorf("pyhanko says the signature covers %q, not the entire file", sig.Coverage)
	}
	if sig.AdES == nil || !sig.AdES.BottomLine || sig.AdES.Summary != "INTACT:TRUSTED,UNTOUCHED" {
		t.Errorf("pyhanko's AdES validation rejects the signature:\n%s", v)
	}

	// qpdf decodes every text string; the Vietnamese ones must come back.
	decoded := jsonStrings(judge.QPDFJSON(t, path, "--json-key=qpdf"), nil)
	for _, want := range []string{want.Name, want.Reason, want.Location} {
		if !decoded["u:"+want] {
			t.Errorf("qpdf does not read back %q", want)
		}
	}

	if q := judge.QPDFCheck(t, path); !q.Clean() {
		t.Errorf("qpdf --check found problems (exit %d):\n%s", q.ExitCode, q.Stdout)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	pki := rsaPKI()
	signed := sign(t, minimalPDF(0), pki.signer, vietnameseOptions())

	// Change one letter of page 1's content, inside the signed range.
	i := bytes.Index(signed, []byte("scanstation test page"))
	tampered := bytes.Clone(signed)
	tampered[i] = 'S'
	r := verifyOne(t, tampered, VerifyOptions{})
	if r.Intact {
		t.Error("Verify says a tampered document is intact")
	}
	if len(r.Problems) == 0 {
		t.Error("Verify names no problem for a tampered document")
	}
	if ps := judge.PdfSig(t, writeTemp(t, "tampered.pdf", tampered)); len(ps.Signatures) != 1 || pdfsigValid(ps) != 0 {
		t.Errorf("pdfsig does not call the tampered document's one signature invalid:\n%s", ps.Stdout)
	}
}

func TestVerifyNoticesBytesAppendedAfterSigning(t *testing.T) {
	signed := sign(t, minimalPDF(0), rsaPKI().signer, Options{})
	appended := append(bytes.Clone(signed), "% added later\n"...)
	r := verifyOne(t, appended, VerifyOptions{})
	if r.CoversWholeFile {
		t.Error("Verify says the signature covers the whole file after bytes were appended")
	}
	if !r.Intact {
		t.Errorf("appending must not break the signature itself: %q", r.Problems)
	}
	// Whether what follows is allowed is judged by comparing revisions (certify.Inspection);
	// Verify says where the signed part ends.
	if r.End != len(signed) {
		t.Errorf("Verify says the signed part ends at byte %d, want %d", r.End, len(signed))
	}
}

func TestVerifyWithWrongRootsReportsUntrusted(t *testing.T) {
	signed := sign(t, minimalPDF(0), rsaPKI().signer, Options{})
	r := verifyOne(t, signed, VerifyOptions{Roots: ecPKI().roots()}) // a different CA
	if !r.Intact {
		t.Errorf("an untrusted signer does not make the document changed: %q", r.Problems)
	}
	if !strings.Contains(strings.Join(r.Problems, " "), "not trusted") {
		t.Errorf("Verify should say the signer is not trusted: %q", r.Problems)
	}
}

func TestSignWithECKey(t *testing.T) {
	pki := ecPKI()
	signed := sign(t, minimalPDF(0), pki.signer, Options{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, hanoi)})
	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 {
		t.Errorf("Verify: intact=%v whole=%v problems=%q", r.Intact, r.CoversWholeFile, r.Problems)
	}
	if ps := judge.PdfSig(t, writeTemp(t, "ec.pdf", signed)); pdfsigValid(ps) != 1 {
		t.Errorf("pdfsig does not accept the ECDSA signature:\n%s", ps.Stdout)
	}
}

func TestSignTwiceKeepsFirstSignatureField(t *testing.T) {
	pki := rsaPKI()
	once := sign(t, minimalPDF(0), pki.signer, Options{Reason: "lần một"})
	twice := sign(t, once, pki.signer, Options{Reason: "lần hai"})
	rep, err := Verify(twice, VerifyOptions{Roots: pki.roots()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 2 {
		t.Fatalf("Verify found %d signatures, want 2", len(rep.Signatures))
	}
	first, second := rep.Signatures[0], rep.Signatures[1]
	if first.Field != "Signature1" || second.Field != "Signature2" {
		t.Errorf("fields %q and %q, want Signature1 and Signature2", first.Field, second.Field)
	}
	if !first.Intact || first.CoversWholeFile || first.Reason != "lần một" {
		t.Errorf("first signature: intact=%v whole=%v reason=%q", first.Intact, first.CoversWholeFile, first.Reason)
	}
	if !second.Intact || !second.CoversWholeFile || second.Reason != "lần hai" {
		t.Errorf("second signature: intact=%v whole=%v reason=%q problems=%q", second.Intact, second.CoversWholeFile, second.Reason, second.Problems)
	}
	path := writeTemp(t, "twice.pdf", twice)
	if ps := judge.PdfSig(t, path); pdfsigValid(ps) != 2 {
		t.Errorf("pdfsig should find two valid signatures:\n%s", ps.Stdout)
	}
	if q := judge.QPDFCheck(t, path); !q.Clean() {
		t.Errorf("qpdf --check after two signatures (exit %d):\n%s", q.ExitCode, q.Stdout)
	}
	var buf bytes.Buffer
	err = Sign(&buf, twice, pki.signer, Options{FieldName: "Signature2"})
	if err == nil || !strings.Contains(err.Error(), `already has a field named "Signature2"`) {
		t.Errorf("signing into a taken field name: %v", err)
	}
}

func TestSignPDFWithXrefStream(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	out := filepath.Join(dir, "objstm.pdf")
	if err := os.WriteFile(in, minimalPDF(0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := judge.Run(t, "qpdf", "--object-streams=generate", in, out); !ok {
		t.Fatal("qpdf could not make an xref-stream PDF")
	}
	orig, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pki := rsaPKI()
	signed := sign(t, orig, pki.signer, vietnameseOptions())
	update := signed[len(orig):]
	if !bytes.Contains(update, []byte("/Type/XRef")) || bytes.Contains(update, []byte("\nxref\n")) {
		t.Error("the update to an xref-stream PDF should carry an xref stream, not a table")
	}
	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 {
		t.Errorf("Verify: intact=%v whole=%v problems=%q", r.Intact, r.CoversWholeFile, r.Problems)
	}
	path := writeTemp(t, "signed.pdf", signed)
	if ps := judge.PdfSig(t, path); !ps.AllValidWhole() {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}
	if q := judge.QPDFCheck(t, path); !q.Clean() {
		t.Errorf("qpdf --check (exit %d):\n%s", q.ExitCode, q.Stdout)
	}
}

func TestSignedPDFAStaysPDFA(t *testing.T) {
	orig := writeTemp(t, "pdfa.pdf", pdfaPDF(t))
	// The hand-made input must itself pass, or the check below proves nothing.
	if rep := judge.PDFA(t, orig); !rep.Compliant {
		t.Fatalf("the test's own PDF/A-2u input is not compliant:\n%s", rep.Summary())
	}
	data, _ := os.ReadFile(orig)
	signed := writeTemp(t, "signed.pdf", sign(t, data, rsaPKI().signer, vietnameseOptions()))
	if rep := judge.PDFA(t, signed); !rep.Compliant {
		t.Errorf("veraPDF says the signed file is no longer PDF/A-2u:\n%s", rep.Summary())
	}
	if ps := judge.PdfSig(t, signed); pdfsigValid(ps) != 1 {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}
}

func TestSignRefusesKeyOfAnotherCertificate(t *testing.T) {
	s := rsaPKI().signer
	s.Key = ecPKI().signer.Key
	err := Sign(&bytes.Buffer{}, minimalPDF(0), s, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not belong to the certificate") {
		t.Errorf("Sign with a mismatched key: %v", err)
	}
}

func TestSignRefusesWhatIsNotAPDF(t *testing.T) {
	err := Sign(&bytes.Buffer{}, []byte("this is not a PDF"), rsaPKI().signer, Options{})
	if err == nil {
		t.Fatal("Sign accepted a file that is not a PDF")
	}
	if _, err := Verify([]byte("%PDF-1.7\ngarbage"), VerifyOptions{}); err == nil {
		t.Error("Verify accepted a file that is not a PDF")
	}
}

func TestVerifyUnsignedPDFFindsNoSignatures(t *testing.T) {
	rep, err := Verify(minimalPDF(0), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 0 {
		t.Errorf("found %d signatures in an unsigned PDF", len(rep.Signatures))
	}
}

func BenchmarkSign1MB(b *testing.B) {
	pdf := minimalPDF(1 << 20)
	s := rsaPKI().signer
	opt := vietnameseOptions()
	b.SetBytes(int64(len(pdf)))
	for b.Loop() {
		if err := Sign(&bytes.Buffer{}, pdf, s, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify1MB(b *testing.B) {
	var out bytes.Buffer
	if err := Sign(&out, minimalPDF(1<<20), rsaPKI().signer, vietnameseOptions()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(out.Len()))
	for b.Loop() {
		if _, err := Verify(out.Bytes(), VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVerifyDetectsChangedSignatureValue(t *testing.T) {
	signed := sign(t, minimalPDF(0), rsaPKI().signer, Options{})
	// The CMS ends with the signature octets; change the last of them. The
	// /Contents hex is outside the signed range, so only the signature
	// check can notice.
	at := bytes.Index(signed, []byte("/Contents <")) + len("/Contents <")
	end := at + bytes.IndexByte(signed[at:], '>')
	hexDigits := bytes.TrimRight(signed[at:end], "0")
	last := at + len(hexDigits) - 1
	if len(hexDigits)%2 == 1 {
		last++ // the final byte ended in a 0 digit that TrimRight took
	}
	changed := bytes.Clone(signed)
	if changed[last] == '1' {
		changed[last] = '2'
	} else {
		changed[last] = '1'
	}
	r := verifyOne(t, changed, VerifyOptions{})
	if r.Intact {
		t.Error("Verify says a signature with a changed value is intact")
	}
	if !strings.Contains(strings.Join(r.Problems, " "), "does not match the signer's certificate") {
		t.Errorf("Verify should blame the signature value: %q", r.Problems)
	}
	if ps := judge.PdfSig(t, writeTemp(t, "badsig.pdf", changed)); len(ps.Signatures) != 1 || pdfsigValid(ps) != 0 {
		t.Errorf("pdfsig does not call the changed signature invalid:\n%s", ps.Stdout)
	}
}

// A PDF with a form of its own: the AcroForm and page 1's /Annots are
// indirect objects, a text field is already there, and the file ends right
// after %%EOF with no newline.
func formPDF() []byte {
	p := newPDFBuilder()
	p.object("<</Type/Catalog/Pages 2 0 R/AcroForm 5 0 R>>")
	p.object("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	p.object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>/Contents 4 0 R/Annots 6 0 R>>")
	p.stream("", []byte(testPageContent))
	p.object("<</Fields[7 0 R]/DA (/Helv 0 Tf 0 g)>>")
	p.object("[7 0 R]")
	p.object("<</Type/Annot/Subtype/Widget/FT/Tx/T (Text1)/V (hello)/Rect[10 10 100 30]/F 4/P 3 0 R>>")
	return bytes.TrimSuffix(p.finish(), []byte("\n"))
}

func TestSignKeepsExistingFormAndAnnotations(t *testing.T) {
	pki := rsaPKI()
	orig := formPDF()
	signed := sign(t, orig, pki.signer, Options{})
	if !bytes.HasPrefix(signed, orig) {
		t.Fatal("the original bytes changed")
	}
	doc, err := readDocument(signed)
	if err != nil {
		t.Fatal(err)
	}
	form, err := doc.acroForm()
	if err != nil {
		t.Fatal(err)
	}
	fields, err := doc.fields(form)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fields {
		names = append(names, f.name+":"+f.ft)
	}
	if strings.Join(names, " ") != "Text1:Tx Signature1:Sig" {
		t.Errorf("fields after signing: %v", names)
	}
	if da := doc.text(form, "DA"); da != "/Helv 0 Tf 0 g" {
		t.Errorf("the form's /DA became %q", da)
	}
	pageRef, err := doc.xref.PageDictIndRef(1)
	if err != nil {
		t.Fatal(err)
	}
	page, err := doc.xref.DereferenceDict(*pageRef)
	if err != nil {
		t.Fatal(err)
	}
	annots, _ := doc.xref.DereferenceArray(page["Annots"])
	if len(annots) != 2 {
		t.Errorf("page 1 has %d annotations, want the text field's and the signature's", len(annots))
	}

	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 {
		t.Errorf("Verify: intact=%v whole=%v problems=%q", r.Intact, r.CoversWholeFile, r.Problems)
	}
	path := writeTemp(t, "form.pdf", signed)
	if ps := judge.PdfSig(t, path); !ps.AllValidWhole() {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}
	if q := judge.QPDFCheck(t, path); !q.Clean() {
		t.Errorf("qpdf --check (exit %d):\n%s", q.ExitCode, q.Stdout)
	}
}
