package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/miekg/pkcs11"

	"scanstation/devpki"
	"scanstation/outbox"
)

// Names used by CreateDevToken.
const (
	DevTokenLabel = "scanstation-dev"
	DevKeyLabel   = "agency-signing"
)

// devKeyID is the CKA_ID shared by the development key pair and its certificate.
var devKeyID = []byte{0x01}

// DevToken describes a SoftHSM2 development token made by CreateDevToken: where its
// module, configuration and files are. Its certificates come from a throw-away test CA
// and must never sign real documents.
type DevToken struct {
	Module      string // the SoftHSM2 PKCS#11 module
	SoftHSMConf string // the softhsm2.conf that points at this token's directory
	TokenLabel  string
	KeyLabel    string
	PINFile     string // the user PIN, mode 0600
	CertFile    string // the agency certificate (PEM), also stored on the token
	ChainFile   string // the CA certificate to embed after the agency certificate (PEM)
	CAFile      string // the test CA certificate to trust when validating (PEM)
	TSACertFile string // the dev TSA's certificate (PEM); its key is next to it
	PKI         devpki.URLs
}

// Config returns the Config that opens the development token, with its PIN read from
// PINFile.
func (d *DevToken) Config() (Config, error) {
	pin, err := ReadPINFile(d.PINFile)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Module:      d.Module,
		TokenLabel:  d.TokenLabel,
		KeyLabel:    d.KeyLabel,
		PIN:         pin,
		SoftHSMConf: d.SoftHSMConf,
		ChainFile:   d.ChainFile,
	}, nil
}

// CreateDevToken makes a SoftHSM2 token for development and tests in dir: its own
// SoftHSM configuration and token directory under dir/softhsm, an RSA-2048 key pair
// generated on the token, a dev PKI (package devpki: a test CA and a TSA certificate,
// their keys in dir) whose services are named at devpki.DefaultListen, and an agency
// certificate from that CA stored on the token next to the key.
// It writes dir/agency-cert.pem, dir/chain.pem, the dev PKI's files and the random
// user PIN to dir/token.pin (mode 0600). It sets SOFTHSM2_CONF for this process.
//
// CreateDevToken refuses a dir that already holds a development token. Like Open it
// needs the SoftHSM module to itself: do not call it while a Token on SoftHSM is open,
// nor from parallel tests.
func CreateDevToken(dir string) (*DevToken, error) {
	return CreateDevTokenListen(dir, devpki.DefaultListen)
}

// CreateDevTokenListen is CreateDevToken with the dev PKI's services named at listen, a
// loopback host:port: the OCSP, CRL and CA-issuer addresses in the certificates, and
// where `scanstation dev-pki serve` listens by default.
func CreateDevTokenListen(dir, listen string) (*DevToken, error) {
	if err := devpki.CheckLoopback(listen); err != nil {
		return nil, fmt.Errorf("create development token: dev PKI address: %w", err)
	}
	module, err := DefaultSoftHSMModule()
	if err != nil {
		return nil, err
	}
	d := &DevToken{
		Module:      module,
		SoftHSMConf: filepath.Join(dir, "softhsm", "softhsm2.conf"),
		TokenLabel:  DevTokenLabel,
		KeyLabel:    DevKeyLabel,
		PINFile:     filepath.Join(dir, "token.pin"),
		CertFile:    filepath.Join(dir, "agency-cert.pem"),
		ChainFile:   filepath.Join(dir, "chain.pem"),
		CAFile:      filepath.Join(dir, devpki.CAFile),
		TSACertFile: filepath.Join(dir, devpki.TSACertFile),
	}
	softhsmDir := filepath.Join(dir, "softhsm")
	for _, p := range []string{softhsmDir, d.PINFile, d.CertFile, filepath.Join(dir, devpki.CAKeyFile)} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("create development token: %s already holds a development token (%s exists); use it, or remove the directory to start over", dir, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create development token: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create development token: %w", err)
	}
	if err := d.create(dir, softhsmDir, listen); err != nil {
		// Leave nothing half made, so that a second attempt can start afresh.
		os.RemoveAll(softhsmDir)
		for _, p := range []string{d.PINFile, d.CertFile, d.ChainFile} {
			os.Remove(p)
		}
		devpki.Remove(dir)
		return nil, fmt.Errorf("create development token in %s: %w", dir, err)
	}
	return d, nil
}

