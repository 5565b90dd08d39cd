package pades

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// VerifyOptions tune Verify. The zero value checks integrity only.
type VerifyOptions struct {
	// Roots, when set, are the trusted CA certificates each signer's chain
	// must lead to.
	Roots *x509.CertPool
}

// Report is what Verify found in a document.
type Report struct {
	Signatures []SignatureReport // in the order of the form's fields
}

// SignatureReport is the finding for one signature field.
type SignatureReport struct {
	Field     string // fully qualified field name
	SubFilter string // e.g. ETSI.CAdES.detached
	Signer    *x509.Certificate
	Chain     []*x509.Certificate // every certificate embedded in the CMS

	SigningTime time.Time // claimed, from /M; zero when absent

	Name, Reason, Location, ContactInfo string

	// Intact means the signed bytes' digest matches the signed one and the
	// signature over the signed attributes checks out with Signer's key.
	Intact bool

	// CoversWholeFile means the byte range is the whole file except exactly
	// the /Contents hex string: nothing was added after this signature.
	CoversWholeFile bool

	// Certification means this is the document's certification signature
	// (DocMDP): the signer said which later changes are allowed. DocMDP is
	// that permission, the /P value: 1 no changes, 2 filling in forms and
	// signing, 3 also annotations; 0 when Certification is false. Verify
	// reports the permission; it does not judge later updates against it.
	Certification bool
	DocMDP        int

	// DocumentTimestamp means the field holds a document timestamp (ETSI.RFC3161), not a
	// signature: Timestamp is its time, TimestampSigner (and Signer) its authority, Intact
	// that it stamps the bytes it covers.
	DocumentTimestamp bool

	// End is where the signed bytes end in the file: the end of the revision it signs.
	End int

	// Level is the PAdES baseline level the CMS shows: "B-T" when it holds
	// a timestamp token that verifies, otherwise "B-B"; empty for a
	// signature that is not PAdES (SubFilter other than ETSI.CAdES.detached)
	// or cannot be read.
	Level string

	// Timestamp is the time the timestamp authority vouched for (genTime),
	// zero when there is no timestamp. TimestampValid means the token stamps
	// this signature's value and its own signature verifies with the TSA
	// certificate inside it (TimestampSigner); whether that authority is
	// trusted is checked against Roots.
	Timestamp       time.Time
	TimestampValid  bool
	TimestampSigner *x509.Certificate

	// Problems says in plain words what is wrong; empty when nothing is.
	Problems []string
}

// Verify finds every signed signature field in pdf and checks it.
// The error is for a file that cannot be read at all; what is wrong with a
// signature is in its report's Problems.
func Verify(pdf []byte, opt VerifyOptions) (*Report, error) {
	doc, err := readDocument(pdf)
	if err != nil {
		return nil, fmt.Errorf("cannot check signatures: %w", err)
	}
	form, err := doc.acroForm()
	if err != nil {
		return nil, fmt.Errorf("cannot check signatures: %w", err)
	}
	report := &Report{}
	if form == nil {
		return report, nil
	}
	fields, err := doc.fields(form)
	if err != nil {
		return nil, fmt.Errorf("cannot check signatures: %w", err)
	}
	for _, f := range fields {
		if f.ft != "Sig" || f.dict["V"] == nil {
			continue // unsigned signature fields are placeholders, not signatures
		}
		sig, err := doc.xref.DereferenceDict(f.dict["V"])
		r := SignatureReport{Field: f.name}
		if err != nil || sig == nil {
			r.Problems = append(r.Problems, fmt.Sprintf("the signature dictionary of field %q cannot be read", f.name))
			report.Signatures = append(report.Signatures, r)
			continue
		}
		doc.checkSignature(pdf, sig, opt, &r)
		doc.checkCertification(sig, f.dict["V"], &r)
		report.Signatures = append(report.Signatures, r)
	}
	return report, nil
}

