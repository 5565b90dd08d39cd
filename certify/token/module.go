package token

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/miekg/pkcs11"
)

// loadModule loads a PKCS#11 module and initialises it. PKCS#11 allows one
// initialisation per process and module, so the returned context must be given back
// to unloadModule before the same module can be loaded again.
//
// SoftHSM reads SOFTHSM2_CONF inside C_Initialize, so a non-empty softHSMConf is put
// into the process environment first; in cgo programs os.Setenv also reaches the C
// environment the module sees.
func loadModule(module, softHSMConf string) (*pkcs11.Ctx, error) {
	if module == "" {
		return nil, errors.New("no PKCS#11 module is configured: set the path of the token's driver (.so file)")
	}
	if _, err := os.Stat(module); err != nil {
		return nil, fmt.Errorf("PKCS#11 module %s cannot be used: %w; check the module path and that the token's driver is installed", module, err)
	}
	if softHSMConf != "" {
		if _, err := os.Stat(softHSMConf); err != nil {
			return nil, fmt.Errorf("SoftHSM configuration %s cannot be used: %w", softHSMConf, err)
		}
		if err := os.Setenv("SOFTHSM2_CONF", softHSMConf); err != nil {
			return nil, fmt.Errorf("set SOFTHSM2_CONF to %s: %w", softHSMConf, err)
		}
	}
	ctx := pkcs11.New(module)
	if ctx == nil {
		return nil, fmt.Errorf("PKCS#11 module %s could not be loaded: it is not a PKCS#11 driver for this machine, or a library it needs is missing", module)
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		if isCode(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			return nil, fmt.Errorf("PKCS#11 module %s is already in use in this program (%w); close the other token connection first", module, err)
		}
		return nil, fmt.Errorf("PKCS#11 module %s failed to start (%w); for SoftHSM check SOFTHSM2_CONF and its token directory", module, err)
	}
	return ctx, nil
}

// unloadModule finalises the module and unloads it from the process.
func unloadModule(ctx *pkcs11.Ctx) error {
	err := ctx.Finalize()
	ctx.Destroy()
	if err != nil {
		return fmt.Errorf("finalize PKCS#11 module: %w", err)
	}
	return nil
}

// findSlot returns the slot holding the initialised token with the given label.
func findSlot(ctx *pkcs11.Ctx, label string) (uint, pkcs11.TokenInfo, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, explain("list token slots", label, err)
	}
	var (
		seen    []string
		matches []uint
		match   pkcs11.TokenInfo
	)
	for _, slot := range slots {
		info, err := ctx.GetTokenInfo(slot)
		if err != nil {
			continue // a reader in trouble must not hide the token we want in another one
		}
		if info.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		if info.Label == label {
			matches, match = append(matches, slot), info
		}
		seen = append(seen, fmt.Sprintf("%q", info.Label))
	}
	switch len(matches) {
	case 1:
		return matches[0], match, nil
	case 0:
	default:
		// Signing with whichever card answers first would be a guess.
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("%d tokens labelled %q are present; remove all but the agency's signing token", len(matches), label)
	}
	found := "no token is inserted"
	if len(seen) > 0 {
		found = "tokens present: " + strings.Join(seen, ", ")
	}
	return 0, pkcs11.TokenInfo{}, fmt.Errorf("no token labelled %q (%s): %w; insert the agency's token or correct the token label in the configuration", label, found, ErrTokenAbsent)
}

// findObjects returns the handles of all objects matching template.
func findObjects(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, template []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(session, template); err != nil {
		return nil, err
	}
	var all []pkcs11.ObjectHandle
	for {
		batch, _, err := ctx.FindObjects(session, 16)
		if err != nil {
			ctx.FindObjectsFinal(session)
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		all = append(all, batch...)
	}
	if err := ctx.FindObjectsFinal(session); err != nil {
		return nil, err
	}
	return all, nil
}

// attribute reads one attribute of an object. Tokens answer an attribute they do not
// have or will not reveal with an error; callers decide whether that matters.
func attribute(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, object pkcs11.ObjectHandle, typ uint) ([]byte, error) {
	attrs, err := ctx.GetAttributeValue(session, object, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil {
		return nil, err
	}
	return attrs[0].Value, nil
}

// attributeBool reads a CK_BBOOL attribute, answering def when the token does not know it.
func attributeBool(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, object pkcs11.ObjectHandle, typ uint, def bool) bool {
	v, err := attribute(ctx, session, object, typ)
	if err != nil || len(v) != 1 {
		return def
	}
	return v[0] != 0
}

// attributeUint reads a CK_ULONG attribute (native byte order, as the module stores it).
func attributeUint(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, object pkcs11.ObjectHandle, typ uint) (uint, error) {
	v, err := attribute(ctx, session, object, typ)
	if err != nil {
		return 0, err
	}
	return bytesToUint(v)
}

// bytesToUint decodes a CK_ULONG as the module wrote it: native byte order and width.
func bytesToUint(v []byte) (uint, error) {
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), nil
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("the token returned a number of %d bytes", len(v))
}
