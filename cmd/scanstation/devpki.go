package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"scanstation/devpki"
)

const devPKIUsage = `scanstation dev-pki: the TEST PKI of a dev station (made by init --dev-token)

  !! THIS IS A TEST SERVICE. The dev CA's and the TSA's keys lie in files next to the
  !! station, and the TSA's clock is this machine's. Nothing it issues, answers or
  !! time-stamps may ever vouch for a real document.

Usage:
  scanstation dev-pki serve --dir DIR [--listen 127.0.0.1:PORT]
        answer OCSP, serve the CRL and the CA certificate, and be an RFC 3161 TSA for
        the dev CA in DIR, on loopback only. --listen defaults to the address the
        certificates name (DIR/dev-pki.json).
  scanstation dev-pki revoke --dir DIR (--serial N | --cert FILE) [--at TIME] [--reason REASON]
        mark a certificate of the dev CA revoked from TIME (default now). REASON is an
        RFC 5280 name: unspecified (default), keyCompromise, cACompromise,
        affiliationChanged, superseded, cessationOfOperation, certificateHold,
        privilegeWithdrawn, aACompromise. N is decimal, or hexadecimal as 0x1A2B or
        1A:2B.
  scanstation dev-pki issue --dir DIR --name NAME [--not-before TIME] [--not-after TIME]
        issue another signer certificate (RSA-2048) for tests: DIR/NAME-cert.pem and
        DIR/NAME-key.pem (mode 0600); valid from an hour ago for a year by default.
  scanstation dev-pki issue-tsa --dir DIR [--not-before TIME] [--not-after TIME]
        give the TSA a new key and certificate (replacing DIR/dev-tsa-cert.pem and
        DIR/dev-tsa-key.pem): valid from an hour ago for five years by default; a
        short one makes copies due for renewal (scanstation extend). Tokens stamped
        before stay verifiable. Restart serve to use it.

TIME is RFC 3339 (2026-03-01T09:00:00+07:00), a day (2026-03-01, midnight UTC), or a
span from now: -48h, +90m, -400d.
`

func cmdDevPKI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, devPKIUsage)
		return exitError(2)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "serve":
		return cmdDevPKIServe(ctx, args, stdout, stderr)
	case "revoke":
		return cmdDevPKIRevoke(args, stdout, stderr)
	case "issue":
		return cmdDevPKIIssue(args, stdout, stderr)
	case "issue-tsa":
		return cmdDevPKIIssueTSA(args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, devPKIUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown dev-pki command %q\n\n%s", sub, devPKIUsage)
	return exitError(2)
}

func newDevPKIFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dev-pki "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), devPKIUsage) }
	return fs
}

func cmdDevPKIServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newDevPKIFlagSet("serve", stderr)
	dir := fs.String("dir", "", "the dev station's folder (where init --dev-token wrote dev-ca.pem)")
	listen := fs.String("listen", "", "loopback host:port (default: the address the certificates name)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *dir == "" || fs.NArg() > 0 {
		return errors.New("dev-pki serve: --dir DIR is required, and nothing else")
	}
	// Refuse a wrong address before anything else, so the refusal is the only message.
	if *listen != "" {
		if err := devpki.CheckLoopback(*listen); err != nil {
			return fmt.Errorf("dev-pki serve: --listen: %w", err)
		}
	}
	ca, err := devpki.Open(*dir)
	if err != nil {
		return fmt.Errorf("dev-pki serve: %w", err)
	}
	if *listen == "" {
		*listen = ca.Listen
	}
	ln, err := devpki.Listen(*listen)
	if err != nil {
		return fmt.Errorf("dev-pki serve: %w", err)
	}
	fmt.Fprintln(stderr, "WARNING:", devpki.Warning)
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "dev PKI listening on %s: OCSP %s, CRL %s, CA certificate %s, TSA %s\n",
		base, base+devpki.OCSPPath, base+devpki.CRLPath, base+devpki.CAPath, base+devpki.TSAPath)
	if ln.Addr().String() != ca.Listen {
		fmt.Fprintf(stderr, "note: the certificates name http://%s; a verifier that follows their URLs will not reach this server\n", ca.Listen)
	}
	return ca.Serve(ctx, ln, slog.New(slog.NewTextHandler(stderr, nil)))
}

func cmdDevPKIRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newDevPKIFlagSet("revoke", stderr)
	dir := fs.String("dir", "", "the dev station's folder")
	serialText := fs.String("serial", "", "serial number of the certificate to revoke")
	certFile := fs.String("cert", "", "PEM file of the certificate to revoke")
	atText := fs.String("at", "", "revocation time (default now)")
	reason := fs.String("reason", "unspecified", "RFC 5280 revocation reason")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *dir == "" || fs.NArg() > 0 || (*serialText == "") == (*certFile == "") {
		return errors.New("dev-pki revoke: --dir DIR and one of --serial N or --cert FILE are required")
	}
	now := time.Now()
	at := now
	if *atText != "" {
		var err error
		if at, err = parseDevPKITime(*atText, now); err != nil {
			return fmt.Errorf("dev-pki revoke: --at: %w", err)
		}
	}
	ca, err := devpki.Open(*dir)
	if err != nil {
		return fmt.Errorf("dev-pki revoke: %w", err)
	}
	var serial *big.Int
	if *certFile != "" {
		cert, err := readPEMCertificate(*certFile)
		if err != nil {
			return fmt.Errorf("dev-pki revoke: %w", err)
		}
		if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
			return fmt.Errorf("dev-pki revoke: %s was not issued by the dev CA in %s: %w", *certFile, *dir, err)
		}
		serial = cert.SerialNumber
	} else if serial, err = parseSerial(*serialText); err != nil {
		return fmt.Errorf("dev-pki revoke: --serial: %w", err)
	}
	if err := ca.Revoke(serial, at, *reason); err != nil {
		return fmt.Errorf("dev-pki revoke: %w", err)
	}
	fmt.Fprintf(stdout, "revoked certificate %s of the dev CA from %s (%s); its OCSP answer and CRL say so from now on\n",
		serial.Text(16), at.UTC().Format(time.RFC3339), *reason)
	return nil
}

