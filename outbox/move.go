package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"scanstation/internal/crashpoint"
)

// linkThenRemove is renameNoReplace where the kernel or filesystem lacks
// RENAME_NOREPLACE: creating a hard link fails if the new name exists.
func linkThenRemove(oldpath, newpath string) error {
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	return os.Remove(oldpath)
}

// maxSuffix bounds the search for a free name; reaching it means something
// is wrong with the folder rather than that it is merely full.
const maxSuffix = 100000

// suffixed returns name with "-i" before its extension ("scan.tif",
// "scan-1.tif", ...); i == 0 gives name itself.
func suffixed(name string, i int) string {
	if i == 0 {
		return name
	}
	ext := filepath.Ext(name)
	if ext == name { // ".tif" alone: treat it as a name, not an extension
		ext = ""
	}
	return strings.TrimSuffix(name, ext) + "-" + strconv.Itoa(i) + ext
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// A SourceStaysError says a move between filesystems copied and verified the file but could
// not remove the original. The copy waits, hidden, in the destination folder: taking the file
// on with its original still in place would let the station take it twice. Calling Move
// again once the original can be removed finishes the move.
type SourceStaysError struct {
	Source string
	Err    error
}

func (e *SourceStaysError) Error() string {
	return fmt.Sprintf("cannot remove %s after copying it (%s)", e.Source, plainErrno(e.Err))
}
func (e *SourceStaysError) Unwrap() error { return e.Err }

// plainErrno is the words of an error's errno ("permission denied"), or the error's own.
func plainErrno(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// Move moves the regular file src into dstDir as name, or as name-1,
// name-2... (before the extension) if that is taken, and returns the new
// path. It never replaces a file. When it returns, the move is durable:
// both folders are flushed.
//
// Across filesystems the move goes in steps, each durable before the next, so that calling
// Move again with the same arguments after a crash at any point finishes it:
//
//  1. copied: src is copied into a temporary file in dstDir and flushed;
//  2. verified: the copy is read back and must have src's bytes; it then gets a pending name
//     (PendingName) in dstDir;
//  3. source removed: src is removed and its folder flushed;
//  4. named: the pending copy is renamed to its free name.
//
// So the file is visible under one name at a time: while src is there the destination has
// no file under a real name, and a restart that finds both can never happen. If src cannot be
// removed, Move returns a *SourceStaysError and keeps the pending copy for the next call.
func Move(src, dstDir, name string) (string, error) {
	return move(src, dstDir, name, nil)
}

// PendingName is the hidden name a move between filesystems gives its verified copy in the
// destination folder until the original is removed: fixed by src and name, so that a restart
// finds it.
func PendingName(src, name string) string {
	abs, err := filepath.Abs(src)
	if err != nil {
		abs = src
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + name))
	return ".scanstation-moving-" + hex.EncodeToString(sum[:8])
}

// Pending reports whether a move of src into dstDir as name stopped after the original was
// copied: Move with the same arguments finishes it even if src is gone.
func Pending(src, dstDir, name string) bool {
	return exists(filepath.Join(dstDir, PendingName(src, name)))
}

// move is Move that also skips a name while any of companions(name) exists
// in dstDir, so that a file and its companions keep one name.
func move(src, dstDir, name string, companions func(string) []string) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("move %s to %s: %w", src, dstDir, err)
	}
	if err := checkName(name); err != nil {
		return fail(err)
	}
	pending := filepath.Join(dstDir, PendingName(src, name))
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) && exists(pending) {
		// A crash came after the original was removed (step 3): only the naming is left.
		return place(pending, src, dstDir, name, companions)
	}
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%s is not a regular file", src))
	}
	if !exists(pending) {
		dst, err := renameFree(src, dstDir, name, companions)
		if err == nil {
			crashpoint.Hit("move.rename " + filepath.Base(dst) + " into " + filepath.Base(dstDir))
			if err := SyncDir(dstDir); err != nil {
				return dst, fmt.Errorf("moved %s to %s: %w", src, dst, err)
			}
			crashpoint.Hit("move.syncdir " + filepath.Base(dstDir))
			if err := SyncDir(filepath.Dir(src)); err != nil {
				return dst, fmt.Errorf("moved %s to %s: %w", src, dst, err)
			}
			return dst, nil
		}
		if !errors.Is(err, syscall.EXDEV) {
			return fail(err)
		}
		// Another filesystem.
		if err := copyVerified(src, dstDir, fi, pending); err != nil {
			return fail(err)
		}
	} else if same, err := sameBytes(src, pending); err != nil {
		return fail(err)
	} else if !same {
		// The original changed after a crash between copy and removal: copy it again.
		if err := os.Remove(pending); err != nil {
			return fail(err)
		}
		if err := copyVerified(src, dstDir, fi, pending); err != nil {
			return fail(err)
		}
	}
	if err := os.Remove(src); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", &SourceStaysError{Source: src, Err: err}
	}
	if err := SyncDir(filepath.Dir(src)); err != nil {
		return fail(err)
	}
	crashpoint.Hit("move.remove original " + filepath.Base(src))
	return place(pending, src, dstDir, name, companions)
}

