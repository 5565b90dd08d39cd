package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
)

// Config says which token, key and certificate chain to use.
type Config struct {
	Module     string // path of the PKCS#11 module (.so) of the token's driver
	TokenLabel string // the token's label, as shown by pkcs11-tool --list-slots
	// KeyLabel is the CKA_LABEL of the private key; the certificate is the X.509
	// certificate object with the same CKA_ID.
	KeyLabel string
	PIN      []byte // the user PIN; never logged and never put into error text
	// PINFile, used when PIN is empty, is read (see ReadPINFile) each time the token
	// is opened, so a Keeper picks up a corrected file after Reset.
	PINFile string
	// SoftHSMConf, if set, becomes SOFTHSM2_CONF before the module is initialised
	// (development tokens on SoftHSM2).
	SoftHSMConf string
	// ChainFile, if set, is a PEM file with the CA certificates to embed in
	// signatures after the signing certificate, issuer first.
	ChainFile string
	// PollInterval is how often a Keeper looks for an absent token; zero means 2 s.
	// Open ignores it.
	PollInterval time.Duration
	// Say prints a Keeper's log messages, which the operator reads, in the station's
	// language (a message printer's Sprintf: the format is its key); nil prints them in
	// English. The log's keys stay English, for machines.
	Say func(format string, args ...any) string
}

// String describes the configuration without the PIN, so that printing a Config
// with %v or %+v cannot reveal it.
func (c Config) String() string {
	return fmt.Sprintf("{Module:%s TokenLabel:%q KeyLabel:%q PIN:%s PINFile:%s SoftHSMConf:%s ChainFile:%s PollInterval:%v}",
		c.Module, c.TokenLabel, c.KeyLabel, redacted(c.PIN), c.PINFile, c.SoftHSMConf, c.ChainFile, c.PollInterval)
}

// LogValue describes the configuration to log/slog without the PIN.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token", c.TokenLabel),
		slog.String("key", c.KeyLabel),
		slog.String("pin", redacted(c.PIN)),
		slog.String("pin_file", c.PINFile),
	)
}

func redacted(pin []byte) string {
	if len(pin) == 0 {
		return "(none)"
	}
	return "(set)"
}

// Token is a logged-in PKCS#11 token used as a crypto.Signer. It holds one session for
// its whole life; signatures are made one at a time because a PKCS#11 session is not
// safe for concurrent use. Its methods may be called from several goroutines.
type Token struct {
	label string // token label, for error messages
	key   string // key label, for error messages

	cert  *x509.Certificate
	chain []*x509.Certificate // cert first

	mu         sync.Mutex // guards everything below: the session and the module
	ctx        *pkcs11.Ctx
	session    pkcs11.SessionHandle
	privateKey pkcs11.ObjectHandle
	// alwaysAuthenticate is set for keys that demand the PIN again for every
	// signature (CKA_ALWAYS_AUTHENTICATE, common on qualified-signature cards). Only
	// then is the PIN kept after Open.
	alwaysAuthenticate bool
	pin                []byte
	// pinRefused is set once the token has refused the kept PIN: it is not tried again.
	pinRefused error
}

// Open loads the module, finds the token by its label, opens one session, logs in as
// the user and finds the signing key and its certificate. It checks that the
// certificate belongs to the key and is valid now (CheckValid), so a mismatch or an
// expired certificate is found at start-up and not in the first signed document. The
// PIN is tried at most once.
//
// PKCS#11 allows a module to be initialised once per process: while a Token is open,
// another Open or CreateDevToken with the same module fails until it is closed.
func Open(cfg Config) (*Token, error) {
	switch {
	case cfg.TokenLabel == "":
		return nil, errors.New("open token: no token label is configured")
	case cfg.KeyLabel == "":
		return nil, fmt.Errorf("open token %q: no key label is configured", cfg.TokenLabel)
	case len(cfg.PIN) == 0 && cfg.PINFile == "":
		return nil, fmt.Errorf("open token %q: no PIN or PIN file is configured", cfg.TokenLabel)
	}
	if len(cfg.PIN) == 0 {
		pin, err := ReadPINFile(cfg.PINFile)
		if err != nil {
			return nil, fmt.Errorf("open token %q: %w", cfg.TokenLabel, err)
		}
		defer clear(pin)
		cfg.PIN = pin
	}
	var chainFile []*x509.Certificate
	if cfg.ChainFile != "" {
		var err error
		if chainFile, err = readCertificates(cfg.ChainFile); err != nil {
			return nil, err
		}
	}

	ctx, err := loadModule(cfg.Module, cfg.SoftHSMConf)
	if err != nil {
		return nil, fmt.Errorf("open token %q: %w", cfg.TokenLabel, err)
	}
	t := &Token{label: cfg.TokenLabel, key: cfg.KeyLabel, ctx: ctx}
	if err := t.open(cfg, chainFile); err != nil {
		unloadModule(ctx) // finalize also ends the session and the login
		return nil, err
	}
	return t, nil
}

