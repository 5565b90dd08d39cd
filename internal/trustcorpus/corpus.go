// Package trustcorpus builds the files issue 13 has the station's verifier judged on: good
// copies at every PAdES level, and the ways a copy goes bad or is legitimately changed after
// its certification, each made with real tools (the station's signer, the dev PKI's CA, OCSP
// responder and TSA over loopback, pyHanko's incremental writer) and each with what EU DSS,
// offline and trusting only the dev CA, says of it.
//
// Only tests import this package.
package trustcorpus

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
	"scanstation/devpki"
)

//go:embed pyhanko_ops.py
var pyhankoOps []byte

// Corpus is the built files and the anchor to judge them with.
type Corpus struct {
	Dir   string // where the files are
	CAPEM string // the dev CA certificate: the only trust anchor the verdicts assume
	Files []File // in the order of issue 13's list
}

// File is one file of the corpus.
type File struct {
	Name string // short, also the file name without ".pdf": "b-lta", "revoked-after-timestamp"
	Path string
	Made string // how it was made, in a line

	// DSS is what EU DSS says of each signature, in the file's order: DSS[0] is the station's
	// certification (or the signature standing in for it).
	DSS []Want

	// MarkOnly: DSS cannot see a certification mark, so its verdict on this file says nothing
	// about what makes it bad; scanstation must fail it on the mark alone.
	MarkOnly bool
}

// Want is what EU DSS says of a signature. Empty fields are not asserted.
type Want struct {
	Format        string // "PAdES-BASELINE-LT"
	Indication    string // TOTAL_PASSED, INDETERMINATE or TOTAL_FAILED
	SubIndication string // "" when there is none

	// Timestamps are the signature timestamp and the document timestamps over the signature,
	// as DSS lists them with it.
	Timestamps []Stamp

	// Errors and Warnings are keys of DSS's messages (BBB_XCV_ISCR_ANS) that must be among
	// those it gives, where they say why better than the sub-indication does.
	Errors, Warnings []string
}

// Stamp is what EU DSS says of a timestamp.
type Stamp struct {
	Type          string // SIGNATURE_TIMESTAMP or DOCUMENT_TIMESTAMP
	Indication    string // PASSED, INDETERMINATE or FAILED
	SubIndication string
}

// File returns the corpus file named name; it fails the test when there is none.
func (c Corpus) File(t testing.TB, name string) File {
	t.Helper()
	for _, f := range c.Files {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("the trust corpus has no file %q", name)
	return File{}
}

// Build makes the corpus in dir: a dev PKI in dir/pki served on a free loopback port for as
// long as the test runs, and the files. It needs pyhanko-python on PATH.
func Build(t testing.TB, dir string) Corpus {
	t.Helper()
	b := newBuilder(t, dir)
	return b.build()
}

type builder struct {
	t    testing.TB
	dir  string
	ca   *devpki.CA
	tsa  *pades.TSA
	zone *time.Location
	page []byte // the unsigned copy: a one-page PDF/A-2u scan
}

func newBuilder(t testing.TB, dir string) *builder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("trust corpus: a loopback port for the dev PKI: %v", err)
	}
	ca, err := devpki.Create(filepath.Join(dir, "pki"), ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Fatalf("trust corpus: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ca.Serve(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() { cancel(); <-done })
	zone, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		zone = time.FixedZone("ICT", 7*60*60)
	}
	b := &builder{t: t, dir: dir, ca: ca, tsa: &pades.TSA{URL: ca.URLs().TSA}, zone: zone}
	b.page = b.scan()
	return b
}

