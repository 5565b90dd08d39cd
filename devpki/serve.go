package devpki

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// WarningHeader is the HTTP header that carries Warning on every answer.
const WarningHeader = "X-Scanstation-Test-Service"

// maxRequest bounds a request body: OCSP and time-stamp requests are a few hundred bytes.
const maxRequest = 64 << 10

// Listen opens a TCP listener on listen, which must be a loopback address.
func Listen(listen string) (net.Listener, error) {
	if err := CheckLoopback(listen); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", listen, err)
	}
	return ln, nil
}

// Handler serves the CA's OCSP responder, CRL, CA certificate and TSA, and logs each
// request to log.
func (ca *CA) Handler(log *slog.Logger) http.Handler {
	tsa := &TimeStamper{Key: ca.TSAKey, Certs: []*x509.Certificate{ca.TSACert, ca.Cert}, Policy: TestPolicy}
	// A plain switch, not http.ServeMux: an OCSP GET carries base64 in its path, and
	// base64 may hold "//", which ServeMux would redirect to a cleaned path.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(WarningHeader, Warning)
		now := time.Now()
		status, note := ca.serve(w, r, tsa, now)
		log.Info("dev PKI request", "method", r.Method, "path", r.URL.Path, "status", status, "note", note)
	})
}

// serve answers one request and returns its HTTP status and a word for the log.
func (ca *CA) serve(w http.ResponseWriter, r *http.Request, tsa *TimeStamper, now time.Time) (int, string) {
	path := r.URL.Path
	switch {
	case path == OCSPPath && r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
		if err != nil {
			return fail(w, http.StatusBadRequest, "cannot read the request")
		}
		return ca.answerOCSP(w, body, now)
	case strings.HasPrefix(path, OCSPPath+"/") && r.Method == http.MethodGet:
		// RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.
		// The path arrives URL-decoded already.
		body, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(path, OCSPPath+"/"))
		if err != nil {
			return fail(w, http.StatusBadRequest, "the OCSP GET request is not base64")
		}
		return ca.answerOCSP(w, body, now)
	case path == CRLPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		crl, err := ca.CRL(now)
		if err != nil {
			return fail(w, http.StatusInternalServerError, err.Error())
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
		return http.StatusOK, "CRL"
	case path == CAPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(ca.Cert.Raw)
		return http.StatusOK, "CA certificate"
	case path == TSAPath && r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
		if err != nil {
			return fail(w, http.StatusBadRequest, "cannot read the request")
		}
		resp, err := tsa.Respond(body, now)
		note := "time-stamp granted"
		if err != nil {
			note = "time-stamp rejected: " + err.Error()
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
		return http.StatusOK, note
	case path == "/" && r.Method == http.MethodGet:
		u := ca.URLs()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s\n\nOCSP (POST, or GET %s/BASE64): %s\nCRL: %s\nCA certificate: %s\nRFC 3161 TSA (POST): %s\n",
			Warning, OCSPPath, u.OCSP, u.CRL, u.CAIssuers, u.TSA)
		return http.StatusOK, "index"
	}
	return fail(w, http.StatusNotFound, "no such service")
}

func (ca *CA) answerOCSP(w http.ResponseWriter, body []byte, now time.Time) (int, string) {
	resp, err := ca.OCSPResponse(body, now)
	note := "OCSP answered"
	if err != nil {
		note = "OCSP error response: " + err.Error()
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
	return http.StatusOK, note
}

func fail(w http.ResponseWriter, status int, why string) (int, string) {
	http.Error(w, Warning+"\n"+why, status)
	return status, why
}

// Serve runs the services on ln until ctx ends.
func (ca *CA) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           ca.Handler(log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("dev PKI server: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop the dev PKI server: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dev PKI server: %w", err)
	}
	return nil
}
