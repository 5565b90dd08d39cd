// Package tsatest runs an RFC 3161 time-stamping authority on loopback for
// tests. Its tokens are those of the dev TSA (package devpki), signed by an
// authority made in memory, so a test exercises a real HTTP exchange and a
// real token without a network or an outside TSA. It can be told to
// misbehave: answer with a wrong nonce, send oversized tokens, fail with an
// HTTP status, hang, or keep a clock that is off.
package tsatest

import (
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
	"sync"
	"testing"
	"time"

	"scanstation/devpki"
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
	// ClockOffset is added to the machine's clock for the time the tokens
	// vouch for (genTime): a TSA whose clock is off, or, seen from the
	// station, a station whose clock is off by the opposite amount.
	ClockOffset time.Duration
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
	req, err := devpki.ParseTimeStampRequest(body)
	if err != nil {
		a.t.Errorf("the test TSA cannot read the request: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	// Stricter than a real TSA: the station must ask exactly this.
	if r.Header.Get("Content-Type") != "application/timestamp-query" || req.Version != 1 || !req.CertReq ||
		!req.HashAlgorithm.Algorithm.Equal(oidSHA256) || len(req.HashedMessage) != sha256.Size ||
		req.Nonce == nil {
		a.t.Errorf("the test TSA got an unexpected request: content type %q, %+v", r.Header.Get("Content-Type"), req)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if opt.OtherNonce {
		req.Nonce = new(big.Int).Add(req.Nonce, big.NewInt(1))
	}
	p := authority()
	stamper := devpki.TimeStamper{Key: p.key, Certs: []*x509.Certificate{p.cert, p.ca}, Policy: devpki.TestPolicy}
	for range opt.PadCerts {
		stamper.Certs = append(stamper.Certs, p.ca)
	}
	// The serial is unique enough for tests.
	resp, err := stamper.Grant(req, time.Now().Add(opt.ClockOffset), big.NewInt(time.Now().UnixNano()))
	if err != nil {
		a.t.Errorf("the test TSA cannot make a token: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

var oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

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
	key := mustEC()
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:    big.NewInt(8),
		Subject:         pkix.Name{CommonName: "Scanstation Test TSA", Country: []string{"VN"}},
		NotBefore:       from,
		NotAfter:        until,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{devpki.TimeStampingEKU()},
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
