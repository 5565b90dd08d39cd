package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Long-term validation (PAdES B-LT and B-LTA, ETSI EN 319 142-1 5.4 and 5.5). A certified copy
// must still prove, decades later, that its signer's certificate was good when it was signed,
// after the CA, its OCSP responder and the TSA are gone. B-LT puts what a verifier would have
// fetched (certificates, OCSP responses, CRLs) into the file, in a /DSS added by an incremental
// update; B-LTA then timestamps the whole file, DSS included, with a document timestamp, which
// `scanstation extend` renews before its TSA's certificate expires.

// ErrValidationDataUnavailable means an OCSP responder or CRL distribution point could not be
// reached or gave no usable answer: nothing was added to the file. The caller may retry later,
// or deliver the copy at the level it has.
var ErrValidationDataUnavailable = errors.New("the certificates' revocation status cannot be fetched")

// ErrRevoked means a certificate of a chain is revoked: the signature must not be extended as
// if it were good.
var ErrRevoked = errors.New("a certificate is revoked")

// ValidationData is what a verifier needs to judge the chains without asking anyone.
type ValidationData struct {
	Certs []*x509.Certificate
	OCSPs [][]byte // DER OCSPResponse
	CRLs  [][]byte // DER CertificateList
}

// Fetcher gets revocation data over HTTP. The zero value uses http.DefaultClient with a
// one-minute limit per request.
type Fetcher struct {
	Client  *http.Client
	Timeout time.Duration
	// NotBefore makes every answer used be produced at or after it (an OCSP response's
	// producedAt, a CRL's thisUpdate): the signature's timestamp, so the data proves the
	// status after the signing. Answers made earlier are fetched again, a few times.
	NotBefore time.Time
}

// Collect fetches the revocation status of every certificate of chains that is not a trust
// anchor (self-signed): OCSP from its AIA when it has one, else the CRL from its distribution
// points. The certificates of every chain are included. A revoked certificate is ErrRevoked.
func (f Fetcher) Collect(ctx context.Context, chains ...[]*x509.Certificate) (*ValidationData, error) {
	vd := &ValidationData{}
	seen := map[string]bool{}
	for _, chain := range chains {
		for i, cert := range chain {
			key := string(cert.Raw)
			if seen[key] {
				continue
			}
			seen[key] = true
			vd.Certs = append(vd.Certs, cert)
			if selfSigned(cert) {
				continue // a trust anchor: trusted as it is, not by its status
			}
			if i+1 >= len(chain) {
				return nil, fmt.Errorf("the issuer of %q is not in its chain: its status cannot be checked", cert.Subject.CommonName)
			}
			issuer := chain[i+1]
			if err := f.status(ctx, vd, cert, issuer); err != nil {
				return nil, err
			}
		}
	}
	return vd, nil
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

// status adds cert's OCSP response, or failing that its CRL.
func (f Fetcher) status(ctx context.Context, vd *ValidationData, cert, issuer *x509.Certificate) error {
	var errs []error
	for _, url := range cert.OCSPServer {
		der, err := f.ocsp(ctx, url, cert, issuer)
		if err == nil {
			vd.OCSPs = append(vd.OCSPs, der)
			return nil
		}
		if errors.Is(err, ErrRevoked) {
			return err
		}
		errs = append(errs, err)
	}
	for _, url := range cert.CRLDistributionPoints {
		der, err := f.crl(ctx, url, cert, issuer)
		if err == nil {
			if !slices.ContainsFunc(vd.CRLs, func(b []byte) bool { return bytes.Equal(b, der) }) {
				vd.CRLs = append(vd.CRLs, der)
			}
			return nil
		}
		if errors.Is(err, ErrRevoked) {
			return err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("%w: %q names no OCSP responder and no CRL", ErrValidationDataUnavailable, cert.Subject.CommonName)
	}
	return fmt.Errorf("%w for %q: %w", ErrValidationDataUnavailable, cert.Subject.CommonName, errors.Join(errs...))
}

func (f Fetcher) ocsp(ctx context.Context, url string, cert, issuer *x509.Certificate) ([]byte, error) {
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		der, err := f.fetch(ctx, http.MethodPost, url, "application/ocsp-request", req)
		if err != nil {
			return nil, err
		}
		resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil {
			return nil, fmt.Errorf("OCSP %s: %w", url, err)
		}
		switch resp.Status {
		case ocsp.Revoked:
			return nil, fmt.Errorf("%w: %q was revoked on %s (OCSP %s)", ErrRevoked, cert.Subject.CommonName, resp.RevokedAt.UTC().Format(time.RFC3339), url)
		case ocsp.Unknown:
			return nil, fmt.Errorf("OCSP %s does not know %q", url, cert.Subject.CommonName)
		}
		if !resp.ProducedAt.Before(f.NotBefore.Truncate(time.Second)) || try == 3 {
			if resp.ProducedAt.Before(f.NotBefore.Truncate(time.Second)) {
				return nil, fmt.Errorf("OCSP %s answers with a response produced at %s, before the signature's time %s", url, resp.ProducedAt, f.NotBefore)
			}
			return der, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
}

func (f Fetcher) crl(ctx context.Context, url string, cert, issuer *x509.Certificate) ([]byte, error) {
	der, err := f.fetch(ctx, http.MethodGet, url, "", nil)
	if err != nil {
		return nil, err
	}
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %w", url, err)
	}
	if err := list.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL %s is not signed by %q: %w", url, issuer.Subject.CommonName, err)
	}
	for _, e := range list.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return nil, fmt.Errorf("%w: %q was revoked on %s (CRL %s)", ErrRevoked, cert.Subject.CommonName, e.RevocationTime.UTC().Format(time.RFC3339), url)
		}
	}
	return der, nil
}

