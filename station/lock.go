package station

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockName is the file in the state folder that one station at a time holds locked.
const lockName = "station.lock"

// stateLock is the exclusive hold of one station on its state folder: two stations on one
// folder would both resume the same jobs, remove each other's temporary files and deliver
// twice. The kernel drops the flock when the process dies, however it dies, so a lock file
// left by a killed station never blocks the next start.
type stateLock struct{ f *os.File }

// BusyError says that another station holds the state folder.
type BusyError struct {
	State   string    // the state folder
	PID     int       // the holder's process ID; 0 if it could not be read
	Command string    // the holder's command, as it recorded it
	Since   time.Time // when the holder started
}

func (e *BusyError) Error() string {
	who := "another scanstation"
	var about []string
	if e.PID > 0 {
		about = append(about, "PID "+strconv.Itoa(e.PID))
	}
	if e.Command != "" {
		about = append(about, "`"+e.Command+"`")
	}
	if !e.Since.IsZero() {
		since := e.Since.Local().Format("15:04")
		if y, m, d := e.Since.Local().Date(); time.Now().Year() != y || time.Now().Month() != m || time.Now().Day() != d {
			since = e.Since.Local().Format("02.01.2006 15:04")
		}
		about = append(about, "since "+since)
	}
	if len(about) > 0 {
		who += " (" + strings.Join(about, ", ") + ")"
	}
	return who + " is using the state folder " + e.State + "; only one may run at a time. " +
		"Stop it first, or approve documents with `scanstation approve`, which works beside it."
}

// lockState takes the state folder for this process, or returns a *BusyError naming the
// station that holds it. command is what the holder is, in the words a sysadmin typed
// ("scanstation run").
func lockState(dir, command string) (*stateLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the station lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, readHolder(f, dir)
		}
		return nil, fmt.Errorf("lock the state folder (%s): %w", path, err)
	}
	// Who holds it, for the refusal a second start prints. Written after the lock is ours, so
	// a refused start never overwrites the holder's words.
	holder := fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), command, time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder), 0)
	}
	return &stateLock{f: f}, nil
}

// readHolder reads who holds the lock from its file.
func readHolder(f *os.File, dir string) *BusyError {
	e := &BusyError{State: dir}
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	lines := strings.Split(string(buf[:n]), "\n")
	if len(lines) > 0 {
		e.PID, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		e.Command = strings.TrimSpace(lines[1])
	}
	if len(lines) > 2 {
		e.Since, _ = time.Parse(time.RFC3339, strings.TrimSpace(lines[2]))
	}
	return e
}

// release gives the state folder back. The file stays: removing it could let a starting
// station lock a new file while a third one holds the old one.
func (l *stateLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	err := l.f.Close()
	l.f = nil
	return err
}
