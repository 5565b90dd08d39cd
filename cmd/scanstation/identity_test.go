package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// numbered is an A5 scan whose page says number n, so two scans differ in their bytes.
func numbered(t *testing.T, path, n string) string {
	t.Helper()
	lines := append(samplescan.Text(samplescan.Options{})[:4], "Số: "+n+"/UBND-VP", "Kính gửi: Sở Nội vụ")
	writeImage(t, path, samplescan.Options{DPI: 200, Paper: "A5", Lines: lines}, "jpeg")
	_, sum := digest(t, path)
	return sum
}

// TestRecreatedJournalNeverTakesAnOldSpoolFile is finding 8 of issue 11: a journal made anew
// next to an old job 1's spool file gave its own job 1 the old file, delivered the old scan
// and recorded the new scan's hash. The station now refuses to start and says what is there
// and the way out; `journal rebuild` puts the old file in failed/ with a reason, and the new
// scan is then delivered with its own bytes.
func TestRecreatedJournalNeverTakesAnOldSpoolFile(t *testing.T) {
	dir, cfg := newStation(t)
	spool := filepath.Join(dir, "state", "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	oldSum := numbered(t, filepath.Join(spool, "1-scan.jpg"), "111")
	newScan := filepath.Join(dir, "inbox", "scan.jpg")
	newSum := numbered(t, newScan, "222")
	outbox := filepath.Join(dir, "outbox")

	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to refuse or deliver", 3*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "did not start") || len(glob(outbox, "*.json")) > 0
	}, d.log)
	for _, js := range glob(outbox, "*.json") {
		if side := readSidecar(t, js); side.SourceSHA256 == newSum && embeddedJPEGSum(t, strings.TrimSuffix(js, ".json")+".pdf") == oldSum {
			t.Errorf("%s certifies the old spool file's scan under the new scan's SHA-256 (false provenance)", js)
		}
	}
	log := d.log.String()
	for _, want := range []string{"did not start", "spool/1-scan.jpg", "scanstation journal rebuild --config " + cfg} {
		if !strings.Contains(log, want) {
			t.Errorf("the start next to an unknown spool file does not say %q:\n%s", want, log)
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("the refused daemon exits 0")
		}
	case <-time.After(time.Minute):
		d.cmd.Process.Kill()
		<-exited
		t.Errorf("the daemon went on running next to a journal that does not know the spool")
	}
	if n := len(glob(outbox, "*.pdf")); n != 0 {
		t.Fatalf("%d document(s) delivered next to a journal that does not know the spool", n)
	}
	if _, sum := digest(t, filepath.Join(spool, "1-scan.jpg")); sum != oldSum {
		t.Errorf("the old spool file was changed")
	}

	out, code := scanstation(t, nil, "journal", "rebuild", "--config", cfg)
	if code != 0 {
		t.Fatalf("journal rebuild exits %d:\n%s", code, out)
	}
	if !strings.Contains(out, "1 left in the spool and never delivered") {
		t.Errorf("journal rebuild does not count the spool file it put in failed/:\n%s", out)
	}
	if _, sum := digest(t, filepath.Join(dir, "failed", "scan.jpg")); sum != oldSum {
		t.Errorf("the old spool file is not in failed/ as scan.jpg")
	}
	if reason, err := os.ReadFile(filepath.Join(dir, "failed", "scan.jpg.error.txt")); err != nil || !strings.Contains(string(reason), "journal was lost") {
		t.Errorf("no reason beside the old spool file in failed/ (%v):\n%s", err, reason)
	}

	d = startDaemon(t, cfg)
	waitFor(t, "the new scan delivered", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "archive"), "scan*.jpg")) == 1
	}, d.log)
	d.stop(t)
	sidecars := glob(outbox, "*.json")
	if len(sidecars) != 1 {
		t.Fatalf("%d deliveries, want 1", len(sidecars))
	}
	side := readSidecar(t, sidecars[0])
	if side.SourceSHA256 != newSum {
		t.Errorf("the delivery records SHA-256 %s, want the new scan's %s", side.SourceSHA256, newSum)
	}
	if got := embeddedJPEGSum(t, strings.TrimSuffix(sidecars[0], ".json")+".pdf"); got != newSum {
		t.Errorf("the delivered PDF holds a scan with SHA-256 %s, want the new scan's %s (old: %s)", got, newSum, oldSum)
	}
}

// embeddedJPEGSum is the SHA-256 of the scan a delivered PDF embeds (the JPEG, byte for byte).
func embeddedJPEGSum(t *testing.T, pdf string) string {
	t.Helper()
	out := t.TempDir()
	tool(t, "pdfimages", "-j", pdf, filepath.Join(out, "img"))
	_, sum := digest(t, filepath.Join(out, "img-000.jpg"))
	return sum
}

