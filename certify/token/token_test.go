package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"scanstation/internal/judge"
)

// newDevToken creates a development token in a fresh temporary directory. SoftHSM2 is a
// part the tests need, not an option: where it is missing the test fails.
func newDevToken(t testing.TB) *DevToken {
	t.Helper()
	needSoftHSM(t)
	dev, err := CreateDevToken(t.TempDir())
	if err != nil {
		t.Fatalf("CreateDevToken: %v", err)
	}
	return dev
}

// needSoftHSM fails the test where SoftHSM2 is not installed.
func needSoftHSM(t testing.TB) {
	t.Helper()
	if _, err := DefaultSoftHSMModule(); err != nil {
		t.Fatalf("SoftHSM2 is not installed; scripts/setup.sh installs it (%v)", err)
	}
}

func openDevToken(t testing.TB, dev *DevToken) *Token {
	t.Helper()
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := tok.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tok
}

func TestDevTokenSignsAndVerifies(t *testing.T) {
	dev := newDevToken(t)
	pin, err := ReadPINFile(dev.PINFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Open(Config{
		Module:      dev.Module,
		TokenLabel:  dev.TokenLabel,
		KeyLabel:    dev.KeyLabel,
		PIN:         pin,
		SoftHSMConf: dev.SoftHSMConf,
		ChainFile:   dev.ChainFile,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer tok.Close()

	var signer crypto.Signer = tok
	pub, ok := signer.Public().(*rsa.PublicKey)
	if !ok {
		t.Fatalf("Public() = %T, want *rsa.PublicKey", signer.Public())
	}
	if pub.N.BitLen() != 2048 {
		t.Errorf("key has %d bits, want 2048", pub.N.BitLen())
	}

	message := []byte("Bản sao y bản chính — scanstation")
	for _, hash := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		h := hash.New()
		h.Write(message)
		digest := h.Sum(nil)
		sig, err := signer.Sign(rand.Reader, digest, hash)
		if err != nil {
			t.Fatalf("Sign %v: %v", hash, err)
		}
		if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
			t.Errorf("PKCS#1 v1.5 %v signature does not verify: %v", hash, err)
		}
		// The certificate's own check is a second, independent judge.
		if err := tok.Certificate().CheckSignature(map[crypto.Hash]x509.SignatureAlgorithm{
			crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA,
		}[hash], message, sig); err != nil {
			t.Errorf("certificate rejects %v signature: %v", hash, err)
		}

		pss := &rsa.PSSOptions{Hash: hash, SaltLength: rsa.PSSSaltLengthEqualsHash}
		sig, err = signer.Sign(rand.Reader, digest, pss)
		if err != nil {
			t.Fatalf("Sign PSS %v: %v", hash, err)
		}
		if err := rsa.VerifyPSS(pub, hash, digest, sig, pss); err != nil {
			t.Errorf("PSS %v signature does not verify: %v", hash, err)
		}
	}

	if _, err := tok.Sign(rand.Reader, []byte("too short"), crypto.SHA256); err == nil {
		t.Error("Sign accepted a digest of the wrong length")
	}

	var zero Token
	if _, err := zero.Sign(nil, make([]byte, 32), crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign on a zero Token: err = %v, want ErrClosed", err)
	}
	if zero.Public() != nil || zero.Chain() != nil || zero.Close() != nil {
		t.Error("zero Token is not an inert, closed token")
	}
}

func TestDevTokenChain(t *testing.T) {
	dev := newDevToken(t)
	tok := openDevToken(t, dev)

	chain := tok.Chain()
	if len(chain) != 2 {
		t.Fatalf("Chain() has %d certificates, want 2", len(chain))
	}
	if !chain[0].Equal(tok.Certificate()) {
		t.Error("Chain()[0] is not the signing certificate")
	}
	ca, err := readCertificates(dev.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca[0])
	if _, err := chain[0].Verify(x509.VerifyOptions{
		Roots:     roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		t.Errorf("agency certificate does not verify against the dev CA: %v", err)
	}
	if !chain[1].Equal(ca[0]) {
		t.Error("Chain()[1] is not the CA certificate")
	}

	cert := tok.Certificate()
	if got, want := cert.Subject.CommonName, "Văn thư — Cơ quan thử nghiệm (DEV)"; got != want {
		t.Errorf("agency CN = %q, want %q", got, want)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("agency key usage = %b", cert.KeyUsage)
	}
	if years := cert.NotAfter.Sub(cert.NotBefore).Hours() / 24 / 365; years < 2.9 || years > 3.1 {
		t.Errorf("agency certificate valid for %.2f years, want 3", years)
	}
	if !strings.Contains(chain[1].Subject.CommonName, "not for real documents") || chain[1].Subject.Country[0] != "VN" {
		t.Errorf("CA subject = %v", chain[1].Subject)
	}

	// The PEM file next to the token holds the same certificate as the token.
	fromFile, err := readCertificates(dev.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if !fromFile[0].Equal(cert) {
		t.Error("agency-cert.pem differs from the certificate on the token")
	}
	// Chain() hands out a copy: a caller cannot change the token's chain.
	chain[1] = nil
	if tok.Chain()[1] == nil {
		t.Error("Chain() returned the token's own slice")
	}
}

func TestDevTokenFiles(t *testing.T) {
	dev := newDevToken(t)
	dir := filepath.Dir(dev.PINFile)
	for path, want := range map[string]os.FileMode{
		dev.PINFile:                             0o600,
		filepath.Join(dir, "softhsm"):           0o700,
		filepath.Join(dir, "softhsm", "tokens"): 0o700,
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
	conf, err := os.ReadFile(dev.SoftHSMConf)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"directories.tokendir = " + filepath.Join(dir, "softhsm", "tokens"),
		"objectstore.backend = file",
		"log.level = ERROR",
	} {
		if !strings.Contains(string(conf), line+"\n") {
			t.Errorf("softhsm2.conf lacks %q:\n%s", line, conf)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".token.pin.tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary PIN files left behind: %v", leftovers)
	}

	if _, err := CreateDevToken(dir); err == nil || !strings.Contains(err.Error(), "already holds a development token") {
		t.Errorf("second CreateDevToken in the same directory: err = %v, want a refusal", err)
	}
	// The refusal must not have damaged the first token.
	tok := openDevToken(t, dev)
	digest := sha256.Sum256([]byte("still works"))
	if _, err := tok.Sign(nil, digest[:], crypto.SHA256); err != nil {
		t.Errorf("Sign after refused re-creation: %v", err)
	}
}

// TestPKCS11ToolSeesKeyAndCertificate lets OpenSC's pkcs11-tool judge what
// CreateDevToken stored on the token.
func TestPKCS11ToolSeesKeyAndCertificate(t *testing.T) {
	dev := newDevToken(t)
	pin, err := ReadPINFile(dev.PINFile)
	if err != nil {
		t.Fatal(err)
	}
	// pkcs11-tool finds the token through SoftHSM's configuration; judge.Run passes the
	// environment on and reads the listing from stdout only.
	t.Setenv("SOFTHSM2_CONF", dev.SoftHSMConf)
	out, ok := judge.Run(t, "pkcs11-tool", "--module", dev.Module, "--token-label", dev.TokenLabel,
		"--login", "--pin", string(pin), "--list-objects")
	if !ok {
		t.Fatalf("pkcs11-tool failed:\n%s", out)
	}
	listing := out
	t.Logf("pkcs11-tool --list-objects:\n%s", listing)
	for _, want := range []string{"Private Key Object; RSA", "Certificate Object; type = X.509 cert", "label:      agency-signing", "ID:         01", "Usage:      sign"} {
		if !strings.Contains(listing, want) {
			t.Errorf("pkcs11-tool listing lacks %q", want)
		}
	}
	// The private key signs and does nothing else, and it cannot leave the token.
	private := objectBlock(listing, "Private Key Object")
	for _, want := range []string{"Usage:      sign\n", "Access:     sensitive, always sensitive, never extractable"} {
		if !strings.Contains(private, want) {
			t.Errorf("private key listing lacks %q:\n%s", want, private)
		}
	}
}

// objectBlock returns the lines of one object in a pkcs11-tool listing: the line that
// starts with header and the indented lines after it.
func objectBlock(listing, header string) string {
	var block []string
	for _, line := range strings.Split(listing, "\n") {
		switch {
		case strings.HasPrefix(line, header):
			block = append(block, line)
		case len(block) > 0 && strings.HasPrefix(line, " "):
			block = append(block, line)
		case len(block) > 0:
			return strings.Join(block, "\n") + "\n"
		}
	}
	return strings.Join(block, "\n") + "\n"
}

func TestWrongPIN(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	realPIN := string(cfg.PIN)
	wrong := cfg
	wrong.PIN = []byte("wrongpin-73921")
	_, err = Open(wrong)
	if !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("Open with a wrong PIN: err = %v, want ErrPINIncorrect", err)
	}
	for _, secret := range []string{"wrongpin-73921", realPIN} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error text reveals a PIN: %v", err)
		}
	}
	t.Logf("operator sees: %v", err)

	// A PIN longer than the token accepts is refused before it reaches the token.
	long := cfg
	long.PIN = bytes.Repeat([]byte("9"), 300)
	if _, err = Open(long); !errors.Is(err, ErrPINIncorrect) || !strings.Contains(err.Error(), "not tried") {
		t.Errorf("Open with a 300-character PIN: err = %v", err)
	}

	// A failed Open must release the module so the right PIN can be tried.
	openDevToken(t, dev)
}

