package pades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers used in the CMS (RFC 5652, RFC 5035, RFC 5754, RFC 3279,
// RFC 3161).
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrTimestamp     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14} // id-aa-signatureTimeStampToken
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}  // id-ct-TSTInfo
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// signedAttributes returns the DER encoding, as a SET OF (the form that is
// signed, RFC 5652 5.4), of the attributes PAdES B-B asks for: content type,
// message digest and signing-certificate-v2. There is no signing-time
// attribute: PAdES puts the claimed time in the signature dictionary's /M
// instead. A timestamp token (RFC 3161 2.4.2) has the same three, with its
// own content type.
func signedAttributes(contentType asn1.ObjectIdentifier, digest []byte, cert *x509.Certificate) ([]byte, error) {
	certHash := sha256.Sum256(cert.Raw)
	attrs := [][]byte{
		attribute(oidAttrContentType, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(contentType)
		}),
		attribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(digest)
		}),
		// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }
		// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (so omitted),
		//   certHash OCTET STRING, issuerSerial IssuerSerial }
		attribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								// directoryName [4]: explicit, because Name is a CHOICE.
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
	// DER orders the members of a SET OF by their encodings.
	slices.SortFunc(attrs, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	return b.Bytes()
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

// signatureAlgorithm tells how a key of this type signs a SHA-256 digest and
// how the CMS names that.
func signatureAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, asn1.ObjectIdentifier, bool, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, oidRSAEncryption, true, nil
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA256, oidECDSAWithSHA256, false, nil
	default:
		return 0, nil, false, fmt.Errorf("signing keys of type %T are not supported; use an RSA or EC key", pub)
	}
}

// signerInfo is one signer's part of a SignedData, built in two steps so
// that an unsigned attribute (the timestamp over the signature value) can
// be added between signing and encoding.
type signerInfo struct {
	contentType asn1.ObjectIdentifier // eContentType, and the content-type attribute
	content     []byte                // eContent; nil for a detached signature
	chain       []*x509.Certificate   // signing certificate first; all are embedded
	attrs       []byte                // signed attributes, DER SET OF
	signature   []byte                // over attrs
	unsigned    [][]byte              // unsigned attributes, each a DER Attribute
}

// signCMS signs the attributes for content whose SHA-256 digest is given.
func signCMS(contentType asn1.ObjectIdentifier, content, digest []byte, key crypto.Signer, chain []*x509.Certificate) (*signerInfo, error) {
	cert := chain[0]
	x509Alg, _, _, err := signatureAlgorithm(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	attrs, err := signedAttributes(contentType, digest, cert)
	if err != nil {
		return nil, err
	}
	attrsDigest := sha256.Sum256(attrs)
	sig, err := key.Sign(rand.Reader, attrsDigest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("the signing key refused to sign: %w", err)
	}
	// A token whose key does not belong to the certificate would otherwise
	// produce documents that every validator rejects; catch it here.
	if err := cert.CheckSignature(x509Alg, attrs, sig); err != nil {
		return nil, fmt.Errorf("the signing key's signature does not match the signing certificate %q (is the right key selected on the token?): %w", cert.Subject.CommonName, err)
	}
	return &signerInfo{contentType: contentType, content: content, chain: chain, attrs: attrs, signature: sig}, nil
}

// encode writes the ContentInfo holding the SignedData.
func (si *signerInfo) encode() ([]byte, error) {
	cert := si.chain[0]
	_, sigAlgOID, algNullParams, err := signatureAlgorithm(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	// RFC 5652 5.1: version 3 when the content is not id-data.
	version := int64(1)
	if !si.contentType.Equal(oidData) {
		version = 3
	}
	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, nullParams bool) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if nullParams {
				b.AddASN1NULL()
			}
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					algID(b, oidSHA256, false)
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(si.contentType)
					if si.content != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(si.content)
						})
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range si.chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algID(b, oidSHA256, false)
						// The signed attributes again, now under [0] IMPLICIT.
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							var set cryptobyte.String = si.attrs
							var content cryptobyte.String
							set.ReadASN1(&content, cbasn1.SET)
							b.AddBytes(content)
						})
						algID(b, sigAlgOID, algNullParams)
						b.AddASN1OctetString(si.signature)
						if len(si.unsigned) > 0 {
							unsigned := slices.Clone(si.unsigned)
							slices.SortFunc(unsigned, bytes.Compare) // a SET OF, so DER order
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								for _, a := range unsigned {
									b.AddBytes(a)
								}
							})
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}

