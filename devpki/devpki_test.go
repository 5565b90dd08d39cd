package devpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"scanstation/internal/judge"
)

// newCA makes a dev PKI in a fresh folder, naming the default address.
func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := Create(t.TempDir(), DefaultListen)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return ca
}

// serve runs ca's services on a free loopback port until the test ends and returns
// their base URL.
func serve(t *testing.T, ca *CA) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ca.Serve(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// post sends body and checks the answer carries the test-service warning.
func post(t *testing.T, url, contentType string, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %s: %s", resp.Request.URL, resp.Status, body)
	}
	if resp.Header.Get(WarningHeader) != Warning {
		t.Errorf("%s: the answer does not say it comes from a test service (header %q)", resp.Request.URL, resp.Header.Get(WarningHeader))
	}
	return body
}

// openssl runs openssl and returns all it wrote: some of its verdicts ("verify OK",
// "Response verify OK", a nonce warning) go to stderr only, and some of its failures
// exit 0.
func openssl(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed; scripts/setup.sh installs it")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err == nil
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateKeepsKeysPrivateAndMarksTheTSA(t *testing.T) {
	ca := newCA(t)
	for _, name := range []string{CAKeyFile, TSAKeyFile} {
		info, err := os.Stat(filepath.Join(ca.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	// RFC 3161 2.3: exactly one EKU, id-kp-timeStamping, critical.
	var eku int
	for _, e := range ca.TSACert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			eku++
			if !e.Critical {
				t.Error("the TSA certificate's extended key usage is not critical")
			}
		}
	}
	if eku != 1 || !slices.Equal(ca.TSACert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) || len(ca.TSACert.UnknownExtKeyUsage) != 0 {
		t.Errorf("the TSA certificate's EKU is %v (+%v), want time-stamping only", ca.TSACert.ExtKeyUsage, ca.TSACert.UnknownExtKeyUsage)
	}
	want := URLs{
		OCSP:      "http://127.0.0.1:9478/ocsp",
		CRL:       "http://127.0.0.1:9478/crl/dev-ca.crl",
		CAIssuers: "http://127.0.0.1:9478/ca/dev-ca.crt",
		TSA:       "http://127.0.0.1:9478/tsa",
	}
	if ca.URLs() != want {
		t.Errorf("URLs() = %+v, want %+v", ca.URLs(), want)
	}
	if !slices.Equal(ca.TSACert.OCSPServer, []string{want.OCSP}) || !slices.Equal(ca.TSACert.CRLDistributionPoints, []string{want.CRL}) ||
		!slices.Equal(ca.TSACert.IssuingCertificateURL, []string{want.CAIssuers}) {
		t.Errorf("the TSA certificate names OCSP %v, CRL %v, CA issuers %v", ca.TSACert.OCSPServer, ca.TSACert.CRLDistributionPoints, ca.TSACert.IssuingCertificateURL)
	}
	if out, ok := judge.Run(t, "openssl", "verify", "-purpose", "timestampsign", "-CAfile", filepath.Join(ca.Dir, CAFile), filepath.Join(ca.Dir, TSACertFile)); !ok || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify -purpose timestampsign (ok=%v): %s", ok, out)
	}

	again, err := Open(ca.Dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !again.Cert.Equal(ca.Cert) || !again.TSACert.Equal(ca.TSACert) || again.Listen != DefaultListen {
		t.Error("Open reads another CA than Create made")
	}
	if _, err := Create(ca.Dir, DefaultListen); err == nil || !strings.Contains(err.Error(), "holds a dev PKI already") {
		t.Errorf("Create over an existing dev PKI: %v", err)
	}
	os.Remove(filepath.Join(ca.Dir, CAKeyFile))
	if _, err := Open(ca.Dir); err == nil || !strings.Contains(err.Error(), "older scanstation init") {
		t.Errorf("Open without the CA key: %v", err)
	}
}

func TestListenRefusesWhatIsNotLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":9478", "[::]:0", "192.0.2.10:9478", "localhost:9478", "example.org:80", "127.0.0.1", "127.0.0.1:http-alt-nonsense"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted", addr)
		}
	}
	if _, err := Create(t.TempDir(), "0.0.0.0:9478"); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("Create naming 0.0.0.0: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:9478", "127.0.0.2:1", "[::1]:9478"} {
		if err := CheckLoopback(addr); err != nil {
			t.Errorf("CheckLoopback(%q): %v", addr, err)
		}
	}
}

