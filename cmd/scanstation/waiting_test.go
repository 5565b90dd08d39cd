package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// moveFolder points one folder of the station's configuration elsewhere.
func moveFolder(t *testing.T, cfg, from, to string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := strconv.Quote(from)
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not name %s", cfg, old)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), old, strconv.Quote(to), 1)), 0o640); err != nil {
		t.Fatal(err)
	}
}

func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "scanstation-test", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root and mount rights): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// The archive share goes away (unmounted) after the station started: the document is
// delivered, and its original waits for the archive instead of going to failed/. The station
// says so once, `scanstation status` shows it, and once the share is back the original is
// archived. The same scan dropped again is then recognised as the delivered one.
func TestArchiveShareAwayWaitsAndTheDeliveredDocumentStaysDelivered(t *testing.T) {
	dir, cfg := newStation(t)
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, share)
	archive := filepath.Join(share, "archive")
	if err := os.Mkdir(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	moveFolder(t, cfg, filepath.Join(dir, "archive"), archive)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), `duplicates: "flag"`, `duplicates: "skip"`, 1)), 0o640)

	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to be running", time.Minute, func() bool { return strings.Contains(d.log.String(), "station running") }, d.log)
	if out, err := exec.Command("umount", share).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v %s", share, err, out)
	}
	inbox, outbox, failed := filepath.Join(dir, "inbox"), filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	staged := filepath.Join(t.TempDir(), "letter.jpg")
	writeImage(t, staged, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	scan, _ := os.ReadFile(staged)
	if err := os.WriteFile(filepath.Join(inbox, "letter.jpg"), scan, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery and the archive's absence said", 3*time.Minute, func() bool {
		return len(glob(outbox, "letter.json")) == 1 && strings.Contains(d.log.String(), "unavailable since")
	}, d.log)
	if !strings.Contains(d.log.String(), "archive "+archive+" unavailable since") {
		t.Errorf("the log does not name the archive that is away:\n%s", d.log)
	}
	out, code := scanstation(t, nil, "status", "--config", cfg)
	if code != 0 || !strings.Contains(out, "waiting: archive "+archive+" unavailable since") {
		t.Errorf("scanstation status does not show the wait (exit %d):\n%s", code, out)
	}
	// More than one retry (every 10 s) while the share is away: it waits, it is not failed.
	time.Sleep(25 * time.Second)
	if f := glob(failed, "*"); len(f) != 0 {
		t.Fatalf("an archive that is away sent the delivered document to failed/: %v\n%s", f, d.log)
	}
	if n := strings.Count(d.log.String(), "unavailable since"); n != 1 {
		t.Errorf("said the archive is away %d times, want once", n)
	}

	mountTmpfs(t, share)
	if err := os.Mkdir(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	// A share that comes back brings its marker; this one is new, so the sysadmin marks it.
	if out, code := scanstation(t, nil, "folders", "mark", "--config", cfg); code != 0 {
		t.Fatalf("folders mark (exit %d):\n%s", code, out)
	}
	waitFor(t, "the original archived once the share is back", 2*time.Minute, func() bool {
		return len(glob(archive, "letter.jpg")) == 1
	}, d.log)
	if got, _ := os.ReadFile(filepath.Join(archive, "letter.jpg")); string(got) != string(scan) {
		t.Error("the archived original is not the scan's bytes")
	}
	waitFor(t, "the station to say the archive is back", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "available again")
	}, d.log)

	// The same scan dropped again, with duplicates: skip: refused as the delivered one.
	if err := os.WriteFile(filepath.Join(inbox, "letter.jpg"), scan, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second drop refused as a duplicate", 2*time.Minute, func() bool {
		return len(glob(failed, "letter.jpg.error.txt")) == 1
	}, d.log)
	d.stop(t)
	reason, _ := os.ReadFile(filepath.Join(failed, "letter.jpg.error.txt"))
	if !strings.Contains(string(reason), "same scan") || !strings.Contains(string(reason), "letter.pdf") {
		t.Errorf("the second drop's reason does not name the delivered copy:\n%s", reason)
	}
	if extra := glob(outbox, "letter-*"); len(extra) != 0 {
		t.Errorf("the same scan was delivered twice: %v", extra)
	}
}

