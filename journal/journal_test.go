package journal_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"scanstation/journal"
)

func openTemp(t *testing.T) (*journal.Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func newJob(source string) *journal.Job {
	return &journal.Job{
		Source:       source,
		SourceName:   filepath.Base(source),
		HotFolder:    filepath.Dir(source),
		SourceSize:   123456,
		SourceSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
}

func TestWriteReopenRead(t *testing.T) {
	ctx := context.Background()
	j, path := openTemp(t)

	job := newJob("/scans/in/Hồ sơ 001.tif")
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	if job.ID == 0 || job.Created.IsZero() || job.State != journal.Received {
		t.Fatalf("Add left ID=%d Created=%v State=%q; want an ID, a time and %q", job.ID, job.Created, job.State, journal.Received)
	}
	job.State = journal.Signed
	job.Spool = "/state/spool/1.tif"
	job.Work = "/state/work/1.pdf"
	job.OutName = "Hồ sơ 001"
	job.Pages = 3
	job.Languages = "vie+eng"
	job.MeanConfidence = 91.25
	job.Signer = "CN=Văn thư, O=Sở Nội vụ"
	job.SignedAt = time.Date(2025, 3, 4, 9, 30, 15, 123456789, time.FixedZone("ICT", 7*3600))
	job.OutputSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	job.Operator = "Nguyễn Thị Lan"
	job.ConvertedAt = time.Date(2025, 3, 4, 9, 29, 0, 0, time.UTC)
	job.Warnings = "page 2 is blank"
	job.ApprovedBy = "Trần Văn Bình"
	job.ApprovedAt = time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	job.MarkPlace = "top right"
	job.Level = "B-T"
	job.TimestampNote = ""
	job.StageTimes = map[string]time.Duration{
		journal.StageDecode: 120 * time.Millisecond,
		journal.StageOCR:    7 * time.Second,
		journal.StageBuild:  0, // measured, and took no time: kept apart from "not measured"
		journal.StageSign:   300 * time.Millisecond,
	}
	if err := j.Update(ctx, job); err != nil {
		t.Fatal(err)
	}
	if job.Updated.Before(job.Created) {
		t.Errorf("Updated %v is before Created %v", job.Updated, job.Created)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j2, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got, err := j2.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SignedAt.Equal(job.SignedAt) || !got.Created.Equal(job.Created) || !got.Updated.Equal(job.Updated) {
		t.Errorf("times after reopen: signed %v created %v updated %v; want %v %v %v",
			got.SignedAt, got.Created, got.Updated, job.SignedAt, job.Created, job.Updated)
	}
	// Times come back in UTC; compare the rest field by field.
	got.SignedAt, got.Created, got.Updated = job.SignedAt, job.Created, job.Updated
	if !reflect.DeepEqual(got, job) {
		t.Errorf("after reopen got\n%+v\nwant\n%+v", got, job)
	}
	if _, ok := got.StageTimes[journal.StageDeliver]; ok {
		t.Errorf("deliver time was never measured but reads back as %v", got.StageTimes[journal.StageDeliver])
	}
}

func TestFileModes(t *testing.T) {
	j, path := openTemp(t)
	if err := j.Add(context.Background(), newJob("/scans/a.tif")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state folder has mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestUnfinishedAndBySource(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)

	add := func(source string, state journal.State) *journal.Job {
		t.Helper()
		job := newJob(source)
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		job.State = state
		if err := j.Update(ctx, job); err != nil {
			t.Fatal(err)
		}
		return job
	}
	a := add("/in/a.tif", journal.Spooled)
	add("/in/b.tif", journal.Archived)
	c := add("/in/c.tif", journal.Received)
	add("/in/d.tif", journal.Failed)
	e := add("/in/a.tif", journal.Received) // a new file under a's old name

	jobs, err := j.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, job := range jobs {
		ids = append(ids, job.ID)
	}
	if want := []int64{a.ID, c.ID, e.ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Unfinished = %v, want %v (oldest first, no archived or failed)", ids, want)
	}

	got, err := j.BySource(ctx, "/in/a.tif")
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != e.ID {
		t.Errorf("BySource(a.tif) = %+v, want the newest unfinished job %d", got, e.ID)
	}
	for _, source := range []string{"/in/b.tif", "/in/d.tif", "/in/never.tif"} {
		got, err := j.BySource(ctx, source)
		if err != nil || got != nil {
			t.Errorf("BySource(%s) = %+v, %v; want nil, nil", source, got, err)
		}
	}
}

func TestGetMissing(t *testing.T) {
	j, _ := openTemp(t)
	if _, err := j.Get(context.Background(), 42); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Get(42) on an empty journal: err = %v, want ErrNotFound", err)
	}
	if err := j.Update(context.Background(), &journal.Job{ID: 42, State: journal.Spooled}); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Update of a missing job: err = %v, want ErrNotFound", err)
	}
}

func TestOnlyForward(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	job := newJob("/in/a.tif")
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to journal.State
		ok bool
	}{
		{journal.Spooled, true},
		{journal.Spooled, true}, // recording more about the same state
		{journal.Received, false},
		{journal.Delivered, true},
		{journal.Signed, false},
		{journal.Failed, true},
		{journal.Archived, false}, // terminal is terminal
		{journal.Failed, true},
		{"lost", false},
	}
	for _, s := range steps {
		before, err := j.Get(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		job.State = s.to
		err = j.Update(ctx, job)
		if (err == nil) != s.ok {
			t.Errorf("%s -> %s: err = %v, want ok=%v", before.State, s.to, err, s.ok)
		}
		after, _ := j.Get(ctx, job.ID)
		if !s.ok && after.State != before.State {
			t.Errorf("refused %s -> %s still changed the state to %s", before.State, s.to, after.State)
		}
		job.State = after.State
	}
}

func TestUnknownStageRefused(t *testing.T) {
	j, _ := openTemp(t)
	job := newJob("/in/a.tif")
	job.StageTimes = map[string]time.Duration{"coffee": time.Minute}
	if err := j.Add(context.Background(), job); err == nil {
		t.Error("Add with an unknown stage time succeeded; it would be silently dropped")
	}
}

func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	j, path := openTemp(t)
	const workers, rounds = 8, 25

	own := make([]*journal.Job, workers)
	for i := range own {
		own[i] = newJob(fmt.Sprintf("/in/%d.tif", i))
		if err := j.Add(ctx, own[i]); err != nil {
			t.Fatal(err)
		}
	}
	shared := newJob("/in/shared.tif")
	if err := j.Add(ctx, shared); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Go(func() {
			job := *own[w]
			mine := *shared
			for r := 1; r <= rounds; r++ {
				job.Pages = r
				job.State = journal.Spooled
				if err := j.Update(ctx, &job); err != nil {
					errs <- err
				}
				mine.Pages = w*1000 + r
				mine.Signer = fmt.Sprintf("worker %d", w)
				if err := j.Update(ctx, &mine); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Read through a second connection to the file, as a status command would.
	j2, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	for _, job := range own {
		got, err := j2.Get(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Pages != rounds || got.State != journal.Spooled {
			t.Errorf("job %d: pages %d state %s, want %d %s", job.ID, got.Pages, got.State, rounds, journal.Spooled)
		}
	}
	got, err := j2.Get(ctx, shared.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Whole rows are written in one transaction: pages and signer come from the same writer.
	if want := fmt.Sprintf("worker %d", got.Pages/1000); got.Signer != want || got.Pages%1000 != rounds {
		t.Errorf("shared job ended with pages %d signer %q: a torn or lost write", got.Pages, got.Signer)
	}
}

const killHelperEnv = "SCANSTATION_JOURNAL_KILL_HELPER"

// TestUpdateSurvivesKill runs itself as a child process that updates a job
// and is killed with SIGKILL the moment Update returns, without Close.
func TestUpdateSurvivesKill(t *testing.T) {
	if path := os.Getenv(killHelperEnv); path != "" {
		updateThenDie(path)
		t.Fatal("still alive after SIGKILL")
	}
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("helper process: err = %v, want killed; output:\n%s", err, out)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper process ended with %v, want SIGKILL; output:\n%s", err, out)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no write-ahead log left after the kill (%v): the test did not exercise recovery", err)
	}

	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, err := j.BySource(context.Background(), "/in/killed.tif")
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.State != journal.Delivered || got.OutName != "killed-7" || got.Pages != 7 {
		t.Fatalf("after kill -9 the journal has %+v, want the last update (delivered, killed-7, 7 pages)", got)
	}
}

func updateThenDie(path string) {
	ctx := context.Background()
	j, err := journal.Open(path)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	job := newJob("/in/killed.tif")
	if err := j.Add(ctx, job); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	for i, state := range []journal.State{journal.Spooled, journal.Signed, journal.Delivered} {
		job.State = state
		job.Pages = 5 + i
		job.OutName = fmt.Sprintf("killed-%d", job.Pages)
		if err := j.Update(ctx, job); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

func TestNewerSchemaRefused(t *testing.T) {
	j, path := openTemp(t)
	j.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("PRAGMA user_version = 99")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if j, err := journal.Open(path); err == nil {
		j.Close()
		t.Fatal("Open accepted a journal from a newer schema")
	}
}

func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	job := newJob("/in/bench.tif")
	if err := j.Add(ctx, job); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		job.Pages = i
		if err := j.Update(ctx, job); err != nil {
			b.Fatal(err)
		}
	}
}

// Delivering counts only the jobs that took the name and have not recorded their delivery: a
// name freed by the sender and taken again by later jobs belongs to the one still under way.
func TestDelivering(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	add := func(source, outName string, state journal.State) {
		t.Helper()
		job := newJob(source)
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		job.OutName, job.State = outName, state
		if err := j.Update(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	add("/in/a.tif", "a", journal.Archived)
	add("/in/b.tif", "b", journal.Delivered)
	add("/in/c.tif", "c", journal.Failed)
	add("/in/d.tif", "d", journal.Archived)
	add("/in/d.tif", "d", journal.Signed) // the same name again, being delivered
	for name, want := range map[string]bool{"a": false, "b": false, "c": false, "d": true, "never": false} {
		got, err := j.Delivering(ctx, name)
		if err != nil || got != want {
			t.Errorf("Delivering(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}
