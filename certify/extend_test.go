package certify_test

// A copy signed while the OCSP responder or the TSA is away is kept at the level it reached
// and finished later by Extend, without the key: the dev PKI's OCSP responder, CRL and TSA
// served over loopback HTTP, each of which can be made unreachable (the connection is closed
// unanswered, as by a server that died).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"scanstation/certify"
	"scanstation/certify/pades"
	"scanstation/devpki"
)

// gate serves the dev PKI while open; closed, it drops every connection unanswered.
type gate struct {
	open    atomic.Bool
	handler http.Handler
	asked   atomic.Int64 // requests that reached it, open or not
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.asked.Add(1)
	if g.open.Load() {
		g.handler.ServeHTTP(w, r)
		return
	}
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
}

func serveGate(t *testing.T, ln net.Listener, g *gate) {
	t.Helper()
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// splitPKI starts a dev PKI whose OCSP responder and CRL (at the address its certificates
// name) and TSA (at another address) are each behind a gate, both open.
func splitPKI(t *testing.T) (ca *devpki.CA, revocation, tsa *gate, tsaURL string) {
	t.Helper()
	named, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ca, err = devpki.Create(t.TempDir(), named.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(ioDiscard{}, nil))
	revocation, tsa = &gate{handler: ca.Handler(log)}, &gate{handler: ca.Handler(log)}
	revocation.open.Store(true)
	tsa.open.Store(true)
	serveGate(t, named, revocation)
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveGate(t, other, tsa)
	return ca, revocation, tsa, "http://" + other.Addr().String() + devpki.TSAPath
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }

// devKey issues a signing key under the dev CA, its certificate naming the CA's OCSP and CRL.
func devKey(t *testing.T, ca *devpki.CA) certify.Key {
	t.Helper()
	certFile, keyFile, err := ca.IssueSigner("so-noi-vu", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			key = k
		} else {
			t.Fatal(err)
		}
	}
	return certify.Key{Signer: key.(crypto.Signer), Chain: []*x509.Certificate{cert, ca.Cert}}
}

// countingSigner counts the signatures the key makes.
type countingSigner struct {
	crypto.Signer
	n atomic.Int64
}

func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

