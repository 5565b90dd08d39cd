package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"scanstation/journal"
	"scanstation/outbox"
)

// stampName is the file in the state folder that says which journal the spool and work
// folders belong to: the same station ID and generation as the journal's meta table. The
// spool and work folders are fixed sub-folders of the state folder, so one stamp covers them.
const stampName = "identity"

// JournalName is the journal's file in the state folder.
const JournalName = "journal.db"

// ReadStamp reads state/identity; ok is false when there is none.
func ReadStamp(stateDir string) (id journal.Identity, ok bool, err error) {
	path := filepath.Join(stateDir, stampName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return journal.Identity{}, false, nil
	}
	if err != nil {
		return journal.Identity{}, false, fmt.Errorf("read the station's identity %s: %w", path, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "station":
			id.Station = strings.TrimSpace(value)
		case "generation":
			id.Generation, _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	if id.IsZero() || id.Generation < 1 {
		return journal.Identity{}, false, fmt.Errorf("the station's identity %s is damaged (%q); "+
			"run `scanstation journal rebuild`, which writes it again", path, strings.TrimSpace(string(data)))
	}
	return id, true, nil
}

// WriteStamp writes state/identity whole (temporary name, fsync, rename, fsync of the folder).
func WriteStamp(stateDir string, id journal.Identity) error {
	text := fmt.Sprintf("# which journal the spool and work folders belong to; see docs/reliability.md\nstation %s\ngeneration %d\n",
		id.Station, id.Generation)
	if err := outbox.WriteFileAtomic(stateDir, stampName, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write the station's identity: %w", err)
	}
	return nil
}

// A Leftover is a file in the spool or work folder, named by the job it belongs to.
type Leftover struct {
	Path string
	Job  int64
}

// FindLeftovers lists the files in the state folder's spool/ and work/ that are named by a job
// ID ("7-scan.jpg", "7.ocr.json", "7.ocr.2.json" of a review edit), in order of job ID then name.
// pages/ is not looked at: its <id>.pages.json (the console's record of a signed document's
// pages, desk.go) are kept for good, not work in progress, and each names the scan it is of,
// so one left by another journal's job of the same number is never taken for this one's.
func FindLeftovers(stateDir string) ([]Leftover, error) {
	var found []Leftover
	for _, sub := range []string{"spool", "work"} {
		dir := filepath.Join(stateDir, sub)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, e := range entries {
			if id, ok := jobOfName(e.Name()); ok {
				found = append(found, Leftover{Path: filepath.Join(dir, e.Name()), Job: id})
			}
		}
	}
	sort.Slice(found, func(a, b int) bool {
		if found[a].Job != found[b].Job {
			return found[a].Job < found[b].Job
		}
		return found[a].Path < found[b].Path
	})
	return found, nil
}

// jobOfName reads the job ID a spool, work or review file name starts with.
func jobOfName(name string) (int64, bool) {
	end := strings.IndexAny(name, "-.")
	if end <= 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(name[:end], 10, 64)
	return id, err == nil && id > 0
}

// IdentityError is the refusal to start next to files the journal does not know.
type IdentityError struct {
	Journal   string
	Why       string
	Leftovers []string // the files, shortened to spool/NAME and work/NAME
	Config    string   // the configuration file, for the command to type
}

func (e *IdentityError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the station did not start: %s.", e.Why)
	if n := len(e.Leftovers); n > 0 {
		shown := e.Leftovers
		if n > 10 {
			shown = append(shown[:10:10], fmt.Sprintf("and %d more", n-10))
		}
		fmt.Fprintf(&b, " The state folder holds %d file(s) of jobs this journal does not know: %s.", n, strings.Join(shown, ", "))
		b.WriteString(" Job numbers start again in a new journal, so a new document would be taken for an old file.")
	}
	cfg := e.Config
	if cfg == "" {
		cfg = "FILE"
	}
	fmt.Fprintf(&b, " Nothing was changed. Either run `scanstation journal rebuild --config %s`, which makes a new journal "+
		"from the outbox, archive and failed folders and puts these files in the failed folder with a reason; "+
		"or, if you have the right journal, put it back as %s.", cfg, e.Journal)
	return b.String()
}

// checkIdentity makes sure the journal is the one the spool and work folders belong to, and
// stamps a journal that has no identity yet. existed says whether the journal's file was there
// before it was opened. It refuses when the journal's identity differs from the stamp, or when
// spool/ or work/ hold files of jobs the journal does not know (a lost journal recreated, an
// old backup put back). A new journal with nothing left over starts a new generation.
func checkIdentity(ctx context.Context, j *journal.Journal, stateDir, cfgFile string, existed bool, log *slog.Logger) error {
	have, err := j.Identity(ctx)
	if err != nil {
		return err
	}
	stamp, stamped, err := ReadStamp(stateDir)
	if err != nil {
		return err
	}
	refuse := func(why string, left []string) error {
		return &IdentityError{Journal: j.Path(), Why: why, Leftovers: left, Config: cfgFile}
	}
	if !have.IsZero() && stamped && have != stamp {
		return refuse(fmt.Sprintf("the journal %s is not the one this state folder belongs to (the journal is %s; %s says %s): it was replaced",
			j.Path(), have, filepath.Join(stateDir, stampName), stamp), nil)
	}

	leftovers, err := FindLeftovers(stateDir)
	if err != nil {
		return err
	}
	var unknown []string
	var stale []string
	for _, l := range leftovers {
		job, err := j.Get(ctx, l.Job)
		if errors.Is(err, journal.ErrNotFound) {
			rel, _ := filepath.Rel(stateDir, l.Path)
			unknown = append(unknown, rel)
		} else if err != nil {
			return err
		} else if filepath.Base(filepath.Dir(l.Path)) == "work" && staleReading(job, filepath.Base(l.Path)) {
			stale = append(stale, l.Path)
		}
	}
	if len(unknown) > 0 {
		why := "the journal " + j.Path() + " does not know the work in progress"
		switch {
		case !existed:
			why = "the journal " + j.Path() + " was missing and has just been made anew"
		case have.IsZero() && stamped:
			why = "the journal " + j.Path() + " was replaced by one without this station's identity"
		}
		return refuse(why, unknown)
	}
	// A review edit's reading the journal does not name: the one it replaced, or a new one
	// whose edit was never recorded (review.go). Either way the station stopped in between.
	for _, path := range stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s, a reading of a document no longer in use: %w", path, err)
		}
		log.Info("removed a reading of a document left by a review edit the station stopped in", "file", path)
	}

	switch {
	case !have.IsZero() && stamped:
		return nil
	case !have.IsZero():
		// The stamp alone was lost; the journal knows every file left.
		log.Info("the station's identity stamp was missing; written again from the journal", "identity", have.String())
		return WriteStamp(stateDir, have)
	}
	id, err := journal.NewIdentity()
	if err != nil {
		return err
	}
	if stamped {
		id = journal.Identity{Station: stamp.Station, Generation: stamp.Generation + 1}
		if empty, err := j.Empty(ctx); err != nil {
			return err
		} else if empty {
			log.Warn("the journal was missing or empty and a new one was started; nothing was left in the spool or work folder, "+
				"so no document is at risk, but the history is not in it: `scanstation journal rebuild` brings it back from the outbox, archive and failed folders",
				"journal", j.Path(), "identity", id.String())
		}
	}
	// The stamp first: should the station stop between the two, the next start finds a journal
	// without identity and a stamp, and gives it the next generation again.
	if err := WriteStamp(stateDir, id); err != nil {
		return err
	}
	return j.SetIdentity(ctx, id)
}