// TestJournalDeletedUnderRunningDaemon: the daemon notices its journal file deleted, says so
// once, reports not ready and takes no new file; after `journal rebuild` a restart takes it.
func TestJournalDeletedUnderRunningDaemon(t *testing.T) {
	dir, cfg := newStation(t)
	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to be running", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)
	if err := os.Remove(filepath.Join(dir, "state", "journal.db")); err != nil {
		t.Fatal(err)
	}
	const says = "was deleted or replaced while the station ran; no new work is taken; restart the station after `scanstation journal rebuild`"
	waitFor(t, "the daemon to notice", time.Minute, func() bool { return strings.Contains(d.log.String(), says) }, d.log)

	addr := regexp.MustCompile(`address=http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.log.String())
	if addr == nil {
		t.Fatalf("the daemon did not say where its endpoint listens:\n%s", d.log)
	}
	resp, err := http.Get("http://" + addr[1] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "journal rebuild") {
		t.Errorf("/readyz = %d %q, want 503 naming the lost journal", resp.StatusCode, body)
	}

	scan := filepath.Join(dir, "inbox", "sau-khi-mat.jpg")
	sum := numbered(t, scan, "333")
	// The watcher reports a file within settle (0.7 s) or the rescan (2 s); give it several.
	time.Sleep(10 * time.Second)
	if _, err := os.Stat(scan); err != nil {
		t.Errorf("the daemon took a new file after its journal was deleted: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "state", "spool")); len(left) != 0 {
		t.Errorf("the spool holds %d file(s) after the journal was deleted", len(left))
	}
	if n := strings.Count(d.log.String(), says); n != 1 {
		t.Errorf("the lost journal is told %d times, want once:\n%s", n, d.log)
	}
	d.stop(t)

	if out, code := scanstation(t, nil, "journal", "rebuild", "--config", cfg); code != 0 {
		t.Fatalf("journal rebuild exits %d:\n%s", code, out)
	}
	d = startDaemon(t, cfg)
	waitFor(t, "the scan delivered after the rebuild", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 1
	}, d.log)
	d.stop(t)
	if side := readSidecar(t, glob(filepath.Join(dir, "outbox"), "*.json")[0]); side.SourceSHA256 != sum {
		t.Errorf("the delivery after the rebuild records SHA-256 %s, want %s", side.SourceSHA256, sum)
	}
}

// TestJournalRebuildBringsBackHistory: after the journal is lost, `journal rebuild` makes one
// from the outbox, archive and failed folders: history lists the delivered and the failed
// document, the same scan again is recognised as a duplicate, and the lost journal put back
// beside the rebuilt one's stamp is refused as a replacement.
func TestJournalRebuildBringsBackHistory(t *testing.T) {
	dir, cfg := newStation(t)
	good := filepath.Join(dir, "inbox", "good.jpg")
	numbered(t, good, "444")
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(filepath.Join(dir, "inbox", "half.jpg"), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	waitFor(t, "one scan delivered and one refused", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "archive"), "good*.jpg")) == 1 && len(glob(filepath.Join(dir, "failed"), "half*.error.txt")) == 1
	}, d.log)
	d.stop(t)
	state := filepath.Join(dir, "state")
	lost, err := os.ReadFile(filepath.Join(state, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(state, "journal.db"+s))
	}

	out, code := scanstation(t, nil, "journal", "rebuild", "--config", cfg)
	if code != 0 {
		t.Fatalf("journal rebuild exits %d:\n%s", code, out)
	}
	for _, want := range []string{"1 delivered", "1 failed", "generation 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("journal rebuild does not say %q:\n%s", want, out)
		}
	}
	out, code = scanstation(t, nil, "history", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("history exits %d:\n%s", code, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("history --format json: %v\n%s", err, out)
	}
	states := map[string]string{}
	for _, r := range rows {
		b, _ := json.Marshal(r)
		for _, name := range []string{"good", "half"} {
			if bytes.Contains(b, []byte(name)) {
				states[name] = strings.ToLower(string(b))
			}
		}
	}
	if !strings.Contains(states["good"], "archived") || !strings.Contains(states["good"], "good.pdf") {
		t.Errorf("history after the rebuild does not list good.jpg archived as good.pdf:\n%s", out)
	}
	if !strings.Contains(states["half"], "failed") || !strings.Contains(states["half"], "incomplete") {
		t.Errorf("history after the rebuild does not list half.jpg failed with its reason:\n%s", out)
	}

	// The same scan again is the same scan: flagged, with the earlier copy named.
	again := filepath.Join(dir, "good-again.jpg")
	if err := os.WriteFile(again, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := scanstation(t, nil, "process", "--config", cfg, again); code != 0 {
		t.Fatalf("process of the same scan again exits %d:\n%s", code, out)
	}
	var dup bool
	for _, js := range glob(filepath.Join(dir, "outbox"), "good-again*.json") {
		b, _ := os.ReadFile(js)
		dup = dup || strings.Contains(string(b), `"duplicate_of": "good.pdf"`)
	}
	if !dup {
		t.Errorf("the same scan after the rebuild is not recognised as a duplicate of good.pdf")
	}

	// The lost journal put back: it is not the one the state folder now belongs to.
	if err := os.Rename(filepath.Join(state, "journal.db"), filepath.Join(state, "rebuilt.db")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(filepath.Join(state, "journal.db"+s))
	}
	if err := os.WriteFile(filepath.Join(state, "journal.db"), lost, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = scanstation(t, nil, "process", "--config", cfg, again)
	if code == 0 || !strings.Contains(out, "was replaced") || !strings.Contains(out, "generation 1") {
		t.Errorf("a start with the lost journal put back is not refused as a replacement (%d):\n%s", code, out)
	}
}
