package tsatest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"scanstation/certify/pades"
	"scanstation/internal/tsatest"
)

// stamp asks a through the client the station uses.
func stamp(t *testing.T, a *tsatest.TSA, timeout time.Duration) ([]byte, error) {
	t.Helper()
	digest := sha256.Sum256([]byte("Công văn số 2417/UBND-VP"))
	return (&pades.TSA{URL: a.URL, Timeout: timeout}).Stamp(context.Background(), digest[:])
}

func TestTSAGrantsAndCanBeSwitched(t *testing.T) {
	a := tsatest.Start(t, tsatest.Options{})
	if u, err := url.Parse(a.URL); err != nil || u.Hostname() != "127.0.0.1" {
		t.Errorf("URL %q is not on loopback", a.URL)
	}
	block, _ := pem.Decode(a.CAPEM)
	if block == nil || !bytes.Equal(block.Bytes, a.CA.Raw) {
		t.Errorf("CAPEM does not hold CA")
	}
	if ca, caPEM := tsatest.CA(); !ca.Equal(a.CA) || !bytes.Equal(caPEM, a.CAPEM) {
		t.Errorf("tsatest.CA() differs from the TSA's CA")
	}

	// Stamp checks status, nonce, imprint, the CMS signature and the
	// time-stamping EKU; the token's certificate must also chain to CA.
	token, err := stamp(t, a, 10*time.Second)
	if err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	if n := bytes.Count(token, a.CA.Raw); n != 1 {
		t.Errorf("the token holds the CA %d times, want once", n)
	}

	a.Set(tsatest.Options{Fail: 500})
	if _, err := stamp(t, a, 10*time.Second); !errors.Is(err, pades.ErrTSAUnavailable) || !strings.Contains(err.Error(), "500") {
		t.Errorf("Stamp from a failing TSA = %v, want ErrTSAUnavailable with the status", err)
	}
	a.Set(tsatest.Options{})
	if _, err := stamp(t, a, 10*time.Second); err != nil {
		t.Errorf("Stamp after the TSA recovered: %v", err)
	}
	if n := a.Requests(); n != 3 {
		t.Errorf("Requests() = %d, want 3", n)
	}
}

func TestTSAChainsToItsCA(t *testing.T) {
	a := tsatest.Start(t, tsatest.Options{PadCerts: 2})
	token, err := stamp(t, a, 10*time.Second)
	if err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	certs := embeddedCerts(t, token)
	if len(certs) != 4 || !certs[1].Equal(a.CA) || !certs[3].Equal(a.CA) {
		t.Fatalf("with PadCerts 2 the token embeds %d certificates, want the TSA's and the CA three times", len(certs))
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.CA)
	_, err = certs[0].Verify(x509.VerifyOptions{
		Roots:       roots,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		CurrentTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Errorf("the TSA's certificate does not chain to CA for time-stamping: %v", err)
	}
}

// embeddedCerts reads the certificates of a token's SignedData.
func embeddedCerts(t *testing.T, token []byte) []*x509.Certificate {
	t.Helper()
	in := cryptobyte.String(token)
	var ci, content, sd, certs cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !content.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) ||
		!sd.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		t.Fatal("the token is not a SignedData with certificates")
	}
	var out []*x509.Certificate
	for !certs.Empty() {
		var der cryptobyte.String
		if !certs.ReadASN1Element(&der, cbasn1.SEQUENCE) {
			t.Fatal("a certificate in the token cannot be read")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestTSAMisbehaves(t *testing.T) {
	a := tsatest.Start(t, tsatest.Options{OtherNonce: true})
	if _, err := stamp(t, a, 10*time.Second); err == nil || !strings.Contains(err.Error(), "different nonce") {
		t.Errorf("Stamp with another nonce = %v", err)
	}
	// A hanging TSA holds the request until the client gives up; the
	// test's end releases it (or Close would wait for it forever).
	a.Set(tsatest.Options{Hang: true})
	if _, err := stamp(t, a, 300*time.Millisecond); !errors.Is(err, pades.ErrTSAUnavailable) || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("Stamp from a hanging TSA = %v", err)
	}
}
