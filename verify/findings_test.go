package verify_test

// Findings on a single signature must change its verdict the way EU DSS changes it (issue 13):
// no signing-certificate attribute, a SubFilter that is not PAdES's, a bad signature timestamp,
// a signer certificate not for signing, a signature algorithm that does not match the digest.
// Each file is a real signature by a dev CA signer whose CMS the test builds itself (the
// station's signer cannot make these mistakes), with a /DSS holding OCSP answers for every
// certificate, so that missing revocation data hides nothing. DSS judges each file in the
// same run; scanstation's indication and sub-indication must equal its.
//
// DSS 6.4's default policy is weaker than issue 13 asks, and its verdict is the one kept;
// scanstation reports each finding on the signature (Signature.Findings) instead:
//   - no signing-certificate(-v2) attribute: TOTAL_PASSED (format PDF-NOT-ETSI, a warning),
//     not INDETERMINATE NO_SIGNING_CERTIFICATE_FOUND; v1 (SHA-1) only: TOTAL_PASSED, warnings;
//   - SubFilter adbe.pkcs7.detached: TOTAL_PASSED (PKCS7-LT), not FORMAT_FAILURE;
//   - signer key usage keyEncipherment only: TOTAL_PASSED with a warning, not
//     SIG_CONSTRAINTS_FAILURE;
//   - signature algorithm sha384WithRSA over a SHA-256 digest algorithm: DSS checks with the
//     hash the algorithm names: TOTAL_PASSED when the signature was made with it,
//     TOTAL_FAILED SIG_CRYPTO_FAILURE when made with the digest algorithm's;
//   - a bad signature timestamp never fails the signature: it only proves no time. Shown with
//     a signer revoked a second after the timestamp: a wrong imprint or a token without any
//     signing-certificate attribute is no proof (INDETERMINATE REVOKED_NO_POE), while a TSA
//     certificate whose EKU is not critical, or a token whose signing-certificate-v2 names
//     another certificate, still proves the time (TOTAL_PASSED).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"scanstation/certify/pades"
	"scanstation/devpki"
	"scanstation/internal/judge"
	"scanstation/verify"
)

var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidTimestampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidTSTInfo        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSHA256         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAWith        = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {1, 2, 840, 113549, 1, 1, 11},
		crypto.SHA384: {1, 2, 840, 113549, 1, 1, 12},
		crypto.SHA512: {1, 2, 840, 113549, 1, 1, 13},
	}
	oidECDSAWith = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {1, 2, 840, 10045, 4, 3, 2},
		crypto.SHA384: {1, 2, 840, 10045, 4, 3, 3},
		crypto.SHA512: {1, 2, 840, 10045, 4, 3, 4},
	}
	oidHash = map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512}
)

// cms is a CMS SignedData the test builds field by field, to get each one wrong on purpose.
type cms struct {
	key   crypto.Signer
	cert  *x509.Certificate
	embed []*x509.Certificate

	eContentType asn1.ObjectIdentifier // id-data (detached) or id-ct-TSTInfo
	eContent     []byte                // nil: detached
	digest       []byte                // of the detached content; computed for eContent

	hash    crypto.Hash       // digestAlgorithm; SHA-256 when zero
	sigHash crypto.Hash       // the hash the signature is made with; hash when zero
	named   crypto.Hash       // the hash the signature algorithm names; sigHash when zero
	ess     int               // signing-certificate attribute: 2 (v2), 1 (v1, SHA-1), 0 none
	essCert *x509.Certificate // the certificate the attribute names; cert when nil

	// token, when set, makes the signature-time-stamp token for the signature value.
	token func(signature []byte) []byte
}

func attr(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}