// signedData is what Verify needs from a CMS SignedData.
type signedData struct {
	eContentType    asn1.ObjectIdentifier
	eContent        []byte // nil when detached
	certs           []*x509.Certificate
	signer          *x509.Certificate // nil when no embedded certificate matches the SignerInfo
	digestAlg       crypto.Hash
	signedAttrs     []byte // DER SET OF, as signed
	messageDigest   []byte
	contentType     asn1.ObjectIdentifier // from the content-type attribute; nil when absent
	hasSigningTime  bool
	signingCertHash []byte // from signing-certificate-v2, nil when absent
	signingCertAlg  crypto.Hash
	sigAlg          asn1.ObjectIdentifier
	signature       []byte
	timestampToken  []byte // the first signature-time-stamp unsigned attribute; nil when absent
}

var errNotDER = errors.New("the signature value is not a DER-encoded CMS SignedData")

// parseSignedData reads the CMS that a PDF signature's /Contents holds.
// Trailing zero bytes (the unused rest of the reserved space) are allowed.
func parseSignedData(der []byte) (*signedData, error) {
	in := cryptobyte.String(der)
	var ci, content, sd cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) ||
		!ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!content.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errNotDER
	}
	if len(bytes.Trim(in, "\x00")) != 0 {
		return nil, errors.New("the signature value has unexpected bytes after the CMS")
	}
	if !ctype.Equal(oidSignedData) {
		return nil, fmt.Errorf("the signature value is a CMS of type %v, not SignedData", ctype)
	}
	var version int64
	var digestAlgs, encap, signerInfos cryptobyte.String
	if !sd.ReadASN1Integer(&version) ||
		!sd.ReadASN1(&digestAlgs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errNotDER
	}
	out := &signedData{}
	if !encap.ReadASN1ObjectIdentifier(&out.eContentType) {
		return nil, errNotDER
	}
	if !encap.Empty() {
		var explicit cryptobyte.String
		if !encap.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!explicit.ReadASN1Bytes(&out.eContent, cbasn1.OCTET_STRING) {
			return nil, errNotDER
		}
		if out.eContent == nil {
			out.eContent = []byte{} // present but empty is still not detached
		}
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errNotDER
	}
	for !certs.Empty() {
		var raw cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&raw, &tag) {
			return nil, errNotDER
		}
		if tag != cbasn1.SEQUENCE {
			continue // attribute certificates and other choices are not ours to judge
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("an embedded certificate cannot be read: %w", err)
		}
		out.certs = append(out.certs, c)
	}
	if !sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || // CRLs
		!sd.ReadASN1(&signerInfos, cbasn1.SET) {
		return nil, errNotDER
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, errors.New("the CMS has no SignerInfo")
	}
	if !signerInfos.Empty() {
		return nil, errors.New("the CMS has more than one SignerInfo; a PDF signature has exactly one")
	}
	if err := out.readSignerInfo(si); err != nil {
		return nil, err
	}
	return out, nil
}