func (d *DevToken) create(dir, softhsmDir, listen string) error {
	tokenDir := filepath.Join(softhsmDir, "tokens")
	if err := os.MkdirAll(tokenDir, 0o700); err != nil {
		return err
	}
	conf := fmt.Sprintf("# SoftHSM2 configuration of a scanstation development token.\n"+
		"directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokenDir)
	if err := os.WriteFile(d.SoftHSMConf, []byte(conf), 0o600); err != nil {
		return err
	}
	soPIN, err := randomPIN(16)
	if err != nil {
		return err
	}
	userPIN, err := randomPIN(8)
	if err != nil {
		return err
	}

	ca, err := devpki.Create(dir, listen)
	if err != nil {
		return err
	}
	d.PKI = ca.URLs()

	ctx, err := loadModule(d.Module, d.SoftHSMConf)
	if err != nil {
		return err
	}
	defer unloadModule(ctx)
	agency, err := initDevToken(ctx, soPIN, userPIN, func(public crypto.PublicKey) ([]byte, error) {
		template, err := agencyTemplate(public)
		if err != nil {
			return nil, err
		}
		cert, err := ca.Issue(template, public, filepath.Base(d.CertFile))
		if err != nil {
			return nil, err
		}
		return cert.Raw, nil
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.CertFile, pemCertificates(agency), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(d.ChainFile, pemCertificates(ca.Cert.Raw), 0o644); err != nil {
		return err
	}
	return outbox.WriteFileAtomic(filepath.Dir(d.PINFile), filepath.Base(d.PINFile), []byte(userPIN+"\n"), 0o600)
}

// initDevToken initialises a free SoftHSM slot as the development token, sets its PINs,
// generates the key pair and stores on it the agency certificate that issue makes for
// the key; it returns that certificate (DER).
func initDevToken(ctx *pkcs11.Ctx, soPIN, userPIN string, issue func(crypto.PublicKey) ([]byte, error)) ([]byte, error) {
	var none []byte
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return none, explain("list slots", DevTokenLabel, err)
	}
	free, found := uint(0), false
	for _, slot := range slots {
		info, err := ctx.GetTokenInfo(slot)
		if err == nil && info.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free, found = slot, true
			break
		}
	}
	if !found {
		return none, errors.New("SoftHSM offers no free slot for a new token")
	}
	if err := ctx.InitToken(free, soPIN, DevTokenLabel); err != nil {
		return none, explain("initialise", DevTokenLabel, err)
	}
	// SoftHSM gives an initialised token a new slot number: look it up by label.
	slot, _, err := findSlot(ctx, DevTokenLabel)
	if err != nil {
		return none, err
	}
	session, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return none, explain("open a session", DevTokenLabel, err)
	}
	defer ctx.CloseSession(session)
	if err := ctx.Login(session, pkcs11.CKU_SO, soPIN); err != nil {
		return none, explain("log in as security officer", DevTokenLabel, err)
	}
	if err := ctx.InitPIN(session, userPIN); err != nil {
		return none, explain("set the user PIN", DevTokenLabel, err)
	}
	if err := ctx.Logout(session); err != nil {
		return none, explain("log out the security officer", DevTokenLabel, err)
	}
	if err := ctx.Login(session, pkcs11.CKU_USER, userPIN); err != nil {
		return none, explain("log in", DevTokenLabel, err)
	}
	defer ctx.Logout(session)

	public, err := generateRSAKeyPair(ctx, session, DevKeyLabel, devKeyID, false)
	if err != nil {
		return none, err
	}
	agency, err := issue(public)
	if err != nil {
		return none, err
	}
	if err := storeCertificate(ctx, session, agency, DevKeyLabel, devKeyID); err != nil {
		return none, err
	}
	return agency, nil
}