// The hot-folder is on another filesystem than the state folder, and the station may not
// remove the original after copying it (an immutable folder, as a share that refuses the
// delete): the document waits and says why once, nothing goes to failed/, and once the
// original can go it is delivered exactly once.
func TestOriginalThatCannotBeRemovedWaitsAndIsTakenOnce(t *testing.T) {
	dir, cfg := newStation(t)
	mountTmpfs(t, filepath.Join(dir, "state")) // the spool: another filesystem than the inbox
	inbox, outbox, failed := filepath.Join(dir, "inbox"), filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	writeImage(t, filepath.Join(inbox, "order.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	if out, err := exec.Command("chattr", "+i", inbox).CombinedOutput(); err != nil {
		t.Skipf("chattr +i does not work here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", inbox).Run() })

	d := startDaemon(t, cfg)
	const said = "cannot remove inbox/order.jpg after copying it (operation not permitted); the document waits so it is not taken twice"
	waitFor(t, "the station to say the original cannot be removed", 2*time.Minute, func() bool {
		return strings.Contains(d.log.String(), said)
	}, d.log)
	time.Sleep(25 * time.Second) // several retries and rescans
	if f := glob(failed, "*"); len(f) != 0 {
		t.Fatalf("an original that cannot be removed sent the document to failed/: %v\n%s", f, d.log)
	}
	if o := glob(outbox, "*.pdf"); len(o) != 0 {
		t.Fatalf("delivered while its original is still in the hot-folder: %v", o)
	}
	if n := strings.Count(d.log.String(), said); n != 1 {
		t.Errorf("said it %d times, want once", n)
	}
	if out, _ := scanstation(t, nil, "status", "--config", cfg); !strings.Contains(out, "waiting: "+said) {
		t.Errorf("scanstation status does not show the wait:\n%s", out)
	}

	if out, err := exec.Command("chattr", "-i", inbox).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	waitFor(t, "delivery once the original can be removed", 3*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) >= 1 && len(glob(inbox, "*")) == 0
	}, d.log)
	time.Sleep(5 * time.Second) // a rescan that would take it a second time
	d.stop(t)
	if got := glob(outbox, "*.pdf"); len(got) != 1 {
		t.Errorf("outbox holds %v, want order.pdf once", got)
	}
	if f := glob(failed, "*"); len(f) != 0 {
		t.Errorf("failed/ holds %v", f)
	}
}

// The station stops dead (SIGKILL) right after moving a refused original into failed/, before
// writing its reason: the next start writes the reason.
func TestLostReasonFileIsWrittenAgain(t *testing.T) {
	text := []byte("this is a letter typed into a text file, not a scan\n")
	// First a run to learn the step at which the original lands in failed/.
	dir, cfg := newStation(t)
	trace := filepath.Join(t.TempDir(), "trace")
	d := startDaemonEnv(t, cfg, "SCANSTATION_CRASH_TRACE="+trace, "SCANSTATION_CRASH_SKIP=status.json,waiting.json")
	os.WriteFile(filepath.Join(dir, "inbox", "note.jpg"), text, 0o644)
	waitFor(t, "the refusal", 2*time.Minute, func() bool { return len(glob(filepath.Join(dir, "failed"), "*.error.txt")) == 1 }, d.log)
	d.stop(t)
	step := 0
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		n, name, _ := strings.Cut(lines.Text(), " ")
		if strings.HasPrefix(name, "move.syncdir failed") || strings.HasPrefix(name, "move.named note.jpg into failed") {
			step, _ = strconv.Atoi(n)
			break
		}
	}
	f.Close()
	if step == 0 {
		t.Fatalf("no step moved the original into failed/ in the trace")
	}

	dir, cfg = newStation(t)
	d = startDaemonEnv(t, cfg, "SCANSTATION_CRASH_AT="+strconv.Itoa(step), "SCANSTATION_CRASH_SKIP=status.json,waiting.json")
	exited := make(chan struct{})
	go func() { d.cmd.Wait(); close(exited) }()
	os.WriteFile(filepath.Join(dir, "inbox", "note.jpg"), text, 0o644)
	failed := filepath.Join(dir, "failed")
	waitFor(t, "the crash after the move into failed/", 2*time.Minute, func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}, d.log)
	if len(glob(failed, "note.jpg")) != 1 || len(glob(failed, "*.error.txt")) != 0 {
		t.Fatalf("after the crash failed/ holds %v; want the original without its reason", glob(failed, "*"))
	}
	d = startDaemon(t, cfg)
	waitFor(t, "the lost reason written again", 2*time.Minute, func() bool {
		return len(glob(failed, "note.jpg.error.txt")) == 1
	}, d.log)
	d.stop(t)
	reason, _ := os.ReadFile(filepath.Join(failed, "note.jpg.error.txt"))
	if !strings.Contains(string(reason), "note.jpg") || !strings.Contains(string(reason), "text file") {
		t.Errorf("the reason written again does not say why:\n%s", reason)
	}
	if got := glob(failed, "*"); len(got) != 2 {
		t.Errorf("failed/ holds %v, want the original and its reason", got)
	}
}
