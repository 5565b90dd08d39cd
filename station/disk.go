package station

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"scanstation/journal"
	"scanstation/lang"
	"scanstation/outbox"
)

// diskRetry is how often a station paused by a full disk, or waiting for a folder that went
// away, tries again.
const diskRetry = 10 * time.Second

// retryWords is how the log tells the growing waits (retryDelay).
const retryWords = "10s, doubling to 5m"

// isJournalFull reports SQLite's "database or disk is full", which does not wrap ENOSPC.
func isJournalFull(err error) bool {
	return err != nil && strings.Contains(err.Error(), "disk is full")
}

// diskFull says once, in plain words, that the station waits for disk space.
func (s *Station) diskFull(err error) {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if s.diskPaused {
		return
	}
	s.diskPaused = true
	p := s.printer()
	s.log.Error(p.Sprintf("the disk is full: the station pauses and writes nothing half-done; documents wait where they are and nothing is lost. Free some space (outbox, archive, state folder); the station resumes by itself"),
		"err", err, "retry_every", retryWords)
	s.waits.add(s, Waiting{Key: "disk", Place: "disk", What: p.Sprintf("the disk is full"), Since: time.Now(), Err: err.Error()})
}

// diskOK notes that writing works again after a pause.
func (s *Station) diskOK() {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if s.diskPaused {
		s.diskPaused = false
		s.log.Info(s.printer().Sprintf("there is disk space again; the station resumes"))
		s.waits.remove(s, "disk")
	}
}

// transientErrnos are errors of a place, not of a document: a share that is unmounted, a
// server that does not answer, a disk that hiccups. They pass; the document waits for them.
var transientErrnos = []syscall.Errno{
	syscall.EIO, syscall.ESTALE, syscall.ENOTCONN, syscall.EHOSTDOWN, syscall.EHOSTUNREACH,
	syscall.ETIMEDOUT, syscall.ENETDOWN, syscall.ENETUNREACH, syscall.ENETRESET,
	syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EBUSY,
	syscall.EAGAIN, syscall.EINTR, syscall.ENODEV, syscall.ENOLINK, syscall.EREMOTEIO,
	syscall.ENOMEDIUM, syscall.ENXIO,
}

// transient reports whether err is one of transientErrnos.
func transient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	for _, e := range transientErrnos {
		if errno == e {
			return true
		}
	}
	return false
}

// A Waiting is one thing the station waits for; `scanstation status` reads them from
// state/waiting.json.
type Waiting struct {
	Key   string    `json:"-"`
	Place string    `json:"place"` // archive, outbox, failed, hot-folder, state, journal, disk, source
	What  string    `json:"what"`  // in plain words, in the station's language, said once in the log
	Since time.Time `json:"since"`
	Err   string    `json:"error,omitempty"`

	name lang.Text // the folder waited for, for the line that says it is back
}

// placeWait is a wait for the folder of place.
func (s *Station) placeWait(place, folder string, err error) Waiting {
	name := lang.T(placeWords[place], folder)
	return Waiting{Key: place, Place: place, Since: time.Now(), Err: err.Error(),
		What: lang.T("%s unavailable", name).In(s.printer()), name: name}
}

// waitingFile is where the daemon lists what it waits for, for `scanstation status`.
const waitingFile = "waiting.json"

// waits is what the station waits for now, each said once when it starts and once when it
// ends.
type waits struct {
	mu   sync.Mutex
	now  map[string]Waiting
	ends int // how many waits have ended: inputs that back off are tried at once when it moves
}

// ended counts the waits that have ended so far.
func (w *waits) ended() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ends
}

func (w *waits) add(s *Station, c Waiting) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.now[c.Key]; ok {
		return false
	}
	if w.now == nil {
		w.now = map[string]Waiting{}
	}
	w.now[c.Key] = c
	s.metrics.Waiting(c.Place, c.Since)
	w.publish(s)
	return true
}

// remove ends the waits with key, or, for a place, every wait of that place.
func (w *waits) remove(s *Station, key string) []Waiting {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ended []Waiting
	for k, c := range w.now {
		if k == key || c.Place == key {
			ended = append(ended, c)
			delete(w.now, k)
		}
	}
	if len(ended) == 0 {
		return nil
	}
	w.ends += len(ended)
	for _, c := range ended {
		still := false
		for _, o := range w.now {
			still = still || o.Place == c.Place
		}
		if !still {
			s.metrics.Waiting(c.Place, time.Time{})
		}
	}
	w.publish(s)
	return ended
}

// publish writes state/waiting.json; w.mu is held. A state folder that cannot be written is
// itself waited for, so a failure here is not said again.
func (w *waits) publish(s *Station) {
	list := make([]Waiting, 0, len(w.now))
	for _, c := range w.now {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Since.Before(list[j].Since) })
	data, err := json.MarshalIndent(waitingList{PID: os.Getpid(), Waiting: list}, "", "  ")
	if err != nil {
		return
	}
	outbox.WriteFileAtomic(s.config().Folders.State, waitingFile, append(data, '\n'), 0o600)
}

// waitingList is state/waiting.json: the process that wrote it, so that a list left by
// another one (a stopped daemon, `scanstation process`) is not taken for the running daemon's.
type waitingList struct {
	PID     int       `json:"pid"`
	Waiting []Waiting `json:"waiting"`
}