// TestErrorsNeverShowThePIN collects the errors an operator may see with the real PIN
// configured and checks that none contains it.
func TestErrorsNeverShowThePIN(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	pin := string(cfg.PIN)
	var errs []error
	for _, change := range []func(*Config){
		func(c *Config) { c.TokenLabel = "no-such-token" },
		func(c *Config) { c.KeyLabel = "no-such-key" },
		func(c *Config) { c.Module = "/nonexistent/libpkcs11.so" },
		func(c *Config) { c.ChainFile = dev.PINFile },
		func(c *Config) { c.PIN = append([]byte(pin), 'x') },
	} {
		c := cfg
		change(&c)
		tok, err := Open(c)
		if err == nil {
			tok.Close()
			t.Fatalf("Open(%+v) succeeded", c)
		}
		errs = append(errs, err)
	}
	tok := openDevToken(t, dev)
	_, err = tok.Sign(nil, []byte{1, 2, 3}, crypto.SHA256)
	errs = append(errs, err)
	for _, err := range errs {
		if strings.Contains(err.Error(), pin) {
			t.Errorf("error text contains the PIN: %v", err)
		}
	}
}

func TestWrongTokenLabel(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.TokenLabel = "agency-token"
	_, err = Open(cfg)
	if !errors.Is(err, ErrTokenAbsent) {
		t.Fatalf("err = %v, want ErrTokenAbsent", err)
	}
	// The operator is told which tokens are there.
	if !strings.Contains(err.Error(), `"scanstation-dev"`) {
		t.Errorf("error does not name the token present: %v", err)
	}
}

