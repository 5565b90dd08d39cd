package watcher

import (
	"container/heap"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// run is the state of one Run call. Only the goroutine in Run touches it,
// so it needs no locks.
type run struct {
	w  *Watcher
	fw *fsnotify.Watcher // nil when change events are off or unavailable

	files   map[string]*file   // regular files seen and not yet gone
	folders map[string]*folder // folders seen under the hot-folders
	links   map[string]uint64  // symbolic links already logged, with their stamp
	due     dueQueue           // files waiting for their settle time to pass
	ready   []report           // complete files not yet handed to found

	// Problems already logged, so that a lasting problem is logged once
	// and not at every rescan.
	rootProblems map[string]string // hot-folder -> what is wrong with it
	watchLimit   bool              // the system limit on watches was hit

	// stamp numbers the full rescans. Whatever a rescan does not stamp has
	// disappeared, unless it sits in a folder that could not be read.
	stamp      uint64
	unreadable []string
}

// file is what the watcher knows about one regular file.
type file struct {
	path string
	id   identity
	// since is when this identity was first seen; the file is complete
	// once a later look, at least the settle time after since, sees it
	// unchanged, no process holds it open for writing, and it is whole.
	since    time.Time
	reported bool      // found was (or is about to be) called for this identity
	due      time.Time // when the due queue looks at it next; zero if not queued
	stamp    uint64

	// What the format check said of this identity, and what was logged.
	checked    bool
	why        string // why it is not whole; empty when whole
	waitLogged bool
	busyLogged bool
}

type folder struct {
	stamp        uint64
	watched      bool
	unreadable   bool // logged as unreadable; logged again when readable
	watchProblem bool // logged as impossible to watch
}

// report is a complete file waiting to be handed to found. It is dropped
// if the file changed or vanished in the meantime.
type report struct {
	f  *file
	id identity
}

func newRun(w *Watcher) *run {
	return &run{
		w:            w,
		files:        make(map[string]*file),
		folders:      make(map[string]*folder),
		links:        make(map[string]uint64),
		rootProblems: make(map[string]string),
	}
}

// rescan looks at every file under every hot-folder and forgets whatever is
// no longer there.
func (r *run) rescan() {
	r.stamp++
	r.unreadable = r.unreadable[:0]
	for _, root := range r.w.dirs {
		r.scanRoot(root)
	}
	r.sweep()
}

// scanRoot scans one hot-folder. Unlike sub-folders, a hot-folder may be a
// symbolic link to the real folder (a mount point, say), so it is followed.
func (r *run) scanRoot(root string) {
	info, err := os.Stat(root)
	switch {
	case err == nil && info.IsDir():
		if r.rootProblems[root] != "" {
			r.w.log.Info("hot-folder is available again", "folder", root)
			delete(r.rootProblems, root)
		}
		r.scanFolder(root)
	case err == nil:
		r.rootProblem(root, "hot-folder is no longer a folder; looking again at each rescan", nil)
	case errors.Is(err, fs.ErrNotExist):
		r.rootProblem(root, "hot-folder is missing; looking for it again at each rescan", nil)
	default:
		// It may be a network share that is briefly away: keep what is
		// known about its files, so they are not reported twice.
		r.unreadable = append(r.unreadable, root)
		r.rootProblem(root, "cannot open hot-folder; trying again at each rescan", err)
	}
}

func (r *run) rootProblem(root, msg string, err error) {
	if r.rootProblems[root] == msg {
		return
	}
	r.rootProblems[root] = msg
	if err != nil {
		r.w.log.Warn(msg, "folder", root, "error", reason(err))
	} else {
		r.w.log.Warn(msg, "folder", root)
	}
}

// scanFolder watches dir and looks at everything in it, recursively.
func (r *run) scanFolder(dir string) {
	fo := r.folders[dir]
	if fo == nil {
		fo = &folder{}
		r.folders[dir] = fo
	}
	fo.stamp = r.stamp
	// Watch before listing, so that a file created in between is seen by
	// one or the other.
	r.watch(dir, fo)

	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return // gone meanwhile; the sweep or the removal event forgets it
	case err != nil:
		r.unreadable = append(r.unreadable, dir)
		if !fo.unreadable {
			r.w.log.Warn("cannot read folder; files in it are not picked up until it can be read",
				"folder", dir, "error", reason(err))
			fo.unreadable = true
		}
		// ReadDir returns what it read before the error; use that too.
	case fo.unreadable:
		r.w.log.Info("folder can be read again", "folder", dir)
		fo.unreadable = false
	}

	for _, e := range entries {
		name := e.Name()
		if r.w.ignored(name) {
			continue
		}
		path := filepath.Join(dir, name)
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			r.noteLink(path)
		case t.IsDir():
			r.scanFolder(path)
		case t.IsRegular():
			before := time.Now()
			info, err := e.Info()
			if err != nil {
				// Gone since the listing (the sweep forgets it) or not
				// readable (kept until it can be looked at again).
				if f := r.files[path]; f != nil && !errors.Is(err, fs.ErrNotExist) {
					f.stamp = r.stamp
				}
				continue
			}
			r.observe(path, info, before, time.Now())
		}
		// Devices, pipes and sockets are not scans; skip them silently.
	}
}

