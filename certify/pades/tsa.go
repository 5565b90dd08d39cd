package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrTSAUnavailable means the timestamp authority could not be reached or
// did not answer in time (network errors, timeouts, HTTP 5xx, "try later").
// Nothing was signed into a file; the caller may retry later or sign
// without a timestamp. Other TSA errors (a refused request, a wrong nonce, a
// broken token) are not this error: they need a person to look at the TSA
// settings.
var ErrTSAUnavailable = errors.New("the timestamp authority (TSA) cannot be reached")

// defaultTSATimeout bounds one request when TSA.Timeout is zero. A TSA
// answers in well under a second when it works; waiting longer mostly
// delays the decision to retry.
const defaultTSATimeout = 15 * time.Second

// maxTSAResponse bounds what is read from a TSA. A token with its
// certificates is a few kilobytes.
const maxTSAResponse = 1 << 20

// TSA is an RFC 3161 timestamp authority reached over HTTP(S).
type TSA struct {
	URL string
	// Timeout bounds one request, connection to last byte; zero means 15 seconds.
	Timeout time.Duration
	// Client sends the request; nil means http.DefaultClient. Timeout
	// applies either way.
	Client *http.Client

	// largest is the length of the largest token this authority has sent,
	// from which the room for the next one is sized (tokenRoom).
	largest atomic.Int64
}

// largestToken is the length of the largest token t has sent, 0 before the first.
func (t *TSA) largestToken() int { return int(t.largest.Load()) }

func (t *TSA) noteToken(n int) {
	for {
		old := t.largest.Load()
		if int64(n) <= old || t.largest.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// Stamp asks the TSA to timestamp a SHA-256 digest and returns the DER
// TimeStampToken (a CMS ContentInfo). It checks the answer before returning
// it: status granted, the same nonce and digest as asked, and a CMS
// signature that verifies with the TSA certificate inside the token.
// Errors that mean the TSA could not be reached wrap ErrTSAUnavailable.
func (t *TSA) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	if len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("a timestamp needs a SHA-256 digest (32 bytes), not %d bytes", len(digest))
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the timestamp authority address %q is not an http or https URL; check the TSA setting", t.URL)
	}
	where := u.Redacted() // never put a password from the URL into a message

	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("making a timestamp request: %w", err)
	}
	req, err := timestampRequest(digest, nonce)
	if err != nil {
		return nil, fmt.Errorf("making a timestamp request: %w", err)
	}
	resp, err := t.post(ctx, where, req)
	if err != nil {
		return nil, err
	}
	token, err := parseTimestampResponse(resp, where)
	if err != nil {
		return nil, err
	}
	info, tsd, err := readTimestampToken(token)
	if err != nil {
		return nil, fmt.Errorf("the timestamp authority %s sent a token that cannot be trusted: %w", where, err)
	}
	if found := tokenFindings(tsd); len(found) > 0 {
		return nil, fmt.Errorf("the timestamp authority %s sent a token that cannot be trusted: %s", where, strings.Join(found, "; "))
	}
	if info.nonce == nil || info.nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("the timestamp authority %s answered with a different nonce than asked; the answer may belong to another request or be replayed, so it was refused", where)
	}
	if info.hash != crypto.SHA256 || !bytes.Equal(info.imprint, digest) {
		return nil, fmt.Errorf("the timestamp authority %s stamped something other than the signature it was sent; the answer was refused", where)
	}
	t.noteToken(len(token))
	return token, nil
}

