package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"scanstation/config"
	"scanstation/docmeta"
	"scanstation/journal"
	"scanstation/outbox"
)

// RebuildReport is what a journal rebuild found and did.
type RebuildReport struct {
	Journal    string           // the new journal
	Identity   journal.Identity // the new journal's identity
	OldJournal string           // where the journal that was there was put; "" if there was none

	Delivered int // documents delivered and archived, from the archive and the outbox sidecars
	Failed    int // documents in the failed folder, with their reasons
	Finished  int // originals left in the spool whose delivery is in the outbox: archived now
	Unmatched int // originals left in the spool that were never delivered: put in failed/ with a reason

	WorkAside int    // files of the work folder (unsigned and signed drafts, OCR) moved aside
	AsideDir  string // where they went; "" if none
	FirstID   int64  // job IDs start after every ID the left files carry
}

// lostReason is the reason file's words for an original the lost journal had not finished.
const lostReason = "the station's journal was lost or replaced before this scan was certified; " +
	"what it had recorded about the scan (its hot-folder, the operator, a clerk's approval) went with it, " +
	"so it was not certified from a guess"

const lostAdvice = "To certify it, put the file back into its hot-folder: it is taken as a new scan. " +
	"If a certified copy of it is in the outbox already, it was delivered and this file can be archived by hand."

