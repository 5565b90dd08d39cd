package station

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"scanstation/journal"
	"scanstation/scan"
)

// sourceFile is one state of an input file: its identity and the hash of its bytes. A job is
// bound to it, not to the file's name: the bytes the station hashed are the bytes it
// certifies and archives.
type sourceFile struct {
	size  int64
	sum   string // SHA-256, hex
	dev   uint64
	ino   uint64
	mtime time.Time
}

// errChanging means a file changed while the station read it: it is still being written.
var errChanging = errors.New("it changed while the station read it (it is still being saved)")

func (f sourceFile) recordIn(job *journal.Job) {
	job.SourceSize, job.SourceSHA256 = f.size, f.sum
	job.SourceDev, job.SourceInode, job.SourceMtime = f.dev, f.ino, f.mtime
}

// sameFile reports whether the file at path is, by its identity (device, inode, size,
// modification time), the file the job recorded. A job recorded before identities were kept
// has none to compare: then only a job that has not taken its file away yet owns the path.
func sameFile(job *journal.Job, path string) bool {
	info, err := os.Lstat(path)
	if err != nil {
		return false
	}
	if job.SourceInode == 0 {
		return job.State == journal.Received && info.Size() == job.SourceSize
	}
	dev, ino := devIno(info)
	return dev == job.SourceDev && ino == job.SourceInode && info.Size() == job.SourceSize && info.ModTime().Equal(job.SourceMtime)
}

func devIno(info fs.FileInfo) (uint64, uint64) {
	if st, ok := info.Sys().(*sysStat); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// shownName is how an operator knows the input: its hot-folder and its name, inbox/scan.tif.
func shownName(job *journal.Job) string {
	if job.HotFolder != "" {
		if rel, err := filepath.Rel(filepath.Dir(job.HotFolder), job.Source); err == nil {
			return rel
		}
	}
	return job.SourceName
}

// adopt binds the job to the file it now has, telling the operator when the bytes differ from
// the ones it recorded. It records nothing: the caller does, with its next step.
func (s *Station) adopt(job *journal.Job, f sourceFile, path string) {
	if job.SourceSHA256 != "" && (f.sum != job.SourceSHA256 || f.size != job.SourceSize) {
		s.log.Warn(fmt.Sprintf("%s changed after it was taken (%s); it is read again", shownName(job), s.howChanged(job, path, f)),
			"job", job.ID, "bytes", f.size, "was_bytes", job.SourceSize)
	}
	f.recordIn(job)
	job.FailedStage, job.Reason = "", "" // a reason about the old bytes is not about these
}

// howChanged says what changed in words an operator checks against the paper: the page count
// when both are known, else the size.
func (s *Station) howChanged(job *journal.Job, path string, f sourceFile) string {
	if job.Pages > 0 {
		if doc, err := scan.Open(path, s.scanOptions()); err == nil {
			n := doc.NumPages
			doc.Close()
			return fmt.Sprintf("%s now, was %d", plural(n, "page"), job.Pages)
		}
	}
	return fmt.Sprintf("%s now, was %d", plural(int(f.size), "byte"), job.SourceSize)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checkSource makes sure the spooled file still holds the bytes the job hashed, before they
// are signed or delivered. A file that changed after it was taken (a scanner still writing
// through the file it had open, a page added) restarts its job from the new bytes: hashed and
// recorded again, recognised and built again, approved again where approval is required. A
// prefix of a scan is never certified. It reports whether the job went back to spooled; the
// caller then stops and the state machine goes on from there.
func (s *Station) checkSource(ctx context.Context, job *journal.Job) (bool, error) {
	f, err := fileDigest(job.Spool)
	switch {
	case errors.Is(err, errChanging):
		// Still being written: bound to what was read, it differs again at the next check
		// until the writer is done.
	case err != nil:
		return false, &stageError{"receive", fmt.Errorf("the original of %s cannot be read from the spool: %w", job.SourceName, err)}
	case f.size == job.SourceSize && f.sum == job.SourceSHA256:
		return false, nil
	}
	if job.Batch != 0 {
		// Its pages were chosen from the bytes that were divided; other bytes may hold other
		// pages. The batch's original is kept; this document is refused.
		return false, &stageError{"capture", fmt.Errorf("the batch original of %s changed after it was divided into documents (SHA-256 %s, was %s); scan the batch again",
			job.SourceName, f.sum, job.SourceSHA256)}
	}
	if job.State == journal.Approved || job.State == journal.AwaitingApproval || job.ApprovedBy != "" {
		s.log.Warn("the clerk's approval was for the old bytes; it is asked again", "job", job.ID, "file", job.SourceName)
	}
	s.adopt(job, f, job.Spool)
	s.removeWork(job)
	if job.Work != "" {
		os.Remove(job.Work)
	}
	job.Work, job.OutName = "", ""
	job.Pages, job.MeanConfidence, job.Warnings, job.Metadata, job.DuplicateOf = 0, 0, "", "", ""
	job.Signer, job.SignedAt, job.OutputSHA256, job.Level, job.MarkPlace, job.TimestampNote = "", time.Time{}, "", "", "", ""
	job.ConvertedAt, job.ApprovedBy, job.ApprovedAt = time.Time{}, "", time.Time{}
	job.StageTimes = nil
	if err := s.journal.Reread(ctx, job); err != nil {
		return false, &journalError{err}
	}
	return true, nil
}