func (t *Token) open(cfg Config, chainFile []*x509.Certificate) error {
	slot, info, err := findSlot(t.ctx, cfg.TokenLabel)
	if err != nil {
		return err
	}
	if info.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0 {
		return fmt.Errorf("log in to token %q: %w; unlock it with the card's own tool (by whoever holds the SO PIN or PUK)", t.label, ErrPINLocked)
	}
	if info.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0 {
		// A station restarted by its service manager would spend the last try on its
		// own; a person has to check the PIN first.
		return fmt.Errorf("log in to token %q: one more wrong PIN will lock the token, so the station does not try: %w; check the PIN with the card's own tool first", t.label, ErrPINLocked)
	}
	if info.Flags&pkcs11.CKF_USER_PIN_INITIALIZED == 0 {
		return fmt.Errorf("log in to token %q: the token has no user PIN set yet; initialise it with the card's own tool", t.label)
	}

	// Some cards count a PIN of impossible length as a wrong try: check it here.
	if n := uint(len(cfg.PIN)); (info.MinPinLen > 0 && n < info.MinPinLen) || (info.MaxPinLen > 0 && info.MaxPinLen != pkcs11.CK_UNAVAILABLE_INFORMATION && n > info.MaxPinLen) {
		return fmt.Errorf("log in to token %q: the configured PIN has %d characters but the token takes %d to %d, so it was not tried: %w; correct the PIN file",
			t.label, n, info.MinPinLen, info.MaxPinLen, ErrPINIncorrect)
	}

	t.session, err = t.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return explain("open a session", t.label, err)
	}
	if err := t.ctx.Login(t.session, pkcs11.CKU_USER, string(cfg.PIN)); err != nil && !isCode(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		return explain("log in", t.label, err)
	}

	if err := t.findKey(cfg.KeyLabel); err != nil {
		return err
	}
	if attributeBool(t.ctx, t.session, t.privateKey, pkcs11.CKA_ALWAYS_AUTHENTICATE, false) {
		t.alwaysAuthenticate = true
		t.pin = bytes.Clone(cfg.PIN)
	}
	if err := t.checkKeyMatchesCertificate(); err != nil {
		return err
	}
	if err := t.CheckValid(time.Now()); err != nil {
		return err
	}
	if len(chainFile) > 0 && !issuedByOneOf(t.cert, chainFile) {
		return fmt.Errorf("open token %q: no certificate in %s issued the signing certificate (%s, issued by %s); use the chain file from the same CA",
			t.label, cfg.ChainFile, t.cert.Subject, t.cert.Issuer)
	}
	t.chain = append([]*x509.Certificate{t.cert}, chainFile...)
	return nil
}

// findKey finds the private key by label and the certificate with the same CKA_ID.
func (t *Token) findKey(keyLabel string) error {
	keys, err := findObjects(t.ctx, t.session, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, keyLabel),
	})
	if err != nil {
		return explain(fmt.Sprintf("look for key %q", keyLabel), t.label, err)
	}
	switch len(keys) {
	case 0:
		return fmt.Errorf("token %q has no private key labelled %q: %w; check the key label in the configuration (pkcs11-tool --list-objects shows the labels)", t.label, keyLabel, ErrKeyNotFound)
	case 1:
	default:
		return fmt.Errorf("token %q has %d private keys labelled %q; the station cannot tell which one signs: give the key a unique label", t.label, len(keys), keyLabel)
	}
	t.privateKey = keys[0]
	id, err := attribute(t.ctx, t.session, t.privateKey, pkcs11.CKA_ID)
	if err != nil {
		return explain(fmt.Sprintf("read the id of key %q", keyLabel), t.label, err)
	}

	certs, err := findObjects(t.ctx, t.session, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	})
	if err != nil {
		return explain(fmt.Sprintf("look for the certificate of key %q", keyLabel), t.label, err)
	}
	if len(certs) == 0 {
		return fmt.Errorf("token %q has key %q but no certificate with the same id (%x): %w; load the agency's certificate onto the token", t.label, keyLabel, id, ErrKeyNotFound)
	}
	// A renewed certificate may sit next to the old one under the same id: prefer the
	// one valid longest.
	for _, handle := range certs {
		der, err := attribute(t.ctx, t.session, handle, pkcs11.CKA_VALUE)
		if err != nil {
			return explain(fmt.Sprintf("read the certificate of key %q", keyLabel), t.label, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("token %q: the certificate of key %q cannot be read: %w", t.label, keyLabel, err)
		}
		if t.cert == nil || cert.NotAfter.After(t.cert.NotAfter) {
			t.cert = cert
		}
	}
	return nil
}