// Rebuild makes a new journal for the state folder of cfg from what the station's folders
// hold: a job archived for every original in the archive (with what its outbox sidecar says),
// a job failed for every original in the failed folder (with its reason), and, for the
// originals left in the spool, either archived (their delivery is in the outbox: same SHA-256)
// or put in the failed folder with a reason. Nothing left in the spool is certified: the
// hot-folder that decides its rules, and any approval, are not known any more. Work files are
// drafts made from the spool; they are moved aside, not deleted. The journal that was there
// is kept beside it under another name. It holds the state folder's lock, so it is refused
// while a station runs; and it writes the new journal under a temporary name, so an
// interrupted rebuild leaves no half journal (run it again: what it moved is found again in
// the archive and failed folders).
func Rebuild(cfg *config.Config, command string) (*RebuildReport, error) {
	ctx := context.Background()
	state := cfg.Folders.State
	lock, err := lockState(state, command)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	// The history comes from these folders: one that is a share not mounted would look empty,
	// and the journal made from it would have lost that history.
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		if !marked(d) {
			return nil, fmt.Errorf("%s has no marker (%s): if it is a share, mount it; if it is the right folder, "+
				"run `scanstation folders mark --config %s`; then run the rebuild again", d, MarkerName, cfg.File)
		}
	}
	spool, work := filepath.Join(state, "spool"), filepath.Join(state, "work")
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive, state, spool, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create folder: %w", err)
		}
		if _, err := outbox.RemoveLeftovers(d); err != nil {
			return nil, err
		}
	}
	box := &outbox.Box{Outbox: cfg.Folders.Outbox, Failed: cfg.Folders.Failed, Archived: cfg.Folders.Archive}
	rep := &RebuildReport{Journal: filepath.Join(state, JournalName)}

	// The identity: the same station, the next generation.
	id, stamped, err := ReadStamp(state)
	if err != nil || !stamped {
		if id, err = journal.NewIdentity(); err != nil {
			return nil, err
		}
	} else {
		id.Generation++
	}
	rep.Identity = id

	// IDs start after every ID a file left in the state or review folder carries.
	leftovers, err := FindLeftovers(state)
	if err != nil {
		return nil, err
	}
	for _, l := range leftovers {
		rep.FirstID = max(rep.FirstID, l.Job)
	}
	if cfg.Folders.Review != "" {
		if entries, err := os.ReadDir(cfg.Folders.Review); err == nil {
			for _, e := range entries {
				if n, ok := jobOfName(e.Name()); ok {
					rep.FirstID = max(rep.FirstID, n)
				}
			}
		}
	}
	rep.FirstID++

	sidecars, err := readSidecars(cfg)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{} // sidecars matched to an original, by their path
	var jobs []*journal.Job

	// The archive: every original there was delivered.
	archived, err := originals(cfg.Folders.Archive)
	if err != nil {
		return nil, err
	}
	for _, path := range archived {
		f, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		job := restoredJob(path, f, journal.Archived)
		if sc := matchSidecar(sidecars, used, f.sum); sc != nil {
			fromSidecar(job, sc)
		}
		jobs = append(jobs, job)
		rep.Delivered++
	}

	// The spool: delivered ones go to the archive, the others to failed/ with the reason.
	spooled, err := originals(spool)
	if err != nil {
		return nil, err
	}
	for _, path := range spooled {
		f, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(path)
		if n, ok := jobOfName(name); ok {
			name = strings.TrimPrefix(name, fmt.Sprint(n)+"-")
		}
		meta, hasMeta, _ := docmeta.SidecarPath(path)
		if sc := matchSidecar(sidecars, used, f.sum); sc != nil {
			dst, err := box.Archive(path, name)
			if err != nil {
				return nil, err
			}
			if hasMeta {
				outbox.Move(meta, cfg.Folders.Archive, strings.TrimSuffix(filepath.Base(dst), filepath.Ext(dst))+filepath.Ext(meta))
			}
			job := restoredJob(dst, f, journal.Archived)
			fromSidecar(job, sc)
			jobs = append(jobs, job)
			rep.Finished++
			continue
		}
		p := printerOf(cfg)
		dst, err := box.Fail(path, name, outbox.Failure{File: name, Stage: stageWords(p, "journal"), Reason: p.Sprintf(lostReason),
			Advice: p.Sprintf(lostAdvice), Printer: p})
		if err != nil {
			return nil, err
		}
		if hasMeta {
			outbox.Move(meta, cfg.Folders.Failed, strings.TrimSuffix(filepath.Base(dst), filepath.Ext(dst))+filepath.Ext(meta))
		}
		job := restoredJob(dst, f, journal.Failed)
		job.Created = time.Now()
		job.FailedStage, job.Reason = "journal", p.Sprintf(lostReason)
		jobs = append(jobs, job)
		rep.Unmatched++
	}

	// The failed folder, with the reasons (including the ones just written).
	failed, err := originals(cfg.Folders.Failed)
	if err != nil {
		return nil, err
	}
	for _, path := range failed {
		if alreadyIn(jobs, path) {
			continue
		}
		f, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		job := restoredJob(path, f, journal.Failed)
		readReason(job, path+".error.txt")
		jobs = append(jobs, job)
		rep.Failed++
	}

	// Deliveries whose original is neither archived nor spooled (an archive cleared by hand).
	for _, sc := range sidecars {
		if used[sc.path] {
			continue
		}
		job := &journal.Job{Source: sc.path, SourceName: sc.Source, SourceSHA256: sc.SourceSHA256, State: journal.Archived}
		fromSidecar(job, &sc)
		jobs = append(jobs, job)
		rep.Delivered++
	}

	// The work folder holds only drafts made from the spool: kept aside, never used.
	if entries, err := os.ReadDir(work); err == nil && len(entries) > 0 {
		rep.AsideDir = filepath.Join(state, "aside-"+time.Now().Format("20060102-150405"), "work")
		if err := os.MkdirAll(rep.AsideDir, 0o700); err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := os.Rename(filepath.Join(work, e.Name()), filepath.Join(rep.AsideDir, e.Name())); err != nil {
				return nil, fmt.Errorf("move %s aside: %w", filepath.Join(work, e.Name()), err)
			}
			rep.WorkAside++
		}
		outbox.SyncDir(work)
		outbox.SyncDir(rep.AsideDir)
	}

	// The new journal, under a temporary name until it is whole.
	building := rep.Journal + ".rebuilding"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(building + suffix)
	}
	j, err := journal.Open(building)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].Created.Before(jobs[b].Created) })
	err = j.StartIDsAfter(ctx, rep.FirstID-1)
	for _, job := range jobs {
		if err == nil {
			err = j.Restore(ctx, job)
		}
	}
	if err == nil {
		err = j.SetIdentity(ctx, id)
	}
	if cerr := j.Close(); err == nil {
		err = cerr // closing the last connection checkpoints the WAL into the file
	}
	if err != nil {
		return nil, err
	}

	// The old journal is kept, renamed; the new one takes its place; then the stamp. Its -wal
	// and -shm go along even without it (a journal deleted under a running station leaves
	// them): SQLite would lay an old WAL over the new journal.
	aside := rep.Journal + ".replaced-" + time.Now().Format("20060102-150405")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(rep.Journal+suffix, aside+suffix)
		if err == nil && suffix == "" {
			rep.OldJournal = aside
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("keep the old journal aside: %w", err)
		}
	}
	if err := os.Rename(building, rep.Journal); err != nil {
		return nil, fmt.Errorf("put the new journal in place: %w", err)
	}
	if err := outbox.SyncDir(state); err != nil {
		return nil, err
	}
	if err := WriteStamp(state, id); err != nil {
		return nil, err
	}
	return rep, nil
}

