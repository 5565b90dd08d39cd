package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"scanstation/outbox"
)

// twoFilesystems returns a folder on the test's temporary filesystem and one on a tmpfs the
// test mounts (root) or /dev/shm, or skips.
func twoFilesystems(t *testing.T) (disk, other string) {
	t.Helper()
	disk = t.TempDir()
	other = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "scanstation-test", other).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", other).Run() })
	return disk, other
}

// visible lists the names in dir a person or program would take: not the hidden pending copy.
func visible(t *testing.T, dir string) []string {
	var names []string
	for _, n := range listDir(t, dir) {
		if !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	return names
}

// An original that cannot be removed after its copy was made must not be visible twice: the
// copy waits, hidden, and the move says why; once the original can go, the move finishes.
func TestMoveAcrossFilesystemsWaitsWhenTheOriginalCannotBeRemoved(t *testing.T) {
	disk, other := twoFilesystems(t)
	inbox := filepath.Join(disk, "inbox")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(inbox, "order.pdf")
	data := bytes.Repeat([]byte("order "), 50000)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Immutable: even root may not remove a name in it (as a share refusing the delete).
	if out, err := exec.Command("chattr", "+i", inbox).CombinedOutput(); err != nil {
		t.Skipf("chattr +i does not work here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", inbox).Run() })

	_, err := outbox.Move(src, other, "order.pdf")
	var stays *outbox.SourceStaysError
	if !errors.As(err, &stays) {
		t.Fatalf("Move of an original that cannot be removed: %v, want a SourceStaysError", err)
	}
	if want := "cannot remove " + src + " after copying it (operation not permitted)"; err.Error() != want {
		t.Errorf("error says %q, want %q", err, want)
	}
	if names := visible(t, other); len(names) != 0 {
		t.Errorf("the copy is visible while the original is still there: %v", names)
	}
	if !outbox.Pending(src, other, "order.pdf") {
		t.Error("the verified copy was not kept for the next try")
	}
	wantContent(t, src, data)

	// Still not removable: the same answer, and still one copy.
	if _, err := outbox.Move(src, other, "order.pdf"); !errors.As(err, &stays) {
		t.Errorf("second try: %v", err)
	}
	if n := len(listDir(t, other)); n != 1 {
		t.Errorf("%d files on the far side after two tries, want the one pending copy", n)
	}

	if out, err := exec.Command("chattr", "-i", inbox).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	dst, err := outbox.Move(src, other, "order.pdf")
	if err != nil {
		t.Fatal(err)
	}
	wantContent(t, dst, data)
	if got := listDir(t, other); len(got) != 1 || got[0] != "order.pdf" {
		t.Errorf("far side holds %v, want order.pdf alone", got)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("original still there: %v", err)
	}
}

// The move between filesystems is killed (SIGKILL) at each of its durable steps in turn; a
// second Move, as a restart makes, finishes it. At no crash point are the original and a
// visible copy both there, and at the end there is exactly one copy with the original's bytes.
func TestMoveAcrossFilesystemsResumesAfterACrashAtEachStep(t *testing.T) {
	if os.Getenv("MOVE_CHILD_SRC") != "" {
		_, err := outbox.Move(os.Getenv("MOVE_CHILD_SRC"), os.Getenv("MOVE_CHILD_DST"), "order.pdf")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	disk, other := twoFilesystems(t)
	data := bytes.Repeat([]byte("order "), 50000)
	for _, dirs := range [][2]string{{disk, other}, {other, disk}} {
		finished := false
		for n := 1; n < 20 && !finished; n++ {
			from := filepath.Join(dirs[0], fmt.Sprintf("in-%d", n))
			to := filepath.Join(dirs[1], fmt.Sprintf("out-%d", n))
			for _, d := range []string{from, to} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			src := filepath.Join(from, "order.pdf")
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			child := exec.Command(os.Args[0], "-test.run=^TestMoveAcrossFilesystemsResumesAfterACrashAtEachStep$")
			child.Env = append(os.Environ(), "MOVE_CHILD_SRC="+src, "MOVE_CHILD_DST="+to, fmt.Sprintf("SCANSTATION_CRASH_AT=%d", n))
			out, err := child.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err == nil:
				finished = true // fewer than n steps: the whole move ran
			case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
			default:
				t.Fatalf("crash at step %d: %v\n%s", n, err, out)
			}
			srcThere := exists(src)
			if srcThere && len(visible(t, to)) > 0 {
				t.Errorf("%s→%s, crash at step %d: the original and a visible copy %v are both there", dirs[0], dirs[1], n, visible(t, to))
			}
			if !srcThere && len(visible(t, to)) == 0 && !outbox.Pending(src, to, "order.pdf") {
				t.Fatalf("crash at step %d: the file is nowhere", n)
			}
			// The restart: temporary files are removed, then the move is asked for again
			// unless it had finished.
			if _, err := outbox.RemoveLeftovers(to); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(to, "order.pdf")
			if srcThere || outbox.Pending(src, to, "order.pdf") {
				if dst, err = outbox.Move(src, to, "order.pdf"); err != nil {
					t.Fatalf("crash at step %d, then Move again: %v", n, err)
				}
			}
			if dst != filepath.Join(to, "order.pdf") {
				t.Errorf("crash at step %d: moved to %s", n, dst)
			}
			wantContent(t, dst, data)
			if got := listDir(t, to); len(got) != 1 {
				t.Errorf("crash at step %d: far side holds %v, want order.pdf alone", n, got)
			}
			if exists(src) {
				t.Errorf("crash at step %d: original still there after the second Move", n)
			}
		}
		if !finished {
			t.Fatal("the move never ran to its end in 20 steps")
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
