package watcher

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// stat is a fake file status for the unit tests of the settle logic, which
// need times chosen by the test.
type stat struct {
	size  int64
	mtime time.Time
}

func (s stat) Name() string       { return "scan.jpg" }
func (s stat) Size() int64        { return s.size }
func (s stat) Mode() fs.FileMode  { return 0o644 }
func (s stat) ModTime() time.Time { return s.mtime }
func (s stat) IsDir() bool        { return false }
func (s stat) Sys() any           { return nil }

func TestObserveWaitsForSettle(t *testing.T) {
	r := newRun(&Watcher{settle: time.Second})
	const p = "/hot/scan.jpg"
	t0 := time.Now()
	m1 := t0.Add(-time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	look := func(s stat, d time.Duration) { r.observe(p, s, at(d), at(d)) }
	reports := func() int {
		n := 0
		for {
			if _, ok := r.nextReport(); !ok {
				return n
			}
			r.reportSent()
			n++
		}
	}

	look(stat{10, m1}, 0)
	look(stat{10, m1}, 999*time.Millisecond)
	if n := reports(); n != 0 {
		t.Fatalf("reported %d times before the settle time passed", n)
	}
	look(stat{20, m1}, 1500*time.Millisecond) // grew: the wait starts again
	look(stat{20, m1}, 2499*time.Millisecond)
	if n := reports(); n != 0 {
		t.Fatalf("reported %d times less than the settle time after it grew", n)
	}
	look(stat{20, m1}, 2500*time.Millisecond)
	if n := reports(); n != 1 {
		t.Fatalf("reported %d times once settled, want 1", n)
	}
	look(stat{20, m1}, 10*time.Second)
	if n := reports(); n != 0 {
		t.Fatalf("reported %d more times while unchanged, want 0", n)
	}

	m2 := m1.Add(time.Second) // same size, saved again
	look(stat{20, m2}, 11*time.Second)
	look(stat{20, m2}, 12*time.Second)
	if n := reports(); n != 1 {
		t.Fatalf("reported %d times after being saved again, want 1", n)
	}
}

func TestObserveCountsFromTheEndOfASlowLook(t *testing.T) {
	r := newRun(&Watcher{settle: time.Second})
	const p = "/hot/scan.jpg"
	t0 := time.Now()
	s := stat{10, t0}
	// The first stat took 5 s (a stalled share): its answer may describe
	// any moment in those 5 s, so the settle time counts from their end.
	r.observe(p, s, t0, t0.Add(5*time.Second))
	r.observe(p, s, t0.Add(5500*time.Millisecond), t0.Add(5500*time.Millisecond))
	if _, ok := r.nextReport(); ok {
		t.Fatal("reported although the two looks were less than the settle time apart")
	}
	if at, ok := r.nextDue(); !ok || !at.Equal(t0.Add(6*time.Second)) {
		t.Errorf("next look due at %v (%v), want %v", at, ok, t0.Add(6*time.Second))
	}
}

func TestReportOfChangedOrGoneFileIsDropped(t *testing.T) {
	r := newRun(&Watcher{settle: time.Second})
	t0 := time.Now()
	for _, p := range []string{"/hot/a.jpg", "/hot/b.jpg", "/hot/c.jpg"} {
		r.observe(p, stat{1, t0}, t0, t0)
		r.observe(p, stat{1, t0}, t0.Add(time.Second), t0.Add(time.Second))
	}
	if len(r.ready) != 3 {
		t.Fatalf("%d files ready, want 3", len(r.ready))
	}
	// Before found gets them, a.jpg is taken away and b.jpg is rewritten.
	r.forget("/hot/a.jpg")
	r.observe("/hot/b.jpg", stat{2, t0}, t0.Add(2*time.Second), t0.Add(2*time.Second))

	p, ok := r.nextReport()
	if !ok || p != "/hot/c.jpg" {
		t.Fatalf("next report %q (%v), want /hot/c.jpg", p, ok)
	}
	r.reportSent()
	if p, ok := r.nextReport(); ok {
		t.Errorf("unexpected report of %s", p)
	}
}

func TestCheckDueLooksAgainInOrder(t *testing.T) {
	dir := t.TempDir()
	r := newRun(&Watcher{settle: time.Second, dirs: []string{dir}})
	t0 := time.Now()
	var paths []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("%d.jpg", i))
		if err := os.WriteFile(p, []byte("scan"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// Seen at different times, in reverse order.
	for i, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		seen := t0.Add(-time.Duration(i) * time.Second)
		r.observe(p, info, seen, seen)
	}
	if at, _ := r.nextDue(); !at.Equal(t0.Add(-time.Second)) {
		t.Fatalf("first due at %v, want the file seen earliest, at %v", at, t0.Add(-time.Second))
	}
	// By now paths[2] and paths[1] have settled (seen 2 s and 1 s ago with
	// a 1 s settle), paths[0] has not.
	r.checkDue(t0.Add(time.Millisecond))
	var got []string
	for {
		p, ok := r.nextReport()
		if !ok {
			break
		}
		got = append(got, p)
		r.reportSent()
	}
	if len(got) != 2 || got[0] != paths[2] || got[1] != paths[1] {
		t.Errorf("reported %v, want %v then %v", got, paths[2], paths[1])
	}
	if at, ok := r.nextDue(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("next due at %v (%v), want %v", at, ok, t0.Add(time.Second))
	}
}

// BenchmarkRescan measures one full rescan of a hot-folder holding 10,000
// files in 100 sub-folders, all already known (the steady state).
func BenchmarkRescan(b *testing.B) {
	dir := b.TempDir()
	const folders, perFolder = 100, 100
	for i := range folders {
		sub := filepath.Join(dir, fmt.Sprintf("batch-%03d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range perFolder {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("page-%03d.jpg", j)), []byte("scan"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	w, err := New(Options{Dirs: []string{dir}, NoEvents: true})
	if err != nil {
		b.Fatal(err)
	}
	r := newRun(w)
	r.rescan()
	if len(r.files) != folders*perFolder {
		b.Fatalf("first rescan found %d files, want %d", len(r.files), folders*perFolder)
	}
	for b.Loop() {
		r.rescan()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(folders*perFolder), "ns/file")
}