// generateRSAKeyPair makes an RSA-2048 key pair on the token. The private key is
// sensitive and cannot be extracted: it signs and does nothing else.
func generateRSAKeyPair(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, label string, id []byte, alwaysAuthenticate bool) (*rsa.PublicKey, error) {
	publicTemplate := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{0x01, 0x00, 0x01}),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	privateTemplate := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, alwaysAuthenticate),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}
	pub, _, err := ctx.GenerateKeyPair(session, mech, publicTemplate, privateTemplate)
	if err != nil {
		return nil, explain(fmt.Sprintf("generate key %q", label), DevTokenLabel, err)
	}
	modulus, err := attribute(ctx, session, pub, pkcs11.CKA_MODULUS)
	if err != nil {
		return nil, explain(fmt.Sprintf("read the public key %q", label), DevTokenLabel, err)
	}
	exponent, err := attribute(ctx, session, pub, pkcs11.CKA_PUBLIC_EXPONENT)
	if err != nil {
		return nil, explain(fmt.Sprintf("read the public key %q", label), DevTokenLabel, err)
	}
	e := new(big.Int).SetBytes(exponent)
	if !e.IsInt64() || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("key %q has an unusable public exponent", label)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(modulus), E: int(e.Int64())}, nil
}

// storeCertificate puts a DER certificate on the token as a public X.509 certificate
// object with the key's label and id, the way card middleware finds it.
func storeCertificate(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, der []byte, label string, id []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return err
	}
	_, err = ctx.CreateObject(session, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, der),
	})
	if err != nil {
		return explain(fmt.Sprintf("store the certificate of key %q", label), DevTokenLabel, err)
	}
	return nil
}

// agencyTemplate is the development agency certificate for public: valid for three
// years, for signing documents (digitalSignature, contentCommitment).
func agencyTemplate(public crypto.PublicKey) (*x509.Certificate, error) {
	spki, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	var parsed struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &parsed); err != nil {
		return nil, err
	}
	// Subject key identifier as RFC 5280 4.2.1.2 (1): SHA-1 of the public key bits.
	ski := sha1.Sum(parsed.PublicKey.Bytes)
	notBefore := time.Now().Add(-time.Hour)
	return &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   "Văn thư — Cơ quan thử nghiệm (DEV)",
			Organization: []string{"Cơ quan thử nghiệm (DEV)"},
			Country:      []string{"VN"},
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(3, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		BasicConstraintsValid: true,
		SubjectKeyId:          ski[:],
	}, nil
}

// randomPIN returns n random bytes as hexadecimal: typeable, and accepted by SoftHSM.
func randomPIN(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func pemCertificates(der ...[]byte) []byte {
	var out []byte
	for _, d := range der {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

// DefaultSoftHSMModule finds the SoftHSM2 PKCS#11 module in the places Debian, Ubuntu,
// Fedora, Alpine and Homebrew install it.
func DefaultSoftHSMModule() (string, error) {
	candidates := []string{"/usr/lib/softhsm/libsofthsm2.so"}
	multiarch, _ := filepath.Glob("/usr/lib/*-linux-gnu/softhsm/libsofthsm2.so")
	candidates = append(candidates, multiarch...)
	candidates = append(candidates,
		"/usr/lib64/pkcs11/libsofthsm2.so",
		"/usr/lib/pkcs11/libsofthsm2.so",
		"/usr/lib64/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/opt/homebrew/lib/softhsm/libsofthsm2.so",
		"/usr/local/opt/softhsm/lib/softhsm/libsofthsm2.so",
	)
	for _, p := range candidates {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("SoftHSM2 is not installed: libsofthsm2.so was not found in the usual places; install it (Debian: apt-get install softhsm2) or give the module path")
}
