package devpki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// TestIssueTSAReplacesTheTSA: a short-lived TSA certificate replaces the five-year one on
// disk, with a key that matches it; the old one stays known to the CA (its OCSP answer stays
// "good"), so that tokens it stamped can still be validated.
func TestIssueTSAReplacesTheTSA(t *testing.T) {
	ca := newCA(t)
	old := ca.TSACert
	notAfter := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	if err := ca.IssueTSA(time.Now().Add(-time.Hour), notAfter); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ca.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.TSACert.NotAfter.Equal(notAfter) || again.TSACert.Equal(old) {
		t.Errorf("the TSA certificate on disk is valid until %v (want %v), new: %v", again.TSACert.NotAfter, notAfter, !again.TSACert.Equal(old))
	}
	if !again.TSAKey.Public().(*ecdsa.PublicKey).Equal(again.TSACert.PublicKey) {
		t.Error("the TSA's key on disk does not match its certificate")
	}
	for name, cert := range map[string]*x509.Certificate{"old": old, "new": again.TSACert} {
		if st, err := again.Status(cert.SerialNumber); err != nil || !st.Issued || !st.RevokedAt.IsZero() {
			t.Errorf("the %s TSA certificate's status: %+v, %v; want issued and good", name, st, err)
		}
	}
	if err := ca.IssueTSA(time.Now(), time.Now().Add(-time.Hour)); err == nil || !strings.Contains(err.Error(), "not after") {
		t.Errorf("a TSA certificate ending before it starts: %v", err)
	}
}
