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
package token
