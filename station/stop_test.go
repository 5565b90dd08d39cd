package station

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/journal"
	"scanstation/outbox"
)

// TestDeliveryRecordedWhileStopping: the station is told to stop (its context cancelled) right
// after a document's files are written into the outbox. The journal must still say delivered,
// so that a restart, after the exchange software (or the push sender) has taken the files
// away, does not deliver a second copy.
func TestDeliveryRecordedWhileStopping(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default(dir)
	j, err := journal.Open(filepath.Join(dir, "state", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := &Station{
		log:      slog.New(slog.DiscardHandler),
		journal:  j,
		zone:     time.UTC,
		spoolDir: filepath.Join(dir, "state", "spool"),
		workDir:  filepath.Join(dir, "state", "work"),
	}
	s.conf.Store(cfg)
	s.boxp.Store(&outbox.Box{Outbox: cfg.Folders.Outbox, Failed: cfg.Folders.Failed, Archived: cfg.Folders.Archive})
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive, s.spoolDir, s.workDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}

	original := []byte("the scanner's bytes")
	signed := []byte("%PDF-1.7 a signed copy\n%%EOF\n")
	job := &journal.Job{Source: filepath.Join(dir, "inbox", "cong-van.jpg"), SourceName: "cong-van.jpg", State: journal.Received}
	if err := j.Add(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	job.Spool = s.spoolPath(job)
	job.Work = filepath.Join(s.workDir, "1.pdf")
	job.SourceSize, job.SourceSHA256 = int64(len(original)), sum(original)
	job.OutputSHA256, job.SignedAt, job.State = sum(signed), time.Now(), journal.Signed
	if err := os.WriteFile(job.Spool, original, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(job.Work, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.Update(context.Background(), job); err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	s.afterDelivery = stop // SIGTERM arrives the moment the files are in the outbox
	err = s.deliver(ctx, job)
	s.afterDelivery = nil
	pdf := filepath.Join(cfg.Folders.Outbox, "cong-van.pdf")
	if _, serr := os.Stat(pdf); serr != nil {
		t.Fatalf("the delivery did not write its files (deliver: %v): %v", err, serr)
	}
	got, gerr := j.Get(context.Background(), job.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if got.State != journal.Delivered {
		t.Errorf("the files are in the outbox but the journal says %s after the stop (deliver: %v)", got.State, err)
	}

	// The exchange software takes the package, as it may at any moment.
	for _, ext := range []string{".pdf", ".json"} {
		if err := os.Remove(filepath.Join(cfg.Folders.Outbox, "cong-van"+ext)); err != nil {
			t.Fatal(err)
		}
	}
	// The restart resumes the job from the journal.
	out := s.advance(context.Background(), got, false, nil, nil)
	if out.Err != nil {
		t.Errorf("the restart did not finish the job: %v", out.Err)
	}
	if again := glob(cfg.Folders.Outbox, "cong-van*.pdf"); len(again) != 0 {
		t.Errorf("the restart delivered a second copy: %v", again)
	}
	if final, _ := j.Get(context.Background(), job.ID); final == nil || final.State != journal.Archived {
		t.Errorf("after the restart the job is not archived: %+v", final)
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func glob(dir, pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	return m
}
