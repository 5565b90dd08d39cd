package station

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"scanstation/docmeta"
	"scanstation/journal"
)

// senderWaitsMsg is what the sender logs when it leaves a package the station is still delivering.
const senderWaitsMsg = "package left in the outbox until the station records its delivery"

// logRecorder keeps the messages logged, at every level.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

func (l *logRecorder) said(msgs ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if slices.Contains(msgs, m) {
			return true
		}
	}
	return false
}

// waitFor polls cond; the limit only keeps a broken run from hanging, it is no speed check.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// The crash-point harness's push path, step 29 or 30: the daemon was killed once the PDF,
// sidecar and edXML were named in the outbox but before the journal said delivered. At the
// restart the job resumes as signed and is delivered again while the sender makes its first
// pass. The sender leaves the package alone until the delivery is recorded, and the document
// reaches sent/ once, posted once. On the code before, the sender took the package at once and
// the resumed delivery wrote it again: two copies in sent/.
func TestSenderWaitsForAResumedDelivery(t *testing.T) {
	s, cfg := bareStation(t)
	ctx, cancel := context.WithCancel(context.Background())
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cfg.EdXML.Enabled, cfg.EdXML.OrganID, cfg.EdXML.OrganName = true, "000.00.00.H01", "UBND xã Hòa Bình"
	cfg.Push.URL = srv.URL
	cfg.Push.Rescan = time.Hour // passes come from the start and from Notify only
	logs := &logRecorder{}
	s.log = slog.New(logs)

	// The job as the killed run left it.
	original, pdf := []byte("scan of cong van"), []byte("%PDF-1.7 the signed copy of cong van")
	job := &journal.Job{Source: filepath.Join(cfg.HotFolders[0].Path, "cong-van-push.jpg"), SourceName: "cong-van-push.jpg", State: journal.Received}
	if err := s.journal.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	job.Spool, job.Work = s.spoolPath(job), filepath.Join(s.workDir, "cong-van-push.signed.pdf")
	job.SourceSize, job.SourceSHA256, job.OutputSHA256 = int64(len(original)), sum(original), sum(pdf)
	job.Signer, job.SignedAt, job.Pages = "CN=Văn thư", time.Date(2025, 12, 6, 9, 0, 0, 0, time.UTC), 1
	job.OutName, job.State = "cong-van-push", journal.Signed
	known := func(v string) docmeta.Field { return docmeta.Field{Value: v, Confidence: 1, Source: "supplied"} }
	record, err := json.Marshal(docmeta.Metadata{CodeNumber: known("2417"), CodeNotation: known("UBND-VP"), Place: known("Hòa Bình"),
		IssuedDate: known("2025-12-05"), TypeName: known("Công văn"), Subject: known("Lịch tiếp công dân")})
	if err != nil {
		t.Fatal(err)
	}
	job.Metadata = string(record)
	if err := os.WriteFile(job.Spool, original, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(job.Work, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.journal.Update(ctx, job); err != nil {
		t.Fatal(err)
	}
	envelope, note := s.envelope(job, pdf)
	if envelope == nil {
		t.Fatalf("no edXML package: %s", note)
	}
	side := s.sidecar(job)
	side.EdXML = note
	if err := s.box().Deliver(job.OutName, pdf, side, envelope); err != nil {
		t.Fatal(err)
	}

	// The restart: the sender starts, then the job resumes.
	snd, err := s.newSender()
	if err != nil {
		t.Fatal(err)
	}
	s.sender = snd
	done := make(chan struct{})
	go func() {
		defer close(done)
		snd.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, "the sender's first pass", func() bool { return logs.said("package sent", senderWaitsMsg) })
	if n := posts.Load(); n != 0 {
		t.Errorf("the sender posted a package whose delivery the journal does not record yet (%d posts)", n)
	}
	if err := s.deliver(ctx, job); err != nil {
		t.Fatalf("the resumed delivery: %v", err)
	}
	if got, _ := s.journal.Get(ctx, job.ID); got == nil || got.State != journal.Delivered {
		t.Fatalf("the resumed delivery is not recorded: %+v", got)
	}

	sent := filepath.Join(cfg.Folders.Outbox, "sent")
	waitFor(t, "the outbox to be pushed", func() bool {
		return len(glob(cfg.Folders.Outbox, "*.edxml")) == 0 && len(glob(cfg.Folders.Outbox, ".*.sending")) == 0 &&
			len(glob(sent, "*.edxml")) > 0
	})
	if got := glob(sent, "*.pdf"); len(got) != 1 {
		t.Errorf("sent/ holds %d copies of the document, want 1: %v", len(got), got)
	}
	if got := glob(sent, "*.edxml"); len(got) != 1 {
		t.Errorf("sent/ holds %d packages, want 1: %v", len(got), got)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("the package was posted %d times, want 1", n)
	}
}
