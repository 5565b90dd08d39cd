package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pades"
)

// TestLastTimestamp follows a copy from B-B to a renewed B-LTA with the dev PKI's TSA over
// loopback: the newest timestamp is the one a renewal must look at, with its TSA's chain.
func TestLastTimestamp(t *testing.T) {
	ca := devPKI(t)
	signer := agency(t, ca, "gia-han")
	tsa := &pades.TSA{URL: ca.URLs().TSA}
	plain := copyPDFA(t)
	if _, err := pades.LastTimestamp(plain, nil); !errors.Is(err, pades.ErrNotSigned) {
		t.Errorf("an unsigned PDF: %v, want ErrNotSigned", err)
	}
	var bb bytes.Buffer
	if err := pades.Sign(&bb, plain, signer, pades.Options{Certify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := pades.LastTimestamp(bb.Bytes(), nil); !errors.Is(err, pades.ErrNoTimestamp) {
		t.Errorf("a B-B copy: %v, want ErrNoTimestamp", err)
	}

	var bt bytes.Buffer
	if err := pades.Sign(&bt, plain, signer, pades.Options{Certify: true, TSA: tsa}); err != nil {
		t.Fatal(err)
	}
	sigTS, err := pades.LastTimestamp(bt.Bytes(), []*x509.Certificate{ca.Cert})
	if err != nil {
		t.Fatal(err)
	}
	if sigTS.Document || len(sigTS.Chain) != 2 || !sigTS.Chain[0].Equal(ca.TSACert) || !sigTS.Chain[1].Equal(ca.Cert) {
		t.Fatalf("the B-T copy's last timestamp: document=%v, chain of %d, want the signature timestamp by the dev TSA", sigTS.Document, len(sigTS.Chain))
	}
	if at, cert := sigTS.Expiry(); !at.Equal(ca.TSACert.NotAfter) || !cert.Equal(ca.TSACert) {
		t.Errorf("expiry %v of %v, want the TSA certificate's %v (the CA outlives it)", at, cert.Subject, ca.TSACert.NotAfter)
	}
	if w := sigTS.Weakness(); w != "" {
		t.Errorf("the dev TSA (P-256, SHA-256) is called weak: %s", w)
	}
	if d := time.Since(sigTS.Time); d < 0 || d > time.Minute {
		t.Errorf("the timestamp's time %v is not just now", sigTS.Time)
	}

	chains, contents, err := pades.Chains(bt.Bytes(), []*x509.Certificate{ca.Cert})
	if err != nil {
		t.Fatal(err)
	}
	vd, err := pades.Fetcher{}.Collect(context.Background(), chains...)
	if err != nil {
		t.Fatal(err)
	}
	var lt, lta bytes.Buffer
	if err := pades.AddDSS(&lt, bt.Bytes(), vd, contents); err != nil {
		t.Fatal(err)
	}
	if err := pades.AddDocumentTimestamp(context.Background(), &lta, lt.Bytes(), tsa); err != nil {
		t.Fatal(err)
	}
	// The CA is in the /DSS now: nothing extra is needed.
	docTS, err := pades.LastTimestamp(lta.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !docTS.Document || len(docTS.Chain) != 2 || docTS.Time.Before(sigTS.Time) || bytes.Equal(docTS.Contents, contents) {
		t.Fatalf("the B-LTA copy's last timestamp: document=%v, chain of %d, time %v (signature's %v)", docTS.Document, len(docTS.Chain), docTS.Time, sigTS.Time)
	}
	if !bytes.Contains(bytes.ToUpper(lta.Bytes()), []byte(strings.ToUpper(hex.EncodeToString(docTS.Contents[:16])))) {
		t.Error("the document timestamp's /Contents is not the one in the file")
	}

	var again bytes.Buffer
	if err := pades.AddDocumentTimestamp(context.Background(), &again, lta.Bytes(), tsa); err != nil {
		t.Fatal(err)
	}
	renewed, err := pades.LastTimestamp(again.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Document || renewed.Field == docTS.Field || bytes.Equal(renewed.Contents, docTS.Contents) {
		t.Errorf("after a second document timestamp the last is %q, want the new one (the first was %q)", renewed.Field, docTS.Field)
	}
}

// TestTimestampWeakness: SHA-1 and short RSA keys are named, strong algorithms are not.
func TestTimestampWeakness(t *testing.T) {
	cert := func(bits int, alg x509.SignatureAlgorithm) *x509.Certificate {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TSA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		c.SignatureAlgorithm = alg
		return c
	}
	strong := cert(2048, x509.SHA256WithRSA)
	for _, tc := range []struct {
		name string
		ts   pades.Timestamp
		want []string
	}{
		{"strong", pades.Timestamp{Chain: []*x509.Certificate{strong}, ImprintHash: crypto.SHA256, DigestHash: crypto.SHA256, SigAlg: x509.SHA256WithRSA}, nil},
		{"sha1 imprint and token", pades.Timestamp{Chain: []*x509.Certificate{strong}, ImprintHash: crypto.SHA1, DigestHash: crypto.SHA1, SigAlg: x509.SHA1WithRSA},
			[]string{"stamped digest is SHA-1", "signed over SHA-1", "signed with SHA1-RSA"}},
		{"rsa 1024", pades.Timestamp{Chain: []*x509.Certificate{cert(1024, x509.SHA256WithRSA), strong}, ImprintHash: crypto.SHA256, DigestHash: crypto.SHA256, SigAlg: x509.SHA256WithRSA},
			[]string{"RSA key of 1024 bits"}},
		{"sha1-issued TSA certificate", pades.Timestamp{Chain: []*x509.Certificate{cert(2048, x509.SHA1WithRSA), cert(2048, x509.SHA1WithRSA)}, ImprintHash: crypto.SHA256, DigestHash: crypto.SHA256, SigAlg: x509.SHA256WithRSA},
			[]string{`"TSA" is signed with SHA1-RSA`}},
	} {
		got := tc.ts.Weakness()
		if (got == "") != (tc.want == nil) {
			t.Errorf("%s: weakness %q", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: weakness %q does not say %q", tc.name, got, w)
			}
		}
		// The trust anchor's self-signature is not judged: only one mention for two SHA-1 certificates.
		if tc.name == "sha1-issued TSA certificate" && strings.Count(got, "SHA1-RSA") != 1 {
			t.Errorf("%s: the anchor's own signature is judged: %q", tc.name, got)
		}
	}
}
