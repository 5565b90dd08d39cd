package sender_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/sender"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, the client's written as PEM files.
type testPKI struct {
	pool                      *x509.CertPool
	server                    tls.Certificate
	caFile, certFile, keyFile string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test exchange CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := issue(2, "exchange", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	clientDER, clientKey := issue(3, "scan-01", x509.ExtKeyUsageClientAuth, nil)

	p := &testPKI{
		pool:     x509.NewCertPool(),
		server:   tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey},
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "client.pem"),
		keyFile:  filepath.Join(dir, "client.key"),
	}
	p.pool.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", clientDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newTLSServer is newServer over TLS, requiring a client certificate from
// the test CA; it records the client certificates' names.
func newTLSServer(t *testing.T, p *testPKI) (*server, func() []string) {
	s := unstartedServer(t)
	var mu sync.Mutex
	var names []string
	inner := s.Config.Handler
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, c := range r.TLS.PeerCertificates[:1] {
			names = append(names, c.Subject.CommonName)
		}
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}
	s.StartTLS()
	return s, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), names...)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	p := newPKI(t)
	srv, clients := newTLSServer(t, p)
	f := newFolders(t)
	files := addEntry(t, f.outbox, "doc", 1000)
	s := newSender(t, srv.URL, f, func(c *sender.Config) {
		c.CAFile, c.ClientCert, c.ClientKey = p.caFile, p.certFile, p.keyFile
	})
	res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc.edxml"))
	if err != nil || res.Outcome != sender.Sent {
		t.Fatalf("over TLS with a client certificate: %+v, %v; want sent", res, err)
	}
	wantMoved(t, f, f.sent, "doc", "doc", files)
	if got := clients(); len(got) != 1 || got[0] != "scan-01" {
		t.Errorf("server saw client certificates %v, want scan-01 once", got)
	}
}

func TestTLSWithoutClientCertificate(t *testing.T) {
	p := newPKI(t)
	srv, _ := newTLSServer(t, p)
	f := newFolders(t)
	addEntry(t, f.outbox, "doc", 1000)
	s := newSender(t, srv.URL, f, func(c *sender.Config) { c.CAFile = p.caFile })
	res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc.edxml"))
	if err == nil || res.Outcome != sender.Retry {
		t.Fatalf("without a client certificate: %+v, %v; want an error and the entry kept", res, err)
	}
	if !strings.Contains(err.Error(), "asks for a client certificate and none is configured") {
		t.Errorf("the error does not say a client certificate is missing: %v", err)
	}
	if !exists(filepath.Join(f.outbox, "doc.edxml")) {
		t.Error("the entry left the outbox")
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("the server handled %d requests without a client certificate", n)
	}
}

func TestTLSUntrustedServer(t *testing.T) {
	p := newPKI(t)
	srv, _ := newTLSServer(t, p)
	f := newFolders(t)
	addEntry(t, f.outbox, "doc", 100)
	// No CA file: the system's authorities do not know the test CA.
	s := newSender(t, srv.URL, f, func(c *sender.Config) { c.ClientCert, c.ClientKey = p.certFile, p.keyFile })
	_, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc.edxml"))
	if err == nil || !strings.Contains(err.Error(), "not from a trusted authority") {
		t.Errorf("against an unknown CA: err = %v, want one saying so", err)
	}
}

func TestClientCertificateNeedsHTTPS(t *testing.T) {
	p := newPKI(t)
	f := newFolders(t)
	_, err := sender.New(sender.Config{URL: "http://127.0.0.1:1/", ClientCert: p.certFile, ClientKey: p.keyFile}, f.outbox, nil)
	if err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("a client certificate with http://: err = %v, want a refusal", err)
	}
	_, err = sender.New(sender.Config{URL: "https://127.0.0.1:1/", ClientCert: filepath.Join(f.outbox, "none.pem"), ClientKey: p.keyFile}, f.outbox, nil)
	if err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("a missing certificate file: err = %v, want one naming it", err)
	}
}