// checkKeyMatchesCertificate makes sure the certificate's public key is the private
// key's. For RSA the modulus is compared; tokens do not reveal the public half of other
// private keys, so for them a test signature is made and checked.
func (t *Token) checkKeyMatchesCertificate() error {
	mismatch := func(detail string) error {
		return fmt.Errorf("token %q: the certificate %q is not for key %q (%s): %w; load the certificate that was issued for this key",
			t.label, t.cert.Subject.CommonName, t.key, detail, ErrKeyMismatch)
	}
	keyType, err := attributeUint(t.ctx, t.session, t.privateKey, pkcs11.CKA_KEY_TYPE)
	if err != nil {
		return explain(fmt.Sprintf("read the type of key %q", t.key), t.label, err)
	}
	switch pub := t.cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if keyType != pkcs11.CKK_RSA {
			return mismatch("the certificate is for an RSA key, the token's key is not RSA")
		}
		modulus, errM := attribute(t.ctx, t.session, t.privateKey, pkcs11.CKA_MODULUS)
		exponent, errE := attribute(t.ctx, t.session, t.privateKey, pkcs11.CKA_PUBLIC_EXPONENT)
		if errM == nil && errE == nil && len(modulus) > 0 {
			if new(big.Int).SetBytes(modulus).Cmp(pub.N) != 0 || new(big.Int).SetBytes(exponent).Cmp(big.NewInt(int64(pub.E))) != 0 {
				return mismatch("different RSA modulus")
			}
			return nil
		}
	case *ecdsa.PublicKey:
		if keyType != pkcs11.CKK_EC {
			return mismatch("the certificate is for an EC key, the token's key is not EC")
		}
	default:
		return fmt.Errorf("token %q: the certificate %q has a %T key; the station signs with RSA or ECDSA keys only", t.label, t.cert.Subject.CommonName, pub)
	}

	digest := sha256.Sum256([]byte("scanstation: does this certificate belong to this key?"))
	sig, err := t.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("check key %q against its certificate: %w", t.key, err)
	}
	if err := checkSignature(t.cert.PublicKey, digest[:], sig, crypto.SHA256); err != nil {
		return mismatch("a test signature did not verify")
	}
	return nil
}

// Public returns the public key of the signing certificate, which Open has checked to
// belong to the token's private key.
func (t *Token) Public() crypto.PublicKey {
	if t.cert == nil {
		return nil
	}
	return t.cert.PublicKey
}

// Certificate returns the signing certificate read from the token.
func (t *Token) Certificate() *x509.Certificate { return t.cert }

// Chain returns the signing certificate followed by the certificates of the chain
// file, in the order to embed them in a signature.
func (t *Token) Chain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), t.chain...)
}

// Close logs out, closes the session, finalises the module and unloads it. After Close
// the module can be opened again in this process. Calling Close twice is harmless.
func (t *Token) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		return nil
	}
	clear(t.pin)
	t.pin = nil
	// Errors of logout and close are not worth reporting when finalize succeeds: the
	// token ends the session either way.
	t.ctx.Logout(t.session)
	t.ctx.CloseSession(t.session)
	err := unloadModule(t.ctx)
	t.ctx = nil
	if err != nil {
		return fmt.Errorf("close token %q: %w", t.label, err)
	}
	return nil
}

// readCertificates reads every CERTIFICATE block of a PEM file.
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate chain: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d in chain file %s cannot be read: %w", len(certs)+1, path, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("chain file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return certs, nil
}

func issuedByOneOf(cert *x509.Certificate, issuers []*x509.Certificate) bool {
	for _, issuer := range issuers {
		if cert.CheckSignatureFrom(issuer) == nil {
			return true
		}
	}
	return false
}
