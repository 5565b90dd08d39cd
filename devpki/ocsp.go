package devpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	_ "crypto/sha512" // a CertID may use SHA-384 or SHA-512: crypto.Hash.New needs them linked
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The responder writes its answers itself rather than through golang.org/x/crypto/ocsp:
// that package sets producedAt to the minute before now and cannot echo a request's
// nonce. A response produced up to a minute before the signature timestamp it is
// meant to vouch after would look stale to a long-term validator, and openssl warns
// about a missing nonce. The tests read the answers with x/crypto/ocsp and openssl.

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

// OCSP response statuses of RFC 6960 4.2.1 that the responder sends.
const (
	ocspSuccessful       = 0
	ocspMalformedRequest = 1
	ocspInternalError    = 2
)

// ocspQuery is what an OCSP request asks: the status of each certificate it names, and
// the nonce to echo, if any.
type ocspQuery struct {
	certs []certID
	nonce []byte // the nonce extension's extnValue, echoed as it came
}

// certID is one CertID of a request, kept as it came so that the answer names it alike.
type certID struct {
	raw               []byte
	hash              crypto.Hash
	nameHash, keyHash []byte
	serial            *big.Int
}

// parseOCSPRequest reads a DER OCSPRequest (RFC 6960 4.1.1). A signature on the request
// is ignored: the dev responder answers anyone on loopback.
func parseOCSPRequest(der []byte) (*ocspQuery, error) {
	in := cryptobyte.String(der)
	var req, tbs, list cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || // requestorName
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return nil, errors.New("not an OCSP request")
	}
	var q ocspQuery
	for !list.Empty() {
		var one, raw cryptobyte.String
		if !list.ReadASN1(&one, cbasn1.SEQUENCE) || !one.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
			return nil, errors.New("an OCSP request's entry cannot be read")
		}
		id := certID{raw: raw, serial: new(big.Int)}
		var body, alg cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !raw.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
			!body.ReadASN1Bytes(&id.nameHash, cbasn1.OCTET_STRING) || !body.ReadASN1Bytes(&id.keyHash, cbasn1.OCTET_STRING) ||
			!body.ReadASN1Integer(id.serial) {
			return nil, errors.New("an OCSP request's CertID cannot be read")
		}
		switch {
		case oid.Equal(oidSHA1):
			id.hash = crypto.SHA1
		case oid.Equal(oidSHA256):
			id.hash = crypto.SHA256
		case oid.Equal(oidSHA384):
			id.hash = crypto.SHA384
		case oid.Equal(oidSHA512):
			id.hash = crypto.SHA512
		}
		q.certs = append(q.certs, id)
	}
	if len(q.certs) == 0 {
		return nil, errors.New("the OCSP request asks about no certificate")
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return nil, errors.New("the OCSP request's extensions cannot be read")
	}
	if hasExts {
		var seq cryptobyte.String
		if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return nil, errors.New("the OCSP request's extensions cannot be read")
		}
		for !seq.Empty() {
			var ext cryptobyte.String
			var oid asn1.ObjectIdentifier
			var value []byte
			if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
				!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1Bytes(&value, cbasn1.OCTET_STRING) {
				return nil, errors.New("an extension of the OCSP request cannot be read")
			}
			if oid.Equal(oidOCSPNonce) {
				q.nonce = value
			}
		}
	}
	return &q, nil
}

// ocspError is an OCSPResponse without a body, for requests the responder cannot answer.
func ocspError(status int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Enum(int64(status)) })
	return b.BytesOrPanic()
}

// ocspCertStatus is the status of one certificate at now: good, revoked or unknown
// (another issuer, or a serial number the CA never issued).
func (ca *CA) ocspCertStatus(id certID, now time.Time) (Status, bool, error) {
	if id.hash == 0 {
		return Status{}, false, nil
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(ca.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return Status{}, false, err
	}
	h := id.hash.New()
	h.Write(ca.Cert.RawSubject)
	nameHash := h.Sum(nil)
	h.Reset()
	h.Write(spki.PublicKey.RightAlign())
	if !bytes.Equal(nameHash, id.nameHash) || !bytes.Equal(h.Sum(nil), id.keyHash) {
		return Status{}, false, nil
	}
	s, err := ca.Status(id.serial)
	if err != nil || !s.Issued {
		return Status{}, false, err
	}
	if s.RevokedAt.After(now) {
		s.RevokedAt = time.Time{}
	}
	return s, true, nil
}

// OCSPResponse answers a DER OCSP request with a DER OCSPResponse signed by the CA
// itself, made at now and valid for a day. The error is for the responder's log; the
// response is then an error response and still meant to be sent.
func (ca *CA) OCSPResponse(der []byte, now time.Time) ([]byte, error) {
	q, err := parseOCSPRequest(der)
	if err != nil {
		return ocspError(ocspMalformedRequest), err
	}
	resp, err := ca.ocspResponse(q, now.UTC().Truncate(time.Second))
	if err != nil {
		return ocspError(ocspInternalError), err
	}
	return resp, nil
}

func (ca *CA) ocspResponse(q *ocspQuery, now time.Time) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(ca.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	keyHash := sha1.Sum(spki.PublicKey.RightAlign())

	var tbs cryptobyte.Builder
	var statusErr error
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseData, version v1 by default
		b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // ResponderID byKey
			b.AddASN1OctetString(keyHash[:])
		})
		b.AddASN1GeneralizedTime(now)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, id := range q.certs {
				status, known, err := ca.ocspCertStatus(id, now)
				if err != nil {
					statusErr = err
					return
				}
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SingleResponse
					b.AddBytes(id.raw)
					switch {
					case !known:
						b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {}) // unknown [2] IMPLICIT NULL
					case !status.RevokedAt.IsZero():
						b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // revoked [1] IMPLICIT RevokedInfo
							b.AddASN1GeneralizedTime(status.RevokedAt.UTC())
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddASN1Enum(int64(status.Reason))
							})
						})
					default:
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {}) // good [0] IMPLICIT NULL
					}
					b.AddASN1GeneralizedTime(now) // thisUpdate
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1GeneralizedTime(now.Add(24 * time.Hour)) // nextUpdate
					})
				})
			}
		})
		if q.nonce != nil {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidOCSPNonce)
						b.AddASN1OctetString(q.nonce)
					})
				})
			})
		}
	})
	if statusErr != nil {
		return nil, statusErr
	}
	tbsDER, err := tbs.Bytes()
	if err != nil {
		return nil, err
	}
	sigAlg, err := signatureAlgorithm(ca.Key)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tbsDER)
	sig, err := ca.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign the OCSP response: %w", err)
	}
	var basic cryptobyte.Builder
	basic.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // BasicOCSPResponse
		b.AddBytes(tbsDER)
		sigAlg(b)
		b.AddASN1BitString(sig)
	})
	basicDER, err := basic.Bytes()
	if err != nil {
		return nil, err
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPResponse
		b.AddASN1Enum(ocspSuccessful)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ResponseBytes
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basicDER)
			})
		})
	})
	return out.Bytes()
}