// setAsideStrayWAL moves away the -wal and -shm files of a journal that is missing (deleted
// under a running station): SQLite would lay the old WAL's pages over the new journal and bring
// back part of the lost one, identity included.
func setAsideStrayWAL(path string, log *slog.Logger) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		stray := path + suffix
		if _, err := os.Stat(stray); err != nil {
			continue
		}
		to := stray + ".stray"
		if err := os.Rename(stray, to); err != nil {
			return fmt.Errorf("the journal %s is missing but its %s is there, and cannot be moved aside: %w", path, stray, err)
		}
		log.Warn("the journal is missing but a file of it was there; moved aside", "file", stray, "now", to)
	}
	return nil
}

// journalWatch notices the journal's file deleted or replaced while the station runs: SQLite
// keeps writing to the file it opened, which nobody will ever read again, so the station
// stops taking work and says so once.
type journalWatch struct {
	path     string
	dev, ino uint64
	mu       sync.Mutex
	lost     string // why the journal is lost, once noticed
}

func newJournalWatch(path string) (*journalWatch, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	dev, ino := devIno(info)
	return &journalWatch{path: path, dev: dev, ino: ino}, nil
}

// check reports why the journal is lost, or "" while it is the file the station opened. It
// tells log the first time.
func (w *journalWatch) check(log *slog.Logger) string {
	if w == nil {
		return ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost != "" {
		return w.lost
	}
	info, err := os.Stat(w.path)
	if err == nil {
		if dev, ino := devIno(info); dev == w.dev && ino == w.ino {
			return ""
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "" // cannot tell (a passing error); the next check tells
	}
	w.lost = fmt.Sprintf("the journal %s was deleted or replaced while the station ran; no new work is taken; "+
		"restart the station after `scanstation journal rebuild`", w.path)
	log.Error(w.lost)
	return w.lost
}

// journalLost reports why the journal is lost, or "" while it is intact.
func (s *Station) journalLost() string { return s.jwatch.check(s.log) }
