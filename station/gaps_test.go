package station

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/journal"
	"scanstation/outbox"
)

// bareStation is a station on real folders and a real journal, without token or OCR: enough
// for the steps that only move files and record them.
func bareStation(t *testing.T) (*Station, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.Station.Language = "en" // the tests here read the reasons in English
	j, err := journal.Open(filepath.Join(dir, "state", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	s := &Station{
		log:      slog.New(slog.DiscardHandler),
		journal:  j,
		zone:     time.UTC,
		spoolDir: filepath.Join(dir, "state", "spool"),
		workDir:  filepath.Join(dir, "state", "work"),
	}
	s.conf.Store(cfg)
	s.boxp.Store(&outbox.Box{Outbox: cfg.Folders.Outbox, Failed: cfg.Folders.Failed, Archived: cfg.Folders.Archive})
	dirs := []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive, s.spoolDir, s.workDir}
	for _, hf := range cfg.HotFolders {
		dirs = append(dirs, hf.Path)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return s, cfg
}

// A spooled original that changed after its copy was delivered (a writer that still had it
// open) is not archived as the original of that copy: the copy stays delivered, the changed
// file goes to failed/ with a reason that says so.
func TestArchiveKeepsAsideAnOriginalChangedAfterDelivery(t *testing.T) {
	s, cfg := bareStation(t)
	ctx := context.Background()
	hashed := []byte("page 1")
	job := &journal.Job{Source: filepath.Join(cfg.HotFolders[0].Path, "to-trinh.jpg"), SourceName: "to-trinh.jpg", State: journal.Received}
	if err := s.journal.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	job.Spool, job.OutName, job.State = s.spoolPath(job), "to-trinh", journal.Delivered
	job.SourceSize, job.SourceSHA256 = int64(len(hashed)), sum(hashed)
	if err := os.WriteFile(job.Spool, []byte("page 1 and page 2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.journal.Update(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := s.archive(ctx, job); err != nil {
		t.Fatalf("archive: %v", err)
	}
	if got := glob(cfg.Folders.Archive, "*"); len(got) != 0 {
		t.Errorf("bytes other than those certified went to the archive: %v", got)
	}
	reason, err := os.ReadFile(filepath.Join(cfg.Folders.Failed, "to-trinh.jpg.error.txt"))
	if err != nil {
		t.Fatalf("the changed file is not kept in failed/ with a reason: %v (failed/: %v)", err, glob(cfg.Folders.Failed, "*"))
	}
	if !strings.Contains(string(reason), "changed after its copy to-trinh.pdf was certified") {
		t.Errorf("the reason does not say the file changed after its copy was certified:\n%s", reason)
	}
	if got, _ := os.ReadFile(filepath.Join(cfg.Folders.Failed, "to-trinh.jpg")); string(got) != "page 1 and page 2" {
		t.Errorf("failed/ does not hold the changed bytes: %q", got)
	}
	if final, _ := s.journal.Get(ctx, job.ID); final == nil || final.State != journal.Archived {
		t.Errorf("the delivered job is not finished: %+v", final)
	}
}

// A job that fails before spooling moves its own file to failed/, never another file saved
// under the same name since.
func TestFailMovesOnlyTheJobsOwnFile(t *testing.T) {
	s, cfg := bareStation(t)
	ctx := context.Background()
	path := filepath.Join(cfg.HotFolders[0].Path, "cong-van.jpg")
	if err := os.WriteFile(path, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	job := &journal.Job{Source: path, SourceName: "cong-van.jpg", State: journal.Received, FailedStage: "decode", Reason: "cong-van.jpg: not a scan"}
	f.recordIn(job)
	if err := s.journal.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	// Replaced: the first file went away and a new scan was saved under its name.
	os.Remove(path)
	if err := os.WriteFile(path, []byte("second, a new scan"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.fail(ctx, job, false, Outcome{})
	if got, _ := os.ReadFile(path); string(got) != "second, a new scan" {
		t.Errorf("the new file saved under the failed job's name was moved away (hot-folder has %q; failed/: %v)", got, glob(cfg.Folders.Failed, "*"))
	}
}

// An error that passes (EIO) while a hot-folder file is first hashed does not refuse the
// file: it is not taken now and is tried again. /proc/self/mem answers EIO to a read at 0.
func TestTransientErrorWhileFirstHashingWaits(t *testing.T) {
	s, cfg := bareStation(t)
	ctx := context.Background()
	path := filepath.Join(cfg.HotFolders[0].Path, "scan.jpg")
	if err := os.Symlink("/proc/self/mem", path); err != nil {
		t.Fatal(err)
	}
	if _, err := fileDigest(path); err == nil || !transient(err) {
		t.Skipf("reading /proc/self/mem does not give EIO here: %v", err)
	}
	out := s.runOne(ctx, work{source: path}, nil)
	if !out.Waiting || !out.retry {
		t.Errorf("the file is not left to be tried again: %+v", out)
	}
	if jobs, _ := s.journal.Unfinished(ctx); len(jobs) != 0 {
		t.Errorf("a job was recorded for a file that could not be read now: %+v", jobs)
	}
	if failed, _ := s.journal.InState(ctx, journal.Failed); len(failed) != 0 {
		t.Errorf("the file failed for an error that passes: %+v", failed[0].Reason)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("the file left the hot-folder: %v", err)
	}
}

// Tries of a waiting input back off: 10 s, doubling, at most 5 min.
func TestRetryBacksOffToACap(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := retryDelay(n); got != w {
			t.Errorf("wait before try %d: %v, want %v", n+1, got, w)
		}
	}
	if got := retryDelay(1000); got != maxRetry {
		t.Errorf("wait after 1000 tries: %v, want the cap %v", got, maxRetry)
	}
	// A wait that ends is what wakes the inputs that back off.
	s, _ := bareStation(t)
	before := s.waits.ended()
	s.waitFor(Waiting{Key: "archive", Place: "archive", What: "archive unavailable", Since: time.Now()}, os.ErrNotExist)
	s.waitOver("archive")
	if s.waits.ended() == before {
		t.Error("the end of a wait is not counted; inputs that back off would sleep on after the cause cleared")
	}
}
