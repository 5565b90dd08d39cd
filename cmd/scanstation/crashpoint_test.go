package main

// The crash-point harness: the station's durable steps are named (internal/crashpoint); the
// daemon is run once with a trace to learn how many steps K a document's path has, then once
// for each N in 1..K with SCANSTATION_CRASH_AT=N, which kills it by SIGKILL at step N. A
// daemon without it then finishes the work, and the four promises are checked:
//
//  1. each input is exactly once in the outbox, or exactly once in failed/ with its reason;
//  2. the delivered record's source hash = the archived original's hash = the SHA-256 of the
//     bytes as dropped;
//  3. no debris in the hot-folder, state/spool, state/work, review/ or under temporary names;
//  4. the journal's history matches the folders.
//
// `go test` runs every point of the plain path and a deterministic sample of the others' (the
// first and last few and others spread between); SCANSTATION_CRASH_ALL=1 (make soak) runs every
// point of every path.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/internal/samplescan"
	"scanstation/journal"
	"scanstation/station"
)

// crashPath is one way a document goes through the station.
type crashPath struct {
	name    string
	outcome string // "delivered" or "failed": where the input must end
	config  func(t *testing.T, dir, cfg string)
	dpi     float64 // of the sample scan (A5, a few lines); 150 fails the quality gate (min_dpi 200); 0: the whole sample letter
	approve bool    // the clerk approves it when it waits
	push    bool    // packages are pushed to a loopback exchange and moved to outbox/sent
	// during is called while a daemon runs, with its log so far (the disk-full path frees
	// space once the station has said the disk is full).
	during func(t *testing.T, s *crashStation, log string)
	want   string // delivered: a word the sidecar must hold; failed: a word of the reason
	// docs is how many scans are dropped at once (0: one); with several, goroutines may take
	// their steps in another order from run to run, and the checks hold for every input.
	docs int
	// crashApprove: the crash points are those of `scanstation approve` (its journal.decide),
	// not the daemon's, which runs on without a crash.
	crashApprove bool
	// traced checks the steps of the run without a crash: that it tests what it says.
	traced func(t *testing.T, steps []string)
	// batch: the input is a batch the hot-folder divides by separator sheets (batchScan), and
	// the checks are checkBatchInvariants'.
	batch bool
}

func replaceInConfig(t *testing.T, cfg, old, new string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q to replace", cfg, old)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), old, new, 1)), 0o640); err != nil {
		t.Fatal(err)
	}
}

var crashPaths = []crashPath{
	{name: "plain", outcome: "delivered", dpi: 200},
	{name: "approval", outcome: "delivered", dpi: 200, approve: true, want: `"approved_by"`,
		config: func(t *testing.T, dir, cfg string) {
			replaceInConfig(t, cfg, `approval: "none"`, `approval: "required"`)
		}},
	{name: "warn", outcome: "delivered", dpi: 150, want: `"warnings"`,
		config: func(t *testing.T, dir, cfg string) {
			replaceInConfig(t, cfg, `on_fail: "reject"`, `on_fail: "warn"`)
		}},
	{name: "reject", outcome: "failed", dpi: 150, want: "150 dpi"},
	{name: "otherfs", outcome: "delivered", dpi: 200, config: otherFilesystem},
	// The whole sample letter (organ, number, subject on page 1): the record an edXML
	// package needs, without which nothing is pushed.
	{name: "push", outcome: "delivered", push: true},
	{name: "diskfull", outcome: "delivered", dpi: 200, config: fullOutbox, during: freeOutbox},
	// The clerk's `scanstation approve` killed right after its decision is committed; the clerk
	// approves again (told it is already approved) and the station signs and delivers once.
	{name: "approvecrash", outcome: "delivered", dpi: 200, approve: true, crashApprove: true, want: `"approved_by"`,
		config: func(t *testing.T, dir, cfg string) {
			replaceInConfig(t, cfg, `approval: "none"`, `approval: "required"`)
		}},
	// Three scans dropped at once, one OCR engine (signing is one token, serial anyway).
	{name: "several", outcome: "delivered", dpi: 200, docs: 3,
		config: func(t *testing.T, dir, cfg string) {
			replaceInConfig(t, cfg, "workers: 0", "workers: 1")
		}},
	// The outbox has room for the PDF and not for its sidecar: ENOSPC part-way through the
	// delivery's files, nothing of it named; delivered once when space is freed.
	// A batch divided by separator sheets into two documents: one delivered, one refused for
	// its page count; the original archived with its batch record once both are done.
	{name: "batch", batch: true, config: func(t *testing.T, dir, cfg string) {
		replaceInConfig(t, cfg, `separate: "none"`, `separate: "separator_sheet"`)
	}},
	{name: "partfull", outcome: "delivered", dpi: 200, config: partFullOutbox, during: freeOutbox,
		traced: func(t *testing.T, steps []string) {
			// One PDF written before the disk was full, then the PDF and sidecar of the delivery.
			if n := countSteps(steps, "outbox.temp written"); n < 3 {
				t.Fatalf("the outbox's temporary files were written %d times, want at least 3 (the PDF before the sidecar met the full disk, then both): the PDF did not fit, or the sidecar did", n)
			}
		}},
	// B-LTA with the OCSP responder away at signing: the signed copy awaits validation in the
	// state folder and is finished and delivered when the responder answers (at 127.0.0.1:9478,
	// the address a dev station's certificates name).
	{name: "awaitvalidation", outcome: "delivered", dpi: 200, config: awaitValidationConfig, during: ocspComesBack, want: `"signature_level": "B-LTA"`,
		traced: func(t *testing.T, steps []string) {
			if countSteps(steps, "journal.update awaiting_validation") != 1 {
				t.Fatalf("the copy was not recorded awaiting validation once: %q", steps)
			}
		}},
}

