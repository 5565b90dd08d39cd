package pades

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Renewal of B-LTA (ETSI EN 319 142-1 5.5): a document timestamp proves the file existed at
// its time only while its TSA's certificates hold and its algorithms stay strong. Before that
// ends, the TSA's validation data goes into the file and a fresh document timestamp covers it
// all. LastTimestamp finds what a renewal has to look at.

// ErrNotSigned means the PDF has no signature at all: it is no PAdES copy.
var ErrNotSigned = errors.New("the PDF has no signature")

// ErrNoTimestamp means the PDF is signed but carries no timestamp (PAdES B-B): there is no
// timestamp to renew.
var ErrNoTimestamp = errors.New("the PDF's signatures carry no timestamp")

// Timestamp is the newest timestamp of a PDF: the last document timestamp, or the signature
// timestamp of the last signature when that one ends later in the file.
type Timestamp struct {
	// Document is true for a document timestamp (ETSI.RFC3161), false for the signature
	// timestamp inside a CAdES signature.
	Document bool
	Field    string // the name of the signature field it is in
	// Contents is that field's /Contents, as stored, padding included: its /VRI key.
	Contents []byte
	Time     time.Time // the token's genTime
	// Chain is the TSA's certificate chain, leaf first, up to a self-signed certificate.
	Chain       []*x509.Certificate
	ImprintHash crypto.Hash             // the hash of what was stamped; 0 when unknown
	DigestHash  crypto.Hash             // the hash of the token's signed attributes
	SigAlg      x509.SignatureAlgorithm // the token's signature algorithm
}

// LastTimestamp finds the newest timestamp of pdf and its TSA's chain, built from the
// certificates in the token, the signature, the /DSS and extra.
func LastTimestamp(pdf []byte, extra []*x509.Certificate) (*Timestamp, error) {
	doc, err := readDocument(pdf)
	if err != nil {
		return nil, err
	}
	type candidate struct {
		name     string
		document bool
		contents []byte
		token    []byte
		certs    []*x509.Certificate
	}
	var last *candidate
	signed := false
	for _, sc := range doc.signedContents(pdf) {
		c := &candidate{name: sc.field, contents: sc.contents}
		switch sc.subFilter {
		case "ETSI.RFC3161":
			c.document, c.token = true, sc.contents
		case "ETSI.CAdES.detached", "adbe.pkcs7.detached":
			signed = true
			sd, err := parseSignedData(sc.contents)
			if err != nil || sd.timestampToken == nil {
				continue
			}
			c.token, c.certs = sd.timestampToken, sd.certs
		default:
			continue
		}
		last = c // signedContents is in the order the signed bytes end
	}
	switch {
	case last == nil && signed:
		return nil, ErrNoTimestamp
	case last == nil:
		return nil, ErrNotSigned
	}
	what := "the signature timestamp of " + last.name
	if last.document {
		what = "the document timestamp " + last.name
	}
	info, tsd, err := readTimestampToken(last.token)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %w", what, err)
	}
	pool := slices.Concat(tsd.certs, last.certs, doc.dssCerts(), extra)
	chain, err := buildChain(tsd.signer, pool)
	if err != nil {
		return nil, fmt.Errorf("the chain of the authority of %s: %w", what, err)
	}
	return &Timestamp{
		Document:    last.document,
		Field:       last.name,
		Contents:    last.contents,
		Time:        info.genTime,
		Chain:       chain,
		ImprintHash: info.hash,
		DigestHash:  tsd.digestAlg,
		SigAlg:      x509Algorithm(tsd.digestAlg, tsd.sigAlg),
	}, nil
}

// dssCerts returns the certificates of the document security store; unreadable ones are
// left out, as a verifier would.
func (d *document) dssCerts() []*x509.Certificate {
	cat, err := d.xref.Catalog()
	if err != nil {
		return nil
	}
	dss, err := d.xref.DereferenceDict(cat["DSS"])
	if err != nil || dss == nil {
		return nil
	}
	arr, err := d.xref.DereferenceArray(dss["Certs"])
	if err != nil {
		return nil
	}
	var certs []*x509.Certificate
	for _, o := range arr {
		sd, _, err := d.xref.DereferenceStreamDict(o)
		if err != nil || sd == nil || sd.Decode() != nil {
			continue
		}
		if c, err := x509.ParseCertificate(sd.Content); err == nil {
			certs = append(certs, c)
		}
	}
	return certs
}

// Expiry is when the timestamp stops proving anything by its certificates: the earliest end
// of validity in its TSA's chain, and the certificate it belongs to.
func (ts *Timestamp) Expiry() (time.Time, *x509.Certificate) {
	var first *x509.Certificate
	for _, c := range ts.Chain {
		if first == nil || c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	if first == nil {
		return time.Time{}, nil
	}
	return first.NotAfter, first
}

// Weakness says why the timestamp's algorithms no longer protect it, or "" when they do. The
// line follows ETSI TS 119 312 and SOG-IS: no SHA-1 or MD5 for the stamped digest, the
// token's signature or the certificates below the trust anchor (whose own self-signature
// proves nothing); RSA keys of at least 2048 bits, elliptic curves of at least 256 bits, no
// DSA.
func (ts *Timestamp) Weakness() string {
	var why []string
	weakHash := func(h crypto.Hash) bool { return h != crypto.SHA256 && h != crypto.SHA384 && h != crypto.SHA512 }
	if weakHash(ts.ImprintHash) {
		why = append(why, "the stamped digest is "+hashName(ts.ImprintHash))
	}
	if weakHash(ts.DigestHash) {
		why = append(why, "the token is signed over "+hashName(ts.DigestHash))
	}
	if weakSigAlg(ts.SigAlg) {
		why = append(why, "the token is signed with "+ts.SigAlg.String())
	}
	for i, c := range ts.Chain {
		if k := weakKey(c.PublicKey); k != "" {
			why = append(why, fmt.Sprintf("%q has %s", c.Subject.CommonName, k))
		}
		if i < len(ts.Chain)-1 && weakSigAlg(c.SignatureAlgorithm) {
			why = append(why, fmt.Sprintf("%q is signed with %s", c.Subject.CommonName, c.SignatureAlgorithm))
		}
	}
	return strings.Join(why, "; ")
}

func hashName(h crypto.Hash) string {
	if h == 0 {
		return "an unknown hash"
	}
	return h.String()
}

func weakSigAlg(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, x509.PureEd25519:
		return false
	}
	return true
}

func weakKey(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return fmt.Sprintf("an RSA key of %d bits", n)
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < 256 {
			return fmt.Sprintf("an elliptic-curve key of %d bits", n)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Sprintf("a %T key", pub)
	}
	return ""
}
