// Package certify turns recognised pages into the certified copy: a PDF/A-2u (certify/pdfa)
// carrying the conversion record, then a PAdES signature (certify/pades) made with the
// agency's key, whose widget shows the certification mark (certify/mark). It joins those
// packages; they do not know each other. Building and signing are separate steps so a
// station can keep built documents on disk while it waits for the token or the clerk.
package certify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"net/url"
	"time"

	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
)

// Certifier builds and signs copies. Its fields are set once; its methods may be called from
// several goroutines.
type Certifier struct {
	OutputICC []byte // sRGB profile for the PDF/A output intent
	TextFont  []byte // glyph-less font of the invisible text layer
	Producer  string
	Reason    string
	Location  string
	Certify   bool       // the signature certifies the document (DocMDP P=2)
	TSA       *pades.TSA // nil: no timestamp (PAdES B-B)
	// LongTerm is "B-LT" or "B-LTA" to extend each copy after its B-T signature with its
	// validation data (fetched by Fetcher), and for B-LTA a document timestamp; "" stops at
	// B-T. It needs TSA.
	LongTerm string
	Fetcher  pades.Fetcher
	Mark     mark.Options
	// Zone is the time zone of the signing time; nil means Asia/Ho_Chi_Minh.
	Zone *time.Location
	// Now returns the signing time; nil means time.Now. Tests pin it.
	Now func() time.Time
	// MaxClockSkew is how far the time the mark shows may lie from the time the TSA vouches
	// for in the signature timestamp (genTime); zero means DefaultMaxClockSkew.
	MaxClockSkew time.Duration
}

// DefaultMaxClockSkew is how far a mark's time may lie from its signature timestamp's
// genTime when nothing else is configured (timestamp.max_clock_skew).
const DefaultMaxClockSkew = 120 * time.Second

// ErrClockSkew is what a *ClockSkewError is (errors.Is): the station's clock is too far from
// the time-stamping authority's. No retry fixes it; signing must wait until the clock is set.
var ErrClockSkew = errors.New("the station's clock differs from the time-stamping authority's")

// ClockSkewError is returned by Sign when the time the mark would show lies further from the
// signature timestamp's genTime than MaxClockSkew. The copy is not delivered.
type ClockSkewError struct {
	Ahead time.Duration // the station's clock minus the TSA's, at least; negative when behind
	Max   time.Duration
	TSA   string // the authority's address
}

func (e *ClockSkewError) Error() string {
	way, by := "ahead of", e.Ahead
	if by < 0 {
		way, by = "behind", -by
	}
	return fmt.Sprintf("the station's clock is %d seconds %s the time-stamping authority's (%s), more than the %d s allowed (timestamp.max_clock_skew): "+
		"the certification mark would show a time its own timestamp contradicts, so the copy was not delivered. Set the clock (NTP), then restart the service",
		int64(by.Round(time.Second)/time.Second), way, e.TSA, int64(e.Max/time.Second))
}

func (e *ClockSkewError) Is(target error) bool { return target == ErrClockSkew }

// Key is the signing key with its certificate chain (signing certificate first).
type Key struct {
	Signer crypto.Signer
	Chain  []*x509.Certificate
}

// Page1 is what the mark needs to know of page 1: its size and rotation, and where its ink is.
type Page1 struct {
	WidthPt, HeightPt float64
	Rotate            int
	Ink               *image.Gray // the page image scaled onto the MediaBox, unrotated; may be nil
}

// Signed describes a certified copy.
type Signed struct {
	PDF         []byte
	SHA256      string
	Signer      string // the signing certificate's subject common name
	SigningTime time.Time
	Level       string // PAdES level: B-B; B-T with a timestamp; B-LT, B-LTA (LongTerm)
	MarkPlace   string // where the mark went, in plain words
	// TimestampNote says why a copy is below the level configured (the TSA, OCSP responder
	// or CRL could not be reached and the configuration said to sign without).
	TimestampNote string
}

// ErrMark wraps every error of Sign that comes from the certification mark: the document's
// page 1 or the mark's settings, not the token.
var ErrMark = errors.New("certification mark")