// place gives the verified pending copy of src its free name in dstDir (step 4).
func place(pending, src, dstDir, name string, companions func(string) []string) (string, error) {
	dst, err := renameFree(pending, dstDir, name, companions)
	if err != nil {
		return "", fmt.Errorf("move %s to %s: %w", src, dstDir, err)
	}
	if err := SyncDir(dstDir); err != nil {
		return dst, fmt.Errorf("moved %s to %s: %w", src, dst, err)
	}
	crashpoint.Hit("move.named " + filepath.Base(dst) + " into " + filepath.Base(dstDir))
	return dst, nil
}

// renameFree renames from into dstDir as the first free one of name, name-1..., and returns
// the new path. It returns rename's error otherwise (EXDEV across filesystems).
func renameFree(from, dstDir, name string, companions func(string) []string) (string, error) {
	for i := 0; i < maxSuffix; i++ {
		candidate := suffixed(name, i)
		if taken(dstDir, candidate, companions) {
			continue
		}
		dst := filepath.Join(dstDir, candidate)
		err := renameNoReplace(from, dst)
		if errors.Is(err, fs.ErrExist) {
			continue // someone else took it since we looked
		}
		if err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("no free name for %s after %d tries", name, maxSuffix)
}

func taken(dir, name string, companions func(string) []string) bool {
	if exists(filepath.Join(dir, name)) {
		return true
	}
	if companions == nil {
		return false
	}
	for _, c := range companions(name) {
		if exists(filepath.Join(dir, c)) {
			return true
		}
	}
	return false
}

// copyVerified copies src into a flushed temporary file in dir with the same mode and
// modification time, reads the copy back, and only if it holds src's bytes renames it to
// pending (steps 1 and 2).
func copyVerified(src, dir string, fi fs.FileInfo, pending string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	tmp, err := writeTemp(dir, fi.Mode().Perm(), func(w io.Writer) error {
		_, err := io.Copy(w, io.TeeReader(in, h))
		return err
	})
	if err != nil {
		return err
	}
	crashpoint.Hit("move.copied " + filepath.Base(src) + " into " + filepath.Base(dir))
	// The scan time matters in an archive; a failure here loses only that.
	os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	sum, err := digest(tmp)
	if err == nil && !bytes.Equal(sum, h.Sum(nil)) {
		err = fmt.Errorf("the copy of %s in %s does not read back as written", src, dir)
	}
	if err == nil {
		err = renameNoReplace(tmp, pending)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	crashpoint.Hit("move.verified " + filepath.Base(src) + " into " + filepath.Base(dir))
	return nil
}

// sameBytes reports whether files a and b hold the same bytes.
func sameBytes(a, b string) (bool, error) {
	sa, err := digest(a)
	if err != nil {
		return false, err
	}
	sb, err := digest(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(sa, sb), nil
}

func digest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// isSuffixed reports whether candidate is name or one of the names suffixed gives it.
func isSuffixed(candidate, name string) bool {
	if candidate == name {
		return true
	}
	ext := filepath.Ext(name)
	if ext == name {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext) + "-"
	if len(candidate) < len(stem)+len(ext) || !strings.HasPrefix(candidate, stem) || !strings.HasSuffix(candidate, ext) {
		return false
	}
	n, err := strconv.Atoi(candidate[len(stem) : len(candidate)-len(ext)])
	return err == nil && n > 0 && suffixed(name, n) == candidate
}
