package pades

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// testTSAPKI is a timestamp authority's CA and its timestamping key, made
// once per test binary.
var testTSAPKI = sync.OnceValue(func() testPKI {
	caKey := mustEC()
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "Scanstation Test TSA CA", Country: []string{"VN"}},
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
	// RFC 3161 2.3: the TSA's certificate has exactly one extended key
	// usage, id-kp-timeStamping, and marks it critical.
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	key := mustEC()
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:    big.NewInt(8),
		Subject:         pkix.Name{CommonName: "Scanstation Test TSA", Country: []string{"VN"}},
		NotBefore:       from,
		NotAfter:        until,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, ca, key.Public(), caKey)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	return testPKI{
		ca:     ca,
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		signer: Signer{Key: key, Chain: []*x509.Certificate{leaf, ca}},
	}
})

// testTSA answers RFC 3161 requests on loopback with tokens it builds and
// signs itself. The fields spoil its answers for the failure tests.
type testTSA struct {
	t          testing.TB
	otherNonce bool // answer with a nonce other than the one asked for
	padCerts   int  // embed this many extra copies of the CA certificate
}

func (a *testTSA) start() *httptest.Server {
	srv := httptest.NewServer(a)
	a.t.Cleanup(srv.Close)
	return srv
}

func (a *testTSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req timeStampReq
	if rest, err := asn1.Unmarshal(body, &req); err != nil || len(rest) > 0 {
		a.t.Errorf("the TSA cannot read the request: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != "application/timestamp-query" || req.Version != 1 || !req.CertReq ||
		!req.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) || req.Nonce == nil {
		a.t.Errorf("unexpected request: content type %q, %+v", r.Header.Get("Content-Type"), req)
	}
	nonce := req.Nonce
	if a.otherNonce {
		nonce = new(big.Int).Add(nonce, big.NewInt(1))
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(a.response(req.MessageImprint.HashedMessage, nonce))
}

// response builds a granted TimeStampResp for imprint.
func (a *testTSA) response(imprint []byte, nonce *big.Int) []byte {
	var tst cryptobyte.Builder
	tst.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}) // policy
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
			b.AddASN1OctetString(imprint)
		})
		b.AddASN1Int64(time.Now().UnixNano()) // serial
		// With fractions of a second, as many real TSAs send it.
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(time.Now().UTC().Format("20060102150405.999Z")))
		})
		b.AddASN1BigInt(nonce)
	})
	tstDER := tst.BytesOrPanic()
	digest := sha256.Sum256(tstDER)
	pki := testTSAPKI()
	si, err := signCMS(oidTSTInfo, tstDER, digest[:], pki.signer.Key, pki.signer.Chain)
	if err != nil {
		a.t.Errorf("the test TSA cannot sign: %v", err)
		return nil
	}
	for range a.padCerts {
		si.chain = append(si.chain, pki.ca)
	}
	token, err := si.encode()
	if err != nil {
		a.t.Errorf("the test TSA cannot encode its token: %v", err)
		return nil
	}
	var resp cryptobyte.Builder
	resp.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(statusGranted) })
		b.AddBytes(token)
	})
	return resp.BytesOrPanic()
}