// watch asks for change events from dir, once.
func (r *run) watch(dir string, fo *folder) {
	if r.fw == nil || fo.watched {
		return
	}
	err := r.fw.Add(dir)
	switch {
	case err == nil:
		fo.watched = true
		fo.watchProblem = false
		r.watchLimit = false
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, fs.ErrPermission):
		// Reading the folder fails for the same reason and says so.
	case errors.Is(err, syscall.ENOSPC):
		if !r.watchLimit {
			r.w.log.Warn("cannot watch folder for new files: the system limit on watched folders is reached "+
				"(raise fs.inotify.max_user_watches); files there are still found by the rescan",
				"folder", dir, "rescan_every", r.w.rescan)
			r.watchLimit = true
		}
	default:
		if !fo.watchProblem {
			r.w.log.Warn("cannot watch folder for new files; they are still found by the rescan",
				"folder", dir, "rescan_every", r.w.rescan, "error", err)
			fo.watchProblem = true
		}
	}
}

func (r *run) noteLink(path string) {
	if _, seen := r.links[path]; !seen {
		r.w.log.Warn("skipping a symbolic link: links are not followed; copy the file itself into the hot-folder",
			"file", path)
	}
	r.links[path] = r.stamp
}

// observe records one look at a regular file. The look (the stat) happened
// between before and after: the file's stable period starts after the first
// look and is judged at the start of a later one, so two looks that agree
// are always at least the settle time apart.
func (r *run) observe(path string, info fs.FileInfo, before, after time.Time) {
	f := r.files[path]
	if f == nil {
		f = &file{path: path}
		r.files[path] = f
		r.changed(f, info, after)
		return
	}
	f.stamp = r.stamp
	if !f.id.equal(identityOf(info)) {
		r.changed(f, info, after)
		return
	}
	if f.reported {
		return
	}
	if before.Sub(f.since) < r.w.settle {
		r.schedule(f, f.since.Add(r.w.settle))
		return
	}
	if !r.takeable(f, before) {
		return
	}
	f.reported = true
	r.ready = append(r.ready, report{f: f, id: f.id})
}

// takeable is asked once f has been stable for the settle time: a file some process still
// holds open for writing waits (a scanner pausing between pages keeps it open), and so does a
// file that is not whole yet, until it has stayed unchanged for the incomplete grace; then it
// is taken all the same, so that the station refuses it, once and whole, with the reason.
func (r *run) takeable(f *file, now time.Time) bool {
	if busy, _ := openForWriting(f.path); busy {
		if !f.busyLogged && now.Sub(f.since) >= r.w.grace {
			r.w.log.Info("a file is still open for writing by another program; it is taken once that program closes it",
				"file", f.path, "unchanged_for", now.Sub(f.since).Round(time.Second))
			f.busyLogged = true
		}
		r.schedule(f, now.Add(r.w.settle))
		return false
	}
	if !f.checked {
		f.why = ""
		if ok, why := Whole(f.path); !ok {
			f.why = why
		}
		f.checked = true
		// The check read the file after the last look: if it changed meanwhile, the
		// answer may be about other bytes. Look again.
		if info, err := os.Lstat(f.path); err == nil && !f.id.equal(identityOf(info)) {
			f.checked = false
			r.schedule(f, now.Add(r.w.settle))
			return false
		}
	}
	if f.why == "" {
		return true
	}
	if now.Sub(f.since) < r.w.grace {
		if !f.waitLogged {
			r.w.log.Info("waiting for a file to be saved whole",
				"file", f.path, "why", f.why, "taken_anyway_after_unchanged_for", r.w.grace)
			f.waitLogged = true
		}
		r.schedule(f, f.since.Add(r.w.grace))
		return false
	}
	r.w.log.Warn("a file stayed unfinished and unchanged; it is taken to be refused with the reason",
		"file", f.path, "why", f.why, "unchanged_for", now.Sub(f.since).Round(time.Second))
	return true
}

func (r *run) changed(f *file, info fs.FileInfo, at time.Time) {
	f.id = identityOf(info)
	f.since = at
	f.reported = false
	f.checked = false
	f.stamp = r.stamp
	r.schedule(f, at.Add(r.w.settle))
}