func (f Fetcher) fetch(ctx context.Context, method, url, contentType string, body []byte) ([]byte, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return data, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Chains are the certificate chains a verifier of pdf's last signature has to judge: the
// signer's, and its timestamp authority's when it has a signature timestamp, each from its
// leaf up to a self-signed certificate, built from the certificates in the file and extra
// (the station's chain file, the TSA's CA). It also gives the signature's /Contents, whose
// SHA-1 keys its /VRI entry.
func Chains(pdf []byte, extra []*x509.Certificate) (chains [][]*x509.Certificate, contents []byte, err error) {
	contents, err = lastSignature(pdf)
	if err != nil {
		return nil, nil, err
	}
	sd, err := parseSignedData(contents)
	if err != nil {
		return nil, nil, fmt.Errorf("the last signature cannot be read: %w", err)
	}
	pool := append(slices.Clone(sd.certs), extra...)
	leaf := sd.signer
	if leaf == nil {
		return nil, nil, errors.New("the last signature names no signing certificate it carries")
	}
	chain, err := buildChain(leaf, pool)
	if err != nil {
		return nil, nil, err
	}
	chains = append(chains, chain)
	if sd.timestampToken != nil {
		_, tsd, err := readTimestampToken(sd.timestampToken)
		if err != nil {
			return nil, nil, fmt.Errorf("the signature's timestamp cannot be read: %w", err)
		}
		if tsa := tsd.signer; tsa != nil {
			chain, err := buildChain(tsa, append(slices.Clone(tsd.certs), pool...))
			if err != nil {
				return nil, nil, fmt.Errorf("the timestamp authority's chain: %w", err)
			}
			chains = append(chains, chain)
		}
	}
	return chains, contents, nil
}

// lastSignature returns the /Contents, as stored (padding included), of the CAdES signature
// whose signed bytes end last in the file.
func lastSignature(pdf []byte) ([]byte, error) {
	doc, err := readDocument(pdf)
	if err != nil {
		return nil, err
	}
	var last *signedContents
	for _, c := range doc.signedContents(pdf) {
		if c.subFilter == "ETSI.CAdES.detached" || c.subFilter == "adbe.pkcs7.detached" {
			last = &c
		}
	}
	if last == nil {
		return nil, errors.New("the PDF has no signature")
	}
	return last.contents, nil
}

// signedContents is a signed field's /Contents as stored (padding included), with where its
// signed bytes end.
type signedContents struct {
	field, subFilter string
	contents         []byte
	end              int
}

// signedContents lists the document's signatures and document timestamps whose byte range
// fits the file and leaves out exactly a hex string, in the order their signed bytes end.
func (d *document) signedContents(pdf []byte) []signedContents {
	form, err := d.acroForm()
	if err != nil || form == nil {
		return nil
	}
	fields, err := d.fields(form)
	if err != nil {
		return nil
	}
	var out []signedContents
	for _, f := range fields {
		if f.ft != "Sig" || f.dict["V"] == nil {
			continue
		}
		sig, err := d.xref.DereferenceDict(f.dict["V"])
		if err != nil || sig == nil {
			continue
		}
		br, ok := d.byteRange(sig, len(pdf))
		if !ok {
			continue
		}
		gap := pdf[br[0]+br[1] : br[2]]
		if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
			continue
		}
		der := make([]byte, hex.DecodedLen(len(gap)-2))
		if _, err := hex.Decode(der, gap[1:len(gap)-1]); err != nil {
			continue
		}
		sub, _ := sig["SubFilter"].(types.Name)
		out = append(out, signedContents{field: f.name, subFilter: string(sub), contents: der, end: br[2] + br[3]})
	}
	slices.SortStableFunc(out, func(a, b signedContents) int { return a.end - b.end })
	return out
}