// post sends the request and returns the response body, sorting failures
// into "unavailable" (try again later) and the rest.
func (t *TSA) post(ctx context.Context, where string, body []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = defaultTSATimeout
	}
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("making a timestamp request for %s: %w", where, err)
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	req.Header.Set("Accept", "application/timestamp-reply")
	unavailable := func(err error) error {
		// A caller that gave up (shutdown) is not a TSA outage.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if reqCtx.Err() != nil {
			return fmt.Errorf("%w: %s did not answer within %v", ErrTSAUnavailable, where, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the message
		}
		return fmt.Errorf("%w: %s: %v", ErrTSAUnavailable, where, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, unavailable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTSAResponse+1))
	if err != nil {
		return nil, unavailable(err)
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, fmt.Errorf("%w: %s answered %s", ErrTSAUnavailable, where, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the timestamp authority %s refused the request (%s); check the TSA address and whether this station may use it", where, resp.Status)
	case len(data) > maxTSAResponse:
		return nil, fmt.Errorf("the timestamp authority %s sent more than %d bytes, which is no timestamp response", where, maxTSAResponse)
	}
	return data, nil
}

// timeStampReq is RFC 3161 2.4.1's request, without policy or extensions.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int
	CertReq        bool
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

func timestampRequest(digest []byte, nonce *big.Int) ([]byte, error) {
	return asn1.Marshal(timeStampReq{
		Version: 1,
		// RFC 5754: SHA-2 identifiers go without parameters.
		MessageImprint: messageImprint{pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, digest},
		Nonce:          nonce,
		// The TSA's certificate inside the token lets anyone check it later.
		CertReq: true,
	})
}

// pkiStatus values (RFC 3161 2.4.2).
const (
	statusGranted         = 0
	statusGrantedWithMods = 1
	statusWaiting         = 3
)

// parseTimestampResponse reads a TimeStampResp and returns its token when
// the status says granted.
func parseTimestampResponse(der []byte, where string) ([]byte, error) {
	in := cryptobyte.String(der)
	var resp, statusInfo cryptobyte.String
	var status int64
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1(&statusInfo, cbasn1.SEQUENCE) || !statusInfo.ReadASN1Integer(&status) {
		return nil, fmt.Errorf("the timestamp authority %s answered with something that is not a timestamp response; check the TSA address", where)
	}
	if status != statusGranted && status != statusGrantedWithMods {
		var why []string
		var texts cryptobyte.String
		var hasTexts bool
		if statusInfo.ReadOptionalASN1(&texts, &hasTexts, cbasn1.SEQUENCE) && hasTexts {
			for !texts.Empty() {
				var s cryptobyte.String
				if !texts.ReadASN1(&s, cbasn1.UTF8String) {
					break
				}
				why = append(why, string(s))
			}
		}
		detail := fmt.Sprintf("status %d", status)
		if len(why) > 0 {
			detail += ": " + strings.Join(why, "; ")
		}
		if status == statusWaiting {
			return nil, fmt.Errorf("%w: %s is busy and asks to try again later (%s)", ErrTSAUnavailable, where, detail)
		}
		return nil, fmt.Errorf("the timestamp authority %s did not grant the timestamp (%s); check the TSA settings", where, detail)
	}
	var token cryptobyte.String
	if !resp.ReadASN1Element(&token, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("the timestamp authority %s granted a timestamp but sent no token", where)
	}
	return token, nil
}

// tstInfo is what scanstation reads from a token's TSTInfo (RFC 3161 2.4.2).
type tstInfo struct {
	hash    crypto.Hash // of the message imprint; 0 when not one scanstation knows
	imprint []byte
	genTime time.Time
	nonce   *big.Int // nil when absent
}