func (out *signedData) readSignerInfo(si cryptobyte.String) error {
	var version int64
	var sid cryptobyte.String
	var sidTag cbasn1.Tag
	var digestAlg, sigAlg cryptobyte.String
	if !si.ReadASN1Integer(&version) || !si.ReadAnyASN1(&sid, &sidTag) || !si.ReadASN1(&digestAlg, cbasn1.SEQUENCE) {
		return errNotDER
	}
	switch sidTag {
	case cbasn1.SEQUENCE: // issuerAndSerialNumber
		var issuer cryptobyte.String
		serial := new(big.Int)
		if !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(serial) {
			return errNotDER
		}
		for _, c := range out.certs {
			if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
				out.signer = c
				break
			}
		}
	case cbasn1.Tag(0).ContextSpecific(): // subjectKeyIdentifier
		for _, c := range out.certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid) {
				out.signer = c
				break
			}
		}
	default:
		return errNotDER
	}
	var digestOID asn1.ObjectIdentifier
	if !digestAlg.ReadASN1ObjectIdentifier(&digestOID) {
		return errNotDER
	}
	out.digestAlg = hashForOID(digestOID)
	if out.digestAlg == 0 {
		return fmt.Errorf("the signature uses digest algorithm %v, which scanstation does not check", digestOID)
	}
	attrsTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if !si.PeekASN1Tag(attrsTag) {
		return errors.New("the signature has no signed attributes; PAdES requires them")
	}
	var attrs cryptobyte.String
	if !si.ReadASN1Element(&attrs, attrsTag) {
		return errNotDER
	}
	// What was signed is the same attributes under the universal SET tag.
	out.signedAttrs = append([]byte{0x31}, attrs[1:]...)
	if err := out.readAttributes(attrs); err != nil {
		return err
	}
	if !si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !sigAlg.ReadASN1ObjectIdentifier(&out.sigAlg) ||
		!si.ReadASN1Bytes(&out.signature, cbasn1.OCTET_STRING) {
		return errNotDER
	}
	var unsigned cryptobyte.String
	var hasUnsigned bool
	if !si.ReadOptionalASN1(&unsigned, &hasUnsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return errNotDER
	}
	for !unsigned.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !unsigned.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return errNotDER
		}
		if oid.Equal(oidAttrTimestamp) && out.timestampToken == nil {
			var token cryptobyte.String
			if !values.ReadASN1Element(&token, cbasn1.SEQUENCE) {
				return errNotDER
			}
			out.timestampToken = token
		}
	}
	return nil
}

func (out *signedData) readAttributes(attrs cryptobyte.String) error {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errNotDER
	}
	for !set.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return errNotDER
		}
		switch {
		case oid.Equal(oidAttrContentType):
			var ct asn1.ObjectIdentifier
			if !values.ReadASN1ObjectIdentifier(&ct) {
				return errNotDER
			}
			out.contentType = ct
		case oid.Equal(oidAttrMessageDigest):
			if !values.ReadASN1Bytes(&out.messageDigest, cbasn1.OCTET_STRING) {
				return errNotDER
			}
		case oid.Equal(oidAttrSigningTime):
			out.hasSigningTime = true
		case oid.Equal(oidAttrSigningCertV2):
			var sc, certIDs, certID cryptobyte.String
			if !values.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&certIDs, cbasn1.SEQUENCE) || !certIDs.ReadASN1(&certID, cbasn1.SEQUENCE) {
				return errNotDER
			}
			out.signingCertAlg = crypto.SHA256
			if certID.PeekASN1Tag(cbasn1.SEQUENCE) {
				var alg cryptobyte.String
				var algOID asn1.ObjectIdentifier
				if !certID.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) {
					return errNotDER
				}
				out.signingCertAlg = hashForOID(algOID)
			}
			if !certID.ReadASN1Bytes(&out.signingCertHash, cbasn1.OCTET_STRING) {
				return errNotDER
			}
		}
	}
	return nil
}

func hashForOID(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512):
		return crypto.SHA512
	}
	return 0
}

// x509Algorithm maps the SignerInfo's algorithms to the one crypto/x509
// checks signatures with.
func x509Algorithm(digest crypto.Hash, sigAlg asn1.ObjectIdentifier) x509.SignatureAlgorithm {
	switch {
	case sigAlg.Equal(oidRSAEncryption), sigAlg.Equal(oidSHA256WithRSA), sigAlg.Equal(oidSHA384WithRSA), sigAlg.Equal(oidSHA512WithRSA):
		switch digest {
		case crypto.SHA256:
			return x509.SHA256WithRSA
		case crypto.SHA384:
			return x509.SHA384WithRSA
		case crypto.SHA512:
			return x509.SHA512WithRSA
		}
	case sigAlg.Equal(oidECPublicKey), sigAlg.Equal(oidECDSAWithSHA256), sigAlg.Equal(oidECDSAWithSHA384), sigAlg.Equal(oidECDSAWithSHA512):
		switch digest {
		case crypto.SHA256:
			return x509.ECDSAWithSHA256
		case crypto.SHA384:
			return x509.ECDSAWithSHA384
		case crypto.SHA512:
			return x509.ECDSAWithSHA512
		}
	}
	return x509.UnknownSignatureAlgorithm
}