func (c cms) build(t testing.TB) []byte {
	t.Helper()
	if c.hash == 0 {
		c.hash = crypto.SHA256
	}
	if c.sigHash == 0 {
		c.sigHash = c.hash
	}
	if c.named == 0 {
		c.named = c.sigHash
	}
	if c.eContent != nil {
		h := c.hash.New()
		h.Write(c.eContent)
		c.digest = h.Sum(nil)
	}
	attrs := [][]byte{
		attr(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(c.eContentType) }),
		attr(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(c.digest) }),
	}
	named := c.cert
	if c.essCert != nil {
		named = c.essCert
	}
	issuerSerial := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(named.RawIssuer) })
			})
			b.AddASN1BigInt(named.SerialNumber)
		})
	}
	switch c.ess {
	case 2:
		sum := sha256.Sum256(named.Raw)
		attrs = append(attrs, attr(oidSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(sum[:])
						issuerSerial(b)
					})
				})
			})
		}))
	case 1:
		sum := sha1.Sum(named.Raw)
		attrs = append(attrs, attr(oidSigningCertV1, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(sum[:])
						issuerSerial(b)
					})
				})
			})
		}))
	}
	slices.SortFunc(attrs, bytes.Compare)
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signedAttrs := set.BytesOrPanic()
	h := c.sigHash.New()
	h.Write(signedAttrs)
	sig, err := c.key.Sign(rand.Reader, h.Sum(nil), c.sigHash)
	if err != nil {
		t.Fatal(err)
	}
	var token []byte
	if c.token != nil {
		token = c.token(sig)
	}
	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if null {
				b.AddASN1NULL()
			}
		})
	}
	version := int64(1)
	if !c.eContentType.Equal(oidData) {
		version = 3
	}
	var ci cryptobyte.Builder
	ci.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, oidHash[c.hash], false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(c.eContentType)
					if c.eContent != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(c.eContent) })
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, e := range c.embed {
						b.AddBytes(e.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(c.cert.RawIssuer)
							b.AddASN1BigInt(c.cert.SerialNumber)
						})
						algID(b, oidHash[c.hash], false)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							for _, a := range attrs {
								b.AddBytes(a)
							}
						})
						if _, ok := c.key.Public().(*rsa.PublicKey); ok {
							algID(b, oidRSAWith[c.named], true)
						} else {
							algID(b, oidECDSAWith[c.named], false)
						}
						b.AddASN1OctetString(sig)
						if token != nil {
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(attr(oidTimestampToken, func(b *cryptobyte.Builder) { b.AddBytes(token) }))
							})
						}
					})
				})
			})
		})
	})
	return ci.BytesOrPanic()
}

// tstInfo is an RFC 3161 TSTInfo stamping imprint (SHA-256) at now.
func tstInfo(imprint []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(devpki.TestPolicy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
			b.AddASN1OctetString(imprint)
		})
		b.AddASN1BigInt(big.NewInt(time.Now().UnixNano()))
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(time.Now().UTC().Format("20060102150405Z")))
		})
	})
	return b.BytesOrPanic()
}

// findingsPKI is the dev PKI on loopback (CA, OCSP, TSA) and what the files are signed with.
type findingsPKI struct {
	t     *testing.T
	dir   string
	ca    *devpki.CA
	caPEM string
	tsa   *pades.TSA
	page  []byte
}

func startFindingsPKI(t *testing.T) *findingsPKI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, err := devpki.Create(filepath.Join(dir, "pki"), ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ca.Serve(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() { cancel(); <-done })
	p := &findingsPKI{t: t, dir: dir, ca: ca, caPEM: filepath.Join(ca.Dir, devpki.CAFile), tsa: &pades.TSA{URL: ca.URLs().TSA}}
	p.page = onePage(t)
	return p
}

// onePage is a small one-page PDF.
func onePage(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		b.WriteString(strconv.Itoa(len(offs)) + " 0 obj\n" + s + "\nendobj\n")
	}
	content := "BT /F1 24 Tf 72 720 Td (Findings) Tj ET"
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	obj("<< /Length " + strconv.Itoa(len(content)) + " >>\nstream\n" + content + "\nendstream")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	b.WriteString("xref\n0 " + strconv.Itoa(len(offs)+1) + "\n0000000000 65535 f \n")
	for _, o := range offs {
		b.WriteString(pad10(o) + " 00000 n \n")
	}
	b.WriteString("trailer\n<< /Size " + strconv.Itoa(len(offs)+1) + " /Root 1 0 R >>\nstartxref\n" + strconv.Itoa(xref) + "\n%%EOF\n")
	return b.Bytes()
}

func pad10(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 10 {
		s = "0" + s
	}
	return s
}

