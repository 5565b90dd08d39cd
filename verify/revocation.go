package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/crypto/ocsp"

	"scanstation/certify"
)

// store is the validation data the file carries in its document security store (/DSS), and
// what was fetched online.
type store struct {
	certs []*x509.Certificate
	ocsps [][]byte
	crls  [][]byte
}

// readDSS reads the catalog's /DSS: its certificates, OCSP responses and CRLs. A file without
// one has an empty store.
func readDSS(pdf []byte) (st *store, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the PDF is damaged and cannot be read (%v)", r)
		}
	}()
	st = &store{}
	conf := &model.Configuration{Reader15: true, ValidationMode: model.ValidationRelaxed, Eol: types.EolLF,
		Limits: model.DefaultResourceLimits(), Offline: true}
	ctx, err := pdfcpu.Read(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, fmt.Errorf("read PDF: %w", err)
	}
	catalog, err := ctx.XRefTable.Catalog()
	if err != nil {
		return nil, fmt.Errorf("read PDF catalog: %w", err)
	}
	dss, err := ctx.XRefTable.DereferenceDict(catalog["DSS"])
	if err != nil || dss == nil {
		return st, nil
	}
	streams := func(key string) [][]byte {
		arr, err := ctx.XRefTable.DereferenceArray(dss[key])
		if err != nil {
			return nil
		}
		var out [][]byte
		for _, o := range arr {
			sd, _, err := ctx.XRefTable.DereferenceStreamDict(o)
			if err != nil || sd == nil || sd.Decode() != nil {
				continue
			}
			out = append(out, sd.Content)
		}
		return out
	}
	for _, der := range streams("Certs") {
		if c, err := x509.ParseCertificate(der); err == nil {
			st.certs = append(st.certs, c)
		}
	}
	st.ocsps, st.crls = streams("OCSPs"), streams("CRLs")
	return st, nil
}

// pool is every certificate a chain may be built from: the store's and the signatures'.
func (st *store) pool(in *certify.Inspection) []*x509.Certificate {
	out := append([]*x509.Certificate{}, st.certs...)
	for _, s := range in.Signatures {
		out = append(out, s.Chain...)
		if s.TimestampSigner != nil {
			out = append(out, s.TimestampSigner)
		}
	}
	return out
}

// status is what the store says of cert: found, and if so whether and when it was revoked,
// and when the answer was made.
type status struct {
	found     bool
	revoked   bool
	revokedAt time.Time
	issued    time.Time // the OCSP response's producedAt, the CRL's thisUpdate
	source    string
}

func (st *store) status(cert, issuer *x509.Certificate) status {
	var best status
	better := func(s status) {
		if !best.found || s.issued.After(best.issued) {
			best = s
		}
	}
	for _, der := range st.ocsps {
		resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil {
			continue
		}
		s := status{found: true, issued: resp.ProducedAt, source: "OCSP response"}
		if resp.Status == ocsp.Revoked {
			s.revoked, s.revokedAt = true, resp.RevokedAt
		} else if resp.Status != ocsp.Good {
			continue
		}
		better(s)
	}
	for _, der := range st.crls {
		list, err := x509.ParseRevocationList(der)
		if err != nil || !bytes.Equal(list.RawIssuer, cert.RawIssuer) || list.CheckSignatureFrom(issuer) != nil {
			continue
		}
		s := status{found: true, issued: list.ThisUpdate, source: "CRL"}
		for _, e := range list.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				s.revoked, s.revokedAt = true, e.RevocationTime
			}
		}
		better(s)
	}
	return best
}

// fetchTimeout bounds one OCSP or CRL request online: generous, as round trips of minutes
// have been reported from the Government CA's responders.
const fetchTimeout = 2 * time.Minute

// fetch asks cert's OCSP responders (AIA), then its CRL distribution points, for its status
// and keeps the first answer that speaks of it, whatever it says: whether a revocation
// matters depends on the proven time, which status judges, so unlike pades.Fetcher (the
// signing side) a 'revoked' answer is data here, not an error.
func (st *store) fetch(ctx context.Context, cert, issuer *x509.Certificate) error {
	var errs []error
	for _, url := range cert.OCSPServer {
		req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
		if err != nil {
			return fmt.Errorf("an OCSP request for %q: %w", cert.Subject.CommonName, err)
		}
		der, err := get(ctx, http.MethodPost, url, req)
		if err == nil {
			_, err = ocsp.ParseResponseForCert(der, cert, issuer)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("OCSP %s: %w", url, err))
			continue
		}
		st.ocsps = append(st.ocsps, der)
		return nil
	}
	for _, url := range cert.CRLDistributionPoints {
		der, err := get(ctx, http.MethodGet, url, nil)
		if err == nil {
			var list *x509.RevocationList
			if list, err = x509.ParseRevocationList(der); err == nil {
				err = list.CheckSignatureFrom(issuer)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL %s: %w", url, err))
			continue
		}
		st.crls = append(st.crls, der)
		return nil
	}
	if len(errs) == 0 {
		return errors.New("its certificate names no OCSP responder and no CRL")
	}
	return errors.Join(errs...)
}

// get fetches url over HTTP: an OCSP request (POST) or a CRL (GET).
func get(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

// revocation checks every certificate of chain below its anchor. poe is the proven time (zero:
// none). It returns "" when every status is known and good. How old the status may be is not
// checked: EU DSS's default policy takes an OCSP answer made a second before the signature's
// timestamp (pyHanko's approval signature in the corpus), and so does this.
func (v *validator) revocation(chain []*x509.Certificate, poe time.Time) (Indication, string, string) {
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		st := v.store.status(cert, issuer)
		var fetchErr error
		if !st.found && v.opt.Online {
			fetchErr = v.store.fetch(v.ctx, cert, issuer)
			st = v.store.status(cert, issuer)
		}
		name := cert.Subject.CommonName
		switch {
		case !st.found && fetchErr != nil:
			return Indeterminate, ChainGeneralFailure, fmt.Sprintf("no revocation data for %q: the file carries none, and fetching it failed: %v", name, fetchErr)
		case !st.found:
			return Indeterminate, ChainGeneralFailure, fmt.Sprintf("no revocation data for %q: the file carries no OCSP response or CRL for it (a B-LT copy does; or check with --online)", name)
		case st.revoked && (poe.IsZero() || !st.revokedAt.After(poe)):
			// EN 319 102-1 and EU DSS leave this INDETERMINATE (REVOKED_NO_POE), not failed:
			// nothing proves the signature was made before the revocation, and nothing that it
			// was not (a wrong clock, a late timestamp). Measured: docs/trust.md, the 14 files.
			if poe.IsZero() {
				return Indeterminate, RevokedNoPOE, fmt.Sprintf("%q was revoked on %s (%s), and no timestamp proves the signature existed before", name, st.revokedAt.UTC().Format(time.RFC3339), st.source)
			}
			return Indeterminate, RevokedNoPOE, fmt.Sprintf("%q was revoked on %s (%s), before the earliest time the signature is proven to exist (%s)", name,
				st.revokedAt.UTC().Format(time.RFC3339), st.source, poe.UTC().Format(time.RFC3339))
		}
	}
	return "", "", ""
}