func TestWrongKeyLabel(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyLabel = "agency-signing-2024"
	_, err = Open(cfg)
	if !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("err = %v, want ErrKeyNotFound", err)
	}
}

func TestReadPINFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // umask must not decide
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct{ content, want string }{
		{"123456", "123456"},
		{"123456\n", "123456"},
		{"123456\r\n", "123456"},
		{"123456\n\n", "123456\n"}, // only one newline is the editor's; the rest is the PIN's
		{" 12 34 \n", " 12 34 "},
	} {
		got, err := ReadPINFile(write("pin", tc.content, 0o600))
		if err != nil {
			t.Errorf("ReadPINFile(%q): %v", tc.content, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("ReadPINFile(%q) = %q, want %q", tc.content, got, tc.want)
		}
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := write(fmt.Sprintf("open-%o", mode), "4711-secret\n", mode)
		_, err := ReadPINFile(path)
		if err == nil {
			t.Errorf("mode %04o accepted", mode)
			continue
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: error does not tell the fix: %v", mode, err)
		}
		if strings.Contains(err.Error(), "4711-secret") {
			t.Errorf("error reveals the PIN: %v", err)
		}
	}
	if _, err := ReadPINFile(write("empty", "\n", 0o600)); err == nil {
		t.Error("an empty PIN file was accepted")
	}
	if _, err := ReadPINFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing PIN file was accepted")
	}
}