// signer issues a dev CA signer; tmpl, when set, is the certificate's template (key usage...).
func (p *findingsPKI) signer(name string, tmpl *x509.Certificate) pades.Signer {
	t := p.t
	t.Helper()
	if tmpl == nil {
		certFile, keyFile, err := p.ca.IssueSigner(name, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return pades.Signer{Key: readKey(t, keyFile), Chain: []*x509.Certificate{readCert(t, certFile), p.ca.Cert}}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Subject = pkix.Name{CommonName: name, Country: []string{"VN"}}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	cert, err := p.ca.Issue(tmpl, key.Public(), "")
	if err != nil {
		t.Fatal(err)
	}
	return pades.Signer{Key: key, Chain: []*x509.Certificate{cert, p.ca.Cert}}
}

// tsaSigner issues a timestamping certificate under the dev CA whose extended key usage is
// timeStamping but not marked critical, which RFC 3161 2.3 requires.
func (p *findingsPKI) nonCriticalTSA() pades.Signer {
	t := p.t
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.ca.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "TSA without a critical EKU (DEV)", Country: []string{"VN"}},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}, key.Public(), "")
	if err != nil {
		t.Fatal(err)
	}
	return pades.Signer{Key: key, Chain: []*x509.Certificate{cert, p.ca.Cert}}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readKey(t *testing.T, path string) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM key", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k.(crypto.Signer)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

// ocsp is the dev responder's answer on cert, which must have the status want.
func (p *findingsPKI) ocsp(cert *x509.Certificate, want int) []byte {
	t := p.t
	t.Helper()
	req, err := ocsp.CreateRequest(cert, p.ca.Cert, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(p.ca.URLs().OCSP, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatalf("asking the dev OCSP responder: %v", err)
	}
	der, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the dev OCSP responder answered %s: %v", resp.Status, err)
	}
	if r, err := ocsp.ParseResponse(der, p.ca.Cert); err != nil || r.Status != want {
		t.Fatalf("the dev OCSP responder does not give %q the status %d: %v", cert.Subject.CommonName, want, err)
	}
	return der
}

// stamp is a token from the dev TSA over data's SHA-256, over HTTP as the station asks.
func (p *findingsPKI) stamp(data []byte) []byte {
	p.t.Helper()
	sum := sha256.Sum256(data)
	token, err := p.tsa.Stamp(context.Background(), sum[:])
	if err != nil {
		p.t.Fatal(err)
	}
	return token
}

