package station

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStateLockOneHolder: a second hold on the state folder is refused with the holder's PID
// and command; once released, or when only a lock file of a dead process is left, the next
// start takes it.
func TestStateLockOneHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := lockState(dir, "scanstation run")
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second open in this process is refused just
	// as another process would be.
	_, err = lockState(dir, "scanstation process")
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("a second hold on the state folder was not refused: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"PID " + strconv.Itoa(os.Getpid()), "`scanstation run`", dir, "only one may run at a time", "scanstation approve"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q: %s", want, msg)
		}
	}
	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	second, err := lockState(dir, "scanstation process")
	if err != nil {
		t.Fatalf("the state folder stays locked after its holder let go: %v", err)
	}
	second.release()

	// A lock file left by a station that was killed: its words are there, its flock is not.
	stale := t.TempDir()
	if err := os.WriteFile(filepath.Join(stale, lockName), []byte("999999\nscanstation run\n2026-11-26T10:42:00+07:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := lockState(stale, "scanstation run")
	if err != nil {
		t.Fatalf("a lock file of a dead process blocks the start: %v", err)
	}
	defer l.release()
	data, _ := os.ReadFile(filepath.Join(stale, lockName))
	if !strings.HasPrefix(string(data), strconv.Itoa(os.Getpid())+"\n") {
		t.Errorf("the lock file does not name the new holder: %q", data)
	}
}