func cmdDevPKIIssue(args []string, stdout, stderr io.Writer) error {
	fs := newDevPKIFlagSet("issue", stderr)
	dir := fs.String("dir", "", "the dev station's folder")
	name := fs.String("name", "", "name of the signer; it names the files")
	notBeforeText := fs.String("not-before", "-1h", "start of validity")
	notAfterText := fs.String("not-after", "", "end of validity (default a year after not-before)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *dir == "" || *name == "" || fs.NArg() > 0 {
		return errors.New("dev-pki issue: --dir DIR and --name NAME are required")
	}
	now := time.Now()
	notBefore, err := parseDevPKITime(*notBeforeText, now)
	if err != nil {
		return fmt.Errorf("dev-pki issue: --not-before: %w", err)
	}
	notAfter := notBefore.AddDate(1, 0, 0)
	if *notAfterText != "" {
		if notAfter, err = parseDevPKITime(*notAfterText, now); err != nil {
			return fmt.Errorf("dev-pki issue: --not-after: %w", err)
		}
	}
	ca, err := devpki.Open(*dir)
	if err != nil {
		return fmt.Errorf("dev-pki issue: %w", err)
	}
	certFile, keyFile, err := ca.IssueSigner(*name, notBefore, notAfter)
	if err != nil {
		return fmt.Errorf("dev-pki issue: %w", err)
	}
	fmt.Fprintf(stdout, "issued a TEST signer certificate, valid %s to %s:\n  %s\n  %s (private key)\n",
		notBefore.UTC().Format(time.RFC3339), notAfter.UTC().Format(time.RFC3339), certFile, keyFile)
	return nil
}

func cmdDevPKIIssueTSA(args []string, stdout, stderr io.Writer) error {
	fs := newDevPKIFlagSet("issue-tsa", stderr)
	dir := fs.String("dir", "", "the dev station's folder")
	notBeforeText := fs.String("not-before", "-1h", "start of validity")
	notAfterText := fs.String("not-after", "", "end of validity (default five years after not-before)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *dir == "" || fs.NArg() > 0 {
		return errors.New("dev-pki issue-tsa: --dir DIR is required")
	}
	now := time.Now()
	notBefore, err := parseDevPKITime(*notBeforeText, now)
	if err != nil {
		return fmt.Errorf("dev-pki issue-tsa: --not-before: %w", err)
	}
	notAfter := notBefore.AddDate(5, 0, 0)
	if *notAfterText != "" {
		if notAfter, err = parseDevPKITime(*notAfterText, now); err != nil {
			return fmt.Errorf("dev-pki issue-tsa: --not-after: %w", err)
		}
	}
	ca, err := devpki.Open(*dir)
	if err != nil {
		return fmt.Errorf("dev-pki issue-tsa: %w", err)
	}
	if err := ca.IssueTSA(notBefore, notAfter); err != nil {
		return fmt.Errorf("dev-pki issue-tsa: %w", err)
	}
	fmt.Fprintf(stdout, "issued the TEST TSA a new certificate (serial %s), valid %s to %s: %s\nrestart dev-pki serve to stamp with it\n",
		ca.TSACert.SerialNumber.Text(16), notBefore.UTC().Format(time.RFC3339), notAfter.UTC().Format(time.RFC3339), filepath.Join(*dir, devpki.TSACertFile))
	return nil
}

// parseDevPKITime reads an RFC 3339 time, a day, or a signed span from now (Go's
// durations, plus days as "d").
func parseDevPKITime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if days, ok := strings.CutSuffix(s[1:], "d"); ok {
			n, err := strconv.Atoi(days)
			if err == nil {
				if s[0] == '-' {
					n = -n
				}
				return now.AddDate(0, 0, n), nil
			}
		} else if d, err := time.ParseDuration(s); err == nil {
			return now.Add(d), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give RFC 3339 (2026-03-01T09:00:00+07:00), a day (2026-03-01) or a span from now (-48h, -400d)", s)
}

// parseSerial reads a serial number: decimal, 0x-prefixed hexadecimal, or hexadecimal
// bytes separated by colons, as openssl prints them.
func parseSerial(s string) (*big.Int, error) {
	text, base := s, 10
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		text, base = h, 16
	} else if strings.Contains(s, ":") {
		text, base = strings.ReplaceAll(s, ":", ""), 16
	}
	n, ok := new(big.Int).SetString(text, base)
	if !ok || n.Sign() <= 0 {
		return nil, fmt.Errorf("%q is not a serial number: give it in decimal, or in hexadecimal as 0x1A2B or 1A:2B", s)
	}
	return n, nil
}

func readPEMCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}