// schedule makes sure f is looked at again at the latest at.
func (r *run) schedule(f *file, at time.Time) {
	if !f.due.IsZero() && !at.Before(f.due) {
		return // an earlier look is queued already
	}
	f.due = at
	heap.Push(&r.due, dueEntry{at: at, f: f})
}

// nextDue is when the next file's settle time is over.
func (r *run) nextDue() (time.Time, bool) {
	if len(r.due) == 0 {
		return time.Time{}, false
	}
	return r.due[0].at, true
}

// checkDue looks again at the files whose settle time is over.
func (r *run) checkDue(now time.Time) {
	for len(r.due) > 0 && !r.due[0].at.After(now) {
		e := heap.Pop(&r.due).(dueEntry)
		f := e.f
		if r.files[f.path] != f || !e.at.Equal(f.due) {
			continue // forgotten, or a later entry replaced this one
		}
		f.due = time.Time{}
		if f.reported {
			continue
		}
		r.check(f.path)
	}
}

// handleEvent takes a change event as a hint to look at its path now.
func (r *run) handleEvent(ev fsnotify.Event) {
	path := filepath.Clean(ev.Name)
	if r.isRoot(path) {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			r.forgetUnder(path)
		}
		r.scanRoot(path)
		return
	}
	if r.w.ignored(filepath.Base(path)) {
		return
	}
	if _, isFolder := r.folders[path]; isFolder && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
		// Its watch is gone with it; forgetting it lets a folder made
		// again under the same name be watched again.
		r.forgetUnder(path)
	}
	r.check(path)
}

// check looks at one path below a hot-folder.
func (r *run) check(path string) {
	before := time.Now()
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.forget(path)
	case err != nil:
		// Probably a folder above it became unreadable; the rescan will
		// say so and keep the file in mind.
	case info.Mode().IsRegular():
		delete(r.links, path)
		r.observe(path, info, before, time.Now())
	case info.Mode()&fs.ModeSymlink != 0:
		r.forget(path)
		r.noteLink(path)
	case info.IsDir():
		r.forget(path)
		r.scanFolder(path)
	default:
		r.forget(path)
	}
}

func (r *run) isRoot(path string) bool {
	for _, d := range r.w.dirs {
		if d == path {
			return true
		}
	}
	return false
}

// forget drops a file or link that is gone, so memory stays bounded by
// what is in the hot-folders.
func (r *run) forget(path string) {
	delete(r.files, path) // a due entry or report still pointing at it is dropped when reached
	delete(r.links, path)
}

// forgetUnder drops dir and everything known below it.
func (r *run) forgetUnder(dir string) {
	for p, fo := range r.folders {
		if within(p, dir) {
			if fo.watched && r.fw != nil {
				_ = r.fw.Remove(p) // usually gone with the folder already
			}
			delete(r.folders, p)
		}
	}
	for p := range r.files {
		if within(p, dir) {
			delete(r.files, p)
		}
	}
	for p := range r.links {
		if within(p, dir) {
			delete(r.links, p)
		}
	}
}

// sweep forgets what the last full rescan did not see, except below
// folders that could not be read: those files may well still be there.
func (r *run) sweep() {
	for p, f := range r.files {
		if f.stamp != r.stamp && !r.inUnreadable(p) {
			delete(r.files, p)
		}
	}
	for p, stamp := range r.links {
		if stamp != r.stamp && !r.inUnreadable(p) {
			delete(r.links, p)
		}
	}
	for p, fo := range r.folders {
		if fo.stamp != r.stamp && !r.inUnreadable(p) {
			if fo.watched && r.fw != nil {
				_ = r.fw.Remove(p)
			}
			delete(r.folders, p)
		}
	}
}

func (r *run) inUnreadable(path string) bool {
	for _, d := range r.unreadable {
		if within(path, d) {
			return true
		}
	}
	return false
}

// nextReport is the next complete file to hand to found, skipping files
// that changed or vanished while waiting.
func (r *run) nextReport() (string, bool) {
	for len(r.ready) > 0 {
		rep := r.ready[0]
		f := rep.f
		if r.files[f.path] == f && f.reported && f.id.equal(rep.id) {
			return f.path, true
		}
		r.reportSent()
	}
	return "", false
}

// reportSent removes the first waiting report.
func (r *run) reportSent() {
	r.ready[0] = report{}
	r.ready = r.ready[1:]
	if len(r.ready) == 0 {
		r.ready = nil // let the backing array go after a burst
	}
}

// reason strips the path from err, since the log line names the folder
// already: "permission denied" reads better than the path twice.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// dueQueue is a min-heap of files by the time their settle period ends.
type dueQueue []dueEntry

type dueEntry struct {
	at time.Time
	f  *file
}

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(dueEntry)) }
func (q *dueQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = dueEntry{}
	*q = old[:len(old)-1]
	return e
}
