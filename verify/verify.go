// Package verify judges a certified copy the way ETSI EN 319 102-1 validators do (EU DSS is
// the reference), with the station's own promises on top: a verdict a recipient can act on.
//
// The work is split as validators split it: structure and revisions (verify/revisions: what
// changed after each signature, and whether the certification allows it), cryptography
// (certify/pades: each signature's and timestamp's integrity), certificates and time (here:
// chains to the given trust anchors, judged at the earliest time a timestamp proves, with the
// revocation data the file carries or, online, fetches), then the verdict: TOTAL-PASSED,
// INDETERMINATE with what is missing, or TOTAL-FAILED with what is wrong.
package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"scanstation/certify"
	"scanstation/certify/pades"
)

// Indication is a verdict of ETSI EN 319 102-1.
type Indication string

const (
	TotalPassed   Indication = "TOTAL_PASSED"
	Indeterminate Indication = "INDETERMINATE"
	TotalFailed   Indication = "TOTAL_FAILED"
)

// Sub-indications used here, as EN 319 102-1 and EU DSS name them.
const (
	HashFailure          = "HASH_FAILURE"
	SigCryptoFailure     = "SIG_CRYPTO_FAILURE"
	FormatFailure        = "FORMAT_FAILURE"
	NoChainFound         = "NO_CERTIFICATE_CHAIN_FOUND"
	ChainGeneralFailure  = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
	OutOfBoundsNoPOE     = "OUT_OF_BOUNDS_NO_POE"
	NotYetValid          = "NOT_YET_VALID"
	RevokedNoPOE         = "REVOKED_NO_POE"
	SigConstraintFailure = "SIG_CONSTRAINTS_FAILURE"
)

// Signature is the verdict on one signature or document timestamp.
type Signature struct {
	Field         string     `json:"field"`
	Kind          string     `json:"kind"` // "signature" or "document_timestamp"
	Level         string     `json:"level,omitempty"`
	Signer        string     `json:"signer,omitempty"`
	Indication    Indication `json:"indication"`
	SubIndication string     `json:"sub_indication,omitempty"`
	// Why says in plain words what the sub-indication means here.
	Why string `json:"why,omitempty"`
	// ProvenTime is the earliest time a timestamp proves the signature existed (the
	// chain is judged then); zero when nothing proves it and it was judged now.
	ProvenTime  time.Time `json:"proven_time,omitzero"`
	ClaimedTime time.Time `json:"claimed_time,omitzero"` // /M: only a claim
	// Findings are what is wrong with the signature without changing its indication, as
	// EU DSS's default policy only warns of them: no signing-certificate attribute, a
	// SubFilter that is not PAdES's, a timestamp that proves nothing, a certificate not for
	// signing. A recipient should read them; the verdict stays DSS's.
	Findings []string `json:"findings,omitempty"`
}

// Report is the verdict on a file.
type Report struct {
	File          string      `json:"file"`
	Indication    Indication  `json:"indication"`
	SubIndication string      `json:"sub_indication,omitempty"`
	Why           string      `json:"why,omitempty"`
	Signatures    []Signature `json:"signatures"`
	// Copy lists what the certified copy lacks of the station's promises (the mark, the
	// conversion record, PDF/A), each of which fails the file.
	Copy []string `json:"copy_problems,omitempty"`
	// Inspection is the detail the verdict was made from.
	Inspection *certify.Inspection `json:"-"`
}

// Options are what a file is judged against.
type Options struct {
	// Anchors are the trusted certificates chains must lead to. Without any, no signature
	// can be trusted: INDETERMINATE, never passed.
	Anchors *x509.CertPool
	// Online fetches revocation data the file does not carry from the certificates' OCSP
	// and CRL addresses.
	Online bool
	// Now is the validation time; zero means time.Now.
	Now time.Time
	// Inspect are the station's settings for the mark and the record.
	Inspect certify.InspectOptions
}