// shape says what signatures pdf carries, in the order of its fields.
func shape(t *testing.T, pdf []byte) (signatures, documentTimestamps int) {
	t.Helper()
	report, err := pades.Verify(pdf, pades.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range report.Signatures {
		if !s.Intact {
			t.Errorf("%s does not check out: %q", s.Field, s.Problems)
		}
		if s.DocumentTimestamp {
			documentTimestamps++
		} else {
			signatures++
		}
	}
	return signatures, documentTimestamps
}

func TestSignKeepsTheCopyWhenOCSPIsAwayAndExtendFinishesIt(t *testing.T) {
	ca, revocation, tsa, tsaURL := splitPKI(t)
	c := certifier(t)
	c.TSA = &pades.TSA{URL: tsaURL, Timeout: 10 * time.Second}
	c.LongTerm = "B-LTA"
	c.Fetcher = pades.Fetcher{Timeout: 10 * time.Second}
	c.Now = nil // the TSA's clock is the machine's
	key := devKey(t, ca)
	counter := &countingSigner{Signer: key.Signer}
	key.Signer = counter
	built := build(t, c, 0, goodRecord())
	page1 := certify.Page1{WidthPt: ptW(), HeightPt: ptH()}
	ctx := context.Background()

	revocation.open.Store(false)
	signed, err := c.Sign(ctx, built, key, page1, false)
	var short *certify.LevelNotReachedError
	if !errors.As(err, &short) || !errors.Is(err, certify.ErrValidationDataUnavailable) {
		t.Fatalf("Sign with the OCSP responder away: %v, want a *LevelNotReachedError wrapping ErrValidationDataUnavailable", err)
	}
	if short.Reached != "B-T" || short.Want != "B-LTA" || signed == nil || signed.Level != "B-T" || signed.SHA256 == "" || signed.Signer == "" {
		t.Fatalf("Sign returned %+v with %v; want the signed B-T copy", signed, err)
	}
	if !strings.Contains(short.Waits(), "validation data") {
		t.Errorf("what the copy waits for: %q", short.Waits())
	}
	if n, d := shape(t, signed.PDF); n != 1 || d != 0 {
		t.Errorf("the B-T copy has %d signatures and %d document timestamps, want 1 and 0", n, d)
	}
	bt := signed.PDF

	// Still away: the copy stays as it is.
	again, err := c.Extend(ctx, bt, nil)
	if !errors.As(err, &short) || short.Reached != "B-T" || again == nil || !bytes.Equal(again.PDF, bt) {
		t.Fatalf("Extend with the OCSP responder still away: level %v, %v; want the B-T copy unchanged and a *LevelNotReachedError", again, err)
	}

	// The responder is back and the TSA away: B-LT, waiting for its document timestamp.
	revocation.open.Store(true)
	tsa.open.Store(false)
	lt, err := c.Extend(ctx, bt, nil)
	if !errors.As(err, &short) || !errors.Is(err, certify.ErrTSAUnavailable) || short.Reached != "B-LT" || lt == nil || lt.Level != "B-LT" {
		t.Fatalf("Extend with the TSA away: %+v, %v; want the B-LT copy and a *LevelNotReachedError wrapping ErrTSAUnavailable", lt, err)
	}
	if !bytes.HasPrefix(lt.PDF, bt) || len(lt.PDF) == len(bt) {
		t.Error("the B-LT copy is not the B-T copy with an update appended")
	}
	if !strings.Contains(short.Waits(), "document timestamp") {
		t.Errorf("what the copy waits for: %q", short.Waits())
	}

	// The TSA is back, the responder away again: only the document timestamp is missing, so
	// the responder is not asked.
	tsa.open.Store(true)
	revocation.open.Store(false)
	asked := revocation.asked.Load()
	lta, err := c.Extend(ctx, lt.PDF, nil)
	if err != nil {
		t.Fatalf("Extend a B-LT copy with the TSA back: %v", err)
	}
	if lta.Level != "B-LTA" || !bytes.HasPrefix(lta.PDF, lt.PDF) || lta.Signer != signed.Signer || !lta.SigningTime.Equal(signed.SigningTime) {
		t.Errorf("Extend gave level %s, signer %q, time %s; want B-LTA over the B-LT copy, signer %q, time %s",
			lta.Level, lta.Signer, lta.SigningTime, signed.Signer, signed.SigningTime)
	}
	if n := revocation.asked.Load() - asked; n != 0 {
		t.Errorf("the OCSP responder or CRL was asked %d times for a copy that has its validation data", n)
	}
	if n, d := shape(t, lta.PDF); n != 1 || d != 1 {
		t.Errorf("the B-LTA copy has %d signatures and %d document timestamps, want 1 and 1", n, d)
	}
	if got := counter.n.Load(); got != 1 {
		t.Errorf("the key signed %d times, want once", got)
	}

	// A finished copy is returned as it is.
	done, err := c.Extend(ctx, lta.PDF, nil)
	if err != nil || done.Level != "B-LTA" || !bytes.Equal(done.PDF, lta.PDF) {
		t.Errorf("Extend of a B-LTA copy: level %v, %v; want it unchanged", done, err)
	}

	// B-T straight to B-LTA in one go, everything up.
	revocation.open.Store(true)
	whole, err := c.Extend(ctx, bt, nil)
	if err != nil || whole.Level != "B-LTA" {
		t.Fatalf("Extend a B-T copy with every service up: %v, %v", whole, err)
	}

	// A damaged copy is refused, not extended.
	damaged := bytes.Clone(bt)
	i := bytes.Index(damaged, []byte("/Producer"))
	if i < 0 {
		t.Fatal("no /Producer in the copy to damage")
	}
	damaged[i+1] = 'p'
	if _, err := c.Extend(ctx, damaged, nil); err == nil || errors.As(err, &short) {
		t.Errorf("Extend of a copy changed after signing: %v, want an error", err)
	}
}

func TestSignWithoutDeliversAtTheLevelReached(t *testing.T) {
	ca, revocation, _, tsaURL := splitPKI(t)
	c := certifier(t)
	c.TSA = &pades.TSA{URL: tsaURL, Timeout: 10 * time.Second}
	c.LongTerm = "B-LTA"
	c.Fetcher = pades.Fetcher{Timeout: 10 * time.Second}
	c.Now = nil // the TSA's clock is the machine's
	revocation.open.Store(false)
	signed, err := c.Sign(context.Background(), build(t, c, 0, goodRecord()), devKey(t, ca), certify.Page1{WidthPt: ptW(), HeightPt: ptH()}, true)
	if err != nil {
		t.Fatalf("Sign with the OCSP responder away, lower level allowed: %v", err)
	}
	if signed.Level != "B-T" || !strings.HasPrefix(signed.TimestampNote, "delivered at PAdES B-T, not B-LTA: ") {
		t.Errorf("level %s, note %q; want B-T and a note saying why", signed.Level, signed.TimestampNote)
	}
}
