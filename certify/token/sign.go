package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
)

// digestInfoPrefix is the DER of a PKCS#1 v1.5 DigestInfo up to the digest itself
// (RFC 8017, section 9.2, note 1). CKM_RSA_PKCS pads and signs whatever it is given,
// so the DigestInfo naming the hash has to be put in front of the digest here.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// pssHash names a hash for CKM_RSA_PKCS_PSS: the hash mechanism and its MGF1.
var pssHash = map[crypto.Hash]struct{ mechanism, mgf uint }{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA224: {pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// Sign signs digest with the token's private key, as crypto.Signer asks: digest is
// the hash named by opts.HashFunc() of the message. RSA keys sign PKCS#1 v1.5, or PSS
// when opts is *rsa.PSSOptions; ECDSA keys return an ASN.1 signature. rand is not
// used: the token has its own random source.
//
// Calls are serialised. On a card a signature takes about a second, so callers should
// not hold other locks while waiting.
func (t *Token) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if t.cert == nil {
		return nil, fmt.Errorf("sign: the token is not open (use Open): %w", ErrClosed)
	}
	if opts == nil {
		return nil, fmt.Errorf("sign with token %q: no hash named (crypto.SignerOpts is nil)", t.label)
	}
	hash := opts.HashFunc()
	if hash != 0 && len(digest) != hash.Size() {
		return nil, fmt.Errorf("sign with token %q: the digest has %d bytes but %v digests have %d", t.label, len(digest), hash, hash.Size())
	}
	switch t.cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return t.signRSAPSS(digest, pss)
		}
		data := digest
		if hash != 0 {
			prefix, ok := digestInfoPrefix[hash]
			if !ok {
				return nil, fmt.Errorf("sign with token %q: %v is not supported for RSA signatures; use SHA-256", t.label, hash)
			}
			data = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
		}
		return t.sign(pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), data)
	case *ecdsa.PublicKey:
		raw, err := t.sign(pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest)
		if err != nil {
			return nil, err
		}
		return ecdsaASN1(raw)
	}
	return nil, fmt.Errorf("sign with token %q: the key type %T is not supported", t.label, t.cert.PublicKey)
}

func (t *Token) signRSAPSS(digest []byte, opts *rsa.PSSOptions) ([]byte, error) {
	hash := opts.HashFunc()
	h, ok := pssHash[hash]
	if !ok {
		return nil, fmt.Errorf("sign with token %q: RSA-PSS needs a SHA-1 or SHA-2 hash, not %v", t.label, hash)
	}
	saltLength := opts.SaltLength
	switch saltLength {
	case rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash:
		// Tokens and validators agree best on a salt as long as the hash.
		saltLength = hash.Size()
	}
	if saltLength < 0 {
		return nil, fmt.Errorf("sign with token %q: invalid RSA-PSS salt length %d", t.label, opts.SaltLength)
	}
	params := pkcs11.NewPSSParams(h.mechanism, h.mgf, uint(saltLength))
	return t.sign(pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, params), digest)
}

// sign runs one C_SignInit/C_Sign on the session, logging in again for this one
// signature first when the key demands it (CKA_ALWAYS_AUTHENTICATE).
func (t *Token) sign(mechanism *pkcs11.Mechanism, data []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		return nil, fmt.Errorf("sign with token %q: %w", t.label, ErrClosed)
	}
	if t.pinRefused != nil {
		return nil, t.pinRefused
	}
	op := fmt.Sprintf("sign with key %q", t.key)
	mech := []*pkcs11.Mechanism{mechanism}
	if err := t.ctx.SignInit(t.session, mech, t.privateKey); err != nil {
		return nil, explain(op, t.label, err)
	}
	if t.alwaysAuthenticate {
		if err := t.ctx.Login(t.session, pkcs11.CKU_CONTEXT_SPECIFIC, string(t.pin)); err != nil {
			// The signing operation is still active; a C_Sign that fails ends it, so
			// the next signature can start. Its result does not matter.
			t.ctx.Sign(t.session, data)
			err = explain(op+" (the key asks for the PIN again for every signature)", t.label, err)
			if errors.Is(err, ErrPINIncorrect) || errors.Is(err, ErrPINLocked) {
				// Never again with this PIN: the card would lock.
				t.pinRefused = err
			}
			return nil, err
		}
	}
	sig, err := t.ctx.Sign(t.session, data)
	if err != nil {
		return nil, explain(op, t.label, err)
	}
	return sig, nil
}

// ecdsaASN1 converts a PKCS#11 ECDSA signature, r and s as two equally long
// big-endian halves, into the ASN.1 SEQUENCE that crypto.Signer callers expect.
func ecdsaASN1(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("the token returned an ECDSA signature of %d bytes, which cannot be split into r and s", len(raw))
	}
	half := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:half]),
		new(big.Int).SetBytes(raw[half:]),
	})
}

// checkSignature verifies a signature made by Sign with the given public key.
func checkSignature(pub crypto.PublicKey, digest, sig []byte, opts crypto.SignerOpts) error {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(pub, pss.Hash, digest, sig, pss)
		}
		return rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key %T", pub)
}