func (d *document) checkSignature(pdf []byte, sig types.Dict, opt VerifyOptions, r *SignatureReport) {
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	if n, ok := sig["SubFilter"].(types.Name); ok {
		r.SubFilter = string(n)
	}
	r.Name = d.text(sig, "Name")
	r.Reason = d.text(sig, "Reason")
	r.Location = d.text(sig, "Location")
	r.ContactInfo = d.text(sig, "ContactInfo")
	if m := d.text(sig, "M"); m != "" {
		t, err := parsePDFDate(m)
		if err != nil {
			problem("the signing time (/M) %q cannot be read", m)
		}
		r.SigningTime = t
	}

	br, ok := d.byteRange(sig, len(pdf))
	if !ok {
		problem("the signature's byte range is missing or does not fit the file, so what it signs is unknown")
		return
	}
	gap := pdf[br[0]+br[1] : br[2]]
	if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
		problem("the bytes left out of the signature are not the signature value; something else in the file is unsigned")
		return
	}
	cms := make([]byte, hex.DecodedLen(len(gap)-2))
	if _, err := hex.Decode(cms, gap[1:len(gap)-1]); err != nil {
		problem("the signature value in the file is not a hex string")
		return
	}
	if v, err := d.xref.Dereference(sig["Contents"]); err == nil {
		if hl, ok := v.(types.HexLiteral); ok {
			if b, err := hl.Bytes(); err != nil || !bytes.Equal(b, cms) {
				problem("the byte range leaves out something other than this signature's /Contents")
				return
			}
		}
	}
	r.End = br[2] + br[3]
	r.CoversWholeFile = br[0] == 0 && br[2]+br[3] == len(pdf)
	// Bytes after the signed revision are later revisions (a DSS, a document timestamp, another
	// signature, or a forbidden change): whether they are allowed is the revisions' question
	// (certify.Inspection compares them). A range with a hole elsewhere is this signature's fault.
	if !r.CoversWholeFile && (br[0] != 0 || br[2]+br[3] > len(pdf)) {
		problem("the signature does not cover its revision from the start of the file")
	}

	if r.SubFilter == "ETSI.RFC3161" {
		checkDocumentTimestamp(pdf, br, cms, opt, r)
		return
	}
	sd, err := parseSignedData(cms)
	if err != nil {
		problem("the signature cannot be read: %v", err)
		return
	}
	r.Chain = sd.certs
	r.Signer = sd.signer
	if r.SubFilter == "ETSI.CAdES.detached" {
		r.Level = "B-B"
	} else {
		// EU DSS passes such a signature (as PKCS7-B, -T, -LT), only it is no PAdES one.
		problem("the signature's SubFilter %q is not PAdES's ETSI.CAdES.detached: it is a plain PDF signature, at no PAdES level", r.SubFilter)
	}
	if sd.eContent != nil {
		problem("the CMS carries its own content; a PDF signature must be detached")
	}
	if sd.timestampToken != nil {
		checkTimestamp(sd, opt, r)
	}
	if sd.signer == nil {
		problem("the signer's certificate is not embedded in the signature, so it cannot be checked")
		return
	}
	if !sd.contentType.Equal(oidData) {
		problem("the signature's content-type attribute is missing or not id-data")
	}
	if sd.hasSigningTime && r.SubFilter == "ETSI.CAdES.detached" {
		problem("the signature has a CMS signing-time attribute, which PAdES forbids (the time belongs in /M)")
	}

	h := sd.digestAlg.New()
	h.Write(pdf[br[0] : br[0]+br[1]])
	h.Write(pdf[br[2] : br[2]+br[3]])
	digestOK := bytes.Equal(h.Sum(nil), sd.messageDigest)
	if !digestOK {
		problem("the document was changed after it was signed: its digest does not match the signed one")
	}

	certOK := true
	switch {
	case sd.signingCertHash == nil:
		if r.SubFilter == "ETSI.CAdES.detached" {
			problem("the signature lacks the signing-certificate-v2 attribute that PAdES requires")
		}
	case sd.signingCertAlg == 0:
		certOK = false
		problem("the signing-certificate-v2 attribute uses a hash algorithm scanstation does not check")
	default:
		ch := sd.signingCertAlg.New()
		ch.Write(sd.signer.Raw)
		if !bytes.Equal(ch.Sum(nil), sd.signingCertHash) {
			certOK = false
			problem("the signing certificate embedded in the signature is not the one that was signed for")
		}
	}

	sigOK := false
	named := namedHash(sd.digestAlg, sd.sigAlg)
	if named != sd.digestAlg {
		problem("the signature algorithm names %v while the digest algorithm is %v; the signature was checked with %v, as EU DSS does", named, sd.digestAlg, named)
	}
	if alg := x509Algorithm(named, sd.sigAlg); alg == x509.UnknownSignatureAlgorithm {
		problem("the signature algorithm %v is not supported", sd.sigAlg)
	} else if err := sd.signer.CheckSignature(alg, sd.signedAttrs, sd.signature); err != nil {
		problem("the signature value does not match the signer's certificate: %v", err)
	} else {
		sigOK = true
	}
	r.Intact = digestOK && certOK && sigOK

	if opt.Roots != nil {
		inter := x509.NewCertPool()
		for _, c := range sd.certs {
			if c != sd.signer {
				inter.AddCert(c)
			}
		}
		// The timestamp is the trusted time when there is one; B-B has
		// only the claimed time.
		at := r.SigningTime
		if r.TimestampValid {
			at = r.Timestamp
		}
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := sd.signer.Verify(x509.VerifyOptions{
			Roots:         opt.Roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		}); err != nil {
			problem("the signer's certificate is not trusted: %v", err)
		}
	}
}

