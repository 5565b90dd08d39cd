package pades_test

// B-LT and B-LTA with the real parts: the dev PKI's OCSP responder, CRL and TSA over loopback
// HTTP, and EU DSS, pyHanko, veraPDF and qpdf as the judges.

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
	"scanstation/devpki"
	"scanstation/internal/judge"
)

// devPKI starts a dev PKI on a free loopback port: CA, OCSP, CRL and TSA.
func devPKI(t *testing.T) *devpki.CA {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := devpki.Create(t.TempDir(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ca.Serve(ctx, ln, slog.New(slog.NewTextHandler(ioDiscard{}, nil)))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ca
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }

// agency issues a signer under the dev CA, with the CA's OCSP and CRL URLs.
func agency(t *testing.T, ca *devpki.CA, name string) pades.Signer {
	t.Helper()
	certFile, keyFile, err := ca.IssueSigner(name, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert := readCert(t, certFile)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			key = k
		} else {
			t.Fatal(err)
		}
	}
	return pades.Signer{Key: key.(crypto.Signer), Chain: []*x509.Certificate{cert, ca.Cert}}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// copyPDFA is a one-page PDF/A-2u like the station's.
func copyPDFA(t *testing.T) []byte {
	t.Helper()
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 100, 141
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(bytes.Repeat([]byte{250, 250, 245}, w*h))
	zw.Close()
	var b bytes.Buffer
	err = pdfa.Write(&b, &pdfa.Document{
		Pages:     []pdfa.Page{{Image: pdfa.Image{Width: w, Height: h, DPIX: 12, DPIY: 12, ColorSpace: pdfa.RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: z.Bytes()}}},
		Title:     "Bản sao điện tử",
		Created:   time.Now(),
		OutputICC: icc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLongTermLevels signs a certified copy B-T, adds its validation data (B-LT) and a
// document timestamp (B-LTA), and has each level judged: EU DSS, offline with only the dev CA
// trusted, must find PAdES-BASELINE-LT and -LTA TOTAL_PASSED; veraPDF keeps it PDF/A-2u after
// each increment; pyHanko finds the certification intact with every change allowed.
func TestLongTermLevels(t *testing.T) {
	ca := devPKI(t)
	signer := agency(t, ca, "so-noi-vu")
	tsa := &pades.TSA{URL: ca.URLs().TSA}
	dir := t.TempDir()
	caPEM := filepath.Join(dir, "dev-ca.pem")
	if err := os.WriteFile(caPEM, devpki.PEMCertificates(ca.Cert), 0o644); err != nil {
		t.Fatal(err)
	}

	var bt bytes.Buffer
	if err := pades.Sign(&bt, copyPDFA(t), signer, pades.Options{Certify: true, TSA: tsa, Reason: "Bản sao điện tử"}); err != nil {
		t.Fatal(err)
	}
	chains, contents, err := pades.Chains(bt.Bytes(), []*x509.Certificate{ca.Cert})
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) != 2 || len(chains[0]) != 2 || len(chains[1]) != 2 {
		t.Fatalf("chains: %d (want the signer's and the TSA's, each up to the dev CA)", len(chains))
	}
	vd, err := pades.Fetcher{NotBefore: time.Now()}.Collect(context.Background(), chains...)
	if err != nil {
		t.Fatal(err)
	}
	if len(vd.OCSPs) != 2 || len(vd.Certs) != 3 {
		t.Fatalf("validation data: %d OCSP responses and %d certificates, want 2 and 3", len(vd.OCSPs), len(vd.Certs))
	}
	var lt bytes.Buffer
	if err := pades.AddDSS(&lt, bt.Bytes(), vd, contents); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(lt.Bytes(), bt.Bytes()) {
		t.Fatal("adding the DSS changed the signed bytes")
	}
	var lta bytes.Buffer
	if err := pades.AddDocumentTimestamp(context.Background(), &lta, lt.Bytes(), tsa); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for name, data := range map[string][]byte{"b-t": bt.Bytes(), "b-lt": lt.Bytes(), "b-lta": lta.Bytes()} {
		paths[name] = filepath.Join(dir, name+".pdf")
		if err := os.WriteFile(paths[name], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"b-lt", "b-lta"} {
		if v := judge.PDFA(t, paths[name]); !v.Compliant {
			t.Errorf("%s is not PDF/A-2u for veraPDF: %v", name, v)
		}
		if v := judge.QPDFCheck(t, paths[name]); !v.Clean() {
			t.Errorf("qpdf --check fails %s: %s", name, v.Stdout)
		}
	}
	verdicts := judge.DSSMany(t, []string{paths["b-lt"], paths["b-lta"]}, caPEM)
	for i, want := range []string{"PAdES-BASELINE-LT", "PAdES-BASELINE-LTA"} {
		v := verdicts[i]
		if len(v.Signatures) != 1 || v.Signatures[0].Format != want || v.Signatures[0].Indication != "TOTAL_PASSED" {
			t.Errorf("EU DSS on the %s file, want %s TOTAL_PASSED:\n%s", want, want, v)
		}
	}
	ph := judge.PyHanko(t, paths["b-lta"], judge.PyHankoOptions{Trust: []string{caPEM}})
	if sig, err := ph.Field("Signature1"); err != nil || !sig.Intact || !sig.Valid || sig.DocMDPOK == nil || !*sig.DocMDPOK {
		t.Errorf("pyHanko on the B-LTA file, want the certification intact, valid, its DocMDP kept:\n%v (%v)", ph, err)
	}
}

// TestRevokedSignerIsNotExtended: validation data is never added for a revoked signer; the
// error says which certificate and when.
func TestRevokedSignerIsNotExtended(t *testing.T) {
	ca := devPKI(t)
	signer := agency(t, ca, "bi-thu-hoi")
	if err := ca.Revoke(signer.Chain[0].SerialNumber, time.Now().Add(-time.Minute), "keyCompromise"); err != nil {
		t.Fatal(err)
	}
	var bt bytes.Buffer
	if err := pades.Sign(&bt, copyPDFA(t), signer, pades.Options{Certify: true, TSA: &pades.TSA{URL: ca.URLs().TSA}}); err != nil {
		t.Fatal(err)
	}
	chains, _, err := pades.Chains(bt.Bytes(), []*x509.Certificate{ca.Cert})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pades.Fetcher{}.Collect(context.Background(), chains...)
	if !errors.Is(err, pades.ErrRevoked) {
		t.Fatalf("collecting for a revoked signer: %v, want ErrRevoked", err)
	}
}
