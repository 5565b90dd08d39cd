package station

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/message"
	"golang.org/x/text/unicode/norm"

	"scanstation/certify/pdfa"
	"scanstation/config"
	"scanstation/internal/crashpoint"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/ocr"
	"scanstation/outbox"
	"scanstation/scan"
	"scanstation/watcher"
)

// Outcome is what became of one input.
type Outcome struct {
	Source    string
	JobID     int64
	Delivered string // the PDF in the outbox, when it got there
	Failed    string // the input in failed/, when it went there
	Waiting   bool   // not finished, not failed: it waits (approval, token, shutdown) and resumes later
	Err       error  // why it did not reach the outbox (nil when Delivered)

	// Name, Stage and Reason say why a failed input was refused: Reason in the station's
	// language, as its reason file says it, Stage as the journal names it.
	Name, Stage, Reason string

	// Documents are the outcomes of the documents a batch was divided into by this call.
	Documents []Outcome

	retry bool   // waiting for something that comes back by itself (disk space): try again soon
	busy  string // the claim another worker held: try again once it is let go
}

// Progress is told about every recognised page.
type Progress func(source string, page, pages int, confidence float64)

// stageError says which stage of a document failed; the stage names appear in reason files.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// journalError marks a failure to record progress: the document is not at fault, so it is
// left where it is for a restart instead of being sent to failed/.
type journalError struct{ err error }

func (e *journalError) Error() string { return "journal: " + e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

// recordTimeout bounds one record made after the station was told to stop.
const recordTimeout = 10 * time.Second

// recordJob records a step of job. The step has happened on disk (a file moved, written,
// delivered) or its outcome is known, so the record is finished even when ctx is cancelled
// (SIGTERM meanwhile): a delivery the journal does not know would be made again at the next
// start, and the push sender may have sent the first copy already. The record is bounded, so
// a stuck journal cannot hold up the stop for ever.
func (s *Station) recordJob(ctx context.Context, job *journal.Job) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := s.journal.Update(ctx, job); err != nil {
		return &journalError{err}
	}
	return nil
}

// take finds the unfinished job of an input, or records a new one. A job is bound to its
// file's identity, not to its name: the file at source belongs to the job recorded for that
// path only if it is the same file (device, inode, size, modification time). A job that took
// its file away already has nothing more to do with the path, so whatever is found there is a
// new input; a job that has not (received, not yet spooled) and finds another file in its
// place takes that file instead, read afresh. It returns the unfinished job and no error for a
// path that vanished after its job took it away, nil when there was none.
func (s *Station) take(ctx context.Context, source string) (*journal.Job, error) {
	job, err := s.journal.BySource(ctx, source)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(source); errors.Is(err, os.ErrNotExist) {
		return job, nil
	}
	switch {
	case job == nil:
		return s.receive(ctx, source)
	case sameFile(job, source):
		return job, nil
	case job.State == journal.Received && !exists(s.spoolPath(job)):
		f, err := fileDigest(source)
		if err != nil {
			return nil, err // changing (the watcher reports it again once it holds still) or unreadable
		}
		s.adopt(job, f, source)
		if err := s.recordJob(ctx, job); err != nil {
			return nil, err
		}
		return job, nil
	default:
		return s.receive(ctx, source)
	}
}

// receive records a newly found input in the journal.
func (s *Station) receive(ctx context.Context, source string) (*journal.Job, error) {
	job := &journal.Job{
		Source:     source,
		SourceName: filepath.Base(source),
		HotFolder:  s.hotFolderOf(source),
		State:      journal.Received,
		Languages:  strings.Join(s.config().OCR.Languages, "+"),
	}
	f, err := fileDigest(source)
	switch {
	case errors.Is(err, errChanging):
		// Not taken: the watcher reports it again once it has held still.
		return nil, fmt.Errorf("%s is not taken: %w", source, err)
	case transient(err):
		// The share or disk hiccupped (EIO, ESTALE...): not the file's fault. Not taken now;
		// tried again later.
		return nil, fmt.Errorf("%s is not taken now: %w", source, err)
	case err != nil:
		// Recorded all the same, so the failure below has a job to hang its reason on, and
		// bound to the file's identity, so only this file is moved to failed/.
		job.FailedStage, job.Reason = "receive", plainReason(s.printer(), err, job.SourceName)
		if info, serr := os.Lstat(source); serr == nil {
			f.size, f.mtime = info.Size(), info.ModTime()
			f.dev, f.ino = devIno(info)
		}
	default:
		// The watcher waited for this file to be whole until it stopped changing; a file
		// still unfinished is refused, whole, rather than certified as the pages it has.
		if ok, why := watcher.Whole(source); !ok {
			p := s.printer()
			if lang.Has(why) {
				// The watcher's fixed words; the TIFF's, which name pages and sizes, stay English.
				why = p.Sprintf(why)
			}
			job.FailedStage = "decode"
			job.Reason = p.Sprintf("%s is incomplete: %s; the scanner did not finish saving it", job.SourceName, why)
		}
	}
	f.recordIn(job)
	if err := s.journal.Add(ctx, job); err != nil {
		return nil, err
	}
	s.log.Info(s.printer().Sprintf("received"), "job", job.ID, "file", source, "bytes", f.size)
	return job, nil
}