// byteRange returns /ByteRange as [start1 len1 start2 len2] when it is four
// non-negative integers describing two ordered ranges inside the file.
func (d *document) byteRange(sig types.Dict, fileLen int) ([4]int, bool) {
	var br [4]int
	a, err := d.xref.DereferenceArray(sig["ByteRange"])
	if err != nil || len(a) != 4 {
		return br, false
	}
	for i, o := range a {
		n, ok := o.(types.Integer)
		if !ok || n < 0 {
			return br, false
		}
		br[i] = int(n)
	}
	// Compared without adding, so that huge values cannot overflow into
	// bounds that pass (found by FuzzVerify).
	if br[1] > br[2]-br[0] || br[2] > fileLen || br[3] > fileLen-br[2] {
		return br, false
	}
	return br, true
}

// checkTimestamp checks the signature-time-stamp token in sd's unsigned
// attributes (PAdES B-T) against the signature value it must stamp.
func checkTimestamp(sd *signedData, opt VerifyOptions, r *SignatureReport) {
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	info, tsd, err := readTimestampToken(sd.timestampToken)
	if err != nil {
		problem("the signature's timestamp cannot be used: %v", err)
		return
	}
	r.Timestamp = info.genTime
	r.TimestampSigner = tsd.signer
	for _, f := range tokenFindings(tsd) {
		problem("the signature's timestamp: %s", f)
	}
	if info.hash == 0 {
		problem("the signature's timestamp uses a digest algorithm scanstation does not check")
		return
	}
	h := info.hash.New()
	h.Write(sd.signature)
	if !bytes.Equal(h.Sum(nil), info.imprint) {
		problem("the signature's timestamp was made for a different signature value")
		return
	}
	r.TimestampValid = true
	if r.Level != "" {
		r.Level = "B-T"
	}
	if opt.Roots != nil {
		if err := tsaTrusted(tsd, info.genTime, opt.Roots); err != nil {
			problem("the timestamp authority's certificate is not trusted: %v", err)
		}
	}
}

// tsaTrusted checks that a timestamp token's authority leads to one of roots, for
// timestamping, at the time it vouched for.
func tsaTrusted(tsd *signedData, at time.Time, roots *x509.CertPool) error {
	inter := x509.NewCertPool()
	for _, c := range tsd.certs {
		if c != tsd.signer {
			inter.AddCert(c)
		}
	}
	_, err := tsd.signer.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	return err
}

