package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/devpki"
)

// freeLoopbackPort returns a port nothing listens on just now, for a dev station whose
// certificates must name the port its test server will use.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// devStation makes a dev station whose test PKI is named at 127.0.0.1:port.
func devStation(t *testing.T, port int) string {
	t.Helper()
	dir := t.TempDir()
	out, code := scanstation(t, nil, "init", "--dir", dir, "--dev-token", "--dev-pki-listen", fmt.Sprintf("127.0.0.1:%d", port))
	if code != 0 {
		t.Fatalf("init --dev-token failed (%d):\n%s", code, out)
	}
	return dir
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// opensslAll runs openssl and returns everything it wrote: some of its verdicts
// ("Response verify OK", "verify OK") go to stderr only.
func opensslAll(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed; scripts/setup.sh installs it")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err == nil
}

func TestInitDevTokenIssuesTheDevPKI(t *testing.T) {
	port := freeLoopbackPort(t)
	dir := devStation(t, port)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, name := range []string{"agency-cert.pem", devpki.TSACertFile} {
		c := readCert(t, filepath.Join(dir, name))
		if len(c.OCSPServer) != 1 || c.OCSPServer[0] != base+"/ocsp" ||
			len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != base+"/crl/dev-ca.crl" {
			t.Errorf("%s names OCSP %v and CRL %v, want them under %s", name, c.OCSPServer, c.CRLDistributionPoints, base)
		}
	}
	for _, name := range []string{devpki.CAKeyFile, devpki.TSAKeyFile, "token.pin"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v (%v), want mode 0600", name, info.Mode(), err)
		}
	}
	text, ok := opensslAll(t, "x509", "-noout", "-ext", "extendedKeyUsage", "-in", filepath.Join(dir, devpki.TSACertFile))
	if !ok || !strings.Contains(text, "Extended Key Usage: critical") || !strings.Contains(text, "Time Stamping") || strings.Contains(text, "E-mail") {
		t.Errorf("the TSA certificate's EKU (ok=%v):\n%s", ok, text)
	}
	if out, ok := opensslAll(t, "verify", "-purpose", "timestampsign", "-CAfile", filepath.Join(dir, "dev-ca.pem"), filepath.Join(dir, devpki.TSACertFile)); !ok || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify of the TSA certificate (ok=%v):\n%s", ok, out)
	}
	if out, code := scanstation(t, nil, "config", "check", "--config", filepath.Join(dir, "scanstation.yaml")); code != 0 {
		t.Errorf("the config init wrote does not pass its own check:\n%s", out)
	}

	out, code := scanstation(t, nil, "init", "--dir", t.TempDir(), "--dev-token", "--dev-pki-listen", "0.0.0.0:9478")
	if code == 0 || !strings.Contains(out, "not a loopback address") {
		t.Errorf("init naming 0.0.0.0 for the dev PKI (%d):\n%s", code, out)
	}
}

// devPKIServer is a running `scanstation dev-pki serve`.
type devPKIServer struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
}

