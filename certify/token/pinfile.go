package token

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// ReadPINFile reads a token PIN from path. It refuses a file that anyone but its owner
// may read, because the PIN unlocks the agency's signature. One trailing newline (as
// left by editors and echo) is removed; nothing else is.
func ReadPINFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read PIN file: %w", err)
	}
	defer f.Close()
	// Check the open file rather than the path, so the answer is about the bytes read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read PIN file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("PIN file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("PIN file %s can be read by other users (mode %04o); "+
			"allow only its owner with: chmod 600 %s", path, perm, path)
	}
	// A PIN is short; a large file is a wrong path, not a PIN.
	pin, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return nil, fmt.Errorf("read PIN file %s: %w", path, err)
	}
	if len(pin) > 4096 {
		return nil, fmt.Errorf("PIN file %s is too large to hold a PIN; check the path", path)
	}
	if bytes.HasSuffix(pin, []byte("\r\n")) {
		pin = pin[:len(pin)-2]
	} else if bytes.HasSuffix(pin, []byte("\n")) {
		pin = pin[:len(pin)-1]
	}
	if len(pin) == 0 {
		return nil, fmt.Errorf("PIN file %s is empty; write the token's user PIN into it", path)
	}
	return pin, nil
}
