package watcher

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openForWriting reports whether some process holds the file open for writing, when Linux can
// tell: a read lease is refused (EAGAIN) while any process has the file open for writing. The
// lease is let go at once; it only asks the question. A lease needs the file's owner or
// CAP_LEASE and some file systems (network shares) do not grant leases: then the answer is
// unknown (known false) and the settle time and the format check decide alone.
func openForWriting(path string) (busy, known bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	fd := int(f.Fd())
	switch err := setLease(fd, unix.F_RDLCK); {
	case err == nil:
		_ = setLease(fd, unix.F_UNLCK)
		return false, true
	case errors.Is(err, unix.EAGAIN):
		return true, true
	default: // EACCES (not the owner, no CAP_LEASE), EINVAL (no leases on this file system)...
		return false, false
	}
}

func setLease(fd, kind int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, kind)
	return err
}
