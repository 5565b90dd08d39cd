// Package tsatest runs an RFC 3161 time-stamping authority on loopback for
// tests. It builds and signs its tokens itself (TSTInfo in a CMS SignedData,
// written with cryptobyte), so a test exercises a real HTTP exchange and a
// real token without a network or an outside TSA. It can be told to
// misbehave: answer with a wrong nonce, send oversized tokens, fail with an
// HTTP status, or hang.
package tsatest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Options says how the TSA answers. The zero value answers every request
// with a good token.
type Options struct {
	// OtherNonce answers with a nonce other than the one asked for.
	OtherNonce bool
	// PadCerts embeds this many extra copies of the CA certificate in each
	// token, to make it larger than a signer expects.
	PadCerts int
	// Fail answers every request with this HTTP status instead of a token;
	// 0 answers.
	Fail int
	// Hang holds every request without answering until the client gives up
	// or the test ends.
	Hang bool
}

// TSA is a running time-stamping authority.
type TSA struct {
	URL   string            // where to POST requests
	CA    *x509.Certificate // the CA that issued the TSA's certificate
	CAPEM []byte            // CA, PEM-encoded, for tools that take a trust file

	t    testing.TB
	stop chan struct{} // closed at cleanup, releasing hanging requests

	mu       sync.Mutex
	opt      Options
	requests int
}

// Start starts a TSA on 127.0.0.1. It is closed when the test ends.
func Start(t testing.TB, opt Options) *TSA {
	t.Helper()
	p := authority()
	a := &TSA{CA: p.ca, CAPEM: p.caPEM, t: t, stop: make(chan struct{}), opt: opt}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = srv.URL
	// Cleanups run last-in first-out: hanging handlers are released before
	// Close waits for them.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(a.stop) })
	return a
}

// Set changes how the TSA answers from the next request on, so a test can
// take it down and bring it back.
func (a *TSA) Set(opt Options) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.opt = opt
}

// Requests returns how many requests the TSA has received, answered or not.
func (a *TSA) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// CA returns the CA certificate of every TSA this package starts, and its
// PEM encoding. The authority is made once per test binary, so a test can
// set up trust before it starts a TSA.
func CA() (*x509.Certificate, []byte) {
	p := authority()
	return p.ca, p.caPEM
}

func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.requests++
	opt := a.opt
	a.mu.Unlock()

	if opt.Hang {
		// A hanging server notices the client leave only after reading the
		// body, which is done above.
		select {
		case <-r.Context().Done():
		case <-a.stop:
		}
		return
	}
	if opt.Fail != 0 {
		http.Error(w, http.StatusText(opt.Fail), opt.Fail)
		return
	}
	var req timeStampReq
	if rest, err := asn1.Unmarshal(body, &req); err != nil || len(rest) > 0 {
		a.t.Errorf("the test TSA cannot read the request: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != "application/timestamp-query" || req.Version != 1 || !req.CertReq ||
		!req.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) || len(req.MessageImprint.HashedMessage) != sha256.Size ||
		req.Nonce == nil {
		a.t.Errorf("the test TSA got an unexpected request: content type %q, %+v", r.Header.Get("Content-Type"), req)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	nonce := req.Nonce
	if opt.OtherNonce {
		nonce = new(big.Int).Add(nonce, big.NewInt(1))
	}
	resp, err := response(req.MessageImprint.HashedMessage, nonce, opt.PadCerts)
	if err != nil {
		a.t.Errorf("the test TSA cannot make a token: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// timeStampReq is RFC 3161 2.4.1's request, without policy or extensions.
type timeStampReq struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	Nonce   *big.Int `asn1:"optional"`
	CertReq bool     `asn1:"optional,default:false"`
}

// Object identifiers (RFC 5652, RFC 5035, RFC 5754, RFC 3161).
var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidPolicy            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1} // a private arc: tests only
)

// pki is the TSA's CA and its time-stamping key and certificate.
type pki struct {
	ca    *x509.Certificate
	caPEM []byte
	key   crypto.Signer
	cert  *x509.Certificate
}

// authority is made once per test binary. Its validity is fixed and wide so
// that checks do not depend on the machine's clock.
var authority = sync.OnceValue(func() pki {
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	caKey := mustEC()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "Scanstation Test TSA CA", Country: []string{"VN"}},
		NotBefore:             from,
		NotAfter:              until,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		panic(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		panic(err)
	}
	// RFC 3161 2.3: the TSA's certificate has exactly one extended key
	// usage, id-kp-timeStamping, and marks it critical. Go's template field
	// would not mark it critical, so the extension is written by hand.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		panic(err)
	}
	key := mustEC()
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:    big.NewInt(8),
		Subject:         pkix.Name{CommonName: "Scanstation Test TSA", Country: []string{"VN"}},
		NotBefore:       from,
		NotAfter:        until,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, ca, key.Public(), caKey)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		panic(err)
	}
	return pki{
		ca:    ca,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		key:   key,
		cert:  leaf,
	}
})