// checkDocumentTimestamp checks a document timestamp (ETSI.RFC3161, PAdES B-LTA): its token
// must stamp the digest of the bytes its byte range covers, verify with its authority's
// certificate (one for timestamping), and, with opt.Roots, lead to a trusted root at its time.
func checkDocumentTimestamp(pdf []byte, br [4]int, token []byte, opt VerifyOptions, r *SignatureReport) {
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	r.DocumentTimestamp = true
	info, tsd, err := readTimestampToken(token)
	if err != nil {
		problem("the document timestamp cannot be used: %v", err)
		return
	}
	r.Timestamp, r.TimestampSigner, r.Signer, r.Chain = info.genTime, tsd.signer, tsd.signer, tsd.certs
	for _, f := range tokenFindings(tsd) {
		problem("the document timestamp: %s", f)
	}
	if info.hash == 0 {
		problem("the document timestamp uses a digest algorithm scanstation does not check")
		return
	}
	h := info.hash.New()
	h.Write(pdf[br[0] : br[0]+br[1]])
	h.Write(pdf[br[2] : br[2]+br[3]])
	if !bytes.Equal(h.Sum(nil), info.imprint) {
		problem("the document was changed after its document timestamp: the stamped digest does not match")
		return
	}
	r.TimestampValid, r.Intact = true, true
	if opt.Roots != nil {
		if err := tsaTrusted(tsd, info.genTime, opt.Roots); err != nil {
			problem("the document timestamp's authority is not trusted: %v", err)
		}
	}
}

// checkCertification reports whether sig is a certification signature
// (ISO 32000-1 12.8.2.2): its /Reference names the DocMDP transform and the
// catalog's /Perms /DocMDP names this signature dictionary.
func (d *document) checkCertification(sig types.Dict, sigRef types.Object, r *SignatureReport) {
	p, ok := d.docMDPReference(sig)
	perms, _ := d.certifyingSignature()
	ref, isRef := sigRef.(types.IndirectRef)
	named := perms != nil && isRef && perms.ObjectNumber == ref.ObjectNumber && perms.GenerationNumber == ref.GenerationNumber
	switch {
	case ok && named:
		r.Certification, r.DocMDP = true, p
	case ok:
		r.Problems = append(r.Problems, "the signature claims to certify the document, but the document's catalog does not name it as the certification signature")
	case named:
		r.Problems = append(r.Problems, "the document's catalog names this signature as its certification, but the signature has no DocMDP reference")
	}
}

// docMDPReference returns the DocMDP permission of a signature dictionary
// with a DocMDP signature reference; P defaults to 2.
func (d *document) docMDPReference(sig types.Dict) (int, bool) {
	refs, err := d.xref.DereferenceArray(sig["Reference"])
	if err != nil {
		return 0, false
	}
	for _, o := range refs {
		sr, err := d.xref.DereferenceDict(o)
		if err != nil || sr == nil {
			continue
		}
		if m, ok := sr["TransformMethod"].(types.Name); !ok || m != "DocMDP" {
			continue
		}
		p := 2
		if params, err := d.xref.DereferenceDict(sr["TransformParams"]); err == nil && params != nil {
			if v, err := d.xref.DereferenceInteger(params["P"]); err == nil && v != nil {
				p = v.Value()
			}
		}
		return p, true
	}
	return 0, false
}

// certifyingSignature returns the catalog's /Perms /DocMDP reference, nil
// when the document is not certified.
func (d *document) certifyingSignature() (*types.IndirectRef, error) {
	cat, err := d.xref.Catalog()
	if err != nil {
		return nil, err
	}
	perms, err := d.xref.DereferenceDict(cat["Perms"])
	if err != nil || perms == nil {
		return nil, err
	}
	if ref, ok := perms["DocMDP"].(types.IndirectRef); ok {
		return &ref, nil
	}
	return nil, nil
}

