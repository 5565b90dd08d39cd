package pades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPKI is a CA and a signer it certified, made in Go for the tests.
type testPKI struct {
	ca     *x509.Certificate
	caPEM  []byte
	signer Signer
}

// pkis are made once per test binary: RSA key generation is the slow part.
var (
	rsaPKI = sync.OnceValue(func() testPKI { return newTestPKI(mustRSA()) })
	ecPKI  = sync.OnceValue(func() testPKI { return newTestPKI(mustEC()) })
)

func mustRSA() crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func newTestPKI(signerKey crypto.Signer) testPKI {
	caKey := mustRSA()
	// Fixed validity around any signing time the tests claim, so the chain
	// check does not depend on the machine's clock.
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Scanstation Test CA", Organization: []string{"Scanstation tests"}, Country: []string{"VN"}},
		NotBefore:             from,
		NotAfter:              until,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		panic(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject: pkix.Name{
			CommonName:   "Văn thư Sở Nội vụ",
			Organization: []string{"Sở Nội vụ tỉnh Bà Rịa - Vũng Tàu"},
			Country:      []string{"VN"},
		},
		NotBefore: from,
		NotAfter:  until,
		KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, signerKey.Public(), caKey)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	return testPKI{
		ca:     ca,
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		signer: Signer{Key: signerKey, Chain: []*x509.Certificate{leaf, ca}},
	}
}

func (p testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

func (p testPKI) writeCA(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfBuilder writes a small PDF with a classic cross-reference table,
// computing the offsets as it goes.
type pdfBuilder struct {
	b       bytes.Buffer
	offsets []int
}

func (p *pdfBuilder) object(body string) {
	p.offsets = append(p.offsets, p.b.Len())
	fmt.Fprintf(&p.b, "%d 0 obj\n%s\nendobj\n", len(p.offsets), body)
}

func (p *pdfBuilder) stream(dict string, data []byte) {
	p.object(fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data))
}

func (p *pdfBuilder) finish() []byte {
	xref := p.b.Len()
	fmt.Fprintf(&p.b, "xref\n0 %d\n0000000000 65535 f\r\n", len(p.offsets)+1)
	for _, o := range p.offsets {
		fmt.Fprintf(&p.b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&p.b, "trailer\n<</Size %d/Root 1 0 R/ID[<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>]>>\nstartxref\n%d\n%%%%EOF\n",
		len(p.offsets)+1, xref)
	return p.b.Bytes()
}

func newPDFBuilder() *pdfBuilder {
	p := &pdfBuilder{}
	p.b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return p
}

// testPageContent is page 1's content; tests tamper with its marker word.
const testPageContent = "% scanstation test page\n0 0 1 rg 100 100 200 200 re f\n"

// minimalPDF is a one-page PDF. padding bytes of comment lines make its
// content stream as large as a benchmark wants. Page 1 carries a literal
// string with escapes so re-writing it shows whether they survive.
func minimalPDF(padding int) []byte {
	p := newPDFBuilder()
	p.object("<</Type/Catalog/Pages 2 0 R/Lang (vi-VN)>>")
	p.object("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	p.object(`<</Type/Page/Parent 2 0 R/MediaBox[0 0 595.28 841.89]/Resources<<>>/Contents 4 0 R/PieceInfo<</Scanstation<</LastModified (D:20250101000000Z)/Private (a\(b\)c\\d)>>>>>>`)
	content := []byte(testPageContent)
	line := []byte("% padding padding padding padding padding padding padding padding\n")
	for len(content) < padding {
		content = append(content, line...)
	}
	p.stream("", content)
	return p.finish()
}

// pdfaPDF is a blank one-page PDF/A-2u: XMP metadata saying so, an sRGB
// output intent, no fonts and nothing drawn, written by hand so the tests do
// not depend on our own PDF/A writer.
func pdfaPDF(t testing.TB) []byte {
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatalf("the sRGB profile is missing (scripts/setup.sh installs icc-profiles-free): %v", err)
	}
	xmp := strings.Join([]string{
		`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>`,
		`<x:xmpmeta xmlns:x="adobe:ns:meta/">`,
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`,
		`<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">`,
		`<pdfaid:part>2</pdfaid:part><pdfaid:conformance>U</pdfaid:conformance>`,
		`</rdf:Description>`,
		`</rdf:RDF>`,
		`</x:xmpmeta>`,
		`<?xpacket end="w"?>`,
	}, "\n")
	p := newPDFBuilder()
	p.object("<</Type/Catalog/Pages 2 0 R/Metadata 5 0 R/OutputIntents[<</Type/OutputIntent/S/GTS_PDFA1/OutputConditionIdentifier (sRGB IEC61966-2.1)/DestOutputProfile 6 0 R>>]/Lang (vi-VN)>>")
	p.object("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	p.object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595.28 841.89]/Resources<<>>/Contents 4 0 R>>")
	p.stream("", []byte("0 0 1 rg 100 100 200 200 re f"))
	p.stream("/Type/Metadata/Subtype/XML", []byte(xmp))
	p.stream("/N 3", icc)
	return p.finish()
}
