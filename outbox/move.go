package outbox

import (
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

// Move moves the regular file src into dstDir as name, or as name-1,
// name-2... (before the extension) if that is taken, and returns the new
// path. It never replaces a file. When it returns, the move is durable:
// both folders are flushed. Across filesystems it copies, flushes the copy
// and only then removes src.
func Move(src, dstDir, name string) (string, error) {
	return move(src, dstDir, name, nil)
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
	fi, err := os.Lstat(src)
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%s is not a regular file", src))
	}

	from := src
	crossed := false
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
		if errors.Is(err, syscall.EXDEV) && !crossed {
			// Another filesystem: make a durable copy next to the target
			// and rename that instead; src stays until the copy is safe.
			from, err = copyToTemp(src, dstDir, fi)
			if err != nil {
				return fail(err)
			}
			crossed = true
			i-- // try the same name again with the copy
			continue
		}
		if err != nil {
			if crossed {
				os.Remove(from)
			}
			return fail(err)
		}
		crashpoint.Hit("move.rename " + candidate + " into " + filepath.Base(dstDir))
		if err := SyncDir(dstDir); err != nil {
			return fail(err)
		}
		crashpoint.Hit("move.syncdir " + filepath.Base(dstDir))
		if crossed {
			if err := os.Remove(src); err != nil {
				return dst, fmt.Errorf("moved %s to %s but could not remove the original: %w", src, dst, err)
			}
			crashpoint.Hit("move.remove original " + filepath.Base(src))
		}
		if err := SyncDir(filepath.Dir(src)); err != nil {
			return dst, fmt.Errorf("moved %s to %s: %w", src, dst, err)
		}
		return dst, nil
	}
	if crossed {
		os.Remove(from)
	}
	return fail(fmt.Errorf("no free name for %s after %d tries", name, maxSuffix))
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

// copyToTemp copies src into a flushed temporary file in dir with the same
// mode and modification time, and returns its path.
func copyToTemp(src, dir string, fi fs.FileInfo) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := writeTemp(dir, fi.Mode().Perm(), func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
	if err != nil {
		return "", err
	}
	// The scan time matters in an archive; a failure here loses only that.
	os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	return tmp, nil
}
