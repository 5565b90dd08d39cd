package certify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"scanstation/certify/pades"
)

// LevelNotReachedError says that a signed copy stopped short of its PAdES level because a
// service it needs could not be reached: the OCSP responder or CRL for the validation data
// (Err wraps ErrValidationDataUnavailable), or the TSA for the document timestamp (Err wraps
// ErrTSAUnavailable). The copy returned with it is signed and whole at level Reached; Extend
// takes it on to Want once the service answers.
type LevelNotReachedError struct {
	Reached, Want string
	Err           error
}

func (e *LevelNotReachedError) Error() string {
	return fmt.Sprintf("signed at PAdES %s; PAdES %s not reached yet: %v", e.Reached, e.Want, e.Err)
}

func (e *LevelNotReachedError) Unwrap() error { return e.Err }

// Note is what the copy's record says when it is delivered at the level it reached.
func (e *LevelNotReachedError) Note() string {
	return fmt.Sprintf("delivered at PAdES %s, not %s: %v", e.Reached, e.Want, e.Err)
}

// Waits says in plain words what a copy kept at the level it reached waits for.
func (e *LevelNotReachedError) Waits() string {
	what := "the validation data (OCSP responses or CRLs) of its certificates"
	if errors.Is(e.Err, ErrTSAUnavailable) {
		what = "its document timestamp from the time-stamping authority"
	}
	return fmt.Sprintf("signed at PAdES %s; waits for %s to reach PAdES %s: %v", e.Reached, what, e.Want, e.Err)
}

// levels orders the PAdES baseline levels.
var levels = map[string]int{"B-B": 1, "B-T": 2, "B-LT": 3, "B-LTA": 4}

// Extend takes a copy that Sign returned with a *LevelNotReachedError on to the Certifier's
// LongTerm level, from the level the file shows: a B-T copy gets its validation data (/DSS)
// and, for B-LTA, a document timestamp; a B-LT copy only the document timestamp. No key is
// needed: the signature is not made again. extra are certificates the copy may not carry
// (signing.chain_file); nil is fine when it carries its chains.
//
// A copy already at LongTerm (or above it) is returned unchanged. When a service still cannot
// be reached, Extend returns the copy at the level it now has (it may have gone one step)
// with a *LevelNotReachedError. A copy whose signatures do not check out, or that has no
// signature timestamp to build on, is an error and no copy.
func (c *Certifier) Extend(ctx context.Context, pdf []byte, extra []*x509.Certificate) (*Signed, error) {
	signed, err := readLevel(pdf)
	if err != nil {
		return nil, err
	}
	var short error
	if c.LongTerm != "" && levels[signed.Level] < levels[c.LongTerm] {
		if c.LongTerm == "B-LTA" && c.TSA == nil {
			return nil, fmt.Errorf("extend to PAdES B-LTA: no time-stamping authority is configured (timestamp.url)")
		}
		err := c.extend(ctx, signed, extra)
		var lnr *LevelNotReachedError
		switch {
		case errors.As(err, &lnr):
			short = err
		case err != nil:
			return nil, err
		}
	}
	sum := sha256.Sum256(signed.PDF)
	signed.SHA256 = hex.EncodeToString(sum[:])
	return signed, short
}

// readLevel reads a signed copy made by Sign: its signer, signing time and the PAdES level
// it has reached. Its signature must check out and hold a signature timestamp. The level is
// told from what follows the signature: nothing (B-T), a revision without a document
// timestamp (B-LT: the /DSS that extend adds), or a document timestamp (B-LTA).
func readLevel(pdf []byte) (*Signed, error) {
	report, err := pades.Verify(pdf, pades.VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the signed copy: %w", err)
	}
	var sig *pades.SignatureReport
	for i := range report.Signatures {
		s := &report.Signatures[i]
		if !s.Intact {
			return nil, fmt.Errorf("the signed copy's %s does not check out (%v): it was damaged since it was signed", s.Field, s.Problems)
		}
		if !s.DocumentTimestamp && (sig == nil || s.End > sig.End) {
			sig = s
		}
	}
	if sig == nil {
		return nil, errors.New("the copy holds no signature: there is nothing to extend")
	}
	if !sig.TimestampValid {
		return nil, fmt.Errorf("the copy's signature %s has no signature timestamp that checks out (PAdES B-B): it cannot be extended to a long-term level", sig.Field)
	}
	signed := &Signed{PDF: pdf, Level: "B-T", SigningTime: sig.SigningTime}
	if sig.Signer != nil {
		signed.Signer = SignerName(sig.Signer)
	}
	if sig.End < len(pdf) {
		signed.Level = "B-LT"
	}
	for _, s := range report.Signatures {
		if s.DocumentTimestamp && s.End > sig.End {
			signed.Level = "B-LTA"
		}
	}
	return signed, nil
}

// extend takes a B-T or B-LT copy one or two steps on to c.LongTerm: its validation data in a
// /DSS (B-LT), then a document timestamp (B-LTA). When a service cannot be reached, signed is
// left at the level it reached and a *LevelNotReachedError says why; a revoked certificate
// is an error wrapping ErrRevoked.
func (c *Certifier) extend(ctx context.Context, signed *Signed, extra []*x509.Certificate) error {
	short := func(err error) error { return &LevelNotReachedError{Reached: signed.Level, Want: c.LongTerm, Err: err} }
	if signed.Level == "B-T" {
		chains, contents, err := pades.Chains(signed.PDF, extra)
		if err != nil {
			return fmt.Errorf("extend to PAdES %s: %w", c.LongTerm, err)
		}
		fetcher := c.Fetcher
		// The answers must be newer than the signature's timestamp, which is past.
		fetcher.NotBefore = time.Now()
		vd, err := fetcher.Collect(ctx, chains...)
		switch {
		case errors.Is(err, pades.ErrRevoked):
			return fmt.Errorf("extend to PAdES %s: %w", c.LongTerm, err)
		case errors.Is(err, pades.ErrValidationDataUnavailable):
			return short(err)
		case err != nil:
			return fmt.Errorf("extend to PAdES %s: %w", c.LongTerm, err)
		}
		var lt bytes.Buffer
		if err := pades.AddDSS(&lt, signed.PDF, vd, contents); err != nil {
			return fmt.Errorf("extend to PAdES B-LT: %w", err)
		}
		signed.PDF, signed.Level = lt.Bytes(), "B-LT"
	}
	if c.LongTerm != "B-LTA" || signed.Level != "B-LT" {
		return nil
	}
	var lta bytes.Buffer
	err := pades.AddDocumentTimestamp(ctx, &lta, signed.PDF, c.TSA)
	switch {
	case errors.Is(err, pades.ErrTSAUnavailable):
		return short(err)
	case err != nil:
		return fmt.Errorf("extend to PAdES B-LTA: %w", err)
	}
	signed.PDF, signed.Level = lta.Bytes(), "B-LTA"
	return nil
}