// advance runs the state machine from the job's recorded state until the job is terminal,
// waits for the clerk (awaiting approval), or, when handOff is given, is built and handed to
// the signer.
func (s *Station) advance(ctx context.Context, job *journal.Job, keepSource bool, progress Progress, handOff func(*journal.Job)) Outcome {
	out := Outcome{Source: job.Source, JobID: job.ID}
	for !job.State.Terminal() {
		if job.Reason != "" {
			return s.fail(ctx, job, keepSource, out)
		}
		var err error
		state := job.State
		if job.Documents > 0 {
			// A divided batch's one step left is archiving its original: its documents are
			// delivered or refused already, so it waits on any error and never fails.
			state = journal.Delivered
		}
		switch job.State {
		case journal.Received:
			err = s.spool(ctx, job, keepSource)
		case journal.Spooled:
			switch {
			case job.Documents > 0:
				var docs []journal.Job
				var pending int
				if docs, pending, err = s.finishBatch(ctx, job); err == nil && pending > 0 {
					return batchOutcome(s.printer(), out, job, docs, pending)
				}
				if err == nil {
					s.diskOK()
					return batchOutcome(s.printer(), out, job, docs, 0)
				}
			case s.divides(job):
				if err = s.checkDuplicate(ctx, job); err == nil {
					out.Documents, err = s.divide(ctx, job, keepSource, progress, handOff)
				}
			default:
				if err = s.checkDuplicate(ctx, job); err == nil {
					err = s.recognise(ctx, job, progress)
				}
			}
		case journal.AwaitingApproval:
			// The job number is a string: printed as a number, it would be grouped (1.234).
			out.Err = errors.New(s.printer().Sprintf("%s waits for approval: scanstation approve %s --by NAME", job.SourceName, strconv.FormatInt(job.ID, 10)))
			out.Waiting = true
			return out
		case journal.Approved:
			err = s.rebuild(ctx, job)
		case journal.Built, journal.AwaitingValidation:
			// Signed and awaiting validation goes to the signer too: it retries it as it
			// does a document that waits for the TSA, without the token.
			if handOff != nil {
				handOff(job)
				out.Waiting = true
				return out
			}
			err = s.sign(ctx, job)
		case journal.Signed:
			err = s.deliver(ctx, job)
		case journal.Delivered:
			err = s.archive(ctx, job)
		default:
			err = fmt.Errorf("job %d is in unknown state %q", job.ID, job.State)
		}
		if err == nil {
			s.waitOver(placeOf(state))
			continue
		}
		if outbox.IsDiskFull(err) || isJournalFull(err) {
			s.diskFull(err)
			out.Err = fmt.Errorf("%s: %w (waits for disk space)", job.SourceName, err)
			out.Waiting, out.retry = true, true
			return out
		}
		var wait *waitError
		if ctx.Err() != nil || errors.As(err, &wait) {
			// Shutting down, or signing must wait (token, TSA, which the signer retries):
			// the job resumes from its last recorded state. Nothing is moved.
			out.Err = fmt.Errorf("%s: %w (will resume)", job.SourceName, err)
			out.Waiting = true
			s.log.Warn(s.printer().Sprintf("waiting"), "job", job.ID, "file", job.SourceName, "state", job.State, "err", err)
			return out
		}
		if c, ok := s.waitCause(job, state, err); ok {
			// Not the document's fault: a folder away, an error that passes, an original that
			// cannot be removed yet, the journal, or anything after delivery. It waits where it
			// is and is tried again soon.
			s.waitFor(c, err)
			out.Err = fmt.Errorf("%s: %w (will resume: %s)", job.SourceName, err, c.What)
			out.Waiting, out.retry = true, true
			return out
		}
		stage := string(job.State)
		var se *stageError
		if errors.As(err, &se) {
			stage = se.stage
		}
		job.FailedStage, job.Reason = stage, plainReason(s.printer(), err, job.SourceName)
		if rerr := s.recordJob(ctx, job); rerr != nil {
			out.Err = rerr
			return out
		}
	}
	s.diskOK()
	if job.State == journal.Failed {
		out.Err = fmt.Errorf("%s failed at %s: %s", job.SourceName, job.FailedStage, job.Reason)
		out.Name, out.Stage, out.Reason = job.SourceName, job.FailedStage, job.Reason
		return out
	}
	out.Delivered = filepath.Join(s.config().Folders.Outbox, job.OutName+".pdf")
	return out
}

