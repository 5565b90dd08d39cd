package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadStormUnderRaceDetector runs a daemon built with -race through 300 SIGHUPs, one
// every 20 ms, while documents are recognised, signed, delivered and archived, and one bad
// file goes to failed/. The race detector must stay silent and every scan must reach the
// outbox exactly once.
func TestReloadStormUnderRaceDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon with -race: skipped with -short")
	}
	raceBinary := filepath.Join(t.TempDir(), "scanstation-race")
	build := exec.Command("go", "build", "-race", "-o", raceBinary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	dir, cfg := newStation(t)
	staging := t.TempDir()
	const inputs = 8
	hashes := distinctScans(t, staging, inputs, wordy("CÔNG VĂN", "Số: 12/UBND-VP"))

	d := &daemon{cmd: exec.Command(raceBinary, "run", "--config", cfg), log: &syncBuffer{}}
	d.cmd.Env = append(append(os.Environ(), fastWatch...), "GORACE=halt_on_error=0")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	waitFor(t, "the daemon to be running", 2*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)

	inbox := filepath.Join(dir, "inbox")
	for _, name := range hashes {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(inbox, "trong.jpg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Reloads watch the hot-folders anew; the storm starts once every file is taken, so the
	// documents are on their way through the pipeline while the configuration is replaced.
	waitFor(t, "every file taken from the hot-folder", 2*time.Minute, func() bool {
		left, _ := os.ReadDir(inbox)
		return len(left) == 0
	}, d.log)
	storm := time.Now()
	for range 300 {
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("the daemon died during the reloads: %v\n%s", err, d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("300 SIGHUPs in %v; %d delivered by then", time.Since(storm).Round(time.Millisecond), len(glob(filepath.Join(dir, "outbox"), "*.json")))
	waitFor(t, "every scan delivered and archived, the bad one failed", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "archive"), "van-ban-*.jpg")) == inputs &&
			len(glob(filepath.Join(dir, "failed"), "*.error.txt")) == 1
	}, d.log)
	d.stop(t)

	log := d.log.String()
	if strings.Contains(log, "WARNING: DATA RACE") {
		i := strings.Index(log, "WARNING: DATA RACE")
		t.Fatalf("the race detector found a data race:\n%s", log[i:min(len(log), i+6000)])
	}
	if n := strings.Count(log, "configuration reloaded"); n == 0 {
		t.Errorf("no reload took place:\n%s", log)
	}
	seen := map[string]int{}
	for _, js := range glob(filepath.Join(dir, "outbox"), "*.json") {
		seen[readSidecar(t, js).SourceSHA256]++
	}
	for sum, name := range hashes {
		if seen[sum] != 1 {
			t.Errorf("%s is in the outbox %d times, want exactly once", name, seen[sum])
		}
	}
}
