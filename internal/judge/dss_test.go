package judge

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pades"
	"scanstation/internal/tsatest"
)

// stationSigned is the corpus's PDF/A signed by the station's own signer (certify/pades), as
// B-B and as B-T, the B-B file with one byte flipped inside its signed range, and the trust
// anchors: the signer's CA and the test TSA's CA.
type stationSigned struct {
	bb, bt, flipped string
	ca, tsaCA       string
	leaf            string // the signing certificate
}

func signWithStation(t *testing.T) stationSigned {
	t.Helper()
	c := files(t)
	dir := t.TempDir()
	s := stationSigned{
		bb:      filepath.Join(dir, "b-b.pdf"),
		bt:      filepath.Join(dir, "b-t.pdf"),
		flipped: filepath.Join(dir, "b-b-flipped.pdf"),
		ca:      filepath.Join(dir, "ca.pem"),
		tsaCA:   filepath.Join(dir, "tsa-ca.pem"),
		leaf:    filepath.Join(dir, "signer.pem"),
	}
	signer, caPEM := newSigner(t)
	tsa := tsatest.Start(t, tsatest.Options{})
	if err := os.WriteFile(s.ca, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.tsaCA, tsa.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Chain[0].Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf, err := os.ReadFile(c.compliant)
	if err != nil {
		t.Fatal(err)
	}
	var bb, bt bytes.Buffer
	if err := pades.Sign(&bb, pdf, signer, pades.Options{Certify: true, Reason: "Bản sao điện tử"}); err != nil {
		t.Fatalf("signing B-B: %v", err)
	}
	if err := pades.Sign(&bt, pdf, signer, pades.Options{Certify: true, TSA: &pades.TSA{URL: tsa.URL}}); err != nil {
		t.Fatalf("signing B-T: %v", err)
	}
	// A byte of the page image: inside the signed range, since the signature covers the whole
	// original file.
	flipped := bytes.Clone(bb.Bytes())
	i := bytes.Index(flipped, []byte("stream\n")) + len("stream\n") + 20
	if i >= len(pdf) {
		t.Fatalf("byte %d is not in the original file (%d bytes)", i, len(pdf))
	}
	flipped[i] ^= 0x01
	for path, data := range map[string][]byte{s.bb: bb.Bytes(), s.bt: bt.Bytes(), s.flipped: flipped} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// newSigner makes a CA and a signing certificate it issued, valid around now, as the dev token
// has them.
func newSigner(t *testing.T) (pades.Signer, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scanstation DSS judge test CA", Country: []string{"VN"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "Văn thư thử nghiệm", Organization: []string{"scanstation judge test"}, Country: []string{"VN"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pades.Signer{Key: key, Chain: []*x509.Certificate{leaf, ca}},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// TestDSSOnStationSignatures asks EU DSS, offline and with the default policy, about files the
// station signs today. Neither carries revocation data (that is B-LT's job), so DSS passes
// neither: the signature is intact and its chain reaches the anchor, and DSS says it lacks the
// revocation data to conclude. One flipped byte fails the signature outright.
func TestDSSOnStationSignatures(t *testing.T) {
	s := signWithStation(t)
	start := time.Now()
	v := DSSMany(t, []string{s.bb, s.bt, s.flipped, s.bb}, s.ca, s.tsaCA)
	t.Logf("EU DSS judged 4 files in one run in %v", time.Since(start).Round(time.Millisecond))
	bb, bt, flipped := v[0], v[1], v[2]

	one := func(name string, v DSSVerdict) DSSSignature {
		t.Helper()
		if len(v.Signatures) != 1 || v.SignaturesCount != 1 {
			t.Fatalf("%s: DSS sees %d signatures, want 1:\n%s", name, len(v.Signatures), v)
		}
		return v.Signatures[0]
	}
	// Without revocation data DSS cannot conclude on the chain (the CA and the TSA publish none).
	noRevocation := func(name string, ind, sub string, errs []DSSMessage) {
		t.Helper()
		if ind != "INDETERMINATE" || sub != "CERTIFICATE_CHAIN_GENERAL_FAILURE" || !hasKey(errs, "BBB_XCV_IRDPFC_ANS") {
			t.Errorf("%s: want INDETERMINATE/CERTIFICATE_CHAIN_GENERAL_FAILURE for want of revocation data (BBB_XCV_IRDPFC_ANS), got %s/%s %v", name, ind, sub, errs)
		}
	}
	sig := one("B-B", bb)
	noRevocation("B-B", sig.Indication, sig.SubIndication, sig.Errors)
	if sig.Format != "PAdES-BASELINE-B" || sig.SignedBy != "Văn thư thử nghiệm" || len(sig.Timestamps) != 0 || bb.Policy != "QES AES/QC AES TL based" {
		t.Errorf("B-B: want PAdES-BASELINE-B by the signer, judged by DSS's default policy:\n%s", bb)
	}
	sig = one("B-T", bt)
	noRevocation("B-T", sig.Indication, sig.SubIndication, sig.Errors)
	if sig.Format != "PAdES-BASELINE-T" || len(sig.Timestamps) != 1 || sig.Timestamps[0].Type != "SIGNATURE_TIMESTAMP" ||
		time.Since(sig.Timestamps[0].ProductionTime).Abs() > time.Hour {
		t.Errorf("B-T: want PAdES-BASELINE-T with a signature timestamp of today:\n%s", bt)
	} else {
		ts := sig.Timestamps[0]
		noRevocation("B-T's timestamp", ts.Indication, ts.SubIndication, ts.Errors)
	}
	if sig := one("flipped", flipped); sig.Indication != "TOTAL_FAILED" || sig.SubIndication != "HASH_FAILURE" || !hasKey(sig.Errors, "BBB_CV_IRDOI_ANS") {
		t.Errorf("a flipped byte: want TOTAL_FAILED/HASH_FAILURE:\n%s", flipped)
	}
	if bb.Signatures[0].Indication != v[3].Signatures[0].Indication {
		t.Errorf("the same file twice in one run got two verdicts:\n%s%s", bb, v[3])
	}

	// Trusting only the TSA's CA, the signer's chain reaches no anchor.
	start = time.Now()
	other := DSS(t, s.bb, s.tsaCA)
	t.Logf("EU DSS judged 1 file in %v", time.Since(start).Round(time.Millisecond))
	if sig := one("untrusted", other); sig.Indication != "INDETERMINATE" || sig.SubIndication != "NO_CERTIFICATE_CHAIN_FOUND" {
		t.Errorf("B-B with its CA not trusted: want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND:\n%s", other)
	}

	// A trust anchor needs no revocation data: trusting the signing certificate itself, DSS
	// passes the same file.
	if v := DSS(t, s.bb, s.leaf); one("signer trusted", v).Indication != "TOTAL_PASSED" || v.ValidSignaturesCount != 1 {
		t.Errorf("B-B with the signing certificate trusted: want TOTAL_PASSED:\n%s", v)
	}
}

func hasKey(msgs []DSSMessage, key string) bool {
	return slices.ContainsFunc(msgs, func(m DSSMessage) bool { return m.Key == key })
}

// TestStrictDSSPolicy checks that dss/strict-policy.xml is DSS's default policy, as the
// installed dss-policy-jaxb jar holds it, with DocMDP, FieldMDP, SigFieldLock and
// UndefinedChanges raised from WARN to FAIL and nothing else changed; and that dss-judge
// refuses a policy it cannot read instead of judging with the default one.
func TestStrictDSSPolicy(t *testing.T) {
	def := defaultDSSPolicy(t)
	// The head comment says where the file comes from; the policy starts after it.
	_, strict, ok := bytes.Cut(strictDSSPolicy, []byte("-->\r\n"))
	if !ok {
		t.Fatal("dss/strict-policy.xml has no head comment")
	}
	defLines := strings.Split(string(def), "\n")
	strictLines := strings.Split(string(strict), "\n")
	if len(defLines) != len(strictLines) {
		t.Fatalf("dss/strict-policy.xml has %d lines after its comment, DSS's default policy %d", len(strictLines), len(defLines))
	}
	raised := map[string]int{}
	for i := range defLines {
		if defLines[i] == strictLines[i] {
			continue
		}
		name, ok := strings.CutSuffix(strings.TrimSpace(defLines[i]), ` Level="WARN" />`)
		if !ok || strictLines[i] != strings.Replace(defLines[i], `"WARN"`, `"FAIL"`, 1) {
			t.Errorf("line %d: DSS's default policy has %q, dss/strict-policy.xml %q", i+1, defLines[i], strictLines[i])
			continue
		}
		raised[strings.TrimPrefix(name, "<")]++
	}
	want := map[string]int{"DocMDP": 2, "FieldMDP": 2, "SigFieldLock": 2, "UndefinedChanges": 2}
	if fmt.Sprint(raised) != fmt.Sprint(want) {
		t.Errorf("dss/strict-policy.xml raises %v from WARN to FAIL, want %v (each where signatures and timestamps are checked)", raised, want)
	}

	s := signWithStation(t)
	missing := filepath.Join(t.TempDir(), "no-such-policy.xml")
	out, code := run(t, "dss-judge", "--policy", missing, "--trust", s.ca, s.bb)
	if code != 2 || out != "" {
		t.Errorf("dss-judge with a policy file that does not exist: exit %d, stdout %q; want exit 2 and no verdict", code, out)
	}
}

// defaultDSSPolicy is policy/constraint.xml from the dss-policy-jaxb jar next to the dss-judge
// on PATH (scripts/setup.sh puts the jars in $SCANSTATION_TOOLS/dss/lib, the command in
// $SCANSTATION_TOOLS/bin).
func defaultDSSPolicy(t *testing.T) []byte {
	t.Helper()
	cmd, err := exec.LookPath("dss-judge")
	if err != nil {
		t.Fatal("dss-judge is not installed; scripts/setup.sh installs it")
	}
	if cmd, err = filepath.EvalSymlinks(cmd); err != nil {
		t.Fatal(err)
	}
	jars, err := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(cmd)), "dss", "lib", "dss-policy-jaxb-*.jar"))
	if err != nil || len(jars) != 1 {
		t.Fatalf("looking for one dss-policy-jaxb jar beside %s: found %v (%v)", cmd, jars, err)
	}
	jar, err := zip.OpenReader(jars[0])
	if err != nil {
		t.Fatalf("opening %s: %v", jars[0], err)
	}
	defer jar.Close()
	f, err := jar.Open("policy/constraint.xml")
	if err != nil {
		t.Fatalf("reading DSS's default policy in %s: %v", jars[0], err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("reading DSS's default policy in %s: %v", jars[0], err)
	}
	return data
}