// checkDuplicate looks for an earlier job with the same source bytes: with watch.duplicates
// "skip" the scan is refused, with "flag" it goes on and its record names the earlier copy.
func (s *Station) checkDuplicate(ctx context.Context, job *journal.Job) error {
	if job.SourceSHA256 == "" || job.DuplicateOf != "" || job.Batch != 0 {
		return nil // a batch's documents share its bytes: the batch was checked
	}
	earlier, err := s.journal.EarlierBySHA256(ctx, job.SourceSHA256, job.ID)
	if err != nil || earlier == nil {
		return err
	}
	name := earlier.SourceName
	if earlier.OutName != "" {
		name = earlier.OutName + ".pdf"
	}
	when := earlier.Created.In(s.zone).Format("02.01.2006 15:04")
	if s.config().Watch.Duplicates == "skip" {
		return &stageError{"duplicate", refuse("%s is the same scan (identical file) as %s, taken on %s; it was not certified a second time", job.SourceName, name, when)}
	}
	job.DuplicateOf = name
	s.log.Warn(s.printer().Sprintf("same scan taken again"), "job", job.ID, "file", job.SourceName, "earlier", name, "earlier_taken", when)
	return s.recordJob(ctx, job)
}

// waitError means the job cannot go on now but is not at fault: the token is absent or
// refuses, or the time-stamping authority is down and the configuration says to wait.
type waitError struct{ err error }

func (e *waitError) Error() string { return e.err.Error() }
func (e *waitError) Unwrap() error { return e.err }

func (s *Station) spoolPath(job *journal.Job) string {
	return filepath.Join(s.spoolDir, fmt.Sprintf("%d-%s", job.ID, job.SourceName))
}

// spool moves the input out of the hot-folder (so it can never be taken twice) into the state
// folder, under a name derived from the job, so a restart finds it.
func (s *Station) spool(ctx context.Context, job *journal.Job, keepSource bool) error {
	job.Spool = s.spoolPath(job)
	if _, err := os.Stat(job.Spool); errors.Is(err, os.ErrNotExist) {
		if keepSource {
			data, err := os.ReadFile(job.Source)
			if err != nil {
				return &stageError{"receive", err}
			}
			// The copy is what gets certified: the job is bound to the bytes read here.
			sum := sha256.Sum256(data)
			if f := (sourceFile{size: int64(len(data)), sum: hex.EncodeToString(sum[:]),
				dev: job.SourceDev, ino: job.SourceInode, mtime: job.SourceMtime}); f.sum != job.SourceSHA256 {
				s.adopt(job, f, job.Source)
			}
			err = outbox.WriteFileAtomic(s.spoolDir, filepath.Base(job.Spool), data, 0o600)
			if err != nil {
				return &stageError{"receive", err}
			}
		} else {
			// A move between filesystems a crash stopped after removing the original is
			// finished by Move from its verified copy (outbox.Pending): nothing to read here.
			if !outbox.Pending(job.Source, s.spoolDir, filepath.Base(job.Spool)) && !sameFile(job, job.Source) {
				// Replaced since it was received (a restart in between, say): the job takes
				// the file that is there now, read afresh.
				f, err := fileDigest(job.Source)
				if err != nil {
					return &stageError{"receive", err}
				}
				s.adopt(job, f, job.Source)
			}
			if _, err := outbox.Move(job.Source, s.spoolDir, filepath.Base(job.Spool)); err != nil {
				return &stageError{"receive", err}
			}
			// A move between file systems is a copy: bind the job to the bytes that arrived.
			if !sameFile(job, job.Spool) {
				f, err := fileDigest(job.Spool)
				if err != nil && !errors.Is(err, errChanging) {
					return &stageError{"receive", err}
				}
				if f.sum != job.SourceSHA256 || f.size != job.SourceSize {
					s.adopt(job, f, job.Spool)
				}
			}
		}
	}
	if err := s.spoolSidecar(job, keepSource); err != nil {
		return &stageError{"metadata", err}
	}
	job.State = journal.Spooled
	return s.recordJob(ctx, job)
}