// File judges pdf.
func File(ctx context.Context, name string, pdf []byte, opt Options) (*Report, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	inspect := opt.Inspect
	inspect.Roots = opt.Anchors
	in, err := certify.InspectWith(pdf, inspect)
	if err != nil {
		return nil, err
	}
	store, err := readDSS(pdf)
	if err != nil {
		return nil, err
	}
	r := &Report{File: name, Inspection: in}
	v := validator{opt: opt, store: store, in: in, ctx: ctx}
	for _, s := range in.Signatures {
		r.Signatures = append(r.Signatures, v.judge(s))
	}
	r.Copy = in.CopyProblems()
	r.sumUp()
	return r, nil
}

// sumUp gives the file the worst verdict of its signatures; a copy that breaks the station's
// promises fails.
func (r *Report) sumUp() {
	r.Indication = TotalPassed
	worst := func(s Signature) {
		switch {
		case s.Indication == TotalFailed && r.Indication != TotalFailed:
			r.Indication, r.SubIndication, r.Why = TotalFailed, s.SubIndication, fmt.Sprintf("%s %q: %s", s.Kind, s.Field, s.Why)
		case s.Indication == Indeterminate && r.Indication == TotalPassed:
			r.Indication, r.SubIndication, r.Why = Indeterminate, s.SubIndication, fmt.Sprintf("%s %q: %s", s.Kind, s.Field, s.Why)
		}
	}
	for _, s := range r.Signatures {
		worst(s)
	}
	if len(r.Copy) > 0 && r.Indication != TotalFailed {
		r.Indication, r.SubIndication, r.Why = TotalFailed, "", "the certified copy: "+strings.Join(r.Copy, "; ")
	}
}

// validator judges the signatures of one file.
type validator struct {
	ctx   context.Context
	opt   Options
	store *store
	in    *certify.Inspection
}

func (v *validator) judge(s pades.SignatureReport) Signature {
	out := Signature{Field: s.Field, Kind: "signature", Level: s.Level, ClaimedTime: s.SigningTime}
	if s.DocumentTimestamp {
		out.Kind = "document_timestamp"
	}
	if s.Signer != nil {
		out.Signer = s.Signer.Subject.CommonName
	}
	// What the cryptographic check found on an intact signature does not change its verdict:
	// EU DSS, the reference, passes a signature without signing-certificate(-v2), with
	// SubFilter adbe.pkcs7.detached, or with a signature timestamp whose imprint is wrong
	// (the timestamp then proves no time), only warning (measured: findings_test.go).
	out.Findings = append(out.Findings, s.Problems...)
	fail := func(ind Indication, sub, why string, args ...any) Signature {
		out.Indication, out.SubIndication, out.Why = ind, sub, fmt.Sprintf(why, args...)
		return out
	}
	// Cryptography: integrity first; nothing else matters for a broken signature.
	if !s.Intact {
		sub := SigCryptoFailure
		for _, p := range s.Problems {
			if strings.Contains(p, "changed after") {
				sub = HashFailure
			}
		}
		return fail(TotalFailed, sub, "%s", firstOr(s.Problems, "the signature does not check out"))
	}
	// Structure: what changed after it.
	if s.Certification {
		for _, f := range v.in.Forbidden {
			if strings.Contains(f, fmt.Sprintf("%q", s.Field)) {
				return fail(TotalFailed, FormatFailure, "a later revision made a change its certification (P=%d) forbids: %s", s.DocMDP, f)
			}
		}
	}
	if s.Signer == nil {
		return fail(Indeterminate, NoChainFound, "the signer's certificate is not in the file")
	}
	// Time: the earliest time a timestamp proves.
	poe := v.proofOfExistence(s)
	out.ProvenTime = poe
	at := poe
	if at.IsZero() {
		at = v.opt.Now
	}
	usage := x509.ExtKeyUsageAny
	if s.DocumentTimestamp {
		usage = x509.ExtKeyUsageTimeStamping
	}
	// EU DSS's default policy only warns of a signer's certificate whose key usage allows
	// neither (BBB_XCV_ISCGKU_ANS, TOTAL_PASSED): issue 13 wants it checked, and it is, as a
	// finding; the indication stays DSS's (measured: findings_test.go, key-usage-encipherment).
	if !s.DocumentTimestamp && s.Signer.KeyUsage != 0 && s.Signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		out.Findings = append(out.Findings, "the signer's certificate is not for signing (its key usage allows neither digital signature nor non-repudiation)")
	}
	// Certificates: a chain to an anchor, valid at the proven time.
	if v.opt.Anchors == nil {
		return fail(Indeterminate, NoChainFound, "no trust anchor was given (--trust): the signer cannot be identified")
	}
	chain, err := v.chain(s.Signer, at, usage)
	if err != nil {
		var bounds *outOfBounds
		if errors.As(err, &bounds) {
			if bounds.early {
				return fail(Indeterminate, NotYetValid, "%v", err)
			}
			return fail(Indeterminate, OutOfBoundsNoPOE, "%v", err)
		}
		return fail(Indeterminate, NoChainFound, "%v", err)
	}
	// Revocation, with the data the file carries (or fetched online).
	if ind, sub, why := v.revocation(chain, poe); ind != "" {
		return fail(ind, sub, "%s", why)
	}
	out.Indication = TotalPassed
	return out
}

