// Package token makes the agency's PKCS#11 token (a smart card, a USB token or, for
// development, SoftHSM2) usable as a crypto.Signer together with its certificate chain.
//
// The same code path serves SoftHSM2 and real cards: the module is loaded with
// github.com/miekg/pkcs11, one long-lived session is logged in as the user, and every
// signature goes through that session one at a time. The private key never leaves the
// token.
//
// A wrong PIN is never tried a second time: cards lock after a few wrong tries, and a
// daemon restarted by its service manager would otherwise burn through them on its own.
// An expired or not yet valid signing certificate is refused (CheckValid).
//
// A long-running station holds the token through a Keeper, which waits while the token
// is absent and signs again once a pulled-out token is back. Each attempt to find the
// token initialises the module afresh, because SoftHSM 2.6 (like some card drivers)
// reads its token list only in C_Initialize. With SoftHSM, a token whose directory
// under tokens/ was moved away keeps its slot and session, but C_Sign answers
// CKR_OBJECT_HANDLE_INVALID and C_GetTokenInfo CKR_GENERAL_ERROR; the old session stays
// broken after the directory is back, so the Keeper closes it and opens anew. Real
// cards answer CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT or CKR_SESSION_HANDLE_INVALID.
//
// Measured on SoftHSM 2.6.1 (2 shared cores): a signature through the Keeper costs the
// same as through the Token (about 0.8 ms, RSA-2048); getting signing again once a
// pulled-out token is back takes about 3 ms. A smart card takes 0.5 to 1 s a signature.
package token