// deliver puts the signed PDF and its sidecar into the outbox under a name recorded in the
// journal before the files appear, so a restart recognises its own delivery.
func (s *Station) deliver(ctx context.Context, job *journal.Job) error {
	if err := s.checkMarked("outbox"); err != nil {
		return &stageError{"deliver", err}
	}
	if again, err := s.checkSource(ctx, job); err != nil || again {
		return err
	}
	started := time.Now()
	pdf, err := os.ReadFile(job.Work)
	if err != nil {
		return &stageError{"deliver", fmt.Errorf("read the signed copy: %w", err)}
	}
	if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != job.OutputSHA256 {
		return &stageError{"deliver", fmt.Errorf("the signed copy %s is damaged (its SHA-256 changed)", job.Work)}
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	// One box for the name and the delivery under it, whatever a reload does meanwhile.
	box := s.box()
	if job.OutName == "" {
		job.OutName = box.FreeName(outName(job.SourceName))
		if err := s.recordJob(ctx, job); err != nil {
			return err
		}
	}
	envelope, edxmlNote := s.envelope(job, pdf)
	side := s.sidecar(job)
	side.EdXML = edxmlNote
	if err := box.Deliver(job.OutName, pdf, side, envelope); err != nil {
		return &stageError{"deliver", err}
	}
	if s.afterDelivery != nil {
		s.afterDelivery()
	}
	job.State = journal.Delivered
	if job.StageTimes == nil {
		job.StageTimes = map[string]time.Duration{}
	}
	job.StageTimes[journal.StageDeliver] = time.Since(started)
	if err := s.recordJob(ctx, job); err != nil {
		return err
	}
	s.metrics.Stage(journal.StageDeliver, "ok", job.Pages, job.StageTimes[journal.StageDeliver])
	if envelope != nil && s.sender != nil {
		s.sender.Notify()
	}
	s.log.Info(s.printer().Sprintf("delivered"), "job", job.ID, "file", job.SourceName, "outbox", job.OutName+".pdf")
	return nil
}

// archive moves the original out of the spool once its copy is durable in the outbox. Its
// errors never fail the document, which is delivered: advance makes it wait and try again.
func (s *Station) archive(ctx context.Context, job *journal.Job) error {
	if job.Batch != 0 {
		// The original is the batch's, archived by the batch once all its documents are done.
		s.removeWork(job)
		if job.Work != "" {
			if err := os.Remove(job.Work); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("cannot remove work file", "file", job.Work, "err", err)
			}
		}
		job.State = journal.Archived
		return s.recordJob(ctx, job)
	}
	if err := s.checkMarked("archive"); err != nil {
		return &stageError{"archive", err}
	}
	// A move between filesystems that stopped after removing the spool copy is finished too.
	pending := outbox.Pending(job.Spool, s.config().Folders.Archive, job.SourceName)
	if exists(job.Spool) && !pending {
		// The archived original must be the bytes the copy certifies (the sidecar's
		// source_sha256). Bytes that changed after the delivery's check are kept aside.
		f, err := fileDigest(job.Spool)
		if err != nil && !errors.Is(err, errChanging) {
			return &stageError{"archive", fmt.Errorf("the original of %s cannot be read from the spool: %w", job.SourceName, err)}
		}
		if err != nil || f.sum != job.SourceSHA256 || f.size != job.SourceSize {
			return s.changedAfterDelivery(ctx, job, f)
		}
	}
	if exists(job.Spool) || pending {
		dst, err := s.box().Archive(job.Spool, job.SourceName)
		if err != nil {
			return &stageError{"archive", err}
		}
		s.moveSidecar(job, s.config().Folders.Archive, filepath.Base(dst))
	}
	// Already moved when a crash came between the move and this record.
	s.removeWork(job) // left behind when a crash came right after signing
	if job.Work != "" {
		if err := os.Remove(job.Work); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot remove work file", "file", job.Work, "err", err)
		}
		crashpoint.Hit("work.remove signed copy")
	}
	job.State = journal.Archived
	return s.recordJob(ctx, job)
}

