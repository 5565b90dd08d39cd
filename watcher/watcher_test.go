package watcher_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/watcher"
)

const (
	testSettle = 300 * time.Millisecond
	testRescan = 500 * time.Millisecond
	// deadline only keeps a broken test from hanging; nothing is timed.
	deadline = 30 * time.Second
)

// quiet is how long a test waits to be sure nothing more is reported:
// several rescans and settle periods.
const quiet = 4*testRescan + 2*testSettle

// station stands in for the consumer of found: it records every report
// with the file's size at that moment.
type station struct {
	mu      sync.Mutex
	reports []found
	log     lockedBuffer
}

type found struct {
	path string
	size int64 // -1 if the file was already gone
}

func (s *station) found(path string) {
	size := int64(-1)
	if info, err := os.Stat(path); err == nil {
		size = info.Size()
	}
	s.mu.Lock()
	s.reports = append(s.reports, found{path, size})
	s.mu.Unlock()
}

func (s *station) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reports {
		if r.path == path {
			n++
		}
	}
	return n
}

func (s *station) all() []found {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]found(nil), s.reports...)
}

// waitCount waits until path has been reported n times.
func (s *station) waitCount(t *testing.T, path string, n int) {
	t.Helper()
	stop := time.Now().Add(deadline)
	for s.count(path) < n {
		if time.Now().After(stop) {
			t.Fatalf("%s reported %d times, want %d; all reports: %v\nlog:\n%s", path, s.count(path), n, s.all(), s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settleThenCount waits the quiet period and checks how often path was reported.
func (s *station) settleThenCount(t *testing.T, path string, want int) {
	t.Helper()
	time.Sleep(quiet)
	if got := s.count(path); got != want {
		t.Errorf("%s reported %d times, want %d; all reports: %v", path, got, want, s.all())
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs a watcher until the test ends. Options left zero get the
// short test periods.
func start(t *testing.T, opt watcher.Options) *station {
	t.Helper()
	return startWith(t, opt, nil)
}

func startWith(t *testing.T, opt watcher.Options, wrap func(func(string)) func(string)) *station {
	t.Helper()
	s := &station{}
	if opt.Settle == 0 {
		opt.Settle = testSettle
	}
	if opt.Rescan == 0 {
		opt.Rescan = testRescan
	}
	opt.Logger = slog.New(slog.NewTextHandler(&s.log, nil))
	w, err := watcher.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	fn := s.found
	if wrap != nil {
		fn = wrap(fn)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, fn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(deadline):
			t.Error("Run did not return after its context was cancelled")
		}
		if t.Failed() {
			t.Logf("watcher log:\n%s", s.log.String())
		}
	})
	return s
}

// linesNaming counts the log lines that name path.
func linesNaming(log, path string) int {
	n := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, path) {
			n++
		}
	}
	return n
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExistingFilesReportedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.jpg")
	b := filepath.Join(dir, "2025", "05", "b.tif")
	writeFile(t, a, "scan a")
	writeFile(t, b, "scan b")

	s := start(t, watcher.Options{Dirs: []string{dir}})
	s.waitCount(t, a, 1)
	s.waitCount(t, b, 1)
	s.settleThenCount(t, a, 1)
	if got := s.count(b); got != 1 {
		t.Errorf("%s reported %d times, want 1", b, got)
	}
}

func TestNewFileReportedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, watcher.Options{Dirs: []string{dir}})

	p := filepath.Join(dir, "new.pdf")
	writeFile(t, p, "a new scan")
	s.waitCount(t, p, 1)
	s.settleThenCount(t, p, 1)
}

func TestSlowWriteReportedOnlyWhenComplete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The settle time must be longer than the pause between two chunks,
	// or a pause would rightly look like the end of the file.
	s := start(t, watcher.Options{Dirs: []string{dir}, Settle: 2 * time.Second})

	p := filepath.Join(dir, "slow.tif")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 4096)
	const chunks = 20 // one every 500ms: 10s in all
	for i := range chunks {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if i < chunks-1 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.count(p); n != 0 {
		t.Fatalf("%s was reported %d times while still being written", p, n)
	}

	s.waitCount(t, p, 1)
	s.settleThenCount(t, p, 1)
	for _, r := range s.all() {
		if r.path == p && r.size != chunks*int64(len(chunk)) {
			t.Errorf("%s reported with size %d, want the final size %d", p, r.size, chunks*len(chunk))
		}
	}
}

func TestIgnoredNamesAndRenameFromTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ignored := []string{
		filepath.Join(dir, "part.tmp"),
		filepath.Join(dir, "~lock"),
		filepath.Join(dir, ".hidden"),
		filepath.Join(dir, ".cache", "inside.jpg"),
	}
	for _, p := range ignored {
		writeFile(t, p, "not a scan")
	}
	s := start(t, watcher.Options{Dirs: []string{dir}})

	tmp := filepath.Join(dir, "x.tmp")
	writeFile(t, tmp, "scan being saved")
	for _, p := range ignored {
		writeFile(t, p, "still not a scan") // changes must not matter either
	}
	final := filepath.Join(dir, "x.jpg")
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, final, 1)
	s.settleThenCount(t, final, 1)
	for _, r := range s.all() {
		if r.path != final {
			t.Errorf("reported %s, which should have been ignored", r.path)
		}
	}
}

func TestEmptyIgnoreListIgnoresNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, ".hidden.tmp")
	writeFile(t, p, "reported all the same")
	s := start(t, watcher.Options{Dirs: []string{dir}, Ignore: []string{}})
	s.waitCount(t, p, 1)
}

func TestFilesInNewSubfolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A rescan period this long leaves the discovery to the events and to
	// the scan made when a new folder appears.
	s := start(t, watcher.Options{Dirs: []string{dir}, Rescan: time.Hour})

	// MkdirAll and the write follow each other faster than a watch can be
	// put on the new folders; the scan of a new folder must catch up.
	p := filepath.Join(dir, "batch-7", "deep", "page.png")
	writeFile(t, p, "scan in a new folder")
	s.waitCount(t, p, 1)

	q := filepath.Join(dir, "batch-7", "deep", "later.png")
	writeFile(t, q, "written after the folder was watched")
	s.waitCount(t, q, 1)

	// A whole folder moved in brings one event for the folder and none
	// for what is already inside it.
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "batch-8", "deep", "moved.png"), "scan in a moved folder")
	if err := os.Rename(filepath.Join(outside, "batch-8"), filepath.Join(dir, "batch-8")); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(dir, "batch-8", "deep", "moved.png")
	s.waitCount(t, moved, 1)
	later := filepath.Join(dir, "batch-8", "deep", "later.png")
	writeFile(t, later, "written in the moved folder")
	s.waitCount(t, later, 1)
}

func TestNoEventsFindsEverythingByRescan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.jpg")
	writeFile(t, old, "there before")
	s := start(t, watcher.Options{Dirs: []string{dir}, NoEvents: true})

	fresh := filepath.Join(dir, "fresh.jpg")
	nested := filepath.Join(dir, "new", "sub", "nested.jpg")
	writeFile(t, fresh, "new")
	writeFile(t, nested, "new and nested")
	s.waitCount(t, old, 1)
	s.waitCount(t, fresh, 1)
	s.waitCount(t, nested, 1)
	s.settleThenCount(t, fresh, 1)
	if n := s.count(old) + s.count(nested); n != 2 {
		t.Errorf("old and nested reported %d times in all, want once each", n)
	}
}

func TestReplacedFileReportedAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "scan.jpg")
	writeFile(t, p, "first scan")
	s := start(t, watcher.Options{Dirs: []string{dir}})
	s.waitCount(t, p, 1)

	// A new scan saved under the same name, the way scanners often do it:
	// written aside and renamed over the old one.
	aside := filepath.Join(dir, "scan.jpg.part")
	writeFile(t, aside, "second scan, longer")
	if err := os.Rename(aside, p); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, p, 2)

	// Overwritten in place with the same size: the time tells them apart.
	writeFile(t, p, "third scan, longer!")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, p, 3)
	s.settleThenCount(t, p, 3)
}

func TestFileThatDisappearsAndComesBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "scan.jpg")
	writeFile(t, p, "scan")
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, watcher.Options{Dirs: []string{dir}})
	s.waitCount(t, p, 1)

	// Moved away by the station, then put back unchanged (same size and
	// time) by an operator: it is a new arrival.
	away := filepath.Join(t.TempDir(), "scan.jpg")
	if err := os.Rename(p, away); err != nil {
		t.Fatal(err)
	}
	time.Sleep(quiet) // long enough for the watcher to forget it
	if err := os.Rename(away, p); err != nil {
		t.Fatal(err)
	}
	back, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !back.ModTime().Equal(info.ModTime()) {
		t.Fatalf("test setup: modification time changed on rename")
	}
	s.waitCount(t, p, 2)
}

func TestFoundMayBlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := filepath.Join(dir, "first.jpg")
	writeFile(t, first, "first")

	release := make(chan struct{})
	blocked := make(chan struct{})
	var once sync.Once
	// No rescans during the test: every later file is known only from its
	// events, which must not be lost while found is busy.
	s := startWith(t, watcher.Options{Dirs: []string{dir}, Rescan: time.Hour}, func(found func(string)) func(string) {
		return func(p string) {
			once.Do(func() {
				close(blocked)
				<-release
			})
			found(p)
		}
	})
	select {
	case <-blocked:
	case <-time.After(deadline):
		t.Fatal("found was never called")
	}
	var later []string
	for i := range 50 {
		p := filepath.Join(dir, "batch", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".jpg")
		writeFile(t, p, "scan")
		later = append(later, p)
	}
	time.Sleep(2 * testSettle) // let them settle while found is still busy
	close(release)

	s.waitCount(t, first, 1)
	for _, p := range later {
		s.waitCount(t, p, 1)
	}
	if n := len(s.all()); n != 1+len(later) {
		t.Errorf("%d reports, want %d", n, 1+len(later))
	}
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	target := filepath.Join(outside, "elsewhere.jpg")
	writeFile(t, target, "not ours")
	writeFile(t, filepath.Join(outside, "sub", "deep.jpg"), "not ours either")
	fileLink := filepath.Join(dir, "link.jpg")
	dirLink := filepath.Join(dir, "linked-folder")
	if err := os.Symlink(target, fileLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "sub"), dirLink); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real.jpg")
	writeFile(t, real, "ours")

	s := start(t, watcher.Options{Dirs: []string{dir}})
	s.waitCount(t, real, 1)
	s.settleThenCount(t, real, 1)
	for _, r := range s.all() {
		if r.path != real {
			t.Errorf("reported %s through a symbolic link", r.path)
		}
	}
	log := s.log.String()
	for _, link := range []string{fileLink, dirLink} {
		if n := linesNaming(log, link); n != 1 {
			t.Errorf("log mentions %s %d times over several rescans, want once", link, n)
		}
	}
}

func TestVanishedHotFolderComesBack(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	gone := filepath.Join(parent, "scanner-1")
	stays := filepath.Join(parent, "scanner-2")
	for _, d := range []string{gone, stays} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(gone, "sub", "before.jpg"), "scan")
	s := start(t, watcher.Options{Dirs: []string{gone, stays}})
	s.waitCount(t, filepath.Join(gone, "sub", "before.jpg"), 1)

	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(stays, "meanwhile.jpg")
	writeFile(t, other, "the other hot-folder still works")
	s.waitCount(t, other, 1)
	time.Sleep(quiet) // several rescans while it is gone
	log := s.log.String()
	if !strings.Contains(log, "missing") || linesNaming(log, gone) != 1 {
		t.Errorf("want one log line saying %s is missing, log:\n%s", gone, log)
	}

	back := filepath.Join(gone, "sub", "after.jpg")
	writeFile(t, back, "scan after the folder came back")
	s.waitCount(t, back, 1)
}

func TestUnreadableSubfolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, where folder permissions are not enforced; TestVanishedHotFolderComesBack covers the recovery")
	}
	t.Parallel()
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	p := filepath.Join(locked, "scan.jpg")
	writeFile(t, p, "scan")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	open := filepath.Join(dir, "open.jpg")
	writeFile(t, open, "scan")

	s := start(t, watcher.Options{Dirs: []string{dir}})
	s.waitCount(t, open, 1)
	time.Sleep(quiet)
	if log := s.log.String(); linesNaming(log, locked) != 1 {
		t.Errorf("want one log line naming %s, log:\n%s", locked, log)
	}
	if err := os.Chmod(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, p, 1)
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-folder")
	notFolder := filepath.Join(dir, "file.jpg")
	writeFile(t, notFolder, "x")

	for _, tc := range []struct {
		name string
		opt  watcher.Options
		want string
	}{
		{"missing folder", watcher.Options{Dirs: []string{dir, missing}}, missing},
		{"not a folder", watcher.Options{Dirs: []string{notFolder}}, notFolder + " is not a folder"},
		{"no folders", watcher.Options{}, "no hot-folder"},
		{"bad pattern", watcher.Options{Dirs: []string{dir}, Ignore: []string{"[a-"}}, "[a-"},
		{"negative settle", watcher.Options{Dirs: []string{dir}, Settle: -time.Second}, "negative"},
	} {
		_, err := watcher.New(tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := watcher.New(watcher.Options{Dirs: []string{dir}}); err != nil {
		t.Errorf("New with an existing folder: %v", err)
	}
}