func TestConcurrentSign(t *testing.T) {
	dev := newDevToken(t)
	tok := openDevToken(t, dev)
	pub := tok.Public().(*rsa.PublicKey)

	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				digest := sha256.Sum256(fmt.Appendf(nil, "worker %d document %d", w, i))
				sig, err := tok.Sign(nil, digest[:], crypto.SHA256)
				if err != nil {
					errs <- err
					continue
				}
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
					errs <- fmt.Errorf("worker %d document %d: %w", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseAndReopen(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	first, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	digest := sha256.Sum256([]byte("after close"))
	if _, err := first.Sign(nil, digest[:], crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: err = %v, want ErrClosed", err)
	}

	// A second token in the same process: SOFTHSM2_CONF must switch to it.
	other := newDevToken(t)
	second := openDevToken(t, other)
	if second.Certificate().Equal(first.Certificate()) {
		t.Error("the second dev token opened the first token's certificate")
	}
	sig, err := second.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(second.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Error(err)
	}
	// While one token is open, opening the module again is refused plainly.
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Open while another token is open: err = %v", err)
	}
}

// withSession runs fn in a logged-in read-write session on the development token, to
// put extra keys on it the way a card's personalisation would.
func withSession(t *testing.T, dev *DevToken, fn func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle)) {
	t.Helper()
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := loadModule(dev.Module, dev.SoftHSMConf)
	if err != nil {
		t.Fatal(err)
	}
	defer unloadModule(ctx)
	slot, _, err := findSlot(ctx, dev.TokenLabel)
	if err != nil {
		t.Fatal(err)
	}
	session, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.CloseSession(session)
	if err := ctx.Login(session, pkcs11.CKU_USER, string(cfg.PIN)); err != nil {
		t.Fatal(err)
	}
	defer ctx.Logout(session)
	fn(ctx, session)
}

// issueForTest issues a certificate for public from a fresh test CA.
func issueForTest(t *testing.T, public crypto.PublicKey) []byte {
	t.Helper()
	ca, caKey, err := newDevCA()
	if err != nil {
		t.Fatal(err)
	}
	der, err := issueAgencyCertificate(public, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestAlwaysAuthenticateKey(t *testing.T) {
	dev := newDevToken(t)
	id := []byte{0x03}
	withSession(t, dev, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) {
		pub, err := generateRSAKeyPair(ctx, session, "pin-per-signature", id, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := storeCertificate(ctx, session, issueForTest(t, pub), "pin-per-signature", id); err != nil {
			t.Fatal(err)
		}
		// Show that the token really demands the PIN again: a plain C_Sign fails.
		keys, err := findObjects(ctx, session, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		})
		if err != nil || len(keys) != 1 {
			t.Fatalf("find key: %v, %d keys", err, len(keys))
		}
		if err := ctx.SignInit(session, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, keys[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := ctx.Sign(session, []byte("x")); !isCode(err, pkcs11.CKR_USER_NOT_LOGGED_IN) {
			t.Fatalf("SoftHSM signed without the context-specific login (err = %v); this test proves nothing", err)
		}
	})

	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyLabel = "pin-per-signature"
	cfg.ChainFile = "" // its certificate comes from another test CA
	tok, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer tok.Close()
	for i := range 3 {
		digest := sha256.Sum256(fmt.Appendf(nil, "document %d", i))
		sig, err := tok.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
		if err := rsa.VerifyPKCS1v15(tok.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}
}

func TestECDSAKey(t *testing.T) {
	dev := newDevToken(t)
	id := []byte{0x04}
	withSession(t, dev, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) {
		curve, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}) // P-256
		pubHandle, _, err := ctx.GenerateKeyPair(session,
			[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, curve),
				pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
				pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			},
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
				pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
				pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, "ec-signing"),
				pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			})
		if err != nil {
			t.Fatal(err)
		}
		pointDER, err := attribute(ctx, session, pubHandle, pkcs11.CKA_EC_POINT)
		if err != nil {
			t.Fatal(err)
		}
		var point []byte
		if _, err := asn1.Unmarshal(pointDER, &point); err != nil {
			t.Fatal(err)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			t.Fatal(err)
		}
		if err := storeCertificate(ctx, session, issueForTest(t, pub), "ec-signing", id); err != nil {
			t.Fatal(err)
		}
	})

	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyLabel = "ec-signing"
	cfg.ChainFile = ""
	tok, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer tok.Close()
	pub, ok := tok.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("Public() = %T, want *ecdsa.PublicKey", tok.Public())
	}
	for _, hash := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		h := hash.New()
		h.Write([]byte("ECDSA on the token"))
		digest := h.Sum(nil)
		sig, err := tok.Sign(nil, digest, hash)
		if err != nil {
			t.Fatalf("Sign %v: %v", hash, err)
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			t.Errorf("ECDSA %v signature does not verify", hash)
		}
	}
}