// buildChain walks from leaf to a self-signed certificate through pool, by signature.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) ([]*x509.Certificate, error) {
	chain := []*x509.Certificate{leaf}
	for cur := leaf; !selfSigned(cur); {
		if len(chain) > 8 {
			return nil, fmt.Errorf("the chain of %q is longer than 8 certificates", leaf.Subject.CommonName)
		}
		i := slices.IndexFunc(pool, func(c *x509.Certificate) bool {
			return bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil
		})
		if i < 0 {
			return nil, fmt.Errorf("the issuer of %q (%s) is not in the file or the chain given", cur.Subject.CommonName, cur.Issuer)
		}
		cur = pool[i]
		chain = append(chain, cur)
	}
	return chain, nil
}

// VRIKey is the /VRI key of a signature: the uppercase hex SHA-1 of its /Contents (ISO
// 32000-2 12.8.4.3), the bytes of the string as stored, padding included.
func VRIKey(contents []byte) string {
	sum := sha1.Sum(contents)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// AddDSS writes pdf unchanged to w, followed by an incremental update adding vd to the
// document security store (/DSS in the catalog; an existing one is kept and extended), with a
// /VRI entry for the signature whose /Contents is given (nil: none). PDF/A-2 and a DocMDP
// certification with P=2 allow it.
func AddDSS(w io.Writer, pdf []byte, vd *ValidationData, contents []byte) error {
	doc, err := readDocument(pdf)
	if err != nil {
		return fmt.Errorf("cannot add validation data: %w", err)
	}
	catalog, err := doc.xref.Catalog()
	if err != nil {
		return fmt.Errorf("cannot add validation data: the document catalog cannot be read: %w", err)
	}
	u := &update{base: int64(len(pdf)), offsets: map[int]int64{}, gens: map[int]int{}}
	if n := len(pdf); n > 0 && pdf[n-1] != '\n' && pdf[n-1] != '\r' {
		u.buf.WriteByte('\n')
	}
	next := *doc.xref.Size
	newNum := func() int { next++; return next - 1 }
	stream := func(data []byte) types.IndirectRef {
		n := newNum()
		u.begin(n, 0)
		fmt.Fprintf(&u.buf, "<</Length %d>>\nstream\n", len(data))
		u.buf.Write(data)
		u.buf.WriteString("\nendstream")
		u.end()
		return *types.NewIndirectRef(n, 0)
	}
	dss := types.Dict{}
	if old, err := doc.xref.DereferenceDict(catalog["DSS"]); err == nil && old != nil {
		dss = old.Clone().(types.Dict)
	}
	refs := func(key string, items [][]byte) types.Array {
		arr, _ := doc.xref.DereferenceArray(dss[key])
		arr = slices.Clone(arr)
		var added types.Array
		for _, data := range items {
			r := stream(data)
			arr = append(arr, r)
			added = append(added, r)
		}
		if len(arr) > 0 {
			dss[key] = arr
		}
		return added
	}
	var certs [][]byte
	for _, c := range vd.Certs {
		certs = append(certs, c.Raw)
	}
	certRefs, ocspRefs, crlRefs := refs("Certs", certs), refs("OCSPs", vd.OCSPs), refs("CRLs", vd.CRLs)
	if contents != nil {
		vri := types.Dict{}
		if old, err := doc.xref.DereferenceDict(dss["VRI"]); err == nil && old != nil {
			vri = old.Clone().(types.Dict)
		}
		entry := types.Dict{}
		for key, arr := range map[string]types.Array{"Cert": certRefs, "OCSP": ocspRefs, "CRL": crlRefs} {
			if len(arr) > 0 {
				entry[key] = arr
			}
		}
		vri[VRIKey(contents)] = entry
		dss["VRI"] = vri
	}
	dssNum := newNum()
	if err := u.writeDict(dssNum, 0, dss); err != nil {
		return fmt.Errorf("cannot add validation data: %w", err)
	}
	newCatalog := catalog.Clone().(types.Dict)
	newCatalog["DSS"] = *types.NewIndirectRef(dssNum, 0)
	if err := u.writeDict(doc.xref.Root.ObjectNumber.Value(), doc.xref.Root.GenerationNumber.Value(), newCatalog); err != nil {
		return fmt.Errorf("cannot add validation data: the document catalog cannot be re-written: %w", err)
	}
	opt := Options{Time: time.Now()}
	if doc.xrefStream {
		u.writeXrefStream(newNum(), u.trailer(doc, pdf, next, opt, "DSS"))
	} else {
		u.writeXrefTable(u.trailer(doc, pdf, next, opt, "DSS"))
	}
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("writing the PDF with its validation data: %w", err)
	}
	if _, err := w.Write(u.buf.Bytes()); err != nil {
		return fmt.Errorf("writing the PDF with its validation data: %w", err)
	}
	return nil
}