func firstOr(list []string, or string) string {
	if len(list) > 0 {
		return list[0]
	}
	return or
}

// proofOfExistence is the earliest time a valid, trusted timestamp proves for s: its own
// signature timestamp, or a document timestamp over the revision it signed. Zero when none.
func (v *validator) proofOfExistence(s pades.SignatureReport) time.Time {
	var best time.Time
	consider := func(t time.Time, tsa *x509.Certificate) {
		if t.IsZero() || tsa == nil || v.opt.Anchors == nil {
			return
		}
		if _, err := v.chain(tsa, t, x509.ExtKeyUsageTimeStamping); err != nil {
			return
		}
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	if s.DocumentTimestamp {
		consider(s.Timestamp, s.TimestampSigner)
		return best
	}
	if s.TimestampValid {
		consider(s.Timestamp, s.TimestampSigner)
	}
	for _, d := range v.in.Signatures {
		if d.DocumentTimestamp && d.Intact && d.End >= s.End && d.Field != s.Field {
			consider(d.Timestamp, d.TimestampSigner)
		}
	}
	return best
}

// outOfBounds means the chain exists but a certificate is not valid at the time judged.
type outOfBounds struct {
	cert  *x509.Certificate
	at    time.Time
	early bool
}

func (e *outOfBounds) Error() string {
	if e.early {
		return fmt.Sprintf("the certificate %q was not yet valid at %s (valid from %s)", e.cert.Subject.CommonName,
			e.at.UTC().Format(time.RFC3339), e.cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("the certificate %q had expired at %s, the time judged (valid until %s), and no timestamp proves the signature existed before",
		e.cert.Subject.CommonName, e.at.UTC().Format(time.RFC3339), e.cert.NotAfter.UTC().Format(time.RFC3339))
}

// chain builds leaf's chain to an anchor and checks every certificate of it is valid at at.
func (v *validator) chain(leaf *x509.Certificate, at time.Time, usage x509.ExtKeyUsage) ([]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range v.store.pool(v.in) {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.opt.Anchors, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}
	// The chain itself, at a time every certificate of it was valid, then its validity at at.
	opts.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	chains, err := leaf.Verify(opts)
	if err != nil {
		return nil, fmt.Errorf("the certificate %q does not lead to a trusted anchor: %v", leaf.Subject.CommonName, err)
	}
	chain := chains[0]
	for _, c := range chain {
		if at.Before(c.NotBefore) {
			return nil, &outOfBounds{cert: c, at: at, early: true}
		}
		if at.After(c.NotAfter) {
			return nil, &outOfBounds{cert: c, at: at}
		}
	}
	return chain, nil
}