// ownToken is a token over data's SHA-256 signed by tsa, built here with ess as its
// signing-certificate attribute, naming essCert (tsa's own when nil).
func (p *findingsPKI) ownToken(tsa pades.Signer, data []byte, ess int, essCert *x509.Certificate) []byte {
	sum := sha256.Sum256(data)
	return cms{key: tsa.Key, cert: tsa.Chain[0], embed: tsa.Chain, eContentType: oidTSTInfo, eContent: tstInfo(sum[:]), ess: ess, essCert: essCert}.build(p.t)
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// odd says what a file's signature gets wrong.
type odd struct {
	signer    pades.Signer
	subFilter string // replaces ETSI.CAdES.detached (same length, so no offset moves)
	cms       cms    // key, cert, embed, digest and eContentType are filled in
	tsa       pades.Signer
	// revoked: the signer is revoked after the timestamp, and the /DSS holds the responder's
	// 'revoked' answer: only a timestamp the validator accepts proves the signature came first.
	revoked bool
}

// signed is a file's signed revision, before its /DSS.
type signed struct {
	name     string
	o        odd
	pdf      []byte
	contents []byte
}

// file signs the page as the station does (B-T, for the room a token needs), then replaces
// the signature with o's CMS over the same bytes.
func (p *findingsPKI) file(name string, o odd) signed {
	t := p.t
	t.Helper()
	var out bytes.Buffer
	if err := pades.Sign(&out, p.page, o.signer, pades.Options{TSA: p.tsa}); err != nil {
		t.Fatal(err)
	}
	pdf := out.Bytes()
	if o.subFilter != "" {
		const etsi = "/SubFilter/ETSI.CAdES.detached"
		i := bytes.LastIndex(pdf, []byte(etsi))
		if i < 0 || len(o.subFilter) != len("ETSI.CAdES.detached") {
			t.Fatalf("%s: cannot set the SubFilter %q", name, o.subFilter)
		}
		copy(pdf[i+len("/SubFilter/"):], o.subFilter)
	}
	m := byteRangeRE.FindAllSubmatch(pdf, -1)
	var br [4]int
	for i := range br {
		br[i], _ = strconv.Atoi(string(m[len(m)-1][i+1]))
	}
	c := o.cms
	c.key, c.cert, c.embed, c.eContentType = o.signer.Key, o.signer.Chain[0], o.signer.Chain, oidData
	hash := c.hash
	if hash == 0 {
		hash = crypto.SHA256
	}
	h := hash.New()
	h.Write(pdf[br[0] : br[0]+br[1]])
	h.Write(pdf[br[2] : br[2]+br[3]])
	c.digest = h.Sum(nil)
	der := c.build(t)
	gap := pdf[br[0]+br[1]+1 : br[2]-1]
	if 2*len(der) > len(gap) {
		t.Fatalf("%s: the CMS (%d bytes) does not fit /Contents", name, len(der))
	}
	enc := hex.EncodeToString(der)
	copy(gap, enc)
	for i := len(enc); i < len(gap); i++ {
		gap[i] = '0'
	}
	contents := make([]byte, len(gap)/2)
	hex.Decode(contents, gap)
	return signed{name: name, o: o, pdf: pdf, contents: contents}
}

// finish adds a /DSS with OCSP answers for the signer and the timestamp authority, as the
// responder gives them now, and writes the file.
func (p *findingsPKI) finish(s signed) string {
	t := p.t
	t.Helper()
	tsa := s.o.tsa
	if tsa.Chain == nil {
		tsa.Chain = []*x509.Certificate{p.ca.TSACert, p.ca.Cert}
	}
	vd, err := pades.Fetcher{}.Collect(context.Background(), tsa.Chain)
	if err != nil {
		t.Fatalf("%s: validation data: %v", s.name, err)
	}
	if s.o.revoked {
		vd.Certs = append(vd.Certs, s.o.signer.Chain[0])
		vd.OCSPs = append(vd.OCSPs, p.ocsp(s.o.signer.Chain[0], ocsp.Revoked))
	} else {
		signer, err := pades.Fetcher{}.Collect(context.Background(), s.o.signer.Chain)
		if err != nil {
			t.Fatalf("%s: validation data: %v", s.name, err)
		}
		vd.Certs, vd.OCSPs = append(vd.Certs, signer.Certs...), append(vd.OCSPs, signer.OCSPs...)
	}
	var out bytes.Buffer
	if err := pades.AddDSS(&out, s.pdf, vd, s.contents); err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	name := s.name
	path := filepath.Join(p.dir, name+".pdf")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindingsAgreeWithEUDSS(t *testing.T) {
	p := startFindingsPKI(t)
	agency := p.signer("so-noi-vu", nil)
	devTSA := pades.Signer{Key: p.ca.TSAKey, Chain: []*x509.Certificate{p.ca.TSACert, p.ca.Cert}}
	weakTSA := p.nonCriticalTSA()
	goodToken := func(sig []byte) []byte { return p.stamp(sig) }

	cases := []struct {
		name string
		odd  odd
		// What EU DSS 6.4 said when this test was written; checked again live, and it is
		// DSS's live verdict scanstation must give.
		ind, sub string
		// finding is in scanstation's findings on the signature ("": none asserted).
		finding string
	}{
		{"control", odd{signer: agency, cms: cms{ess: 2, token: goodToken}}, "TOTAL_PASSED", "", ""},
		{"control-own-token", odd{signer: agency, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(devTSA, sig, 2, nil) }}}, "TOTAL_PASSED", "", ""},
		{"no-signing-certificate", odd{signer: agency, cms: cms{ess: 0, token: goodToken}}, "TOTAL_PASSED", "", "signing-certificate-v2"},
		{"signing-certificate-v1", odd{signer: agency, cms: cms{ess: 1, token: goodToken}}, "TOTAL_PASSED", "", ""},
		{"adbe-pkcs7-detached", odd{signer: agency, subFilter: "adbe.pkcs7.detached", cms: cms{ess: 2, token: goodToken}}, "TOTAL_PASSED", "", "not PAdES"},
		{"timestamp-wrong-imprint", odd{signer: agency, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.stamp(append(sig, 0)) }}}, "TOTAL_PASSED", "", "different signature value"},
		{"timestamp-eku-not-critical", odd{signer: agency, tsa: weakTSA, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(weakTSA, sig, 2, nil) }}}, "TOTAL_PASSED", "", "critical"},
		{"timestamp-no-signing-certificate", odd{signer: agency, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(devTSA, sig, 0, nil) }}}, "TOTAL_PASSED", "", "names no signing certificate"},
		{"key-usage-encipherment", odd{signer: p.signer("encipherment-only", &x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment}), cms: cms{ess: 2, token: goodToken}}, "TOTAL_PASSED", "", "not for signing"},
		{"algorithm-not-digest", odd{signer: agency, cms: cms{ess: 2, sigHash: crypto.SHA384, token: goodToken}}, "TOTAL_PASSED", "", "names SHA-384 while the digest algorithm is SHA-256"},
		{"algorithm-named-not-used", odd{signer: agency, cms: cms{ess: 2, named: crypto.SHA384, token: goodToken}}, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE", ""},
		// Revoked after the timestamp: whether a bad token still proves the signature came first.
		{"revoked-control", odd{signer: p.signer("revoked-control", nil), revoked: true, cms: cms{ess: 2, token: goodToken}}, "TOTAL_PASSED", "", ""},
		{"revoked-timestamp-wrong-imprint", odd{signer: p.signer("revoked-imprint", nil), revoked: true, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.stamp(append(sig, 0)) }}}, "INDETERMINATE", "REVOKED_NO_POE", ""},
		{"revoked-timestamp-eku-not-critical", odd{signer: p.signer("revoked-eku", nil), revoked: true, tsa: weakTSA, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(weakTSA, sig, 2, nil) }}}, "TOTAL_PASSED", "", ""},
		{"revoked-timestamp-signing-certificate-v1", odd{signer: p.signer("revoked-ess-v1", nil), revoked: true, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(devTSA, sig, 1, nil) }}}, "TOTAL_PASSED", "", ""},
		{"revoked-timestamp-signing-certificate-other", odd{signer: p.signer("revoked-ess-other", nil), revoked: true, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(devTSA, sig, 2, p.ca.Cert) }}}, "TOTAL_PASSED", "", "names another certificate"},
		{"revoked-timestamp-no-signing-certificate", odd{signer: p.signer("revoked-no-ess", nil), revoked: true, cms: cms{ess: 2, token: func(sig []byte) []byte { return p.ownToken(devTSA, sig, 0, nil) }}}, "INDETERMINATE", "REVOKED_NO_POE", ""},
	}
	var files []signed
	for _, c := range cases {
		files = append(files, p.file(c.name, c.odd))
	}
	// Revoked a second after the last timestamp, and in the past when the files are judged.
	revokedAt := time.Now().Add(time.Second)
	for _, c := range cases {
		if c.odd.revoked {
			if err := p.ca.Revoke(c.odd.signer.Chain[0].SerialNumber, revokedAt, "keyCompromise"); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(time.Until(revokedAt.Add(time.Second)))
	var paths []string
	for _, f := range files {
		paths = append(paths, p.finish(f))
	}
	pemData, err := os.ReadFile(p.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AppendCertsFromPEM(pemData)
	dss := judge.DSSMany(t, paths, p.caPEM)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(dss[i].Signatures) != 1 {
				t.Fatalf("DSS finds %d signatures:\n%s", len(dss[i].Signatures), dss[i])
			}
			theirs := dss[i].Signatures[0]
			t.Logf("EU DSS: %s", dss[i])
			if theirs.Indication != c.ind || theirs.SubIndication != c.sub {
				t.Errorf("EU DSS now says %s (%s), not %s (%s) as when this test was written", theirs.Indication, theirs.SubIndication, c.ind, c.sub)
			}
			data, err := os.ReadFile(paths[i])
			if err != nil {
				t.Fatal(err)
			}
			r, err := verify.File(context.Background(), filepath.Base(paths[i]), data, verify.Options{Anchors: anchors})
			if err != nil {
				t.Fatal(err)
			}
			var sigs []verify.Signature
			for _, s := range r.Signatures {
				if s.Kind == "signature" {
					sigs = append(sigs, s)
				}
			}
			if len(sigs) != 1 {
				t.Fatalf("scanstation finds %d signatures", len(sigs))
			}
			s := sigs[0]
			if s.Indication != verify.Indication(theirs.Indication) || s.SubIndication != theirs.SubIndication {
				t.Errorf("scanstation %s (%s: %s), EU DSS %s (%s)", s.Indication, s.SubIndication, s.Why, theirs.Indication, theirs.SubIndication)
			}
			if c.finding != "" && !slices.ContainsFunc(s.Findings, func(f string) bool { return strings.Contains(f, c.finding) }) {
				t.Errorf("scanstation's findings %q do not say %q", s.Findings, c.finding)
			}
		})
	}
}
