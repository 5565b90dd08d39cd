package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"scanstation/journal"
	"scanstation/station"
)

// TestReviewEditCrashPoints is the crash-point harness's review path: a document waits for
// approval, and a clerk turns its page half round through the station's desk (the console's
// edit, in a small program, testdata/reviewedit, killed by SIGKILL at each durable step of the
// edit in turn). After each kill the station starts again, and the audit trail and the reading
// in use agree: the turn is in the trail if and only if the page reads turned, the work folder
// holds the one reading the journal names, and once the clerk approves, the signed copy's page
// is turned as the trail says; the four promises of the harness hold.
func TestReviewEditCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash points: skipped with -short")
	}
	helper := filepath.Join(t.TempDir(), "reviewedit")
	if out, err := exec.Command("go", "build", "-o", helper, "./testdata/reviewedit").CombinedOutput(); err != nil {
		t.Fatalf("build the review edit program: %v\n%s", err, out)
	}
	p := crashPath{name: "review", outcome: "delivered", dpi: 200, approve: true, want: `"approved_by"`,
		config: func(t *testing.T, dir, cfg string) {
			replaceInConfig(t, cfg, `approval: "none"`, `approval: "required"`)
		}}
	s := newCrashStation(t, p, crashScans(t, p))
	id := s.untilAwaiting(t)
	// What every run starts from: the folders the station writes, not the dev token's.
	snap := t.TempDir()
	mutable := []string{"state", "inbox", "outbox", "failed", "archive", "review"}
	for _, d := range mutable {
		copyTree(t, filepath.Join(s.dir, d), filepath.Join(snap, d))
	}
	restore := func(t *testing.T) {
		for _, d := range mutable {
			if err := os.RemoveAll(filepath.Join(s.dir, d)); err != nil {
				t.Fatal(err)
			}
			copyTree(t, filepath.Join(snap, d), filepath.Join(s.dir, d))
		}
	}
	edit := func(t *testing.T, env ...string) (killed bool, out string) {
		cmd := exec.Command(helper, s.cfg, strconv.FormatInt(id, 10), "1", "2", "Chị Lan")
		cmd.Env = append(append(os.Environ(), crashEnv...), env...)
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
			return true, string(b)
		}
		if err != nil {
			t.Fatalf("the turn failed: %v\n%s", err, b)
		}
		return false, string(b)
	}
	check := func(t *testing.T, when string, mustTurn bool) {
		turned := s.reviewAgrees(t, id, when)
		if mustTurn && !turned {
			t.Errorf("%s: the turn that completed is not in the audit trail", when)
		}
		if crashed, log := s.runUntil(t, p); crashed {
			t.Fatalf("%s: the restart crashed without a crash point:\n%s", when, log)
		}
		checkCrashInvariants(t, p, s, when)
		if got, want := signedRotation(t, s.outbox), map[bool]int{false: 0, true: 180}[turned]; got != want {
			t.Errorf("%s: the signed copy's page is turned %d°, the audit trail says %d°", when, got, want)
		}
	}

	trace := filepath.Join(t.TempDir(), "trace")
	if killed, out := edit(t, "SCANSTATION_CRASH_TRACE="+trace); killed {
		t.Fatalf("the traced turn was killed:\n%s", out)
	}
	steps := readTrace(t, trace)
	if countSteps(steps, "journal.update audited rotate") != 1 || countSteps(steps, "review.remove replaced reading") != 1 {
		t.Fatalf("the turn's steps do not include its record and the removal of the reading it replaced: %q", steps)
	}
	t.Logf("path review: %d crash points: %s", len(steps), strings.Join(steps, " | "))
	check(t, "the turn without a crash", true)

	for n := 1; n <= len(steps); n++ {
		t.Run(fmt.Sprintf("crash-at-%d", n), func(t *testing.T) {
			restore(t)
			killed, out := edit(t, "SCANSTATION_CRASH_AT="+strconv.Itoa(n))
			if !killed {
				t.Logf("step %d (%s) was not reached in this run", n, steps[n-1])
				return
			}
			check(t, fmt.Sprintf("killed at step %d (%s)", n, steps[n-1]), false)
			if t.Failed() {
				t.Logf("the turn killed at step %d:\n%s", n, out)
			}
		})
	}
}

// untilAwaiting runs the daemon until the dropped scan waits for approval, stops it, and
// returns the job's id.
func (s *crashStation) untilAwaiting(t *testing.T) int64 {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, "run", "--config", s.cfg), log: &syncBuffer{}}
	d.cmd.Env = append(append(os.Environ(), crashEnv...), s.env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.cmd.Wait()
	defer d.cmd.Process.Signal(os.Interrupt)
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, j := range s.jobs(t) {
			if j.State == journal.AwaitingApproval {
				return j.ID
			}
		}
	}
	t.Fatalf("the scan did not wait for approval within 3 minutes:\n%s", d.log)
	return 0
}

// reviewAgrees starts the station on the folders as a kill left them and checks that the
// audit trail and the reading in use tell the same story; it reports whether the page was
// turned.
func (s *crashStation) reviewAgrees(t *testing.T, id int64, when string) (turned bool) {
	t.Helper()
	cfg, err := loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.DiscardHandler), Command: "review crash test"})
	if err != nil {
		t.Fatalf("%s: the station does not start: %v", when, err)
	}
	defer st.Close()
	ctx := context.Background()
	desk := station.NewDesk(st, nil)
	trail, err := desk.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range trail {
		if e.Action == "rotate" {
			if turned {
				t.Errorf("%s: the turn is in the audit trail twice", when)
			}
			turned = true
		}
	}
	doc, err := desk.Document(ctx, id)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if want := map[bool]int{false: 0, true: 180}[turned]; len(doc.Pages) != 1 || doc.Pages[0].Orientation != want {
		t.Errorf("%s: the audit trail says the page is at %d° (turned: %v), the reading in use has %+v", when, want, turned, doc.Pages)
	}
	j, err := journal.Open(filepath.Join(s.stateDir, station.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	job, err := j.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	inUse := job.OCRFile
	if inUse == "" {
		inUse = fmt.Sprintf("%d.ocr.json", id)
	}
	readings, _ := filepath.Glob(filepath.Join(s.stateDir, "work", fmt.Sprintf("%d.ocr*", id)))
	if len(readings) != 1 || filepath.Base(readings[0]) != inUse {
		t.Errorf("%s: the work folder holds the readings %q, want only %s, the one the journal names", when, readings, inUse)
	}
	return turned
}

var rotateEntry = regexp.MustCompile(`/Rotate\s+(\d+)`)

// signedRotation is the /Rotate of the one signed copy's page in outbox.
func signedRotation(t *testing.T, outbox string) int {
	t.Helper()
	pdfs := glob(outbox, "*.pdf")
	if len(pdfs) != 1 {
		t.Fatalf("the outbox has %d PDFs, want 1", len(pdfs))
	}
	plain := filepath.Join(t.TempDir(), "plain.pdf")
	if out, err := exec.Command("qpdf", "--qdf", "--object-streams=disable", pdfs[0], plain).CombinedOutput(); err != nil {
		t.Fatalf("qpdf %s: %v\n%s", pdfs[0], err, out)
	}
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	m := rotateEntry.FindSubmatch(data)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// copyTree copies the folder src to dst with its files' modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, info.Mode().Perm())
		}
		return nil // a socket or a link: none the station writes
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
