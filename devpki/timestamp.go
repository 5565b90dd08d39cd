package devpki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers (RFC 5652, RFC 5035, RFC 5754, RFC 3161, RFC 8017, RFC 5758).
var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSAWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidTimeStamping      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}

	// TestPolicy is the TSA policy of the dev and test TSAs: a private arc, never a real
	// agency's policy.
	TestPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

// TimeStampRequest is what an RFC 3161 (2.4.1) request asks for.
type TimeStampRequest struct {
	Version       int
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
	Policy        asn1.ObjectIdentifier // nil: any
	Nonce         *big.Int              // nil: none asked
	CertReq       bool                  // embed the TSA's certificates in the token
	HasExtensions bool
}

// timeStampReq is the ASN.1 of RFC 3161 2.4.1's TimeStampReq.
type timeStampReq struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional,default:false"`
	Extensions asn1.RawValue         `asn1:"optional,tag:0"`
}

// ParseTimeStampRequest reads a DER TimeStampReq.
func ParseTimeStampRequest(der []byte) (*TimeStampRequest, error) {
	var r timeStampReq
	rest, err := asn1.Unmarshal(der, &r)
	if err != nil {
		return nil, fmt.Errorf("not an RFC 3161 time-stamp request: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("not an RFC 3161 time-stamp request: bytes after its end")
	}
	return &TimeStampRequest{
		Version:       r.Version,
		HashAlgorithm: r.MessageImprint.HashAlgorithm,
		HashedMessage: r.MessageImprint.HashedMessage,
		Policy:        r.ReqPolicy,
		Nonce:         r.Nonce,
		CertReq:       r.CertReq,
		HasExtensions: len(r.Extensions.FullBytes) > 0,
	}, nil
}

// imprintSize is the size in bytes of an imprint algorithm the TSA accepts, or 0. SHA-1
// is refused: ETSI TS 119 312 no longer lets it protect a new signature.
func imprintSize(alg pkix.AlgorithmIdentifier) int {
	switch {
	case alg.Algorithm.Equal(oidSHA256):
		return 32
	case alg.Algorithm.Equal(oidSHA384):
		return 48
	case alg.Algorithm.Equal(oidSHA512):
		return 64
	}
	return 0
}

// PKIFailureInfo bits of RFC 3161 2.4.2 that the TSA answers with.
const (
	FailBadAlg              = 0
	FailBadRequest          = 2
	FailBadDataFormat       = 5
	FailUnacceptedPolicy    = 15
	FailUnacceptedExtension = 16
)

// TimeStamper signs RFC 3161 time-stamp tokens.
type TimeStamper struct {
	Key    crypto.Signer       // ECDSA P-256 or RSA; the signature is over SHA-256
	Certs  []*x509.Certificate // the TSA's certificate first, then what else a token embeds
	Policy asn1.ObjectIdentifier
}

// Respond answers a DER request with a DER TimeStampResp: granted with a token made at
// genTime, or rejected with the reason a client can show. The error is for the TSA's
// own log; the response is then a rejection and still meant to be sent.
func (s *TimeStamper) Respond(der []byte, genTime time.Time) ([]byte, error) {
	req, err := ParseTimeStampRequest(der)
	if err != nil {
		return Rejection(FailBadDataFormat, err.Error()), err
	}
	if bit, why := s.Check(req); why != "" {
		return Rejection(bit, why), errors.New(why)
	}
	serial, err := randomSerial()
	if err != nil {
		return Rejection(FailBadRequest, "the TSA cannot make a serial number"), err
	}
	resp, err := s.Grant(req, genTime, serial)
	if err != nil {
		return Rejection(FailBadRequest, "the TSA cannot sign"), err
	}
	return resp, nil
}

// Check says whether the TSA can grant req: the failure bit and the reason in words, or
// an empty reason.
func (s *TimeStamper) Check(req *TimeStampRequest) (failBit int, why string) {
	switch {
	case req.Version != 1:
		return FailBadRequest, fmt.Sprintf("request version %d, want 1", req.Version)
	case imprintSize(req.HashAlgorithm) == 0:
		return FailBadAlg, fmt.Sprintf("imprint algorithm %v is not SHA-256, SHA-384 or SHA-512", req.HashAlgorithm.Algorithm)
	case len(req.HashedMessage) != imprintSize(req.HashAlgorithm):
		return FailBadDataFormat, fmt.Sprintf("imprint of %d bytes for an algorithm that makes %d", len(req.HashedMessage), imprintSize(req.HashAlgorithm))
	case req.Policy != nil && !req.Policy.Equal(s.Policy):
		return FailUnacceptedPolicy, fmt.Sprintf("policy %v is not this TSA's (%v)", req.Policy, s.Policy)
	case req.HasExtensions:
		return FailUnacceptedExtension, "the TSA takes no request extensions"
	}
	return 0, ""
}

// Rejection is a TimeStampResp with status rejection, one failure bit and a reason.
func Rejection(failBit int, why string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIStatusInfo
			b.AddASN1Int64(2)                                        // rejection
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIFreeText
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(why)) })
			})
			// A named BIT STRING in DER drops its trailing zero bits.
			bits := make([]byte, failBit/8+1)
			bits[failBit/8] = 0x80 >> (failBit % 8)
			unused := 0
			for unused < 7 && bits[len(bits)-1]&(1<<unused) == 0 {
				unused++
			}
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(unused))
				b.AddBytes(bits)
			})
		})
	})
	return b.BytesOrPanic()
}