// readTimestampToken reads a TimeStampToken and checks that its CMS
// signature verifies with the TSA certificate inside it. Trust in that
// certificate is the caller's question.
func readTimestampToken(token []byte) (*tstInfo, *signedData, error) {
	sd, err := parseSignedData(token)
	if err != nil {
		return nil, nil, err
	}
	if !sd.eContentType.Equal(oidTSTInfo) || sd.eContent == nil {
		return nil, nil, errors.New("the token does not hold timestamp information (TSTInfo)")
	}
	if !sd.contentType.Equal(oidTSTInfo) {
		return nil, nil, errors.New("the token's content-type attribute is not TSTInfo")
	}
	if sd.signer == nil {
		return nil, nil, errors.New("the token does not carry the certificate of the authority that signed it")
	}
	h := sd.digestAlg.New()
	h.Write(sd.eContent)
	if !bytes.Equal(h.Sum(nil), sd.messageDigest) {
		return nil, nil, errors.New("the token's timestamp information does not match its signed digest")
	}
	alg := x509Algorithm(namedHash(sd.digestAlg, sd.sigAlg), sd.sigAlg)
	if alg == x509.UnknownSignatureAlgorithm {
		return nil, nil, fmt.Errorf("the token is signed with algorithm %v, which scanstation does not check", sd.sigAlg)
	}
	if err := sd.signer.CheckSignature(alg, sd.signedAttrs, sd.signature); err != nil {
		return nil, nil, fmt.Errorf("the token's signature does not verify with the authority's certificate: %w", err)
	}
	// RFC 3161 2.3: a TSA's certificate is for timestamping only (and says so in a critical
	// extension: ekuNotCritical).
	if !slices.Equal(sd.signer.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) || len(sd.signer.UnknownExtKeyUsage) > 0 {
		return nil, nil, fmt.Errorf("the certificate that signed the token (%q) is not one for timestamping only", sd.signer.Subject.CommonName)
	}
	if _, err := signingCertificate(sd); err != nil {
		return nil, nil, fmt.Errorf("the token does not name the authority that signed it: %w", err)
	}
	info, err := parseTSTInfo(sd.eContent)
	if err != nil {
		return nil, nil, err
	}
	return info, sd, nil
}

func parseTSTInfo(der []byte) (*tstInfo, error) {
	bad := errors.New("the token's timestamp information (TSTInfo) cannot be read")
	in := cryptobyte.String(der)
	var seq, imprint, alg cryptobyte.String
	var version int64
	var policy, hashOID asn1.ObjectIdentifier
	serial := new(big.Int)
	info := &tstInfo{}
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) ||
		!seq.ReadASN1Integer(&version) ||
		!seq.ReadASN1ObjectIdentifier(&policy) ||
		!seq.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&hashOID) ||
		!imprint.ReadASN1Bytes(&info.imprint, cbasn1.OCTET_STRING) ||
		!seq.ReadASN1Integer(serial) {
		return nil, bad
	}
	info.hash = hashForOID(hashOID)
	var gen cryptobyte.String
	if !seq.ReadASN1(&gen, cbasn1.GeneralizedTime) {
		return nil, bad
	}
	// RFC 3161 genTime is UTC with optional fractions of a second, which
	// time.Parse accepts after the seconds without being told.
	t, err := time.Parse("20060102150405Z", string(gen))
	if err != nil {
		return nil, fmt.Errorf("the token's time %q cannot be read", gen)
	}
	info.genTime = t
	if !seq.SkipOptionalASN1(cbasn1.SEQUENCE) || // accuracy
		!seq.SkipOptionalASN1(cbasn1.BOOLEAN) { // ordering
		return nil, bad
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) {
		info.nonce = new(big.Int)
		if !seq.ReadASN1Integer(info.nonce) {
			return nil, bad
		}
	}
	return info, nil
}

// oidExtKeyUsage is id-ce-extKeyUsage (RFC 5280 4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// ekuNotCritical says why c, a timestamp authority's certificate, breaks RFC 3161 2.3 by not
// marking its extended key usage critical, so that no other key can pass for a time-stamping
// authority's; "" when it marks it. The station refuses such an authority's tokens when it
// signs (tokenFindings). A verifier only reports it: EU DSS takes such a token as proof of
// time (measured: verify/findings_test.go), and a verdict must be the same as DSS's.
func ekuNotCritical(c *x509.Certificate) string {
	if ekuCritical(c) {
		return ""
	}
	return fmt.Sprintf("the certificate that signed the token (%q) does not mark its key usage for timestamping critical, as RFC 3161 requires", c.Subject.CommonName)
}

func ekuCritical(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			return e.Critical
		}
	}
	return false
}