func (b *builder) build() Corpus {
	t := b.t
	t.Helper()
	agency := b.signer("so-noi-vu", -time.Hour, 365*24*time.Hour)
	c := Corpus{Dir: b.dir, CAPEM: filepath.Join(b.ca.Dir, devpki.CAFile)}
	add := func(name, made string, data []byte, dss ...Want) *File {
		path := filepath.Join(b.dir, name+".pdf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatalf("trust corpus: %v", err)
		}
		c.Files = append(c.Files, File{Name: name, Path: path, Made: made, DSS: dss})
		return &c.Files[len(c.Files)-1]
	}
	const (
		b_, t_, lt_, lta_ = "PAdES-BASELINE-B", "PAdES-BASELINE-T", "PAdES-BASELINE-LT", "PAdES-BASELINE-LTA"
		passed            = "TOTAL_PASSED"
	)
	sigTS := Stamp{"SIGNATURE_TIMESTAMP", "PASSED", ""}
	docTS := Stamp{"DOCUMENT_TIMESTAMP", "PASSED", ""}
	// Offline, DSS cannot learn the status of a certificate whose file carries none, and its
	// default policy wants it for every certificate below the anchor.
	noStatus := Want{Indication: "INDETERMINATE", SubIndication: "CERTIFICATE_CHAIN_GENERAL_FAILURE", Errors: []string{"BBB_XCV_IRDPFC_ANS"}}
	noStatusTS := Stamp{"SIGNATURE_TIMESTAMP", "INDETERMINATE", "CERTIFICATE_CHAIN_GENERAL_FAILURE"}
	with := func(w Want, format string, ts ...Stamp) Want {
		w.Format, w.Timestamps = format, ts
		return w
	}

	// The revoked-after-timestamp file is signed first, so that its revocation, a few seconds
	// after the timestamp, lies in the past by the time the rest is built.
	late := b.signer("revoked-later", -time.Hour, 365*24*time.Hour)
	lateLT := b.lt(b.sign(late, pades.Options{TSA: b.tsa}))
	lateRevoked := time.Now().Add(2 * time.Second)

	add("b-b", "station signer (dev CA), certified P=2, mark showing /M; no timestamp",
		b.sign(agency, pades.Options{}), with(noStatus, b_))
	bt := b.sign(agency, pades.Options{TSA: b.tsa})
	add("b-t", "as b-b, with a signature timestamp from the dev TSA", bt, with(noStatus, t_, noStatusTS))
	lt := b.lt(bt)
	add("b-lt", "b-t + the station's /DSS: OCSP for the signer and the TSA (pades.AddDSS)", lt,
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}})
	add("b-lta", "b-lt + the station's document timestamp (pades.AddDocumentTimestamp)", b.docTimestamp(lt),
		Want{Format: lta_, Indication: passed, Timestamps: []Stamp{sigTS, docTS}})

	add("flipped-byte", "b-lt with one bit flipped in its first stream, inside the signed range", flip(t, lt),
		Want{Format: lt_, Indication: "TOTAL_FAILED", SubIndication: "HASH_FAILURE", Errors: []string{"BBB_CV_IRDOI_ANS"}, Timestamps: []Stamp{sigTS}})

	// DSS's default policy only warns of a change DocMDP forbids: the certification itself
	// stays TOTAL_PASSED. We expected a failure; DSS is the judge, so its answer is the one
	// kept, with the warnings that say what it saw. Under a policy that enforces DocMDP
	// (internal/judge/dss/strict-policy.xml) DSS fails it, as scanstation does.
	impostor := b.selfSigned("impostor", agency.Chain[0].RawSubject)
	add("docmdp-violation", "b-lt, then pyHanko: a white box over the scan and an approval signature in one revision, by a self-signed key whose subject copies the agency's",
		b.pyhanko(lt, "violate", impostor.key, impostor.cert),
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS},
			Warnings: []string{"BBB_FC_ISVADMDPD_ANS", "BBB_FC_IVDBSFR_ANS", "BBB_FC_DSCNUOM_ANS"}},
		Want{Format: b_, Indication: "INDETERMINATE", SubIndication: "NO_CERTIFICATE_CHAIN_FOUND", Errors: []string{"BBB_XCV_CCCBB_SIG_ANS"}})

	stranger := b.selfSigned("stranger", nil)
	add("untrusted-self-signed", "station signer with a self-signed certificate, certified, with a signature timestamp (B-T)",
		b.sign(stranger.signer, pades.Options{TSA: b.tsa}),
		Want{Format: t_, Indication: "INDETERMINATE", SubIndication: "NO_CERTIFICATE_CHAIN_FOUND", Errors: []string{"BBB_XCV_CCCBB_SIG_ANS"}, Timestamps: []Stamp{noStatusTS}})

	// We expected DSS to name the expiry (OUT_OF_BOUNDS_...); it stops at the missing status
	// data first, as for b-b. Given an OCSP 'good' made today it still stops there: data made
	// after a certificate expired says nothing about it (BBB_XCV_REVOC_HAS_CERT_INFO_ANS).
	expired := b.signer("expired", -3*365*24*time.Hour, -365*24*time.Hour)
	add("expired-backdated", "dev CA signer whose certificate expired a year ago; /M and mark set two years back; no timestamp",
		b.sign(expired, pades.Options{Time: time.Now().AddDate(-2, 0, 0)}), with(noStatus, b_))

	revoked := b.signer("revoked", -2*time.Hour, 365*24*time.Hour)
	if err := b.ca.Revoke(revoked.Chain[0].SerialNumber, time.Now().Add(-time.Hour), "keyCompromise"); err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	add("revoked-before-signing", "dev CA signer revoked an hour before signing B-T; /DSS with the responder's 'revoked' OCSP answer and the TSA's 'good'",
		b.withStatus(b.sign(revoked, pades.Options{TSA: b.tsa}), revoked.Chain[0], ocsp.Revoked),
		Want{Format: lt_, Indication: "INDETERMINATE", SubIndication: "REVOKED_NO_POE", Errors: []string{"BBB_XCV_ISCR_ANS", "ADEST_IRTPTBST_ANS"}, Timestamps: []Stamp{sigTS}})

	add("document-timestamp-added", "b-lt, then pyHanko: a document timestamp from the dev TSA",
		b.pyhanko(lt, "timestamp", b.tsa.URL),
		Want{Format: lta_, Indication: passed, Timestamps: []Stamp{sigTS, docTS}})

	// The mark shows /M, as the station's does, but both are 10 minutes before the TSA's
	// genTime: DSS takes the timestamp's time and passes it.
	add("mark-time-off", "as b-lt, with /M and the mark's time 10 minutes before the TSA's genTime",
		b.lt(b.signMark(agency, pades.Options{TSA: b.tsa}, -10*time.Minute)),
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}}).MarkOnly = true

	clerk := b.signerFiles("clerk", -time.Hour, 365*24*time.Hour)
	add("approval-after-certification", "b-lt, then pyHanko: an approval signature by another dev CA signer, timestamped, with its validation data",
		b.pyhanko(lt, "approve", clerk.key, clerk.cert, c.CAPEM, b.tsa.URL),
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}},
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}})

	var dssArgs []string
	for i, der := range b.collect(bt).OCSPs {
		p := filepath.Join(b.dir, "pki", fmt.Sprintf("ocsp-%d.der", i))
		if err := os.WriteFile(p, der, 0o644); err != nil {
			t.Fatalf("trust corpus: %v", err)
		}
		dssArgs = append(dssArgs, p)
	}
	dssArgs = append(dssArgs, filepath.Join(b.ca.Dir, devpki.TSACertFile), c.CAPEM, b.pem("agency", agency.Chain[0]))
	add("dss-added-after-certification", "b-t, then pyHanko: a /DSS with the signer's and the TSA's certificates and OCSP answers",
		b.pyhanko(bt, "dss", dssArgs...),
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}})

	// Revoked a few seconds after its timestamp; the responder's 'revoked' answer joins the
	// 'good' one in the /DSS, and the timestamp proves the signature existed before.
	if err := b.ca.Revoke(late.Chain[0].SerialNumber, lateRevoked, "keyCompromise"); err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	time.Sleep(time.Until(lateRevoked.Add(time.Second)))
	add("revoked-after-timestamp", "dev CA signer, B-LT, revoked a few seconds after its timestamp; the responder's 'revoked' OCSP answer then added to the /DSS",
		b.withStatus(lateLT, late.Chain[0], ocsp.Revoked),
		Want{Format: lt_, Indication: passed, Timestamps: []Stamp{sigTS}})
	return c
}