// changedAfterDelivery keeps aside an original whose bytes changed after its copy was
// delivered (a writer that still had the file open): the copy in the outbox stays, it is right
// for the bytes hashed, which the station no longer has; the changed file goes to failed/ with
// a reason, never to the archive, where it would stand for bytes it does not hold.
func (s *Station) changedAfterDelivery(ctx context.Context, job *journal.Job, f sourceFile) error {
	if err := s.checkMarked("failed"); err != nil {
		return &stageError{"archive", err}
	}
	failedDir := s.config().Folders.Failed
	p := s.printer()
	reason := p.Sprintf("%s changed after its copy %s.pdf was certified and delivered (%s). The certified copy is of the file as it was "+
		"(SHA-256 %s), which the station no longer has; this file holds other bytes (SHA-256 %s) and was not archived",
		shownName(job), job.OutName, s.howChanged(job, job.Spool, f), job.SourceSHA256, f.sum)
	dst, err := s.box().Fail(job.Spool, job.SourceName, outbox.Failure{
		File: job.SourceName, Stage: stageWords(p, "archive"), Reason: reason, When: time.Now(), Printer: p,
		Advice: p.Sprintf("The copy in the outbox stays: it is right for the scan as it was when certified. If this file is a newer scan "+
			"of the paper (a page added), put it back into the hot-folder to certify it; the outbox then holds both. "+
			"Else keep the paper at hand: the archive holds no original for %s.pdf.", job.OutName),
	})
	if err != nil {
		return &stageError{"archive", err}
	}
	s.moveSidecar(job, failedDir, filepath.Base(dst))
	s.log.Error(p.Sprintf("the original changed after its copy was certified; the copy stays delivered, the changed file is kept in failed/ and not archived"),
		"job", job.ID, "file", shownName(job), "outbox", job.OutName+".pdf", "moved_to", dst, "reason", reason)
	s.removeWork(job)
	if job.Work != "" {
		os.Remove(job.Work)
	}
	job.State = journal.Archived
	job.Warnings = strings.TrimPrefix(job.Warnings+"\n"+reason, "\n")
	return s.recordJob(ctx, job)
}

