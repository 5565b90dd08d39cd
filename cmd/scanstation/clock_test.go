package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
	"scanstation/internal/tsatest"
)

// TestDaemonStopsSigningWhenClockIsWrong runs a station against a TSA whose clock is 10
// minutes ahead of the machine's, as a station 10 minutes slow would see a right TSA: no copy
// is delivered with a mark its timestamp contradicts, signing stops with the reason in plain
// words, and the document waits until the clock is right and the station restarted.
func TestDaemonStopsSigningWhenClockIsWrong(t *testing.T) {
	dir, cfg := newStation(t)
	tsa := tsatest.Start(t, tsatest.Options{ClockOffset: 10 * time.Minute})
	env := timestampEnv(tsa, "SCANSTATION_TIMESTAMP_RETRY_EVERY=1s")
	d := startDaemonEnv(t, cfg, env...)
	outbox, failed := filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	writeImage(t, filepath.Join(dir, "inbox", "dong-ho-sai.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

	waitFor(t, "signing to stop", 3*time.Minute, func() bool { return strings.Contains(d.log.String(), "signing stopped") }, d.log)
	if !regexp.MustCompile(`the station's clock is (599|600) seconds behind the time-stamping authority's`).MatchString(d.log.String()) ||
		!strings.Contains(d.log.String(), "Set the clock (NTP)") {
		t.Errorf("the log does not say the clock is 600 seconds behind and to set it (NTP):\n%s", d.log)
	}
	// Not retried as an unreachable TSA would be: every try would be refused the same way.
	time.Sleep(3 * time.Second)
	if n := tsa.Requests(); n != 1 {
		t.Errorf("the TSA was asked %d times, want once", n)
	}
	if got := append(glob(outbox, "*"), glob(failed, "*")...); len(got) != 0 {
		t.Fatalf("with a wrong clock files went to the outbox or failed/: %v", got)
	}
	d.stop(t)

	// The clock set right, the station restarted: the waiting document is delivered.
	tsa.Set(tsatest.Options{})
	d = startDaemonEnv(t, cfg, env...)
	waitFor(t, "the document delivered once the clocks agree", 2*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 1
	}, d.log)
	d.stop(t)
	side := readTimestampFields(t, filepath.Join(outbox, "dong-ho-sai.json"))
	if side.Level == "B-B" || side.Note != "" {
		t.Errorf("sidecar: signature_level %q, timestamp_note %q; want a timestamped level and no note", side.Level, side.Note)
	}
}
