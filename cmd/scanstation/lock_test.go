package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// TestOneStationPerStateFolder: while the daemon runs, `process` and a second `run` on the
// same configuration are refused at once with the holder's PID and command, and leave the
// daemon's temporary files alone; `approve` works beside it; the scan the refused `process`
// named is delivered once, by the daemon.
func TestOneStationPerStateFolder(t *testing.T) {
	dir, cfg := newStation(t)
	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to be running", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)

	// Files the daemon would be writing at this moment.
	planted := []string{
		filepath.Join(dir, "outbox", ".scanstation-4242.tmp"),
		filepath.Join(dir, "state", "work", ".scanstation-4243.tmp"),
	}
	for _, p := range planted {
		if err := os.WriteFile(p, []byte("half written"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scanPath := filepath.Join(dir, "inbox", "mot-lan.jpg")
	writeImage(t, scanPath, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

	pid := "PID " + strconv.Itoa(d.cmd.Process.Pid)
	state := filepath.Join(dir, "state")
	for _, args := range [][]string{
		{"process", "--config", cfg, scanPath},
		{"run", "--config", cfg},
	} {
		out, code := scanstationWithin(t, time.Minute, args...)
		if code == 0 {
			t.Fatalf("scanstation %s beside the running daemon was not refused:\n%s", args[0], out)
		}
		for _, want := range []string{pid, "`scanstation run`", state, "only one may run at a time", "scanstation approve"} {
			if !strings.Contains(out, want) {
				t.Errorf("scanstation %s's refusal does not say %q:\n%s", args[0], want, out)
			}
		}
		if strings.Contains(out, "recognised") {
			t.Errorf("scanstation %s worked on the scan before refusing:\n%s", args[0], out)
		}
	}
	for _, p := range planted {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a refused second start removed the running daemon's temporary file %s: %v", p, err)
		}
	}
	if out, code := scanstation(t, nil, "approve", "--config", cfg); code != 0 {
		t.Errorf("approve does not work beside the daemon (%d):\n%s", code, out)
	}

	waitFor(t, "the scan delivered", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "archive"), "mot-lan*.jpg")) == 1
	}, d.log)
	d.stop(t)
	if n := len(glob(filepath.Join(dir, "outbox"), "*.pdf")); n != 1 {
		t.Errorf("the scan is in the outbox %d times, want once", n)
	}
	for _, p := range planted {
		os.Remove(p)
	}
}

// scanstationWithin runs the binary like scanstation, but kills it after limit: a second
// station that is not refused would run for ever. A killed run reports -1.
func scanstationWithin(t *testing.T, limit time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("scanstation %v: %v", args, err)
	return "", 0
}
