package revisions

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pades"
)

// testPKI is a CA, a signer and a timestamp authority it certified, with
// everything written as PEM files for pyHanko.
type testPKI struct {
	signer                     pades.Signer
	ca, key, cert, tsaKey, tsa string // PEM files
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	from, until := time.Now().Add(-24*time.Hour), time.Now().Add(365*24*time.Hour)
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Revisions Test CA", Country: []string{"VN"}},
		NotBefore: from, NotAfter: until, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, key crypto.Signer, tsa bool) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Country: []string{"VN"}},
			NotBefore: from, NotAfter: until, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		if tsa {
			// RFC 3161 2.3: the one extended key usage, critical.
			eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
			tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	signerKey := mustKey(t)
	// pyHanko's test timestamper signs with RSA only.
	tsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issue(2, "Văn thư thử nghiệm", signerKey, false)
	tsa := issue(3, "Revisions Test TSA", tsaKey, true)
	p := testPKI{
		signer: pades.Signer{Key: signerKey, Chain: []*x509.Certificate{leaf, ca}},
		ca:     writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw),
		cert:   writePEM(t, dir, "signer.pem", "CERTIFICATE", leaf.Raw),
		key:    writePEM(t, dir, "signer-key.pem", "PRIVATE KEY", pkcs8(t, signerKey)),
		tsa:    writePEM(t, dir, "tsa.pem", "CERTIFICATE", tsa.Raw),
		tsaKey: writePEM(t, dir, "tsa-key.pem", "PRIVATE KEY", pkcs8(t, tsaKey)),
	}
	return p
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkcs8(t testing.TB, k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTemp(t testing.TB, name string, data []byte) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// scanPDF is a one-page PDF like the station's copies: a page whose content
// paints the "scan", XMP metadata, a classic cross-reference table.
func scanPDF() []byte {
	var b bytes.Buffer
	var offsets []int
	object := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	stream := func(dict string, data string) {
		object(fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data))
	}
	xmp := `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>2</pdfaid:part>` +
		`<pdfaid:conformance>U</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	object("<</Type/Catalog/Pages 2 0 R/Metadata 5 0 R/Lang (vi-VN)>>")
	object("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>/Contents 4 0 R>>")
	stream("", "0 0 1 rg 100 100 200 200 re f")
	stream("/Type/Metadata/Subtype/XML", xmp)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R/ID[<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>]>>\nstartxref\n%d\n%%%%EOF\n",
		len(offsets)+1, xref)
	return b.Bytes()
}

// stationCertify certifies pdf the way the station does (DocMDP P=2).
func stationCertify(t testing.TB, pki testPKI, pdf []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.Sign(&out, pdf, pki.signer, pades.Options{Certify: true, Reason: "Sao y bản chính"}); err != nil {
		t.Fatalf("certifying: %v", err)
	}
	return out.Bytes()
}

// mutate runs one operation of testdata/mutate.py (pyHanko's writer) on pdf.
func mutate(t testing.TB, pki testPKI, pdf []byte, op string, args ...string) []byte {
	t.Helper()
	in := writeTemp(t, "in.pdf", pdf)
	out := filepath.Join(filepath.Dir(in), "out.pdf")
	script, err := filepath.Abs("testdata/mutate.py")
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{script, op}, args...)
	argv = append(argv, in, out, "--key", pki.key, "--cert", pki.cert, "--ca", pki.ca, "--tsa-key", pki.tsaKey, "--tsa-cert", pki.tsa)
	python := "pyhanko-python"
	if _, err := exec.LookPath(python); err != nil {
		t.Fatalf("pyhanko-python is not on PATH (scripts/setup.sh installs it under /opt/scanstation-tools/bin)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(python, argv...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mutate.py %s: %v\n%s", op, err, lastLines(stderr.String(), 15))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, pdf) {
		t.Fatalf("mutate.py %s did not append an incremental update", op)
	}
	return b
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