// Grant returns a granted TimeStampResp for req, made at genTime with serial. It does
// not Check req: a test TSA may answer what a real one would refuse.
func (s *TimeStamper) Grant(req *TimeStampRequest, genTime time.Time, serial *big.Int) ([]byte, error) {
	if len(s.Certs) == 0 {
		return nil, errors.New("the TSA has no certificate")
	}
	imprintAlg, err := asn1.Marshal(req.HashAlgorithm)
	if err != nil {
		return nil, err
	}
	var tst cryptobyte.Builder
	tst.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(s.Policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // MessageImprint, as asked
			b.AddBytes(imprintAlg)
			b.AddASN1OctetString(req.HashedMessage)
		})
		b.AddASN1BigInt(serial)
		// With fractions of a second, as many real TSAs send it; DER wants no trailing zeros,
		// which the .999 layout drops.
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(genTime.UTC().Format("20060102150405.999Z")))
		})
		if req.Nonce != nil {
			b.AddASN1BigInt(req.Nonce)
		}
	})
	tstDER, err := tst.Bytes()
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	if req.CertReq {
		certs = s.Certs
	}
	token, err := signedData(tstDER, s.Key, s.Certs[0], certs)
	if err != nil {
		return nil, err
	}
	var resp cryptobyte.Builder
	resp.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) }) // PKIStatus granted
		b.AddBytes(token)
	})
	return resp.Bytes()
}

// signatureAlgorithm is the CMS or X.509 identifier of a SHA-256 signature by key.
func signatureAlgorithm(key crypto.Signer) (func(*cryptobyte.Builder), error) {
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		// RFC 5758: ECDSA identifiers go without parameters.
		return func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidECDSAWithSHA256) })
		}, nil
	case *rsa.PublicKey:
		// RFC 4055: RSA PKCS #1 v1.5 identifiers carry a NULL.
		return func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidRSAWithSHA256)
				b.AddASN1NULL()
			})
		}, nil
	}
	return nil, fmt.Errorf("a %T key cannot sign here: ECDSA or RSA only", key.Public())
}

// signedData returns a ContentInfo holding a CMS SignedData (RFC 5652) that
// encapsulates tstInfo and is signed by key, whose certificate is cert; embed are the
// certificates it carries. The signed attributes are those RFC 3161 2.4.2 asks for:
// content type, message digest and signing-certificate-v2 (RFC 5035).
func signedData(tstInfo []byte, key crypto.Signer, cert *x509.Certificate, embed []*x509.Certificate) ([]byte, error) {
	sigAlg, err := signatureAlgorithm(key)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tstInfo)
	certHash := sha256.Sum256(cert.Raw)
	attrs := [][]byte{
		attribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidTSTInfo) }),
		attribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) }),
		attribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2, SHA-256 by default
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								// directoryName [4] is explicit: Name is a CHOICE.
								b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
									b.AddBytes(cert.RawIssuer)
								})
							})
							b.AddASN1BigInt(cert.SerialNumber)
						})
					})
				})
			})
		}),
	}
	// DER orders the members of a SET OF by their encodings; the signature
	// is over the SET OF, the SignerInfo carries them under [0] IMPLICIT.
	slices.SortFunc(attrs, bytes.Compare)
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signedAttrs, err := set.Bytes()
	if err != nil {
		return nil, err
	}
	attrsDigest := sha256.Sum256(signedAttrs)
	sig, err := key.Sign(rand.Reader, attrsDigest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}

	digestAlg := func(b *cryptobyte.Builder) {
		// RFC 5754: SHA-2 identifiers go without parameters.
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
	}
	var ci cryptobyte.Builder
	ci.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(3) // RFC 5652 5.1: the content is not id-data
				b.AddASN1(cbasn1.SET, digestAlg)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(oidTSTInfo)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(tstInfo)
					})
				})
				if len(embed) > 0 {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						for _, c := range embed {
							b.AddBytes(c.Raw)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						digestAlg(b)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							for _, a := range attrs {
								b.AddBytes(a)
							}
						})
						sigAlg(b)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return ci.Bytes()
}

// attribute encodes one CMS Attribute with a single value.
func attribute(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}

// TimeStampingEKU is the extension RFC 3161 2.3 asks of a TSA's certificate: exactly one
// extended key usage, id-kp-timeStamping, marked critical. Go's ExtKeyUsage field would
// not mark it critical, so a template carries this in ExtraExtensions.
func TimeStampingEKU() pkix.Extension {
	v, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		panic(err) // a constant value
	}
	return pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: v}
}