// fail moves the input into failed/ with a reason file. The reason is in the journal already,
// so a crash in here is finished at the next start, and a reason file the crash lost is
// written again. A failed/ folder that cannot take the file now makes the job wait and try
// again: the document is refused, but its original must land whole.
func (s *Station) fail(ctx context.Context, job *journal.Job, keepSource bool, out Outcome) Outcome {
	failedDir := s.config().Folders.Failed
	movable := func(p string) bool { return exists(p) || outbox.Pending(p, failedDir, job.SourceName) }
	src := ""
	switch {
	case job.Batch != 0:
		// The spool holds the batch's original, which the batch archives: what goes to
		// failed/ is a copy of this document's pages.
		src = s.refusedCopy(ctx, job)
	case job.Spool != "" && movable(job.Spool):
		src = job.Spool
	case !keepSource && (outbox.Pending(job.Source, failedDir, job.SourceName) || exists(job.Source) && sameFile(job, job.Source)):
		// Only the job's own file: another saved under its name since is a new input.
		src = job.Source
	case keepSource && job.Spool == "" && exists(job.Source) && sameFile(job, job.Source):
		// `process` leaves its inputs where they are, so one refused before it was spooled
		// (incomplete, unreadable) goes to failed/ as a copy, with its reason, like any other.
		spool := s.spoolPath(job)
		data, err := os.ReadFile(job.Source)
		if err == nil {
			err = outbox.WriteFileAtomic(s.spoolDir, filepath.Base(spool), data, 0o600)
		}
		if err == nil {
			job.Spool = spool
			err = s.recordJob(ctx, job)
		}
		if err != nil {
			out.Err = fmt.Errorf("%s failed at %s (%s); its copy for %s could not be made: %w", job.SourceName, job.FailedStage, job.Reason, failedDir, err)
			return out
		}
		src = spool
	}
	p := s.printer()
	f := outbox.Failure{
		File:    job.SourceName,
		Stage:   stageWords(p, job.FailedStage),
		Reason:  job.Reason,
		Advice:  advice(p, job.FailedStage),
		When:    time.Now(),
		Printer: p,
	}
	waitErr := func(err error) Outcome {
		c, ok := s.waitCause(job, journal.Failed, err)
		if !ok {
			c = s.placeWait("failed", failedDir, err)
		}
		s.waitFor(c, err)
		out.Err = fmt.Errorf("%s failed at %s (%s) and waits to be moved to %s: %w", job.SourceName, job.FailedStage, job.Reason, failedDir, err)
		out.Waiting, out.retry = true, true
		return out
	}
	if err := s.checkMarked("failed"); err != nil {
		return waitErr(err)
	}
	if job.Batch != 0 && len(job.BatchPages) > 0 {
		f.Reason += p.Sprintf(" (pages %s of the batch %s)", pageList(job.BatchPages), filepath.Base(batchSource(job)))
	}
	if src == "" && job.Batch != 0 {
		// Nothing to move (no pages, or the copy moved by a run that stopped before it was
		// recorded): the reason stands alone, named after the document, unless that run wrote it.
		out.Failed = filepath.Join(failedDir, job.SourceName)
		if !exists(out.Failed + ".error.txt") {
			if !exists(out.Failed) {
				f.Reason += p.Sprintf(". No copy of its pages is here; they are in the batch's original, %s, kept in the archive", filepath.Base(batchSource(job)))
			}
			if err := s.box().WriteReason(out.Failed, f); err != nil {
				return waitErr(err)
			}
		}
	} else if src != "" {
		dst, err := s.box().Fail(src, job.SourceName, f)
		if err == nil && src == job.Spool {
			s.moveSidecar(job, failedDir, filepath.Base(dst))
		}
		if err != nil {
			return waitErr(err)
		}
		out.Failed = dst
	} else if job.SourceSHA256 != "" {
		// Moved by a run that stopped before it wrote why (or could not): write it again.
		orig, err := s.box().Unexplained(job.SourceName, job.SourceSHA256)
		if err != nil {
			return waitErr(err)
		}
		if orig != "" {
			if err := s.box().WriteReason(orig, f); err != nil {
				return waitErr(err)
			}
			s.log.Info(p.Sprintf("wrote again the reason file a stop had lost"), "job", job.ID, "file", orig+".error.txt")
			out.Failed = orig
		}
	}
	s.waitOver("failed")
	if job.Work != "" {
		os.Remove(job.Work)
	}
	s.removeWork(job)
	job.State = journal.Failed
	if err := s.recordJob(ctx, job); err != nil {
		return waitErr(err)
	}
	s.metrics.Failed(job.FailedStage)
	s.metrics.Stage(job.FailedStage, "failed", job.Pages, 0)
	s.log.Warn(p.Sprintf("failed"), "job", job.ID, "file", job.SourceName, "stage", job.FailedStage, "reason", job.Reason, "moved_to", out.Failed)
	out.Err = fmt.Errorf("%s failed at %s: %s", job.SourceName, job.FailedStage, job.Reason)
	out.Name, out.Stage, out.Reason = job.SourceName, job.FailedStage, f.Reason
	return out
}

func (s *Station) sidecar(job *journal.Job) *outbox.Sidecar {
	side := &outbox.Sidecar{
		Source:            job.SourceName,
		SourceSHA256:      job.SourceSHA256,
		Pages:             job.Pages,
		Languages:         strings.Split(job.Languages, "+"),
		MeanOCRConfidence: job.MeanConfidence,
		Signer:            job.Signer,
		SigningTime:       job.SignedAt.In(s.zone),
		OutputSHA256:      job.OutputSHA256,
		Station:           s.config().Station.Name,
		Agency:            s.config().Station.Agency,
		Operator:          job.Operator,
		ConvertedAt:       job.ConvertedAt.In(s.zone),
		CopyLabel:         s.profile(job).CopyLabel,
		MarkPlace:         job.MarkPlace,
		SignatureLevel:    job.Level,
		TimestampNote:     job.TimestampNote,
		ApprovedBy:        job.ApprovedBy,
	}
	side.DuplicateOf = job.DuplicateOf
	if job.Batch != 0 {
		side.Source = filepath.Base(batchSource(job))
		side.Batch = &outbox.BatchRef{Document: job.BatchDocument, Pages: job.BatchPages}
	}
	if job.Metadata != "" {
		side.Metadata = json.RawMessage(job.Metadata)
	}
	if !job.ApprovedAt.IsZero() {
		at := job.ApprovedAt.In(s.zone)
		side.ApprovedAt = &at
	}
	if job.Warnings != "" {
		side.Warnings = WarningsIn(s.printer(), job)
	}
	return side
}