func countSteps(steps []string, name string) int {
	n := 0
	for _, s := range steps {
		if s == name {
			n++
		}
	}
	return n
}

// otherFilesystem puts the hot-folder, outbox, failed/ and archive/ on a tmpfs of their own,
// so that every move between them and the state folder crosses filesystems (copy, flush,
// remove) as with a network share or a second disk.
func otherFilesystem(t *testing.T, dir, cfg string) {
	t.Helper()
	far := filepath.Join(dir, "far")
	if err := os.Mkdir(far, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "scanstation-crash", far).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root and mount rights): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", far).Run() })
	for _, d := range []string{"inbox", "outbox", "failed", "archive"} {
		if err := os.Mkdir(filepath.Join(far, d), 0o755); err != nil {
			t.Fatal(err)
		}
		// The config names each folder once, quoted.
		replaceInConfig(t, cfg, strconv.Quote(filepath.Join(dir, d)), strconv.Quote(filepath.Join(far, d)))
	}
}

// fullOutbox puts the outbox on a small tmpfs and fills it: the delivery meets a full disk,
// the station pauses, and freeOutbox gives the space back once it has said so.
func fullOutbox(t *testing.T, dir, cfg string) {
	t.Helper()
	outbox := filepath.Join(dir, "outbox")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "scanstation-full", outbox).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root and mount rights): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", outbox).Run() })
	// The folder marker the mount hides, written again before the disk is full, as the
	// sysadmin marks a new share: the station takes an unmarked outbox for one not mounted.
	if err := os.WriteFile(filepath.Join(outbox, station.MarkerName), []byte("scanstation\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	fill := exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(outbox, "filler.bin"), "bs=4k")
	fill.Run() // ends with "No space left on device", as it should
}

// partFullPDF is the size of the plain path's signed PDF, learned once by a run without a crash.
var partFullPDF int64

// partFullOutbox is fullOutbox with room left for the PDF, in whole pages of the tmpfs, and
// none for the sidecar: the disk fills part-way through the delivery's files.
func partFullOutbox(t *testing.T, dir, cfg string) {
	t.Helper()
	if partFullPDF == 0 {
		// The same scan and name without the full disk: a PDF of the same size, give or
		// take a signature's bytes.
		p := crashPath{name: "partfull", outcome: "delivered", dpi: 200}
		s := newCrashStation(t, p, crashScans(t, p))
		if crashed, log := s.runUntil(t, p); crashed {
			t.Fatalf("the run to measure the PDF crashed:\n%s", log)
		}
		pdfs := glob(s.outbox, "*.pdf")
		if len(pdfs) != 1 {
			t.Fatalf("the run to measure the PDF delivered %d PDFs", len(pdfs))
		}
		info, err := os.Stat(pdfs[0])
		if err != nil {
			t.Fatal(err)
		}
		partFullPDF = info.Size()
	}
	fullOutbox(t, dir, cfg)
	filler := filepath.Join(dir, "outbox", "filler.bin")
	info, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	room := (partFullPDF + page - 1) / page * page
	if err := os.Truncate(filler, info.Size()-room); err != nil {
		t.Fatal(err)
	}
}

func freeOutbox(t *testing.T, s *crashStation, log string) {
	filler := filepath.Join(s.outbox, "filler.bin")
	if _, err := os.Stat(filler); err == nil && strings.Contains(log, "the disk is full") {
		// Nothing of a delivery that met the full disk is named in the outbox (temporary
		// dot-names are not names the exchange software takes).
		for _, e := range readDirNames(s.outbox) {
			if e != "filler.bin" && !strings.HasPrefix(e, ".") {
				t.Errorf("the disk is full and the outbox names %s", e)
			}
		}
		if err := os.Remove(filler); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// crashStation is one fresh station for one run of a path, with the folders the checks read.
type crashStation struct {
	dir, cfg                                         string
	inbox, outbox, failed, archive, review, stateDir string
	inputs                                           []string // the dropped files' names
	sums                                             []string // their SHA-256 as dropped, in the same order
	env                                              []string
	exchange                                         *exchange // the push path's endpoint
	// approveEnv is given to the next `scanstation approve` (the approvecrash path's crash
	// point); approveKilled says it was killed by it.
	approveEnv    []string
	approveKilled bool
}

func newCrashStation(t *testing.T, p crashPath, scans [][]byte) *crashStation {
	t.Helper()
	dir, cfg := newStation(t)
	// A kill at a step of one document can land inside SoftHSM2's rewrite of its token files
	// at another's login (several: found at step 23, "no token is inserted" on the restart):
	// the test token's storage, not the station's.
	freezeDevTokenStore(t, dir)
	if p.config != nil {
		p.config(t, dir, cfg)
	}
	s := &crashStation{dir: dir, cfg: cfg, stateDir: filepath.Join(dir, "state"), review: filepath.Join(dir, "review")}
	loaded, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.inbox = loaded.HotFolders[0].Path
	s.outbox, s.failed, s.archive = loaded.Folders.Outbox, loaded.Folders.Failed, loaded.Folders.Archive
	s.review, s.stateDir = loaded.Folders.Review, loaded.Folders.State
	if p.push {
		s.exchange = &exchange{stored: map[string][]byte{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: s.exchange}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		s.env = []string{"SCANSTATION_PUSH_URL=http://" + ln.Addr().String() + "/edxml",
			"SCANSTATION_PUSH_MIN_BACKOFF=200ms", "SCANSTATION_PUSH_MAX_BACKOFF=1s", "SCANSTATION_PUSH_RESCAN=1s"}
	}
	// Written beside the hot-folder and renamed in, so the watcher never sees half a file;
	// several are written first and renamed in one after another, as fast as can be.
	for i, scan := range scans {
		sum := sha256.Sum256(scan)
		s.sums = append(s.sums, hex.EncodeToString(sum[:]))
		name := "cong-van-" + p.name + ".jpg"
		if p.batch {
			name = "cong-van-" + p.name + ".tif"
		}
		if len(scans) > 1 {
			name = fmt.Sprintf("cong-van-%s-%d.jpg", p.name, i+1)
		}
		s.inputs = append(s.inputs, name)
		if err := os.WriteFile(filepath.Join(s.inbox, fmt.Sprintf(".incoming-%d", i)), scan, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range s.inputs {
		if err := os.Rename(filepath.Join(s.inbox, fmt.Sprintf(".incoming-%d", i)), filepath.Join(s.inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// jobs reads the journal: every job, oldest first.
func (s *crashStation) jobs(t *testing.T) []journal.Job {
	t.Helper()
	path := filepath.Join(s.stateDir, "journal.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	j, err := journal.Open(path)
	if err != nil {
		t.Fatalf("open the journal: %v", err)
	}
	defer j.Close()
	jobs, err := j.History(context.Background(), journal.Filter{Limit: 1000})
	if err != nil {
		t.Fatalf("read the journal: %v", err)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
	return jobs
}

// done reports whether the journal has the input and every job is terminal, and, with push,
// the outbox has nothing left to send.
func (s *crashStation) done(t *testing.T) bool {
	if s.exchange != nil && (len(glob(s.outbox, "*.edxml")) > 0 || len(glob(s.outbox, ".*")) > 0) {
		return false
	}
	jobs := s.jobs(t)
	if len(jobs) < len(s.inputs) {
		return false
	}
	for _, j := range jobs {
		if !j.State.Terminal() {
			return false
		}
	}
	return true
}

// approveWaiting approves the jobs that wait for the clerk, as `scanstation approve` does.
func (s *crashStation) approveWaiting(t *testing.T) {
	t.Helper()
	for _, j := range s.jobs(t) {
		if j.State == journal.AwaitingApproval && j.ApprovedBy == "" && j.Reason == "" {
			id := strconv.FormatInt(j.ID, 10)
			out, code := scanstation(t, s.approveEnv, "approve", "--config", s.cfg, id, "--by", "Trần Văn Bình")
			if s.approveEnv != nil {
				s.approveEnv = nil
				if code == -1 { // killed by its crash point: the clerk tries again
					s.approveKilled = true
					out, code = scanstation(t, nil, "approve", "--config", s.cfg, id, "--by", "Trần Văn Bình")
					if code == 1 && strings.Contains(out, "already approved by Trần Văn Bình") {
						continue // the first approval was committed before the kill, and counts
					}
				}
			}
			if code != 0 {
				t.Fatalf("approve %d: %s", j.ID, out)
			}
		}
	}
}

// crashEnv is what every harness daemon gets: fast watching, and the status file (written on
// a timer, not a step of a document) left out of the count.
var crashEnv = append(append([]string{}, fastWatch...), "SCANSTATION_CRASH_SKIP=status.json")

// runUntil runs the daemon with env until it dies by itself (a crash point) or the work is
// done, approving when the path asks. It reports whether the daemon was killed at a crash
// point.
func (s *crashStation) runUntil(t *testing.T, p crashPath, env ...string) (crashed bool, log string) {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, "run", "--config", s.cfg), log: &syncBuffer{}}
	d.cmd.Env = append(append(append(os.Environ(), crashEnv...), s.env...), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
				return true, d.log.String()
			}
			t.Fatalf("the daemon stopped by itself (%v):\n%s", err, d.log)
		case <-time.After(200 * time.Millisecond):
		}
		if p.approve {
			s.approveWaiting(t)
		}
		if p.during != nil {
			p.during(t, s, d.log.String())
		}
		if s.done(t) && strings.Contains(d.log.String(), "station running") {
			d.cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
					return true, d.log.String() // killed at a step while stopping
				}
				if err != nil {
					t.Fatalf("the daemon did not stop cleanly: %v\n%s", err, d.log)
				}
			case <-time.After(time.Minute):
				d.cmd.Process.Kill()
				t.Fatalf("the daemon did not stop within a minute of SIGINT:\n%s", d.log)
			}
			return false, d.log.String()
		}
		if time.Now().After(deadline) {
			d.cmd.Process.Kill()
			<-exited
			t.Fatalf("the work was not done after 3 minutes:\n%s", d.log)
		}
	}
}

// crashScans are the sample scans of a path (one unless it drops several, each with its own
// number, so each has its own bytes).
func crashScans(t *testing.T, p crashPath) [][]byte {
	if p.batch {
		return [][]byte{batchScan(t)}
	}
	scans := [][]byte{crashScan(t, p.dpi, 12)}
	for i := 1; i < p.docs; i++ {
		scans = append(scans, crashScan(t, p.dpi, 12+i))
	}
	return scans
}

// crashScan is the sample scan of a path: small, so a run takes a few seconds.
func crashScan(t *testing.T, dpi float64, number int) []byte {
	t.Helper()
	opt := samplescan.Options{DPI: dpi, Paper: "A5", Lines: wordy("CÔNG VĂN", fmt.Sprintf("Số: %d/UBND-VP", number))}
	if dpi == 0 {
		opt, dpi = samplescan.Options{}, 300
	}
	img, err := samplescan.Render(opt)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := samplescan.WriteJPEG(&b, img, dpi, 80); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// readTrace returns the step names of a trace file, in order.
func readTrace(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		idx, name, _ := strings.Cut(sc.Text(), " ")
		if n, err := strconv.Atoi(idx); err != nil || n != len(names)+1 {
			t.Fatalf("trace %s: line %q out of order", path, sc.Text())
		}
		names = append(names, name)
	}
	return names
}

// samplePoints is 1..k in full when want is 0 or at least k; else about want points: the
// first and last few (a third of want, at most three each) and others spread evenly between.
func samplePoints(k, want int) []int {
	if want <= 0 || k <= want {
		all := make([]int, k)
		for i := range all {
			all[i] = i + 1
		}
		return all
	}
	edge := min(want/3, 3)
	seen := map[int]bool{}
	var pts []int
	add := func(n int) {
		if n >= 1 && n <= k && !seen[n] {
			seen[n] = true
			pts = append(pts, n)
		}
	}
	for n := 1; n <= edge; n++ {
		add(n)
		add(k + 1 - n)
	}
	between := want - 2*edge
	for i := 1; i <= between; i++ {
		add(edge + i*(k-2*edge)/(between+1))
	}
	sort.Ints(pts)
	return pts
}

// crashSample is how many points of a path `go test` runs; 0 means all of them. The plain
// path (about 35 points, 2 s each) runs in full, the others in part: all of them take about
// five minutes on the shared 2-core machine. SCANSTATION_CRASH_ALL=1 (make soak) runs every
// point of every path.
func crashSample(p crashPath) int {
	switch {
	case os.Getenv("SCANSTATION_CRASH_ALL") != "" || p.name == "plain":
		return 0
	case p.name == "diskfull" || p.name == "partfull": // each run waits 10 s for the station's retry
		return 2
	case p.name == "several": // about 100 points, three documents each
		return 4
	}
	return 5
}

func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash points: skipped with -short")
	}
	only := os.Getenv("SCANSTATION_CRASH_PATHS") // e.g. "plain,reject" to run some paths
	for _, p := range crashPaths {
		if only != "" && !strings.Contains(","+only+",", ","+p.name+",") {
			continue
		}
		t.Run(p.name, func(t *testing.T) { runCrashPath(t, p) })
	}
}

func runCrashPath(t *testing.T, p crashPath) {
	scans := crashScans(t, p)
	started := time.Now()

	// The whole path once, with a trace: its steps.
	s := newCrashStation(t, p, scans)
	tracePath := filepath.Join(t.TempDir(), "trace")
	if crashed, log := s.crashRun(t, p, tracePath, 0); crashed {
		t.Fatalf("the traced run crashed:\n%s", log)
	}
	steps := readTrace(t, tracePath)
	if len(steps) == 0 {
		t.Fatal("the path has no crash points: the hooks are not reached")
	}
	if p.traced != nil {
		p.traced(t, steps)
	}
	checkCrashInvariants(t, p, s, "the run without a crash")
	t.Logf("path %s: %d crash points: %s", p.name, len(steps), strings.Join(steps, " | "))

	points := samplePoints(len(steps), crashSample(p))
	if only := os.Getenv("SCANSTATION_CRASH_POINTS"); only != "" { // e.g. "18,19" to replay a finding
		points = nil
		for _, f := range strings.Split(only, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n >= 1 && n <= len(steps) {
				points = append(points, n)
			}
		}
	}
	broken, notReached, reordered := 0, 0, 0
	for _, n := range points {
		ok := t.Run(fmt.Sprintf("crash-at-%d", n), func(t *testing.T) {
			s := newCrashStation(t, p, scans)
			trace := filepath.Join(t.TempDir(), "trace")
			crashed, log := s.crashRun(t, p, trace, n)
			// The step killed at: the same as the traced run's, unless goroutines (the sender,
			// the signer) took their steps in another order this time.
			at := steps[n-1]
			if got := readTrace(t, trace); len(got) == n {
				at = got[n-1]
				if strings.Join(got, "\n") != strings.Join(steps[:n], "\n") {
					reordered++
				}
			}
			if !crashed {
				// Fewer steps this time (timing): nothing was tested at n, say so.
				notReached++
				t.Logf("step %d (%s) was not reached in this run", n, at)
				return
			}
			log2 := ""
			if !p.crashApprove { // else the daemon was not killed: it went on after the clerk's second try
				if crashed, log2 = s.runUntil(t, p); crashed {
					t.Fatalf("the restart crashed without a crash point:\n%s\n%s", log, log2)
				}
			}
			checkCrashInvariants(t, p, s, fmt.Sprintf("killed at step %d (%s)", n, at))
			if t.Failed() { // what the station said, to find the cause
				t.Logf("the run killed at step %d:\n%s\nthe restart:\n%s", n, log, log2)
			}
		})
		if !ok {
			broken++
		}
	}
	t.Logf("path %s: %d crash points, %d run, %d broke an invariant, %d not reached, %d reached in another order than the traced run; %v",
		p.name, len(steps), len(points), broken, notReached, reordered, time.Since(started).Round(time.Second))
}

// crashRun runs the path once with a trace, killed at step n (0: never). The approvecrash
// path's steps are those of `scanstation approve`; the daemon runs on without a crash, and
// crashed reports whether approve was killed.
func (s *crashStation) crashRun(t *testing.T, p crashPath, trace string, n int) (crashed bool, log string) {
	t.Helper()
	env := []string{"SCANSTATION_CRASH_TRACE=" + trace}
	if n > 0 {
		env = append(env, "SCANSTATION_CRASH_AT="+strconv.Itoa(n))
	}
	if !p.crashApprove {
		return s.runUntil(t, p, env...)
	}
	s.approveEnv = env
	if crashed, log = s.runUntil(t, p); crashed {
		t.Fatalf("the daemon crashed without a crash point:\n%s", log)
	}
	if s.approveEnv != nil {
		t.Fatalf("the station delivered without the clerk's approval")
	}
	return s.approveKilled, log
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	_, sum := digest(t, path)
	return sum
}

// checkCrashInvariants checks the four promises on a station whose work is done.
func checkCrashInvariants(t *testing.T, p crashPath, s *crashStation, when string) {
	t.Helper()
	if p.batch {
		checkBatchInvariants(t, s, when)
		return
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s, path %s: %s", when, p.name, fmt.Sprintf(format, args...))
	}

	// 1 and 2: where each input is, and that it is the bytes dropped.
	dropped := map[string]string{} // SHA-256 as dropped: the input's name
	for i, sum := range s.sums {
		dropped[sum] = s.inputs[i]
	}
	delivered, inFailed, archived := map[string]int{}, map[string]int{}, map[string]int{}
	var sidecars []string
	delivery := []string{s.outbox}
	if p.push {
		delivery = append(delivery, filepath.Join(s.outbox, "sent"))
	}
	var jsons []string
	for _, d := range delivery {
		jsons = append(jsons, glob(d, "*.json")...)
		for _, pdf := range glob(d, "*.pdf") {
			if _, err := os.Stat(strings.TrimSuffix(pdf, ".pdf") + ".json"); err != nil {
				fail("%s is in the outbox without its sidecar", pdf)
			}
		}
		for _, e := range readDirNames(d) {
			if strings.HasPrefix(e, ".") || strings.HasSuffix(e, ".tmp") {
				fail("temporary file left behind: %s", filepath.Join(d, e))
			}
		}
	}
	for _, js := range jsons {
		side := readSidecar(t, js)
		sidecars = append(sidecars, filepath.Base(js))
		if _, ok := dropped[side.SourceSHA256]; !ok {
			fail("%s names source SHA-256 %s, not a dropped file's %v", js, side.SourceSHA256, s.sums)
			continue
		}
		delivered[side.SourceSHA256]++
		pdf := strings.TrimSuffix(js, ".json") + ".pdf"
		if _, err := os.Stat(pdf); err != nil {
			fail("%s has no PDF beside it", js)
		} else if sha256File(t, pdf) != side.OutputSHA256 {
			fail("%s does not match the SHA-256 its sidecar gives", pdf)
		}
		data, _ := os.ReadFile(js)
		if p.want != "" && !strings.Contains(string(data), p.want) {
			fail("the sidecar %s does not hold %s:\n%s", js, p.want, data)
		}
	}
	if p.push {
		sent := glob(filepath.Join(s.outbox, "sent"), "*.edxml")
		sentBytes := map[string]bool{}
		for _, f := range sent {
			data, _ := os.ReadFile(f)
			sentBytes[string(data)] = true
		}
		keys := map[string]bool{}
		s.exchange.mu.Lock()
		for k, body := range s.exchange.stored {
			keys[k] = true
			if !sentBytes[string(body)] {
				fail("the exchange holds other bytes under %s than the packages in sent/", k)
			}
		}
		s.exchange.mu.Unlock()
		if len(keys) != len(s.inputs) || len(sent) != len(s.inputs) {
			fail("the exchange holds %d packages (by idempotency key) and sent/ %d, want %d and %d", len(keys), len(sent), len(s.inputs), len(s.inputs))
		}
	}
	for _, f := range glob(s.failed, "*") {
		if strings.HasSuffix(f, ".error.txt") {
			continue
		}
		sum := sha256File(t, f)
		if _, ok := dropped[sum]; !ok {
			fail("%s in failed/ is not a dropped file's bytes", f)
			continue
		}
		inFailed[sum]++
		reason, err := os.ReadFile(f + ".error.txt")
		if err != nil {
			fail("%s is in failed/ without its reason: %v", f, err)
		} else if p.outcome == "failed" && !strings.Contains(string(reason), p.want) {
			fail("the reason for %s does not say %q:\n%s", f, p.want, reason)
		}
	}
	for _, a := range glob(s.archive, "*") {
		sum := sha256File(t, a)
		if _, ok := dropped[sum]; ok {
			archived[sum]++
		} else {
			fail("%s in the archive is not a dropped file's bytes", a)
		}
	}
	for _, sum := range s.sums {
		in := dropped[sum]
		switch {
		case delivered[sum]+inFailed[sum] != 1:
			fail("%s is %d times in the outbox and %d times in failed/, want exactly once in all (outbox %v)", in, delivered[sum], inFailed[sum], sidecars)
		case p.outcome == "delivered" && delivered[sum] != 1:
			fail("a good scan (%s) is not in the outbox but in failed/: %s", in, readReasons(s.failed))
		case p.outcome == "failed" && inFailed[sum] != 1:
			fail("a scan the quality gate refuses (%s) is not in failed/", in)
		}
		if want := min(delivered[sum], 1); archived[sum] != want {
			fail("the original of %s is %d times in the archive, want %d", in, archived[sum], want)
		}
	}

	// 3: no debris.
	for _, d := range []string{s.inbox, filepath.Join(s.stateDir, "spool"), filepath.Join(s.stateDir, "work"), s.review} {
		for _, e := range readDirNames(d) {
			fail("left behind in %s: %s", d, e)
		}
	}
	for _, d := range []string{s.outbox, s.failed, s.archive, s.stateDir} {
		for _, e := range readDirNames(d) {
			if strings.HasPrefix(e, ".") || strings.HasSuffix(e, ".tmp") {
				fail("temporary file left behind: %s", filepath.Join(d, e))
			}
		}
	}

	// 4: the journal tells the same story as the folders.
	jobs := s.jobs(t)
	if len(jobs) != len(s.inputs) {
		fail("the journal has %d jobs for %d inputs: %v", len(jobs), len(s.inputs), jobStates(jobs))
	}
	jobOf := map[string]int64{}
	for _, j := range jobs {
		if _, ok := dropped[j.SourceSHA256]; !ok {
			fail("job %d records source SHA-256 %q, not a dropped file's %v", j.ID, j.SourceSHA256, s.sums)
		} else if other, twice := jobOf[j.SourceSHA256]; twice {
			fail("jobs %d and %d are both for %s", other, j.ID, dropped[j.SourceSHA256])
		}
		jobOf[j.SourceSHA256] = j.ID
		switch j.State {
		case journal.Archived:
			pdf := filepath.Join(s.outbox, j.OutName+".pdf")
			if p.push {
				pdf = filepath.Join(s.outbox, "sent", j.OutName+".pdf")
			}
			if _, err := os.Stat(pdf); err != nil {
				fail("job %d is archived as %s but the outbox has no such PDF", j.ID, j.OutName)
			} else if sha256File(t, pdf) != j.OutputSHA256 {
				fail("job %d records output SHA-256 %s, the outbox's %s differs", j.ID, j.OutputSHA256, pdf)
			}
			if inFailed[j.SourceSHA256] != 0 {
				fail("job %d is archived but its input is in failed/", j.ID)
			}
		case journal.Failed:
			if j.Reason == "" {
				fail("job %d failed without a reason", j.ID)
			}
			if delivered[j.SourceSHA256] != 0 {
				fail("job %d failed but its input is in the outbox", j.ID)
			}
			if inFailed[j.SourceSHA256] == 0 {
				fail("job %d failed (%s) but the input is not in failed/", j.ID, j.Reason)
			}
		default:
			fail("job %d is left %s", j.ID, j.State)
		}
	}
}

func readDirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.Name() != station.MarkerName { // the station's own folder marker
			names = append(names, e.Name())
		}
	}
	return names
}

func readReasons(dir string) string {
	var b strings.Builder
	for _, f := range glob(dir, "*.error.txt") {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

func jobStates(jobs []journal.Job) []string {
	var s []string
	for _, j := range jobs {
		s = append(s, fmt.Sprintf("%d:%s", j.ID, j.State))
	}
	return s
}

// batchScan is the batch path's input: a simplex TIFF of a separator sheet saying 1 page, a
// letter page, a separator sheet saying 2 pages, and one letter page.
func batchScan(t *testing.T) []byte {
	t.Helper()
	var pages []image.Image
	for i, expected := range []int{1, 2} {
		sheet, err := separator.Render(capture.Sheet{Pages: expected, Fields: map[string]string{"code_number": strconv.Itoa(21 + i)}}, 200)
		if err != nil {
			t.Fatal(err)
		}
		letter, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN", fmt.Sprintf("Số: %d/UBND-VP", 21+i))})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, sheet, letter)
	}
	var b bytes.Buffer
	if err := samplescan.WriteTIFF(&b, pages, 200); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkBatchInvariants checks the four promises for the batch path: document 1 exactly once
// in the outbox, document 2 exactly once in failed/ with its page-count reason, the batch's
// original exactly once in the archive with its record of every side, no debris, and a
// journal that tells the same story.
func checkBatchInvariants(t *testing.T, s *crashStation, when string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s, path batch: %s", when, fmt.Sprintf(format, args...))
	}
	base := strings.TrimSuffix(s.inputs[0], ".tif")
	sum := s.sums[0]

	jsons := glob(s.outbox, "*.json")
	if len(jsons) != 1 {
		fail("the outbox has %d sidecars, want document 1's alone: %v", len(jsons), readDirNames(s.outbox))
	}
	for _, js := range jsons {
		side := readSidecar(t, js)
		pdf := strings.TrimSuffix(js, ".json") + ".pdf"
		switch {
		case side.SourceSHA256 != sum:
			fail("%s names source SHA-256 %s, not the batch's %s", js, side.SourceSHA256, sum)
		case side.Batch == nil || side.Batch.Document != 1 || !slices.Equal(side.Batch.Pages, []int{2}):
			fail("%s is not document 1 of the batch, page 2: %+v", js, side.Batch)
		case sha256File(t, pdf) != side.OutputSHA256:
			fail("%s does not match the SHA-256 its sidecar gives", pdf)
		}
	}
	if got := readDirNames(s.failed); !slices.Equal(got, []string{base + "-2.pdf", base + "-2.pdf.error.txt"}) {
		fail("failed/ holds %v, want document 2 and its reason", got)
	} else if reason, _ := os.ReadFile(filepath.Join(s.failed, base+"-2.pdf.error.txt")); !strings.Contains(string(reason), "2 pages expected, 1 scanned") {
		fail("document 2's reason does not name the page count:\n%s", reason)
	}
	if got := readDirNames(s.archive); !slices.Equal(got, []string{s.inputs[0], s.inputs[0] + ".batch.json"}) {
		fail("the archive holds %v, want the batch and its record", got)
	} else {
		if sha256File(t, filepath.Join(s.archive, s.inputs[0])) != sum {
			fail("the archived batch is not the bytes dropped")
		}
		var record station.BatchRecord
		data, _ := os.ReadFile(filepath.Join(s.archive, s.inputs[0]+".batch.json"))
		if err := json.Unmarshal(data, &record); err != nil {
			fail("the batch record: %v", err)
		} else if len(record.Pages) != 4 || len(record.Outcomes) != 2 || record.Outcomes[0].State != "archived" || record.Outcomes[1].State != "failed" {
			fail("the batch record does not account for 4 sides and 2 documents:\n%s", data)
		}
	}
	for _, d := range []string{s.inbox, filepath.Join(s.stateDir, "spool"), filepath.Join(s.stateDir, "work"), s.review} {
		for _, e := range readDirNames(d) {
			fail("left behind in %s: %s", d, e)
		}
	}
	for _, d := range []string{s.outbox, s.failed, s.archive, s.stateDir} {
		for _, e := range readDirNames(d) {
			if strings.HasPrefix(e, ".") || strings.HasSuffix(e, ".tmp") {
				fail("temporary file left behind: %s", filepath.Join(d, e))
			}
		}
	}
	jobs := s.jobs(t)
	if len(jobs) != 3 {
		fail("the journal has %d jobs, want the batch and its 2 documents: %v", len(jobs), jobStates(jobs))
		return
	}
	batch, doc1, doc2 := jobs[0], jobs[1], jobs[2]
	if batch.State != journal.Archived || batch.Documents != 2 || batch.SourceSHA256 != sum {
		fail("the batch's job is %s with %d documents", batch.State, batch.Documents)
	}
	if doc1.State != journal.Archived || doc1.Batch != batch.ID || len(glob(s.outbox, doc1.OutName+".pdf")) != 1 {
		fail("document 1's job is %s (batch %d, outbox %s)", doc1.State, doc1.Batch, doc1.OutName)
	}
	if doc2.State != journal.Failed || doc2.Batch != batch.ID || !strings.Contains(doc2.Reason, "2 pages expected, 1 scanned") {
		fail("document 2's job is %s: %s", doc2.State, doc2.Reason)
	}
}