// AddDocumentTimestamp writes pdf unchanged to w, followed by an incremental update with a
// document timestamp (ETSI.RFC3161) from tsa over the whole result, in an invisible field on
// page 1: PAdES B-LTA once the file has its validation data. Nothing is written unless the TSA
// answered.
func AddDocumentTimestamp(ctx context.Context, w io.Writer, pdf []byte, tsa *TSA) error {
	if tsa == nil {
		return errors.New("cannot add a document timestamp: no timestamp authority is set")
	}
	doc, err := readDocument(pdf)
	if err != nil {
		return fmt.Errorf("cannot add a document timestamp: %w", err)
	}
	opt := Options{Time: time.Now(), FieldName: "", docTimestamp: true}
	// The room is sized from the authority's earlier tokens. A token larger
	// than that is asked for again with room for it: no key signs here, so
	// a second request costs only the round trip.
	room := tokenRoom(tsa)
	var u *update
	for try := 0; ; try++ {
		u, err = newUpdate(doc, pdf, opt, room)
		if err != nil {
			return fmt.Errorf("cannot add a document timestamp: %w", err)
		}
		token, err := tsa.Stamp(ctx, u.digest(pdf))
		if err != nil {
			return fmt.Errorf("cannot add a document timestamp: %w", err)
		}
		if len(token) > room && try == 0 && len(token)+tokenMargin <= timestampRoom {
			room = len(token) + tokenMargin
			continue
		}
		if err := u.setContents(token); err != nil {
			return fmt.Errorf("cannot add a document timestamp: %w", err)
		}
		break
	}
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("writing the timestamped PDF: %w", err)
	}
	if _, err := w.Write(u.buf.Bytes()); err != nil {
		return fmt.Errorf("writing the timestamped PDF: %w", err)
	}
	return nil
}
