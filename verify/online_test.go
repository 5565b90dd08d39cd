package verify_test

// `scanstation verify --online`: a B-T copy whose file carries no revocation data is judged
// with what the dev PKI's OCSP responder, on loopback, says now. Each verdict online must be
// EU DSS's on the same file with that same data put in its /DSS (DSS judges offline); offline,
// it must be DSS's on the file as it is.

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"scanstation/certify/pades"
	"scanstation/internal/judge"
	"scanstation/verify"
)

func TestOnlineRevocation(t *testing.T) {
	p := startFindingsPKI(t)
	pemData, err := os.ReadFile(p.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AppendCertsFromPEM(pemData)
	bt := func(s pades.Signer) []byte {
		var out bytes.Buffer
		if err := pades.Sign(&out, p.page, s, pades.Options{TSA: p.tsa}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	// withData is pdf with the responder's answers for the signer (status want) and the TSA
	// in a /DSS: what --online fetches, where DSS can read it.
	withData := func(pdf []byte, s pades.Signer, want int) []byte {
		vd, err := pades.Fetcher{}.Collect(context.Background(), []*x509.Certificate{p.ca.TSACert, p.ca.Cert})
		if err != nil {
			t.Fatal(err)
		}
		vd.Certs = append(vd.Certs, s.Chain[0])
		vd.OCSPs = append(vd.OCSPs, p.ocsp(s.Chain[0], want))
		_, contents, err := pades.Chains(pdf, []*x509.Certificate{p.ca.Cert})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := pades.AddDSS(&out, pdf, vd, contents); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}

	good := p.signer("online-good", nil)
	early := p.signer("online-revoked-before", nil)
	if err := p.ca.Revoke(early.Chain[0].SerialNumber, time.Now().Add(-time.Minute), "keyCompromise"); err != nil {
		t.Fatal(err)
	}
	late := p.signer("online-revoked-after", nil)
	goodBT, earlyBT, lateBT := bt(good), bt(early), bt(late)
	// Revoked a second after its timestamp, and in the past when judged.
	lateAt := time.Now().Add(time.Second)
	if err := p.ca.Revoke(late.Chain[0].SerialNumber, lateAt, "keyCompromise"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(lateAt.Add(time.Second)))

	cases := []struct {
		name   string
		pdf    []byte // the file judged, without /DSS
		judged []byte // the file DSS judges: pdf, or pdf with what online finds
		online bool
		ind    verify.Indication // what DSS said when this test was written
		sub    string
	}{
		{"offline", goodBT, goodBT, false, verify.Indeterminate, verify.ChainGeneralFailure},
		{"online", goodBT, withData(goodBT, good, ocsp.Good), true, verify.TotalPassed, ""},
		{"online-revoked-before-signing", earlyBT, withData(earlyBT, early, ocsp.Revoked), true, verify.Indeterminate, verify.RevokedNoPOE},
		{"online-revoked-after-timestamp", lateBT, withData(lateBT, late, ocsp.Revoked), true, verify.TotalPassed, ""},
	}
	var paths []string
	for _, c := range cases {
		path := filepath.Join(p.dir, c.name+".pdf")
		if err := os.WriteFile(path, c.judged, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	dss := judge.DSSMany(t, paths, p.caPEM)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(dss[i].Signatures) != 1 {
				t.Fatalf("DSS finds %d signatures:\n%s", len(dss[i].Signatures), dss[i])
			}
			theirs := dss[i].Signatures[0]
			if verify.Indication(theirs.Indication) != c.ind || theirs.SubIndication != c.sub {
				t.Errorf("EU DSS now says %s (%s), not %s (%s) as when this test was written:\n%s", theirs.Indication, theirs.SubIndication, c.ind, c.sub, dss[i])
			}
			r, err := verify.File(context.Background(), c.name+".pdf", c.pdf, verify.Options{Anchors: anchors, Online: c.online})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Signatures) != 1 {
				t.Fatalf("scanstation finds %d signatures", len(r.Signatures))
			}
			s := r.Signatures[0]
			if s.Indication != verify.Indication(theirs.Indication) || s.SubIndication != theirs.SubIndication {
				t.Errorf("scanstation (online %v) %s (%s: %s), EU DSS %s (%s)", c.online, s.Indication, s.SubIndication, s.Why, theirs.Indication, theirs.SubIndication)
			}
		})
	}
}