func TestOCSPGoodThenRevoked(t *testing.T) {
	ca := newCA(t)
	url := serve(t, ca) + OCSPPath
	certFile, _, err := ca.IssueSigner("clerk", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(ca.Dir, CAFile)
	status := func() string {
		t.Helper()
		out, ok := openssl(t, "ocsp", "-issuer", caFile, "-cert", certFile, "-url", url, "-CAfile", caFile)
		if !ok || !strings.Contains(out, "Response verify OK") {
			t.Fatalf("openssl ocsp fails:\n%s", out)
		}
		return out
	}
	if out := status(); !strings.Contains(out, certFile+": good") {
		t.Errorf("before revocation openssl ocsp says:\n%s", out)
	}

	cert, err := readCertificate(certFile)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	if err := ca.Revoke(cert.SerialNumber, at, "keyCompromise"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	out := status()
	if !strings.Contains(out, certFile+": revoked") || !strings.Contains(out, "Reason: keyCompromise") ||
		!strings.Contains(out, "Revocation Time: "+at.UTC().Format("Jan _2 15:04:05 2006 GMT")) {
		t.Errorf("after revocation openssl ocsp says:\n%s", out)
	}

	// The same through GET (RFC 6960 A.1), read with x/crypto/ocsp.
	req, err := ocsp.CreateRequest(cert, ca.Cert, &ocsp.RequestOptions{Hash: 0})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ocsp.ParseResponseForCert(get(t, url+"/"+base64.StdEncoding.EncodeToString(req)), cert, ca.Cert)
	if err != nil {
		t.Fatalf("the GET answer: %v", err)
	}
	if resp.Status != ocsp.Revoked || !resp.RevokedAt.Equal(at) || resp.RevocationReason != ocsp.KeyCompromise ||
		time.Since(resp.ProducedAt) > time.Minute || resp.NextUpdate.Before(time.Now()) {
		t.Errorf("GET answer: status %d, revoked at %v (%d), produced %v, next update %v", resp.Status, resp.RevokedAt, resp.RevocationReason, resp.ProducedAt, resp.NextUpdate)
	}
	// The answer is signed by the dev CA, and by no other.
	if _, err := ocsp.ParseResponseForCert(get(t, url+"/"+base64.StdEncoding.EncodeToString(req)), cert, newCA(t).Cert); err == nil {
		t.Error("the answer's signature verifies with another CA's key")
	}
	if err := ca.Revoke(cert.SerialNumber, time.Now(), "superseded"); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Errorf("a second revocation: %v", err)
	}
}

func TestOCSPEchoesTheNonceAndKnowsWhatItIssued(t *testing.T) {
	ca := newCA(t)
	url := serve(t, ca) + OCSPPath
	other := newCA(t)
	caFile := filepath.Join(ca.Dir, CAFile)
	tsaFile := filepath.Join(ca.Dir, TSACertFile)
	// openssl puts a nonce in every request, checks the answer's and warns when there is none.
	out, ok := openssl(t, "ocsp", "-issuer", caFile, "-cert", tsaFile, "-url", url, "-CAfile", caFile, "-resp_text")
	if !ok || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, tsaFile+": good") ||
		!strings.Contains(out, "OCSP Nonce") || strings.Contains(strings.ToLower(out), "no nonce") {
		t.Errorf("openssl ocsp on the TSA's certificate (ok=%v):\n%s", ok, out)
	}

	// Another CA's certificate, and a serial number the CA never issued: unknown.
	madeUp := *ca.TSACert
	madeUp.SerialNumber = big.NewInt(12345)
	for name, c := range map[string]*x509.Certificate{"another CA's": other.TSACert, "a made-up serial's": &madeUp} {
		issuer := ca.Cert
		if c == other.TSACert {
			issuer = other.Cert
		}
		req, err := ocsp.CreateRequest(c, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponse(post(t, url, "application/ocsp-request", req), ca.Cert)
		if err != nil {
			t.Fatalf("%s answer: %v", name, err)
		}
		if resp.Status != ocsp.Unknown {
			t.Errorf("%s status is %d, want unknown", name, resp.Status)
		}
	}
	if _, err := ocsp.ParseResponse(post(t, url, "application/ocsp-request", []byte("not a request")), ca.Cert); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a garbled request is answered with %v, want malformedRequest", err)
	}
}

