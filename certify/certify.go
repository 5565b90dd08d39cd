// Package certify turns recognised pages into the signed copy: a PDF/A-2u (certify/pdfa) with a
// PAdES signature (certify/pades) made on the agency's token (certify/token). It joins those
// three; they do not know each other.
package certify

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
)

// Certifier builds and signs copies. Its fields are set once; Certify may be called from
// several goroutines (the token serialises its own signatures).
type Certifier struct {
	Key       crypto.Signer
	Chain     []*x509.Certificate // signing certificate first
	OutputICC []byte              // sRGB profile for the PDF/A output intent
	TextFont  []byte              // glyph-less font of the invisible text layer
	Producer  string
	Reason    string
	Location  string
	// Zone is the time zone of the signing time; nil means Asia/Ho_Chi_Minh.
	Zone *time.Location
	// Now returns the signing time; nil means time.Now. Tests pin it.
	Now func() time.Time
}

// Signed describes a certified copy.
type Signed struct {
	PDF         []byte
	SHA256      string
	Signer      string // the signing certificate's subject common name
	SigningTime time.Time
}

// Certify builds the PDF/A from doc's pages and signs it. doc's Producer, Created, OutputICC
// and TextFont are filled in from the Certifier when empty.
func (c *Certifier) Certify(doc *pdfa.Document) (*Signed, error) {
	now := c.now()
	if doc.Producer == "" {
		doc.Producer = c.Producer
	}
	if doc.Created.IsZero() {
		doc.Created = now
	}
	if doc.OutputICC == nil {
		doc.OutputICC = c.OutputICC
	}
	if doc.TextFont == nil {
		doc.TextFont = c.TextFont
	}
	var built bytes.Buffer
	if err := pdfa.Write(&built, doc); err != nil {
		return nil, fmt.Errorf("build PDF/A: %w", err)
	}
	var signed bytes.Buffer
	signed.Grow(built.Len() + 64<<10)
	opt := pades.Options{Time: now, Reason: c.Reason, Location: c.Location}
	if err := pades.Sign(&signed, built.Bytes(), pades.Signer{Key: c.Key, Chain: c.Chain}, opt); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sum := sha256.Sum256(signed.Bytes())
	return &Signed{
		PDF:         signed.Bytes(),
		SHA256:      hex.EncodeToString(sum[:]),
		Signer:      SignerName(c.Chain[0]),
		SigningTime: now,
	}, nil
}

func (c *Certifier) now() time.Time {
	zone := c.Zone
	if zone == nil {
		zone = VietnamTime()
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	// PDF dates carry whole seconds; keep the recorded time equal to the signed one.
	return now().In(zone).Truncate(time.Second)
}

// VietnamTime is Asia/Ho_Chi_Minh (UTC+7, no daylight saving).
func VietnamTime() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*60*60)
}

// SignerName is how a certificate's holder is named to people: its common name, else its
// organisation, else the whole subject.
func SignerName(cert *x509.Certificate) string {
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	if len(cert.Subject.Organization) > 0 {
		return cert.Subject.Organization[0]
	}
	return cert.Subject.String()
}