func startDevPKI(t *testing.T, args ...string) *devPKIServer {
	t.Helper()
	s := &devPKIServer{cmd: exec.Command(binary, append([]string{"dev-pki", "serve"}, args...)...), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	waitFor(t, "the dev PKI to listen", 30*time.Second, func() bool {
		return strings.Contains(s.stdout.String(), "listening on")
	}, s.stderr)
	return s
}

func fetch(t *testing.T, method, url, contentType string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if !strings.Contains(resp.Header.Get(devpki.WarningHeader), "TEST SERVICE") {
		t.Errorf("%s %s: the answer is not marked as coming from a test service", method, url)
	}
	return data
}

func TestDevPKIServeAnswersOCSPCRLAndTSA(t *testing.T) {
	port := freeLoopbackPort(t)
	dir := devStation(t, port)
	srv := startDevPKI(t, "--dir", dir)
	if !strings.Contains(srv.stderr.String(), "WARNING: TEST SERVICE") {
		t.Errorf("serve starts without the test-service warning:\n%s", srv.stderr)
	}
	caFile := filepath.Join(dir, "dev-ca.pem")
	agencyFile := filepath.Join(dir, "agency-cert.pem")
	agency := readCert(t, agencyFile)

	// OCSP, at the address the agency's certificate names.
	ocsp := func(certFile string) string {
		t.Helper()
		out, ok := opensslAll(t, "ocsp", "-issuer", caFile, "-cert", certFile, "-url", agency.OCSPServer[0], "-CAfile", caFile)
		if !ok || !strings.Contains(out, "Response verify OK") {
			t.Fatalf("openssl ocsp (ok=%v):\n%s", ok, out)
		}
		return out
	}
	if out := ocsp(agencyFile); !strings.Contains(out, agencyFile+": good") {
		t.Errorf("before revocation:\n%s", out)
	}
	if out, code := scanstation(t, nil, "dev-pki", "revoke", "--dir", dir, "--cert", agencyFile, "--reason", "keyCompromise"); code != 0 {
		t.Fatalf("dev-pki revoke (%d):\n%s", code, out)
	}
	if out := ocsp(agencyFile); !strings.Contains(out, agencyFile+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("after revocation:\n%s", out)
	}

	// The CRL, at the address the certificate names, lists the agency's serial.
	crlFile := filepath.Join(t.TempDir(), "dev-ca.crl")
	if err := os.WriteFile(crlFile, fetch(t, http.MethodGet, agency.CRLDistributionPoints[0], "", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok := opensslAll(t, "crl", "-inform", "DER", "-in", crlFile, "-CAfile", caFile, "-noout", "-text")
	// openssl prints the serial's bytes: an odd number of hex digits gets a leading zero.
	serial := strings.ToUpper(agency.SerialNumber.Text(16))
	if len(serial)%2 == 1 {
		serial = "0" + serial
	}
	if !ok || !strings.Contains(out, "verify OK") || !strings.Contains(out, "Serial Number: "+serial) {
		t.Errorf("openssl crl (ok=%v):\n%s", ok, out)
	}

	// The TSA: its token verifies against the dev CA alone.
	work := t.TempDir()
	data := filepath.Join(work, "cong-van.txt")
	if err := os.WriteFile(data, []byte("Công văn số 2417/UBND-VP"), 0o644); err != nil {
		t.Fatal(err)
	}
	query := filepath.Join(work, "q.tsq")
	if out, ok := opensslAll(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query); !ok {
		t.Fatalf("openssl ts -query:\n%s", out)
	}
	q, err := os.ReadFile(query)
	if err != nil {
		t.Fatal(err)
	}
	reply := filepath.Join(work, "r.tsr")
	if err := os.WriteFile(reply, fetch(t, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/tsa", port), "application/timestamp-query", q), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, ok := opensslAll(t, "ts", "-verify", "-data", data, "-in", reply, "-CAfile", caFile); !ok || !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify (ok=%v):\n%s", ok, out)
	}

	// An extra signer that expired long ago, revoked by serial number before it expired.
	out, code := scanstation(t, nil, "dev-pki", "issue", "--dir", dir, "--name", "expired", "--not-before", "-800d", "--not-after", "-400d")
	if code != 0 {
		t.Fatalf("dev-pki issue (%d):\n%s", code, out)
	}
	expiredFile := filepath.Join(dir, "expired-cert.pem")
	expired := readCert(t, expiredFile)
	if time.Until(expired.NotAfter) > -399*24*time.Hour || expired.OCSPServer[0] != agency.OCSPServer[0] {
		t.Errorf("the expired signer is valid until %v and names OCSP %v", expired.NotAfter, expired.OCSPServer)
	}
	if info, err := os.Stat(filepath.Join(dir, "expired-key.pem")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the expired signer's key: %v, %v", info.Mode(), err)
	}
	if out := ocsp(expiredFile); !strings.Contains(out, expiredFile+": good") {
		t.Errorf("the new signer before revocation:\n%s", out)
	}
	out, code = scanstation(t, nil, "dev-pki", "revoke", "--dir", dir, "--serial", "0x"+expired.SerialNumber.Text(16), "--at", "2025-01-02T03:04:05Z")
	if code != 0 {
		t.Fatalf("dev-pki revoke --serial (%d):\n%s", code, out)
	}
	if out := ocsp(expiredFile); !strings.Contains(out, expiredFile+": revoked") || !strings.Contains(out, "Revocation Time: Jan  2 03:04:05 2025 GMT") {
		t.Errorf("the new signer after revocation:\n%s", out)
	}
	if out, code := scanstation(t, nil, "dev-pki", "revoke", "--dir", dir, "--serial", "12345"); code == 0 || !strings.Contains(out, "did not issue") {
		t.Errorf("revoking a serial the CA never issued (%d):\n%s", code, out)
	}

	if err := srv.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("serve did not stop cleanly: %v\n%s", err, srv.stderr)
	}
	if !strings.Contains(srv.stderr.String(), "path=/tsa") || !strings.Contains(srv.stderr.String(), "time-stamp granted") {
		t.Errorf("serve's log does not show the TSA request:\n%s", srv.stderr)
	}
}

func TestDevPKIRefusesNonLoopbackAndSaysItIsATest(t *testing.T) {
	dir := devStation(t, freeLoopbackPort(t))
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0", "localhost:0"} {
		out, code := scanstation(t, nil, "dev-pki", "serve", "--dir", dir, "--listen", listen)
		if code != 1 || !strings.Contains(out, "not a loopback address") || strings.Contains(out, "listening") {
			t.Errorf("serve --listen %s (%d):\n%s", listen, code, out)
		}
	}
	out, code := scanstation(t, nil, "dev-pki", "--help")
	if code != 0 || !strings.Contains(out, "THIS IS A TEST SERVICE") || !strings.Contains(out, "loopback only") {
		t.Errorf("dev-pki --help (%d):\n%s", code, out)
	}
	if out, code := scanstation(t, nil, "dev-pki", "serve", "--dir", t.TempDir()); code != 1 || !strings.Contains(out, "holds no dev PKI") {
		t.Errorf("serve on a folder without a dev PKI (%d):\n%s", code, out)
	}
	// Serving on another port than the certificates name works, and says so.
	srv := startDevPKI(t, "--dir", dir, "--listen", "127.0.0.1:0")
	if !strings.Contains(srv.stderr.String(), "will not reach this server") {
		t.Errorf("serve on another port gives no note:\n%s", srv.stderr)
	}
}