// ReadWaiting returns what the process pid, whose state folder is dir, waits for, oldest first.
func ReadWaiting(dir string, pid int) ([]Waiting, error) {
	data, err := os.ReadFile(filepath.Join(dir, waitingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list waitingList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, waitingFile), err)
	}
	if list.PID != pid {
		return nil, nil
	}
	return list.Waiting, nil
}

// placeOf is where the step from state reads or writes: what an unavailable folder holds up.
func placeOf(state journal.State) string {
	switch state {
	case journal.Received:
		return "hot-folder"
	case journal.Signed:
		return "outbox"
	case journal.Delivered:
		return "archive"
	case journal.Failed:
		return "failed"
	default:
		return "state"
	}
}

// folderOf is the folder of a place for job, in the words the log uses.
func (s *Station) folderOf(place string, job *journal.Job) string {
	cfg := s.config()
	switch place {
	case "hot-folder":
		return job.HotFolder
	case "outbox":
		return cfg.Folders.Outbox
	case "archive":
		return cfg.Folders.Archive
	case "failed":
		return cfg.Folders.Failed
	default:
		return cfg.Folders.State
	}
}

// vanished returns the place of a folder job needs that is not there (an unmounted share
// whose mount point held it) or cannot be read, or "".
func (s *Station) vanished(job *journal.Job) string {
	for _, place := range []string{"hot-folder", "state", "outbox", "archive", "failed"} {
		dir := s.folderOf(place, job)
		if dir == "" {
			continue
		}
		if _, err := os.Stat(dir); err != nil && (errors.Is(err, fs.ErrNotExist) || transient(err)) {
			return place
		}
		if s.markers && placeDir(s.config(), place) != "" && s.markable(dir) && !marked(dir) {
			return place // the empty mount point of a share that is not mounted
		}
	}
	return ""
}

// waitCause says whether err, met in the step from state, makes the document wait rather than
// fail, and for what. Errors of a place (a share unmounted, EIO, a server gone), an original
// that cannot be removed after its copy, the journal, and anything after delivery wait;
// errors of the document's content (a decode error, a bad scan, a quality failure) do not.
func (s *Station) waitCause(job *journal.Job, state journal.State, err error) (Waiting, bool) {
	now := time.Now()
	var stays *outbox.SourceStaysError
	if errors.As(err, &stays) {
		return Waiting{
			Key: "source " + stays.Source, Place: "source", Since: now, Err: err.Error(),
			What: s.printer().Sprintf("cannot remove %s after copying it (%s); the document waits so it is not taken twice",
				s.shortPath(job, stays.Source), errnoWords(stays.Err)),
		}, true
	}
	var je *journalError
	if errors.As(err, &je) {
		return Waiting{Key: "journal", Place: "journal", Since: now, Err: err.Error(),
			What: s.printer().Sprintf("the journal cannot record progress")}, true
	}
	place := placeOf(state)
	if p := s.vanished(job); p != "" && (errors.Is(err, fs.ErrNotExist) || transient(err)) {
		place = p
	} else if !transient(err) && state != journal.Delivered && state != journal.Failed {
		return Waiting{}, false
	}
	// After delivery nothing un-delivers: whatever the archive says, the document waits.
	return s.placeWait(place, s.folderOf(place, job), err), true
}

// placeWords name a place's folder (package lang has them as keys).
var placeWords = map[string]string{
	"hot-folder": "hot-folder %s", "state": "state folder %s", "outbox": "outbox %s",
	"archive": "archive %s", "failed": "failed folder %s",
}

// waitFor says once that documents wait for c, and since when.
func (s *Station) waitFor(c Waiting, err error) {
	if !s.waits.add(s, c) {
		return
	}
	if c.Place == "source" {
		s.log.Error(c.What, "err", err, "retry_every", retryWords)
		return
	}
	p := s.printer()
	s.log.Error(p.Sprintf("%s since %s; documents wait where they are and nothing is lost; the station tries again after %s (once one gets through, the others follow at once)",
		c.What, c.Since.In(s.zone).Format("15:04"), p.Sprintf(retryWords)), "err", err)
}

// waitOver notes that a step of place (or of one original: key) worked again.
func (s *Station) waitOver(key string) {
	p := s.printer()
	for _, c := range s.waits.remove(s, key) {
		if c.Place == "source" {
			s.log.Info(p.Sprintf("the original is removed at last; the document goes on"), "file", strings.TrimPrefix(c.Key, "source "))
			continue
		}
		what := c.What
		if c.name.Format != "" {
			what = c.name.In(p)
		}
		s.log.Info(p.Sprintf("%s is available again (it was not from %s); the waiting documents go on",
			what, c.Since.In(s.zone).Format("15:04")))
	}
}

// shortPath is path as the operator knows it: from the hot-folder's name ("inbox/order.pdf").
func (s *Station) shortPath(job *journal.Job, path string) string {
	if job.HotFolder != "" {
		if rel, err := filepath.Rel(filepath.Dir(job.HotFolder), path); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return path
}

// errnoWords is an error's errno in words ("permission denied"), or the error.
func errnoWords(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
