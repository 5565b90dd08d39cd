// Package watcher finds complete files in the scanner's hot-folders.
//
// File system events are only hints: they make the watcher look at a path
// sooner. The truth comes from stat: a file is complete when its size and
// modification time are unchanged between two looks at least the settle time
// apart, no process holds it open for writing (where Linux can tell, by a read
// lease), and its format says it is whole (a JPEG's end marker, a PNG's IEND,
// a PDF's %%EOF, a TIFF's pages and strips inside the file). Periodic full
// rescans catch whatever the events missed, which on a network share is
// everything.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configures a Watcher. The zero value of each field has a sensible
// meaning, but Dirs must name at least one folder.
type Options struct {
	// Dirs are the hot-folders. They are watched recursively, including
	// sub-folders created later.
	Dirs []string

	// Settle is how long a file's size and modification time must stay
	// unchanged before it counts as complete. Zero means 2s.
	Settle time.Duration

	// Rescan is the period of the full rescan that catches lost events.
	// Zero means 30s.
	Rescan time.Duration

	// Ignore holds glob patterns (as in path/filepath.Match) matched against
	// the base name of files and folders. Nil means {"*.tmp", "~*", ".*"}, so
	// temporary files, lock files, dot-files and dot-folders are skipped; an
	// empty non-nil slice ignores nothing.
	Ignore []string

	// IncompleteGrace is how long a file that is not whole (see whole) may
	// stay unchanged before it is reported all the same, so the station
	// refuses it with the reason instead of leaving it unseen. Zero means 2m.
	IncompleteGrace time.Duration

	// NoEvents makes the watcher rely on rescans alone, for file systems
	// that send no change events.
	NoEvents bool

	// Logger receives the operator-facing messages. Nil means slog.Default().
	Logger *slog.Logger
}

const (
	defaultSettle = 2 * time.Second
	defaultRescan = 30 * time.Second
	defaultGrace  = 2 * time.Minute
)

var defaultIgnore = []string{"*.tmp", "~*", ".*"}

// A Watcher finds complete files in hot-folders. Its configuration is fixed
// by New; each call of Run keeps its own state, so a Watcher holds nothing
// that changes.
type Watcher struct {
	dirs     []string
	settle   time.Duration
	rescan   time.Duration
	grace    time.Duration
	ignore   []string
	noEvents bool
	log      *slog.Logger
}

// New checks the options and returns a Watcher. Every hot-folder must exist
// and be a folder when New is called; later a vanished hot-folder is only
// logged and looked for again at each rescan.
func New(opt Options) (*Watcher, error) {
	if len(opt.Dirs) == 0 {
		return nil, errors.New("watcher: no hot-folder given")
	}
	if opt.Settle < 0 {
		return nil, fmt.Errorf("watcher: settle time %v is negative", opt.Settle)
	}
	if opt.Rescan < 0 {
		return nil, fmt.Errorf("watcher: rescan period %v is negative", opt.Rescan)
	}
	w := &Watcher{
		settle:   opt.Settle,
		rescan:   opt.Rescan,
		grace:    opt.IncompleteGrace,
		ignore:   opt.Ignore,
		noEvents: opt.NoEvents,
		log:      opt.Logger,
	}
	if w.settle == 0 {
		w.settle = defaultSettle
	}
	if w.rescan == 0 {
		w.rescan = defaultRescan
	}
	if w.grace <= 0 {
		w.grace = defaultGrace
	}
	if w.ignore == nil {
		w.ignore = defaultIgnore
	}
	w.ignore = append([]string(nil), w.ignore...) // the caller may reuse its slice
	if w.log == nil {
		w.log = slog.Default()
	}
	for _, p := range w.ignore {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("watcher: ignore pattern %q is not a valid pattern: %w", p, err)
		}
	}
	for _, d := range opt.Dirs {
		// Absolute paths, so that the reported paths stay valid even if the
		// process changes its working folder.
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("watcher: hot-folder %s: %w", d, err)
		}
		info, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("watcher: hot-folder %s does not exist", abs)
			}
			return nil, fmt.Errorf("watcher: hot-folder %s cannot be opened: %w", abs, err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("watcher: hot-folder %s is not a folder", abs)
		}
		w.dirs = append(w.dirs, abs)
	}
	return w, nil
}

// Run watches the hot-folders until ctx is done and then returns ctx.Err().
//
// found is called once for each regular file that is complete, including
// files already present when Run starts. It is called from a single
// goroutine, one file at a time, and may block: the watcher keeps collecting
// meanwhile. A file is reported again only if it changes (size or
// modification time) or disappears and comes back (another inode, or the same
// one moved away and back, which changes its ctime). Run returns only after
// the last call of found has returned.
func (w *Watcher) Run(ctx context.Context, found func(path string)) error {
	r := newRun(w)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if !w.noEvents {
		fw, err := fsnotify.NewWatcher()
		if err != nil {
			w.log.Warn("cannot receive file system change events; new files are found by the rescan only",
				"rescan_every", w.rescan, "error", err)
		} else {
			defer fw.Close()
			r.fw = fw
			events, errs = fw.Events, fw.Errors
		}
	}

	// found runs in its own goroutine so that a slow consumer never stops
	// the loop below from draining events; completed files wait in r.ready.
	out := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for path := range out {
			found(path)
		}
	}()
	defer func() {
		close(out)
		<-done
	}()

	rescan := time.NewTicker(w.rescan)
	defer rescan.Stop()
	due := time.NewTimer(w.settle)
	defer due.Stop()

	r.rescan()
	for {
		if at, ok := r.nextDue(); ok {
			due.Reset(time.Until(at))
		} else {
			due.Stop()
		}
		var send chan<- string
		next, ok := r.nextReport()
		if ok {
			send = out
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case send <- next:
			r.reportSent()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			r.handleEvent(ev)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("too many file system events at once, some were lost; rescanning all hot-folders now")
				r.rescan()
				continue
			}
			w.log.Warn("the file system change watcher reported a problem; rescans continue", "error", err)
		case <-rescan.C:
			r.rescan()
		case <-due.C:
			r.checkDue(time.Now())
		}
	}
}

// ignored reports whether a file or folder with this base name is skipped.
func (w *Watcher) ignored(name string) bool {
	for _, p := range w.ignore {
		if ok, _ := filepath.Match(p, name); ok { // patterns were checked by New
			return true
		}
	}
	return false
}