func (s *Station) scanOptions() scan.Options {
	return scan.Options{
		Limits: scan.Limits{
			MaxFileSize: s.config().Limits.MaxFileMB << 20,
			MaxPages:    s.config().Limits.MaxPages,
			MaxPixels:   s.config().Limits.MaxMegapixels * 1_000_000,
		},
		AssumeDPI:      s.config().PDF.AssumeDPI,
		LosslessAsJPEG: s.config().PDF.LosslessAsJPEG,
		JPEGQuality:    s.config().PDF.JPEGQuality,
	}
}

func (s *Station) hotFolderOf(path string) string {
	best := ""
	for _, hf := range s.config().HotFolders {
		if rel, err := filepath.Rel(hf.Path, path); err == nil && !strings.HasPrefix(rel, "..") && len(hf.Path) > len(best) {
			best = hf.Path
		}
	}
	return best
}

func pdfaPage(p *scan.Page, res *ocr.Result) pdfa.Page {
	cs := pdfa.RGB
	if p.Gray {
		cs = pdfa.Gray
	}
	// The OCR tells how the stored image reads upright; a page without words keeps the
	// rotation its scanner PDF gave it.
	rotate := res.Orientation
	if len(res.Words) == 0 {
		rotate = p.Rotate
	}
	words := make([]pdfa.Word, len(res.Words))
	for i, w := range res.Words {
		words[i] = pdfa.Word{Text: w.Text, Box: w.Box}
	}
	return pdfa.Page{
		Image: pdfa.Image{
			Width: p.Width, Height: p.Height, DPIX: p.DPIX, DPIY: p.DPIY,
			ColorSpace: cs, BitsPerComponent: p.BitsPerComponent, Filter: p.Filter, Data: p.Data, Globals: p.JBIG2Globals,
			Predictor: p.Predictor, CCITT: pdfa.CCITTParams{K: p.CCITT.K, BlackIs1: p.CCITT.BlackIs1},
		},
		Words:  words,
		Rotate: rotate,
		Skew:   res.Skew,
	}
}

