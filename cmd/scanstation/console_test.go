package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/station"
	"scanstation/users"
)

// loginOnly is a desk without a station, for tests of serving and stopping that go no further
// than the login page, which asks nothing of the desk. TestDeskReviewThenApprove has a real one.
func loginOnly() *station.Desk { return new(station.Desk) }

func consoleConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.File = filepath.Join(dir, "scanstation.yaml")
	cfg.Console.Listen = "127.0.0.1:0"
	if err := os.MkdirAll(cfg.Folders.State, 0o700); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func addUser(t *testing.T, cfg *config.Config) {
	t.Helper()
	store, err := users.Load(cfg.UsersFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add("Lan", users.Clerk, "mật khẩu của Lan"); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleWaitsForAUser(t *testing.T) {
	cfg := consoleConfig(t)
	var logs bytes.Buffer
	addr, stop, err := serveConsole(cfg, loginOnly(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if addr != "" {
		t.Errorf("the console started with no user, at %s", addr)
	}
	if !strings.Contains(logs.String(), "scanstation user add NAME --role clerk --config "+cfg.File) {
		t.Errorf("the log does not say how to add a user:\n%s", logs.String())
	}
}

func TestConsoleServesAndStops(t *testing.T) {
	cfg := consoleConfig(t)
	addUser(t, cfg)
	addr, stop, err := serveConsole(cfg, loginOnly(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "http://127.0.0.1:") {
		t.Fatalf("address %q", addr)
	}
	resp, err := http.Get(addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Đăng nhập") {
		t.Errorf("GET /login: %d\n%s", resp.StatusCode, body)
	}
	stop()
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(addr, "http://"), time.Second); err == nil {
		t.Error("the console still listens after stop")
	}
}

func TestConsoleOverTLS(t *testing.T) {
	cfg := consoleConfig(t)
	addUser(t, cfg)
	cfg.Console.TLSCert, cfg.Console.TLSKey = writeSelfSigned(t, filepath.Dir(cfg.File))
	addr, stop, err := serveConsole(cfg, loginOnly(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(addr, "https://") {
		t.Fatalf("address %q, want https", addr)
	}
	certPEM, _ := os.ReadFile(cfg.Console.TLSCert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login over TLS: %d", resp.StatusCode)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 || !cookies[0].Secure || !strings.HasPrefix(cookies[0].Name, "__Host-") {
		t.Errorf("cookies over TLS: %+v, want Secure and __Host-", cookies)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	// Plain http to the TLS port gets no page.
	if resp, err := http.Get("http://" + strings.TrimPrefix(addr, "https://") + "/login"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain http served the login page")
		}
		resp.Body.Close()
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "scanstation console TEST"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "console.crt"), filepath.Join(dir, "console.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
