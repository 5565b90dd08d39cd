// Package outbox delivers finished documents durably: a file appears under
// its final name only when all of its bytes are on disk, a delivered file is
// never overwritten, and originals are moved to the failed or archive folder
// without a moment in which they exist nowhere.
package outbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"scanstation/internal/crashpoint"
)

// tempPattern names files being written. A leftover one (after a power cut
// while writing) is incomplete and can be deleted; no finished file has it.
const tempPattern = ".scanstation-*.tmp"

// WriteFileAtomic writes data to dir/name so that name either does not
// change or holds all of data, even across a crash: it writes a temporary
// file in dir, flushes it to disk, renames it to name (replacing an existing
// file) and flushes dir. The file gets exactly perm; the umask does not apply.
func WriteFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(dir, name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeFileAtomic(dir, name string, perm os.FileMode, write func(io.Writer) error) error {
	target := filepath.Join(dir, name)
	if err := checkName(name); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	tmp, err := writeTemp(dir, perm, write)
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	// A kill leaves the page cache as it was, so "written" and "flushed" are one point here.
	crashpoint.Hit("atomic.temp written " + name)
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", target, err)
	}
	crashpoint.Hit("atomic.rename " + name)
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	crashpoint.Hit("atomic.syncdir " + name)
	return nil
}

// writeTemp writes a new temporary file in dir with write, gives it perm,
// flushes and closes it, and returns its path. On error nothing is left.
func writeTemp(dir string, perm os.FileMode, write func(io.Writer) error) (path string, err error) {
	f, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return "", err
	}
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}

	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// SyncDir flushes dir so that names created, renamed or removed in it
// survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some network and FUSE filesystems cannot flush a folder and say
	// EINVAL; they make their own promises, and there is nothing more to do.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("flush folder %s: %w", dir, err)
	}
	return nil
}

// checkName refuses names that would land outside the folder they are
// meant for.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("%q is not a plain file name", name)
	}
	return nil
}

// RemoveLeftovers deletes the temporary files a crash or power cut left in dir while
// writing: they are never complete files, and nothing else is named like them. It returns
// how many it removed.
func RemoveLeftovers(dir string) (int, error) {
	matches, err := filepath.Glob(filepath.Join(dir, tempPattern))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("remove leftover %s: %w", m, err)
		}
		removed++
	}
	return removed, nil
}

// IsDiskFull reports whether err means the disk (or the user's quota) is full: not the
// document's fault, so the station waits for space instead of refusing the document.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