// meanConfidence weighs every word equally across the document.
func meanConfidence(results []*ocr.Result) float64 {
	var sum float64
	var n int
	for _, r := range results {
		for _, w := range r.Words {
			sum += w.Confidence
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// fileDigest hashes the file at path and tells its identity, all from one open file: the
// identity is the one of the bytes hashed. A file whose size or modification time moved while
// it was read, or that held more or fewer bytes than its size, is still being written: the
// result is what was read, with errChanging.
func fileDigest(path string) (sourceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return sourceFile{}, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return sourceFile{}, fmt.Errorf("read %s: %w", path, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return sourceFile{}, fmt.Errorf("read %s: %w", path, err)
	}
	after, err := f.Stat()
	if err != nil {
		return sourceFile{}, fmt.Errorf("read %s: %w", path, err)
	}
	sf := sourceFile{size: n, sum: hex.EncodeToString(h.Sum(nil)), mtime: after.ModTime()}
	sf.dev, sf.ino = devIno(after)
	if n != after.Size() || before.Size() != after.Size() || !before.ModTime().Equal(after.ModTime()) {
		return sf, fmt.Errorf("%s: %w", path, errChanging)
	}
	return sf, nil
}

// outName is the outbox base name for an input: its name without extension, with anything
// that could escape the folder replaced.
func outName(source string) string {
	// One spelling of a Vietnamese name whatever the scanning PC typed (NFC, not NFD).
	base := norm.NFC.String(strings.TrimSuffix(source, filepath.Ext(source)))
	// People and the exchange software open the outbox from Windows too: no characters it
	// forbids, no trailing dots or spaces.
	base = strings.Map(func(r rune) rune {
		if r < ' ' || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, base)
	base = strings.TrimLeft(base, ".")
	base = strings.TrimRight(base, ". ")
	if base == "" {
		base = "scan"
	}
	return base
}

func withName(err error, job *journal.Job) error {
	if strings.Contains(err.Error(), job.SourceName) {
		return err
	}
	return fmt.Errorf("%s: %w", job.SourceName, err)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// refusal is a document's fault in words an operator reads, kept as a lang.Text so its reason
// file is written in the station's language; Error is the English, for logs and errors.
type refusal struct{ text lang.Text }

func (e *refusal) Error() string { return e.text.String() }

// refuse says why a document is refused, as format and arguments (package lang has the format).
func refuse(format string, args ...any) error { return &refusal{lang.T(format, args...)} }

// printer prints what people at the station read in its language (station.language).
func (s *Station) printer() *message.Printer { return printerOf(s.config()) }

func printerOf(cfg *config.Config) *message.Printer {
	tag, err := lang.Parse(cfg.Station.Language)
	if err != nil {
		// Validated when loaded: only an unset language (a configuration built in code) is
		// left, which is the default.
		tag = lang.Vietnamese
	}
	return lang.Printer(tag)
}

// StageWords names a stage as p's language does; the journal's name in English.
func StageWords(p *message.Printer, stage string) string {
	if w := p.Sprintf(stage); w != stage {
		return w
	}
	return stage
}

// stageWords names a stage in the reason file: in Vietnamese its words with the stage's own
// name after them, "đọc tệp quét (decode)", which scanstation journal rebuild reads back.
func stageWords(p *message.Printer, stage string) string {
	if w := p.Sprintf(stage); w != stage {
		return w + " (" + stage + ")"
	}
	return stage
}

// plainReason is the reason an operator reads, printed by p: an input error's own words about
// the file as the operator named it (not the station's spool copy), a refusal's words, else
// the error as it is (technical detail, for the administrator).
func plainReason(p *message.Printer, err error, name string) string {
	if errors.Is(err, fs.ErrPermission) {
		return p.Sprintf("%s: the station is not allowed to read this file (permission denied); ask the system administrator to let the scanstation user read files saved in the hot-folder", name)
	}
	var ie *scan.InputError
	if errors.As(err, &ie) {
		why := ie.Reason
		if ie.Format != "" {
			why = lang.Text{Format: ie.Format, Args: ie.Args}.In(p)
		}
		if ie.Page > 0 {
			return p.Sprintf("page %d of %s: %s", ie.Page, name, why)
		}
		return name + ": " + why
	}
	var r *refusal
	if errors.As(err, &r) {
		return r.text.In(p)
	}
	var se *stageError
	if errors.As(err, &se) {
		return se.err.Error()
	}
	return err.Error()
}

func advice(p *message.Printer, stage string) string {
	switch stage {
	case "receive":
		return p.Sprintf("Once the station may read the file, move it from this folder back into the hot-folder.")
	case "decode":
		return p.Sprintf("Check that the file opens on the scanning computer. If it does not, scan the paper again and save it into the hot-folder. If it does, send this file and this note to the system administrator.")
	case "ocr":
		return p.Sprintf("Scan the paper again (colour, 300 dpi) and save it into the hot-folder. If it happens again, send this note to the system administrator.")
	case "duplicate":
		return p.Sprintf("Nothing to do if this paper was meant to be certified once: its copy is already in the outbox. If it is a different document, check the scanner did not save the old file again.")
	case "metadata":
		return p.Sprintf("Correct the metadata file (scan.yaml or scan.json) as the reason says, then put the scan and its metadata file back into the hot-folder.")
	case "quality":
		return p.Sprintf("Scan the paper again as the rules above ask (colour, at least the required dpi, at 100%% scale) and save it into the hot-folder.")
	case "capture":
		return p.Sprintf("Check the pages of the paper against the reason (a sheet fed twice or missed, a separator sheet in the wrong place), then scan the document again into the hot-folder.")
	case "approval":
		return p.Sprintf("The clerk refused to sign this copy. Fix what the reason says, then scan it again into the hot-folder.")
	case "validate":
		return p.Sprintf("The signed copy is not valid PDF/A. Send this note and the file to the system administrator; the original is kept here.")
	case "mark":
		return p.Sprintf("The certification mark cannot be put on page 1 as configured (the reason says why). For a small original (a receipt, a card), scan it on a larger page (A6 or A5 on the flatbed) and save it into the hot-folder, or ask the system administrator about mark.small_pages (docs/mark.md).")
	case "sign":
		return p.Sprintf("Check that the agency's token is plugged in and its certificate is valid, then move the file from this folder back into the hot-folder.")
	case "deliver", "archive":
		return p.Sprintf("Check free disk space and permissions of the outbox and archive folders, then move the file from this folder back into the hot-folder.")
	default:
		return p.Sprintf("Send this note to the system administrator.")
	}
}