// ErrTSAUnavailable is returned by Sign when the time-stamping authority cannot be reached
// and signing without a timestamp was not allowed.
var ErrTSAUnavailable = pades.ErrTSAUnavailable

// ErrValidationDataUnavailable is what the *LevelNotReachedError of Sign or Extend wraps when
// an OCSP responder or CRL the copy's long-term level needs cannot be reached.
var ErrValidationDataUnavailable = pades.ErrValidationDataUnavailable

// ErrRevoked is returned by Sign when a certificate of the signer's or the TSA's chain is
// revoked: no copy is delivered as signed by it.
var ErrRevoked = pades.ErrRevoked

// Build writes the unsigned PDF/A of doc. doc's Producer, Created, OutputICC and TextFont are
// filled in from the Certifier when empty; the record goes into the XMP metadata.
func (c *Certifier) Build(doc *pdfa.Document, rec Record) ([]byte, error) {
	if doc.Producer == "" {
		doc.Producer = c.Producer
	}
	if doc.Created.IsZero() {
		doc.Created = rec.ConvertedAt
	}
	if doc.OutputICC == nil {
		doc.OutputICC = c.OutputICC
	}
	if doc.TextFont == nil {
		doc.TextFont = c.TextFont
	}
	doc.ExtraXMP = append(doc.ExtraXMP, rec.XMP())
	var built bytes.Buffer
	if err := pdfa.Write(&built, doc); err != nil {
		return nil, fmt.Errorf("build PDF/A: %w", err)
	}
	return built.Bytes(), nil
}