// sidecarFile is an outbox sidecar and where it is.
type sidecarFile struct {
	outbox.Sidecar
	path string
}

// readSidecars reads the station's sidecars in the outbox and where the push sender moves
// delivered packages (sent, rejected).
func readSidecars(cfg *config.Config) ([]sidecarFile, error) {
	dirs := []string{cfg.Folders.Outbox, cfg.Push.SentDir, cfg.Push.RejectedDir,
		filepath.Join(cfg.Folders.Outbox, "sent"), filepath.Join(cfg.Folders.Outbox, "rejected")}
	seen := map[string]bool{}
	var found []sidecarFile
	for _, dir := range dirs {
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read the sidecar %s: %w", p, err)
			}
			var sc sidecarFile
			if json.Unmarshal(data, &sc.Sidecar) != nil || sc.SourceSHA256 == "" || sc.OutputSHA256 == "" {
				continue // not a delivery's sidecar
			}
			sc.path = p
			found = append(found, sc)
		}
	}
	return found, nil
}

// matchSidecar returns an unused sidecar of the source with this SHA-256 and marks it used.
func matchSidecar(sidecars []sidecarFile, used map[string]bool, sum string) *sidecarFile {
	for i := range sidecars {
		if !used[sidecars[i].path] && strings.EqualFold(sidecars[i].SourceSHA256, sum) {
			used[sidecars[i].path] = true
			return &sidecars[i]
		}
	}
	return nil
}

// originals lists the scans in dir: not hidden, not reason files, not metadata sidecars.
func originals(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var found []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".error.txt") ||
			ext == ".yaml" || ext == ".yml" || ext == ".json" {
			continue
		}
		found = append(found, filepath.Join(dir, name))
	}
	return found, nil
}

// restoredJob is a job for the file at path, received when it was last written.
func restoredJob(path string, f sourceFile, state journal.State) *journal.Job {
	job := &journal.Job{Source: path, SourceName: filepath.Base(path), State: state, Created: f.mtime}
	f.recordIn(job)
	return job
}

// fromSidecar takes what the outbox sidecar says about the delivery.
func fromSidecar(job *journal.Job, sc *sidecarFile) {
	if sc.Source != "" {
		job.SourceName = sc.Source
	}
	job.OutName = strings.TrimSuffix(filepath.Base(sc.path), ".json")
	job.Pages, job.Languages, job.MeanConfidence = sc.Pages, strings.Join(sc.Languages, "+"), sc.MeanOCRConfidence
	job.Signer, job.SignedAt, job.OutputSHA256 = sc.Signer, sc.SigningTime, sc.OutputSHA256
	job.Operator, job.ConvertedAt, job.Warnings = sc.Operator, sc.ConvertedAt, strings.Join(sc.Warnings, "\n")
	job.MarkPlace, job.Level, job.TimestampNote, job.DuplicateOf = sc.MarkPlace, sc.SignatureLevel, sc.TimestampNote, sc.DuplicateOf
	job.ApprovedBy = sc.ApprovedBy
	if sc.ApprovedAt != nil {
		job.ApprovedAt = *sc.ApprovedAt
	}
	job.Metadata = string(sc.Metadata)
	switch {
	case !sc.ConvertedAt.IsZero():
		job.Created = sc.ConvertedAt
	case !sc.SigningTime.IsZero():
		job.Created = sc.SigningTime
	}
}

// readReason takes the stage, reason and time from a failed original's reason file, written
// in English or Vietnamese (outbox.ReasonLayout; a Vietnamese stage reads "đọc tệp quét (decode)").
func readReason(job *journal.Job, path string) {
	job.FailedStage, job.Reason = "unknown", "the reason file "+filepath.Base(path)+" is missing"
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "Stage", "Bước":
			if i := strings.LastIndex(value, " ("); i >= 0 && strings.HasSuffix(value, ")") {
				value = value[i+2 : len(value)-1]
			}
			job.FailedStage = value
		case "Reason", "Lý do":
			job.Reason = value
		case "Time", "Thời điểm":
			if t, err := time.Parse("2006-01-02 15:04:05 -07:00", value); err == nil {
				job.Created = t
			}
		}
	}
}

func alreadyIn(jobs []*journal.Job, path string) bool {
	for _, j := range jobs {
		if j.Source == path {
			return true
		}
	}
	return false
}