func TestCRLListsTheRevokedAndVerifies(t *testing.T) {
	ca := newCA(t)
	base := serve(t, ca)
	certFile, _, err := ca.IssueSigner("revoked-clerk", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := readCertificate(certFile)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := x509.ParseRevocationList(get(t, base+CRLPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.RevokedCertificateEntries) != 0 {
		t.Errorf("a CRL before any revocation lists %d certificates", len(empty.RevokedCertificateEntries))
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	if err := ca.Revoke(cert.SerialNumber, at, "cessationOfOperation"); err != nil {
		t.Fatal(err)
	}
	der := get(t, base+CRLPath)
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("the CRL's signature: %v", err)
	}
	if crl.Number.Cmp(empty.Number) <= 0 || time.Since(crl.ThisUpdate) > time.Minute || !crl.NextUpdate.After(time.Now()) {
		t.Errorf("CRL number %v after %v, this update %v, next update %v", crl.Number, empty.Number, crl.ThisUpdate, crl.NextUpdate)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(cert.SerialNumber) != 0 ||
		!crl.RevokedCertificateEntries[0].RevocationTime.Equal(at) || crl.RevokedCertificateEntries[0].ReasonCode != 5 {
		t.Errorf("CRL entries %+v, want serial %x at %v for cessationOfOperation", crl.RevokedCertificateEntries, cert.SerialNumber, at)
	}
	crlFile := writeTemp(t, "dev-ca.crl", der)
	out, ok := openssl(t, "crl", "-inform", "DER", "-in", crlFile, "-CAfile", filepath.Join(ca.Dir, CAFile), "-noout", "-text")
	// openssl prints the serial's bytes: an odd number of hex digits gets a leading zero.
	serial := strings.ToUpper(cert.SerialNumber.Text(16))
	if len(serial)%2 == 1 {
		serial = "0" + serial
	}
	if !ok || !strings.Contains(out, "verify OK") || !strings.Contains(out, "Serial Number: "+serial) ||
		!strings.Contains(out, "Cessation Of Operation") {
		t.Errorf("openssl crl (ok=%v):\n%s", ok, out)
	}
	if out, _ := openssl(t, "crl", "-inform", "DER", "-in", crlFile, "-CAfile", filepath.Join(newCA(t).Dir, CAFile), "-noout"); !strings.Contains(out, "verify failure") {
		t.Errorf("openssl crl verifies the CRL against another CA:\n%s", out)
	}
	if !bytes.Equal(get(t, base+CAPath), ca.Cert.Raw) {
		t.Error("the CA-issuer address serves another certificate")
	}
}

func TestRevokeRefusesWhatItCannotMean(t *testing.T) {
	ca := newCA(t)
	for name, c := range map[string]struct {
		serial *big.Int
		at     time.Time
		reason string
		want   string
	}{
		"never issued":     {big.NewInt(99), time.Now(), "keyCompromise", "did not issue"},
		"in the future":    {ca.TSACert.SerialNumber, time.Now().Add(time.Hour), "keyCompromise", "future"},
		"no such reason":   {ca.TSACert.SerialNumber, time.Now(), "lostIt", "not a revocation reason"},
		"removeFromCRL is": {ca.TSACert.SerialNumber, time.Now(), "removeFromCRL", "not a revocation reason"},
	} {
		if err := ca.Revoke(c.serial, c.at, c.reason); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Revoke = %v, want %q", name, err, c.want)
		}
	}
	s, err := ca.Status(ca.TSACert.SerialNumber)
	if err != nil || !s.Issued || !s.RevokedAt.IsZero() {
		t.Errorf("after refused revocations the TSA's status is %+v, %v", s, err)
	}
}

func TestTSATokenVerifiesWithOpenSSL(t *testing.T) {
	ca := newCA(t)
	url := serve(t, ca) + TSAPath
	data := writeTemp(t, "cong-van.txt", []byte("Công văn số 2417/UBND-VP"))
	dir := t.TempDir()
	for _, alg := range []string{"-sha256", "-sha512"} {
		query := filepath.Join(dir, "q"+alg+".tsq")
		if out, ok := judge.Run(t, "openssl", "ts", "-query", "-data", data, alg, "-cert", "-out", query); !ok {
			t.Fatalf("openssl ts -query: %s", out)
		}
		q, err := os.ReadFile(query)
		if err != nil {
			t.Fatal(err)
		}
		reply := writeTemp(t, "r.tsr", post(t, url, "application/timestamp-query", q))
		out, ok := judge.Run(t, "openssl", "ts", "-verify", "-data", data, "-in", reply, "-CAfile", filepath.Join(ca.Dir, CAFile))
		if !ok || !strings.Contains(out, "Verification: OK") {
			t.Errorf("%s: openssl ts -verify (ok=%v):\n%s", alg, ok, out)
		}
		if out, ok := judge.Run(t, "openssl", "ts", "-verify", "-data", data, "-in", reply, "-CAfile", filepath.Join(newCA(t).Dir, CAFile)); ok {
			t.Errorf("%s: openssl ts -verify trusts the token with another CA:\n%s", alg, out)
		}
		text, _ := judge.Run(t, "openssl", "ts", "-reply", "-in", reply, "-text")
		if !strings.Contains(text, "Status: Granted.") || !strings.Contains(text, "Policy OID: "+TestPolicy.String()) || !strings.Contains(text, "Nonce: 0x") {
			t.Errorf("%s: the reply:\n%s", alg, text)
		}
	}

	// SHA-1 is refused in words a client can show.
	query := filepath.Join(dir, "q-sha1.tsq")
	if out, ok := judge.Run(t, "openssl", "ts", "-query", "-data", data, "-sha1", "-out", query); !ok {
		t.Fatalf("openssl ts -query: %s", out)
	}
	q, err := os.ReadFile(query)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := judge.Run(t, "openssl", "ts", "-reply", "-in", writeTemp(t, "r1.tsr", post(t, url, "application/timestamp-query", q)), "-text")
	if !strings.Contains(text, "Status: Rejected.") || !strings.Contains(text, "unsupported algorithm") {
		t.Errorf("a SHA-1 request is answered:\n%s", text)
	}
}

func TestIssueSigner(t *testing.T) {
	ca := newCA(t)
	notBefore := time.Now().AddDate(-2, 0, 0).Truncate(time.Second)
	notAfter := time.Now().AddDate(-1, 0, 0).Truncate(time.Second)
	certFile, keyFile, err := ca.IssueSigner("expired", notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := readCertificate(certFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := readKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v, %v", info.Mode(), err)
	}
	if !cert.NotBefore.Equal(notBefore) || !cert.NotAfter.Equal(notAfter) || !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
		t.Errorf("certificate valid %v to %v, or not for its key", cert.NotBefore, cert.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: notBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the signer does not chain to the CA while valid: %v", err)
	}
	if s, err := ca.Status(cert.SerialNumber); err != nil || !s.Issued {
		t.Errorf("the signer is not recorded as issued: %+v, %v", s, err)
	}
	if _, _, err := ca.IssueSigner("expired", notBefore, notAfter); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a second signer of the same name: %v", err)
	}
	for _, name := range []string{"../evil", ".hidden", "a b", ""} {
		if _, _, err := ca.IssueSigner(name, notBefore, notAfter); err == nil {
			t.Errorf("IssueSigner(%q) accepted", name)
		}
	}
}