// Sign signs a built PDF/A now with key, showing the certification mark on page 1. When a TSA
// is configured but cannot be reached, allowB_B decides: sign without a timestamp and say so,
// or return an error wrapping ErrTSAUnavailable and no copy. When the station's clock is
// further from the TSA's than MaxClockSkew, Sign returns a *ClockSkewError (ErrClockSkew) and
// no copy.
//
// When the copy is signed and timestamped but the validation data or the document timestamp
// its LongTerm level needs cannot be had, allowB_B decides again: deliver it at the level
// reached and say so in TimestampNote, or return the signed copy at the level reached together
// with a *LevelNotReachedError, so that the caller keeps the signature (the token is not asked
// again for the same document) and finishes the copy later with Extend.
func (c *Certifier) Sign(ctx context.Context, built []byte, key Key, page1 Page1, allowB_B bool) (*Signed, error) {
	now := c.now()
	look, place, err := c.buildMark(page1, now)
	if err != nil {
		return nil, err
	}
	opt := pades.Options{
		Time:       now,
		Reason:     c.Reason,
		Location:   c.Location,
		Certify:    c.Certify,
		Appearance: look,
		TSA:        c.TSA,
	}
	signed := &Signed{SigningTime: now, Level: "B-B", MarkPlace: place.Where}
	if c.TSA != nil {
		signed.Level = "B-T"
	}
	var out bytes.Buffer
	out.Grow(len(built) + 128<<10)
	err = pades.SignContext(ctx, &out, built, pades.Signer{Key: key.Signer, Chain: key.Chain}, opt)
	if err == nil && c.TSA != nil {
		err = c.checkClock(out.Bytes(), now)
	}
	if err != nil && c.TSA != nil && allowB_B && errors.Is(err, pades.ErrTSAUnavailable) {
		signed.TimestampNote = fmt.Sprintf("signed without a timestamp (PAdES B-B): the time-stamping authority %s could not be reached: %v", c.TSA.URL, err)
		signed.Level = "B-B"
		opt.TSA = nil
		out.Reset()
		err = pades.SignContext(ctx, &out, built, pades.Signer{Key: key.Signer, Chain: key.Chain}, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	signed.PDF = out.Bytes()
	var short error
	if c.LongTerm != "" && signed.Level == "B-T" {
		err := c.extend(ctx, signed, key.Chain)
		var lnr *LevelNotReachedError
		switch {
		case errors.As(err, &lnr) && allowB_B:
			signed.TimestampNote = lnr.Note()
		case lnr != nil:
			short = err
		case err != nil:
			return nil, err
		}
	}
	sum := sha256.Sum256(signed.PDF)
	signed.SHA256 = hex.EncodeToString(sum[:])
	signed.Signer = SignerName(key.Chain[0])
	return signed, short
}

// checkClock compares the time the mark shows (marked, the station's clock when signing
// began) with the genTime of the timestamp the TSA just put into pdf's last signature.
//
// The mark is part of the signed appearance and is laid out before the TSA is asked, so it
// cannot be corrected once the TSA has answered. Asking the TSA first, over a throwaway
// digest, would cost a round trip on every copy and would still prove nothing about the
// token that counts: the real request may be answered later, or by another server behind
// the same address. So the token of the signature itself is checked, after signing and
// before the copy leaves Sign: its genTime is what a verifier compares the mark with, so a
// copy that passes here passes there, and one that fails is dropped (the TSA has stamped a
// signature nobody will see). Normal signing costs no extra round trip.
//
// A genTime too far after the mark is either a slow TSA or a clock behind. The station's
// clock when the answer arrived tells them apart: if genTime is within the tolerance of it,
// the clock may be right and the TSA was slow, which is handled as a TSA that could not be
// reached (retry later, or sign without a timestamp, as configured).
func (c *Certifier) checkClock(pdf []byte, marked time.Time) error {
	// now() cuts to the second; the answer came at most a second after what it says.
	answered := c.now().Add(time.Second)
	limit := c.MaxClockSkew
	if limit <= 0 {
		limit = DefaultMaxClockSkew
	}
	report, err := pades.Verify(pdf, pades.VerifyOptions{})
	if err != nil {
		return fmt.Errorf("read the timestamp just received: %w", err)
	}
	var genTime time.Time
	for _, s := range report.Signatures {
		if s.End == len(pdf) && !s.DocumentTimestamp && s.TimestampValid {
			genTime = s.Timestamp
		}
	}
	if genTime.IsZero() {
		return errors.New("the signature just made holds no timestamp that checks out, though the time-stamping authority answered")
	}
	where := c.TSA.URL
	if u, err := url.Parse(where); err == nil {
		where = u.Redacted() // never put a password from the URL into a message
	}
	skew := marked.Sub(genTime)
	switch {
	case skew.Abs() <= limit:
		return nil
	case skew > 0:
		return &ClockSkewError{Ahead: skew, Max: limit, TSA: where}
	case genTime.Sub(answered) <= limit:
		return fmt.Errorf("%w: %s took %d s to answer, so the time it vouches for is more than the %d s allowed (timestamp.max_clock_skew) after the time the mark shows",
			ErrTSAUnavailable, where, int64(genTime.Sub(marked).Round(time.Second)/time.Second), int64(limit/time.Second))
	default:
		return &ClockSkewError{Ahead: answered.Sub(genTime), Max: limit, TSA: where}
	}
}

// CheckMark lays the certification mark out on page1 as Sign would now, without signing, so
// that a page the mark cannot go on is refused before the copy waits for a clerk or the
// token. The signing time's digits are all one width, so the later layout is the same.
func (c *Certifier) CheckMark(page1 Page1) error {
	_, _, err := c.buildMark(page1, c.now())
	return err
}

// MarkPlacement is where the mark goes on page1 as signing now would place it: the console
// draws it on its preview of page 1.
func (c *Certifier) MarkPlacement(page1 Page1) (mark.Placement, error) {
	_, place, err := c.buildMark(page1, c.now())
	return place, err
}

func (c *Certifier) buildMark(page1 Page1, now time.Time) (*pades.Appearance, mark.Placement, error) {
	opt := c.Mark
	opt.Time = now
	if opt.Zone == nil {
		opt.Zone = now.Location()
	}
	look, place, err := mark.Build(mark.Page{WidthPt: page1.WidthPt, HeightPt: page1.HeightPt, Rotate: page1.Rotate, Ink: page1.Ink}, opt)
	if err != nil {
		return nil, place, fmt.Errorf("%w: %w", ErrMark, err)
	}
	return look, place, nil
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