// scan is a one-page PDF/A-2u like the station's copy: an A4-ish page with lines of "ink".
func (b *builder) scan() []byte {
	t := b.t
	t.Helper()
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatalf("trust corpus: the sRGB profile PDF/A needs: %v", err)
	}
	const w, h = 100, 141
	px := bytes.Repeat([]byte{250, 250, 245}, w*h)
	for y := 40; y < 120; y += 6 {
		for x := 10; x < 90; x++ {
			copy(px[(y*w+x)*3:], []byte{20, 20, 20})
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(px)
	zw.Close()
	// The conversion record the station writes: without it scanstation verify finds the copy
	// wanting for a reason that has nothing to do with its signatures.
	record := certify.Record{
		Agency:       "Sở Nội vụ (DEV)",
		Station:      "trustcorpus",
		Operator:     "trustcorpus builder",
		ConvertedAt:  time.Now().In(b.zone).Truncate(time.Second),
		SourceName:   "scan-0001.tif",
		SourceSHA256: fmt.Sprintf("%x", sha256.Sum256(px)),
	}
	var out bytes.Buffer
	err = pdfa.Write(&out, &pdfa.Document{
		ExtraXMP:  []pdfa.XMPSchema{record.XMP()},
		Pages:     []pdfa.Page{{Image: pdfa.Image{Width: w, Height: h, DPIX: 12, DPIY: 12, ColorSpace: pdfa.RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: z.Bytes()}}},
		Title:     "Bản sao điện tử",
		Created:   time.Now(),
		OutputICC: icc,
	})
	if err != nil {
		t.Fatalf("trust corpus: building the copy: %v", err)
	}
	return out.Bytes()
}

// sign certifies the copy as the station does: DocMDP P=2 and the certification mark showing
// the signing time.
func (b *builder) sign(s pades.Signer, opt pades.Options) []byte {
	b.t.Helper()
	return b.signMark(s, opt, 0)
}

// signMark is sign with the signing time (/M, and the mark that shows it) moved by skew from
// now, or set to opt.Time when given.
func (b *builder) signMark(s pades.Signer, opt pades.Options, skew time.Duration) []byte {
	t := b.t
	t.Helper()
	if opt.Time.IsZero() {
		opt.Time = time.Now().Add(skew)
	}
	// PDF dates carry whole seconds; the mark shows the same time as /M.
	opt.Time = opt.Time.In(b.zone).Truncate(time.Second)
	look, _, err := mark.Build(mark.Page{WidthPt: 600, HeightPt: 846}, mark.Options{
		Agency: s.Chain[0].Subject.CommonName,
		Time:   opt.Time,
		Zone:   b.zone,
	})
	if err != nil {
		t.Fatalf("trust corpus: the certification mark: %v", err)
	}
	opt.Appearance, opt.Certify, opt.Reason = look, true, "Sao y bản chính"
	var out bytes.Buffer
	if err := pades.Sign(&out, b.page, s, opt); err != nil {
		t.Fatalf("trust corpus: signing as %s: %v", s.Chain[0].Subject.CommonName, err)
	}
	return out.Bytes()
}

// collect fetches the dev PKI's OCSP answers for the chains of signed's last signature.
func (b *builder) collect(signed []byte) *pades.ValidationData {
	t := b.t
	t.Helper()
	chains, _, err := pades.Chains(signed, []*x509.Certificate{b.ca.Cert})
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	vd, err := pades.Fetcher{NotBefore: time.Now()}.Collect(context.Background(), chains...)
	if err != nil {
		t.Fatalf("trust corpus: validation data: %v", err)
	}
	return vd
}

// lt adds the station's /DSS to a B-T file, as the certifier does.
func (b *builder) lt(bt []byte) []byte {
	t := b.t
	t.Helper()
	_, contents, err := pades.Chains(bt, []*x509.Certificate{b.ca.Cert})
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	var out bytes.Buffer
	if err := pades.AddDSS(&out, bt, b.collect(bt), contents); err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	return out.Bytes()
}

func (b *builder) docTimestamp(pdf []byte) []byte {
	b.t.Helper()
	var out bytes.Buffer
	if err := pades.AddDocumentTimestamp(context.Background(), &out, pdf, b.tsa); err != nil {
		b.t.Fatalf("trust corpus: %v", err)
	}
	return out.Bytes()
}

// withStatus adds to the /DSS of signed the responder's answer on cert, which must be want
// (pades.Fetcher refuses a revoked certificate), with the TSA's and the certificates.
func (b *builder) withStatus(signed []byte, cert *x509.Certificate, want int) []byte {
	t := b.t
	t.Helper()
	req, err := ocsp.CreateRequest(cert, b.ca.Cert, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	resp, err := http.Post(b.ca.URLs().OCSP, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatalf("trust corpus: asking the dev OCSP responder: %v", err)
	}
	der, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("trust corpus: the dev OCSP responder answered %s: %v", resp.Status, err)
	}
	if r, err := ocsp.ParseResponse(der, b.ca.Cert); err != nil || r.Status != want {
		t.Fatalf("trust corpus: the dev OCSP responder does not give %q the status %d: %v", cert.Subject.CommonName, want, err)
	}
	tsa, err := pades.Fetcher{NotBefore: time.Now()}.Collect(context.Background(), []*x509.Certificate{b.ca.TSACert, b.ca.Cert})
	if err != nil {
		t.Fatalf("trust corpus: the TSA's validation data: %v", err)
	}
	vd := &pades.ValidationData{Certs: append([]*x509.Certificate{cert}, tsa.Certs...), OCSPs: append([][]byte{der}, tsa.OCSPs...)}
	_, contents, err := pades.Chains(signed, []*x509.Certificate{b.ca.Cert})
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	var out bytes.Buffer
	if err := pades.AddDSS(&out, signed, vd, contents); err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	return out.Bytes()
}

// keyFiles is a signer with its key and certificate in PEM files, for pyHanko.
type keyFiles struct {
	signer    pades.Signer
	key, cert string
}

// signer issues a signer under the dev CA, valid from now+from to now+to.
func (b *builder) signer(name string, from, to time.Duration) pades.Signer {
	b.t.Helper()
	return b.signerFiles(name, from, to).signer
}

func (b *builder) signerFiles(name string, from, to time.Duration) keyFiles {
	t := b.t
	t.Helper()
	certFile, keyFile, err := b.ca.IssueSigner(name, time.Now().Add(from), time.Now().Add(to))
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	cert := readPEM(t, certFile)
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		t.Fatalf("trust corpus: %s: %v", certFile, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(readPEM(t, keyFile))
	if err != nil {
		t.Fatalf("trust corpus: %s: %v", keyFile, err)
	}
	return keyFiles{pades.Signer{Key: k.(crypto.Signer), Chain: []*x509.Certificate{c, b.ca.Cert}}, keyFile, certFile}
}

// selfSigned makes a self-signed signing certificate, with the given raw subject (nil: one of
// its own), and writes its key and certificate for pyHanko.
func (b *builder) selfSigned(name string, rawSubject []byte) keyFiles {
	t := b.t
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Cơ quan không được tin cậy (" + name + ")", Country: []string{"VN"}},
		RawSubject:   rawSubject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("trust corpus: a self-signed certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(b.dir, "pki", name+"-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	return keyFiles{pades.Signer{Key: key, Chain: []*x509.Certificate{cert}}, keyFile, b.pem(name, cert)}
}

// pem writes cert to the PKI folder and returns the file's path.
func (b *builder) pem(name string, cert *x509.Certificate) string {
	p := filepath.Join(b.dir, "pki", name+"-only-cert.pem")
	if err := os.WriteFile(p, devpki.PEMCertificates(cert), 0o644); err != nil {
		b.t.Fatalf("trust corpus: %v", err)
	}
	return p
}

func readPEM(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("trust corpus: %s holds no PEM block", path)
	}
	return block.Bytes
}

// pyhanko runs one operation of pyhanko_ops.py on pdf and returns the result, which must be
// pdf and its incremental updates.
func (b *builder) pyhanko(pdf []byte, op string, args ...string) []byte {
	t := b.t
	t.Helper()
	work, err := os.MkdirTemp(b.dir, "pyhanko-")
	if err != nil {
		t.Fatalf("trust corpus: %v", err)
	}
	defer os.RemoveAll(work)
	script, in, out := filepath.Join(work, "ops.py"), filepath.Join(work, "in.pdf"), filepath.Join(work, "out.pdf")
	for p, data := range map[string][]byte{script: pyhankoOps, in: pdf} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatalf("trust corpus: %v", err)
		}
	}
	if _, err := exec.LookPath("pyhanko-python"); err != nil {
		t.Fatalf("trust corpus: pyhanko-python is not on PATH (scripts/setup.sh installs it under /opt/scanstation-tools/bin)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("pyhanko-python", append(append([]string{script, op}, args...), in, out)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		t.Fatalf("trust corpus: pyHanko %s: %v\n%s", op, err, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	result, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("trust corpus: pyHanko %s wrote nothing: %v", op, err)
	}
	if !bytes.HasPrefix(result, pdf) {
		t.Fatalf("trust corpus: pyHanko %s did not append an incremental update", op)
	}
	return result
}

// flip returns signed with one bit flipped in the first stream's data: the page image, which
// the first signature covers.
func flip(t testing.TB, signed []byte) []byte {
	t.Helper()
	out := bytes.Clone(signed)
	i := bytes.Index(out, []byte("stream\n"))
	if i < 0 {
		t.Fatal("trust corpus: the signed copy has no stream to flip a byte in")
	}
	out[i+len("stream\n")+20] ^= 0x01
	return out
}