func mustEC() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// response builds a granted TimeStampResp for a SHA-256 imprint.
func response(imprint []byte, nonce *big.Int, padCerts int) ([]byte, error) {
	var tst cryptobyte.Builder
	tst.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(oidPolicy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // MessageImprint
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
			b.AddASN1OctetString(imprint)
		})
		b.AddASN1Int64(time.Now().UnixNano()) // serial, unique enough for tests
		// With fractions of a second, as many real TSAs send it.
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(time.Now().UTC().Format("20060102150405.999Z")))
		})
		b.AddASN1BigInt(nonce)
	})
	tstDER, err := tst.Bytes()
	if err != nil {
		return nil, err
	}
	p := authority()
	certs := []*x509.Certificate{p.cert, p.ca}
	for range padCerts {
		certs = append(certs, p.ca)
	}
	token, err := signedData(tstDER, p.key, certs)
	if err != nil {
		return nil, err
	}
	var resp cryptobyte.Builder
	resp.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) }) // PKIStatus granted
		b.AddBytes(token)
	})
	return resp.Bytes()
}

// signedData returns a ContentInfo holding a CMS SignedData (RFC 5652) that
// encapsulates tstInfo and is signed by key, whose certificate is certs[0].
// The signed attributes are those RFC 3161 2.4.2 asks for: content type,
// message digest and signing-certificate-v2 (RFC 5035).
func signedData(tstInfo []byte, key crypto.Signer, certs []*x509.Certificate) ([]byte, error) {
	cert := certs[0]
	digest := sha256.Sum256(tstInfo)
	certHash := sha256.Sum256(cert.Raw)
	attrs := [][]byte{
		attribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidTSTInfo) }),
		attribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) }),
		attribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2, SHA-256 by default
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								// directoryName [4] is explicit: Name is a CHOICE.
								b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
									b.AddBytes(cert.RawIssuer)
								})
							})
							b.AddASN1BigInt(cert.SerialNumber)
						})
					})
				})
			})
		}),
	}
	// DER orders the members of a SET OF by their encodings; the signature
	// is over the SET OF, the SignerInfo carries them under [0] IMPLICIT.
	slices.SortFunc(attrs, bytes.Compare)
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signedAttrs, err := set.Bytes()
	if err != nil {
		return nil, err
	}
	attrsDigest := sha256.Sum256(signedAttrs)
	sig, err := key.Sign(rand.Reader, attrsDigest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}

	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		// RFC 5754 and RFC 5758: SHA-2 and ECDSA identifiers go without parameters.
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
	}
	var ci cryptobyte.Builder
	ci.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(3) // RFC 5652 5.1: the content is not id-data
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, oidSHA256) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(oidTSTInfo)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(tstInfo)
					})
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algID(b, oidSHA256)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							for _, a := range attrs {
								b.AddBytes(a)
							}
						})
						algID(b, oidECDSAWithSHA256)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return ci.Bytes()
}

// attribute encodes one CMS Attribute with a single value.
func attribute(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}