// oidAttrSigningCertV1 is id-aa-signingCertificate (RFC 2634 5.4), whose ESSCertID holds a
// SHA-1 hash: what most timestamp authorities still put in their tokens (RFC 3161 2.4.2).
var oidAttrSigningCertV1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}

// signingCertificateV1 returns the certificate hash of sd's signing-certificate (v1)
// attribute, nil when there is none.
func signingCertificateV1(sd *signedData) []byte {
	set := cryptobyte.String(sd.signedAttrs)
	var attrs cryptobyte.String
	if !set.ReadASN1(&attrs, cbasn1.SET) {
		return nil
	}
	for !attrs.Empty() {
		var attr, values, sc, certIDs, certID cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil
		}
		if !oid.Equal(oidAttrSigningCertV1) {
			continue
		}
		var hash []byte
		if !values.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&certIDs, cbasn1.SEQUENCE) ||
			!certIDs.ReadASN1(&certID, cbasn1.SEQUENCE) || !certID.ReadASN1Bytes(&hash, cbasn1.OCTET_STRING) {
			return nil
		}
		return hash
	}
	return nil
}

// signingCertificate checks sd's signed attributes for the certificate they name: a
// signing-certificate-v2 attribute, else a v1. A timestamp token must carry one (RFC 3161
// 2.4.2, RFC 5816), or anyone holding a certificate with the same key could pass for the
// authority. EU DSS does not take a token without it for a timestamp at all, and takes one
// whose attribute names another certificate than the one that signed it, without a word
// (measured: verify/findings_test.go). So absent is an error, and a mismatch is the finding
// mismatch says in plain words ("" when the attribute names sd's signer).
func signingCertificate(sd *signedData) (mismatch string, err error) {
	hash, sum := sd.signingCertHash, []byte(nil)
	switch {
	case hash != nil && sd.signingCertAlg == 0:
		return "its signing-certificate-v2 attribute uses a hash algorithm scanstation does not check", nil
	case hash != nil:
		h := sd.signingCertAlg.New()
		h.Write(sd.signer.Raw)
		sum = h.Sum(nil)
	default:
		hash = signingCertificateV1(sd)
		if hash == nil {
			return "", errors.New("it names no signing certificate (no signing-certificate or signing-certificate-v2 attribute)")
		}
		s := sha1.Sum(sd.signer.Raw)
		sum = s[:]
	}
	if !bytes.Equal(hash, sum) {
		return fmt.Sprintf("its signing-certificate attribute names another certificate than %q, which signed it", sd.signer.Subject.CommonName), nil
	}
	return "", nil
}

// tokenFindings says what is wrong with a timestamp token that EU DSS still takes as proof
// of time: the station refuses such a token when it signs, a verifier reports it.
func tokenFindings(tsd *signedData) []string {
	var out []string
	if why := ekuNotCritical(tsd.signer); why != "" {
		out = append(out, why)
	}
	if mismatch, _ := signingCertificate(tsd); mismatch != "" {
		out = append(out, "the token's "+strings.TrimPrefix(mismatch, "its "))
	}
	return out
}

// namedHash is the hash the signature algorithm names (sha384WithRSAEncryption: SHA-384), or
// the digest algorithm when it names none (rsaEncryption, id-ecPublicKey). EU DSS checks the
// signature with the hash its algorithm names, even when the digest algorithm differs
// (measured: verify/findings_test.go), and so does this.
func namedHash(digest crypto.Hash, sigAlg asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case sigAlg.Equal(oidSHA256WithRSA), sigAlg.Equal(oidECDSAWithSHA256):
		return crypto.SHA256
	case sigAlg.Equal(oidSHA384WithRSA), sigAlg.Equal(oidECDSAWithSHA384):
		return crypto.SHA384
	case sigAlg.Equal(oidSHA512WithRSA), sigAlg.Equal(oidECDSAWithSHA512):
		return crypto.SHA512
	}
	return digest
}
