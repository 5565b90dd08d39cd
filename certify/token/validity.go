package token

import (
	"crypto/x509"
	"fmt"
	"time"
)

// dateLayout writes dates the way Vietnamese offices write them (day.month.year),
// with the time and zone because a certificate ends at an exact moment.
const dateLayout = "02.01.2006 15:04 (UTC-07:00)"

// CheckValid reports whether the signing certificate is valid at now. It returns an
// error wrapping ErrCertificateExpired or ErrCertificateNotYetValid that gives the
// dates and what to do. A long-running station calls it before every signature,
// because a certificate can expire while the token stays open.
func (t *Token) CheckValid(now time.Time) error {
	if t.cert == nil {
		return fmt.Errorf("check the certificate: the token is not open (use Open): %w", ErrClosed)
	}
	return checkValidity(t.label, t.cert, now)
}

func checkValidity(tokenLabel string, cert *x509.Certificate, now time.Time) error {
	switch {
	case now.After(cert.NotAfter):
		return fmt.Errorf("token %q: the agency's certificate %q expired on %s: %w; the station cannot sign with it: ask the CA for a new certificate and load it onto the token (or use the renewed token)",
			tokenLabel, cert.Subject.CommonName, cert.NotAfter.Local().Format(dateLayout), ErrCertificateExpired)
	case now.Before(cert.NotBefore):
		return fmt.Errorf("token %q: the agency's certificate %q is valid only from %s, and the station's clock says %s: %w; if the clock is wrong, correct it; otherwise wait until that day",
			tokenLabel, cert.Subject.CommonName, cert.NotBefore.Local().Format(dateLayout), now.Local().Format(dateLayout), ErrCertificateNotYetValid)
	}
	return nil
}