func TestCertificateOfAnotherKey(t *testing.T) {
	dev := newDevToken(t)
	withSession(t, dev, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) {
		if _, err := generateRSAKeyPair(ctx, session, "orphan", []byte{0x05}, false); err != nil {
			t.Fatal(err)
		}
		other, err := generateRSAKeyPair(ctx, session, "other", []byte{0x06}, false)
		if err != nil {
			t.Fatal(err)
		}
		// The orphan key gets the other key's certificate under its own id.
		if err := storeCertificate(ctx, session, issueForTest(t, other), "orphan", []byte{0x05}); err != nil {
			t.Fatal(err)
		}
	})
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyLabel = "orphan"
	cfg.ChainFile = ""
	_, err = Open(cfg)
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("err = %v, want ErrKeyMismatch", err)
	}
	t.Logf("operator sees: %v", err)

	// A key without any certificate is reported as missing.
	cfg.KeyLabel = "other"
	if _, err := Open(cfg); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("key without certificate: err = %v, want ErrKeyNotFound", err)
	}
}

func TestChainFileFromAnotherCA(t *testing.T) {
	dev := newDevToken(t)
	other := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ChainFile = other.ChainFile
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "issued the signing certificate") {
		t.Errorf("chain of another CA: err = %v", err)
	}
}

func TestECDSAConversion(t *testing.T) {
	raw := append(bytes.Repeat([]byte{0x00}, 31), 0x05)
	raw = append(raw, append([]byte{0x80}, bytes.Repeat([]byte{0x01}, 31)...)...)
	der, err := ecdsaASN1(raw)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct{ R, S asn1.RawValue }
	if _, err := asn1.Unmarshal(der, &parsed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(parsed.R.Bytes, []byte{0x05}) {
		t.Errorf("r = %x, want 05 (leading zeros dropped)", parsed.R.Bytes)
	}
	if parsed.S.Bytes[0] != 0x00 || len(parsed.S.Bytes) != 33 {
		t.Errorf("s = %x, want a leading 00 so the high bit does not make it negative", parsed.S.Bytes)
	}
	if _, err := ecdsaASN1([]byte{1, 2, 3}); err == nil {
		t.Error("odd-length raw signature accepted")
	}
}

func TestDigestInfoPrefixes(t *testing.T) {
	// Each prefix plus a digest must be a DigestInfo that names the hash's own OID.
	oids := map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA1:   {1, 3, 14, 3, 2, 26},
		crypto.SHA224: {2, 16, 840, 1, 101, 3, 4, 2, 4},
		crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
		crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
		crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
	}
	for hash, prefix := range digestInfoPrefix {
		digest := make([]byte, hash.Size())
		var info struct {
			Algorithm struct {
				OID    asn1.ObjectIdentifier
				Params asn1.RawValue
			}
			Digest []byte
		}
		rest, err := asn1.Unmarshal(append(bytes.Clone(prefix), digest...), &info)
		if err != nil || len(rest) != 0 {
			t.Errorf("%v: not a DigestInfo: %v", hash, err)
			continue
		}
		if !info.Algorithm.OID.Equal(oids[hash]) || len(info.Digest) != hash.Size() {
			t.Errorf("%v: DigestInfo names %v with %d bytes", hash, info.Algorithm.OID, len(info.Digest))
		}
	}
}

// TestOpenSSLVerifiesDevChain lets OpenSSL judge the files CreateDevToken wrote: the
// agency certificate must verify against the dev CA for S/MIME signing, the purpose
// closest to document signatures that OpenSSL checks.
func TestOpenSSLVerifiesDevChain(t *testing.T) {
	dev := newDevToken(t)
	if out, ok := judge.Run(t, "openssl", "verify", "-purpose", "smimesign", "-CAfile", dev.CAFile, dev.CertFile); !ok || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify (ok=%v):\n%s", ok, out)
	}
	if out, ok := judge.Run(t, "openssl", "x509", "-noout", "-ext", "keyUsage", "-in", dev.CertFile); !ok || !strings.Contains(out, "Digital Signature, Non Repudiation") {
		t.Errorf("openssl x509 key usage (ok=%v):\n%s", ok, out)
	}
}

// BenchmarkOpen measures start-up: load, initialise, log in, find key and
// certificate, compare them, and close again.
func BenchmarkOpen(b *testing.B) {
	dev := newDevToken(b)
	cfg, err := dev.Config()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tok, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := tok.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateDevToken(b *testing.B) {
	needSoftHSM(b)
	for b.Loop() {
		if _, err := CreateDevToken(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	dev := newDevToken(b)
	tok := openDevToken(b, dev)
	digest := sha512.Sum512_256([]byte("benchmark"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := tok.Sign(nil, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
