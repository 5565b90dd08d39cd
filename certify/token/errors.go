package token

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// Sentinel errors that callers can test with errors.Is. The errors returned by this
// package wrap them with the file, token and key names involved and with what to do.
var (
	// ErrPINIncorrect means the token refused the PIN. It is never tried again.
	ErrPINIncorrect = errors.New("the token did not accept the PIN")
	// ErrPINLocked means the token's user PIN is locked, or one more wrong try would
	// lock it.
	ErrPINLocked = errors.New("the token's PIN is locked")
	// ErrTokenAbsent means no token with the configured label is present, or the
	// token was removed while in use.
	ErrTokenAbsent = errors.New("the token is not present")
	// ErrKeyNotFound means the signing key or its certificate is not on the token.
	ErrKeyNotFound = errors.New("the signing key or its certificate is not on the token")
	// ErrKeyMismatch means the certificate on the token does not belong to the
	// signing key.
	ErrKeyMismatch = errors.New("the certificate does not belong to the signing key")
	// ErrClosed means the Token or Keeper was used after Close.
	ErrClosed = errors.New("the token connection is closed")
	// ErrCertificateExpired means the signing certificate's validity ended.
	ErrCertificateExpired = errors.New("the signing certificate has expired")
	// ErrCertificateNotYetValid means the signing certificate's validity has not
	// begun, or the station's clock is wrong.
	ErrCertificateNotYetValid = errors.New("the signing certificate is not valid yet")
	// ErrCertificateChanged means the token came back with another certificate than
	// the one a signature was prepared for (a renewed or different card was inserted):
	// the document has to be signed again with the new certificate in its chain.
	ErrCertificateChanged = errors.New("the token now carries a different certificate")
)

// explain turns an error from the PKCS#11 module into plain words for the operator,
// keeping both the matching sentinel error and the module's own code in the chain.
// op says what the station was doing, for example `sign with key "agency-signing"`.
// No PIN ever reaches this function: PKCS#11 return values are numbers.
func explain(op, tokenLabel string, err error) error {
	var code pkcs11.Error
	if !errors.As(err, &code) {
		return fmt.Errorf("%s on token %q: %w", op, tokenLabel, err)
	}
	switch code {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
		return fmt.Errorf("%s on token %q: %w (%w); the station will not try this PIN again "+
			"because the card locks after a few wrong tries: correct the PIN file, then restart or reload the station",
			op, tokenLabel, ErrPINIncorrect, err)
	case pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED:
		return fmt.Errorf("%s on token %q: %w (%w); the PIN must be unlocked or changed "+
			"with the card's own tool (by whoever holds the SO PIN or PUK)",
			op, tokenLabel, ErrPINLocked, err)
	case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_SLOT_ID_INVALID,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_TOKEN_NOT_RECOGNIZED:
		return fmt.Errorf("%s on token %q: %w (%w); if the token was removed, insert it again",
			op, tokenLabel, ErrTokenAbsent, err)
	case pkcs11.CKR_KEY_HANDLE_INVALID, pkcs11.CKR_OBJECT_HANDLE_INVALID:
		return fmt.Errorf("%s on token %q: %w (%w)", op, tokenLabel, ErrKeyNotFound, err)
	case pkcs11.CKR_USER_NOT_LOGGED_IN:
		return fmt.Errorf("%s on token %q: the token no longer has the station logged in (%w); "+
			"restart the station", op, tokenLabel, err)
	case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_MECHANISM_PARAM_INVALID, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED,
		pkcs11.CKR_KEY_TYPE_INCONSISTENT:
		return fmt.Errorf("%s on token %q: the token does not allow this kind of signature "+
			"with this key (%w)", op, tokenLabel, err)
	case pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_MEMORY, pkcs11.CKR_GENERAL_ERROR:
		return fmt.Errorf("%s on token %q: the token reported a hardware fault (%w); "+
			"remove and insert the token, then restart the station", op, tokenLabel, err)
	}
	return fmt.Errorf("%s on token %q: the token refused (%w)", op, tokenLabel, err)
}

// isCode reports whether err carries the PKCS#11 return value code.
func isCode(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}
