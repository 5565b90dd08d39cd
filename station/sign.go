package station

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/certify/pdfa"
	"scanstation/certify/token"
	"scanstation/internal/crashpoint"
	"scanstation/journal"
	"scanstation/outbox"
)

// tokenFaults are token problems no retry fixes: signing stops (documents wait, built, on
// disk) until someone fixes the cause and restarts or reloads the station.
var tokenFaults = []error{
	token.ErrPINIncorrect, token.ErrPINLocked, token.ErrCertificateExpired, token.ErrCertificateNotYetValid,
	token.ErrKeyMismatch, token.ErrKeyNotFound,
}

func isTokenFault(err error) bool {
	for _, f := range tokenFaults {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// sign signs a built document with the token (waiting for it while it is absent), showing the
// certification mark, and, when configured, has the result checked by veraPDF before it may
// enter the outbox. A document signed already and awaiting validation is finished without the
// token (finishLevel).
func (s *Station) sign(ctx context.Context, job *journal.Job) error {
	if job.State == journal.AwaitingValidation {
		return s.finishLevel(ctx, job)
	}
	if again, err := s.checkSource(ctx, job); err != nil || again {
		return err
	}
	started := time.Now()
	built, err := os.ReadFile(job.Work)
	if err != nil {
		return &stageError{"sign", fmt.Errorf("read the built copy: %w", err)}
	}
	page1, err := s.loadPage1(job)
	if err != nil {
		return &stageError{"sign", fmt.Errorf("read page 1 details: %w", err)}
	}
	bound, err := s.keeper.CryptoSigner(ctx)
	if err != nil {
		if isTokenFault(err) || ctx.Err() != nil {
			return &waitError{err}
		}
		return &stageError{"sign", err}
	}
	key := certify.Key{Signer: bound, Chain: bound.Chain()}
	certifier := *s.certifier.Load()
	prof := s.profile(job)
	certifier.Mark.CopyLabel = prof.CopyLabel
	certifier.Mark.Profile = markProfile(prof.Mark)
	signed, err := certifier.Sign(ctx, built, key, page1, s.config().Timestamp.OnUnavailable == "sign_without")
	var short *certify.LevelNotReachedError
	switch {
	case err == nil:
	case errors.As(err, &short) && signed != nil:
		return s.keepSigned(ctx, job, signed, short, started)
	case errors.Is(err, certify.ErrTSAUnavailable), errors.Is(err, certify.ErrValidationDataUnavailable),
		errors.Is(err, certify.ErrRevoked), errors.Is(err, certify.ErrClockSkew), isTokenFault(err), ctx.Err() != nil:
		// A revoked agency certificate stops signing as a token fault does: no copy may carry it.
		// So does a wrong clock: every copy's mark would contradict its timestamp.
		return &waitError{err}
	case errors.Is(err, certify.ErrMark):
		return &stageError{"mark", err}
	default:
		return &stageError{"sign", err}
	}

	name := fmt.Sprintf("%d.pdf", job.ID)
	if err := outbox.WriteFileAtomic(s.workDir, name, signed.PDF, 0o600); err != nil {
		return &stageError{"sign", fmt.Errorf("save the signed copy: %w", err)}
	}
	if err := s.validatePDFA(ctx, filepath.Join(s.workDir, name)); err != nil {
		return &stageError{"validate", err}
	}
	s.noteSigning(job, signed, filepath.Join(s.workDir, name), signed.TimestampNote, started)
	job.State = journal.Signed
	if err := s.recordJob(ctx, job); err != nil {
		return err
	}
	// Only now: a crash before the record above must find the built copy to sign again.
	s.removeWork(job)
	s.log.Info(s.printer().Sprintf("signed"), "job", job.ID, "file", job.SourceName, "pages", job.Pages, "level", job.Level,
		"ocr_confidence", fmt.Sprintf("%.1f", job.MeanConfidence), "mark", job.MarkPlace)
	if job.TimestampNote != "" {
		s.log.Warn(s.printer().Sprintf("signed without timestamp"), "job", job.ID, "file", job.SourceName, "why", job.TimestampNote)
	}
	return nil
}

// noteSigning puts what signing made into the job's record: where the signed copy is, who
// signed, when, at which level, and how long it took. The caller sets the state.
func (s *Station) noteSigning(job *journal.Job, signed *certify.Signed, work, note string, started time.Time) {
	job.Work = work
	job.Signer = signed.Signer
	job.SignedAt = signed.SigningTime
	job.OutputSHA256 = signed.SHA256
	job.Level = signed.Level
	job.MarkPlace = signed.MarkPlace
	job.TimestampNote = note
	if job.StageTimes == nil {
		job.StageTimes = map[string]time.Duration{}
	}
	job.StageTimes[journal.StageSign] = time.Since(started)
	s.metrics.Stage(journal.StageSign, "ok", job.Pages, job.StageTimes[journal.StageSign])
}

// keepSigned keeps a copy signed and timestamped whose long-term level could not be reached
// (an OCSP responder, CRL or the TSA away, and timestamp.on_unavailable wait): it is saved in
// the work folder and recorded awaiting validation at the level it reached, and finishLevel
// takes it on later. The token is not asked to sign the document again. A crash before the
// record finds the job built, with its built copy, and signs it again; the unrecorded signed
// copy is overwritten and was never delivered.
func (s *Station) keepSigned(ctx context.Context, job *journal.Job, signed *certify.Signed, short *certify.LevelNotReachedError, started time.Time) error {
	name := fmt.Sprintf("%d.pdf", job.ID)
	if err := outbox.WriteFileAtomic(s.workDir, name, signed.PDF, 0o600); err != nil {
		return &stageError{"sign", fmt.Errorf("save the signed copy: %w", err)}
	}
	s.noteSigning(job, signed, filepath.Join(s.workDir, name), short.Waits(), started)
	job.State = journal.AwaitingValidation
	if err := s.recordJob(ctx, job); err != nil {
		return err
	}
	s.removeWork(job)
	s.log.Warn(s.printer().Sprintf("signed, but not yet at the level configured; the signed copy waits in the state folder and is finished when the service answers"),
		"job", job.ID, "file", job.SourceName, "level", job.Level, "want", short.Want, "why", short.Err, "retry_in", s.config().Timestamp.RetryEvery)
	return &waitError{short}
}

// finishLevel takes a signed copy awaiting validation on to the level configured: its
// validation data and, for B-LTA, its document timestamp (certify.Certifier.Extend, from the
// level the file shows, so a crash after the finished copy was saved finds nothing left to
// do). It is then checked by veraPDF and recorded signed, ready for delivery. While a service
// is still away it waits again, or, if the configuration now says sign_without, goes on at the
// level it reached and says so.
func (s *Station) finishLevel(ctx context.Context, job *journal.Job) error {
	if again, err := s.checkSource(ctx, job); err != nil || again {
		return err
	}
	saved, err := os.ReadFile(job.Work)
	if err != nil {
		return &stageError{"sign", fmt.Errorf("read the signed copy that awaits validation: %w", err)}
	}
	certifier := *s.certifier.Load()
	signed, err := certifier.Extend(ctx, saved, nil)
	var short *certify.LevelNotReachedError
	note := ""
	switch {
	case err == nil:
	case errors.As(err, &short) && s.config().Timestamp.OnUnavailable == "sign_without":
		note = short.Note()
	case errors.As(err, &short):
		if signed.Level == job.Level {
			return &waitError{short}
		}
		// One step done (B-LT, the document timestamp still missing): kept, so it is
		// not fetched again.
		if err := outbox.WriteFileAtomic(s.workDir, filepath.Base(job.Work), signed.PDF, 0o600); err != nil {
			return &stageError{"sign", fmt.Errorf("save the signed copy: %w", err)}
		}
		job.Level, job.OutputSHA256, job.TimestampNote = signed.Level, signed.SHA256, short.Waits()
		if err := s.recordJob(ctx, job); err != nil {
			return err
		}
		return &waitError{short}
	case errors.Is(err, certify.ErrRevoked), ctx.Err() != nil:
		return &waitError{err}
	default:
		return &stageError{"sign", err}
	}
	if !bytes.Equal(signed.PDF, saved) {
		if err := outbox.WriteFileAtomic(s.workDir, filepath.Base(job.Work), signed.PDF, 0o600); err != nil {
			return &stageError{"sign", fmt.Errorf("save the signed copy: %w", err)}
		}
	}
	if err := s.validatePDFA(ctx, job.Work); err != nil {
		return &stageError{"validate", err}
	}
	waited := job.Level
	job.Level, job.OutputSHA256, job.TimestampNote = signed.Level, signed.SHA256, note
	job.State = journal.Signed
	if err := s.recordJob(ctx, job); err != nil {
		return err
	}
	if note != "" {
		s.log.Warn(s.printer().Sprintf("signed copy delivered at the level it reached (timestamp.on_unavailable is sign_without)"), "job", job.ID, "file", job.SourceName,
			"level", job.Level, "why", note)
	} else {
		s.log.Info(s.printer().Sprintf("signed copy completed"), "job", job.ID, "file", job.SourceName, "level", job.Level, "was", waited)
	}
	return nil
}

// removeWork removes a job's files in the work and review folders, except the signed copy.
func (s *Station) removeWork(job *journal.Job) {
	// The console still shows a signed document's pages: what it needs of the reading is kept.
	s.keepPages(job)
	for _, name := range []string{"built.pdf", "page1.json", "page1.png", "ocr.json"} {
		os.Remove(filepath.Join(s.workDir, fmt.Sprintf("%d.%s", job.ID, name)))
	}
	s.removeReadings(job, true)
	crashpoint.Hit("work.remove built files")
	os.Remove(filepath.Join(s.config().Folders.Review, s.reviewName(job)))
}

// validatePDFA runs the configured veraPDF command and decides by its XML report on stdout,
// never by what it prints on stderr: a file it does not find PDF/A-2u compliant is refused with
// the rules it failed, and a run that gives no readable report refuses the file too (fails
// closed). Without a command nothing is checked.
func (s *Station) validatePDFA(ctx context.Context, path string) error {
	fields := strings.Fields(s.config().Validation.VeraPDF)
	if len(fields) == 0 {
		return nil
	}
	args := append(fields[1:], "--flavour", "2u", "--format", "xml", path)
	cmd := exec.CommandContext(ctx, fields[0], args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	report, err := pdfa.ParseVeraPDFReport(&stdout)
	if err != nil {
		// No report: what veraPDF said on stderr is all there is to explain why.
		why := err.Error()
		if runErr != nil {
			why = runErr.Error() + "; " + why
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			why += "\n" + firstLines(msg, 20)
		}
		return fmt.Errorf("veraPDF could not check the signed copy: %s", why)
	}
	if !report.Compliant {
		return fmt.Errorf("veraPDF finds the signed copy not PDF/A-2u compliant:\n%s", report.Summary())
	}
	if runErr != nil {
		// A compliant report from a run that failed (killed, or a wrapper's later step
		// failed) is not trusted.
		return fmt.Errorf("veraPDF could not check the signed copy: its report says compliant but the run failed: %v", runErr)
	}
	return nil
}

// firstLines keeps the first n lines of s, enough to name the cause without a whole stack
// trace in the reason file.
func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "\n") + "\n…"
}

// tokenLook is how long the look at the token at start waits for one that is not there.
const tokenLook = 2 * time.Second

// lookAtToken opens the token once at start, so the console and status say within seconds
// whether it is ready, absent or refusing the PIN rather than "not checked yet" until the
// first signature. Opening logs in (the PIN is presented once, as the first signature would);
// an absent token is waited for no longer than tokenLook, the keeper saying it waits.
func (s *Station) lookAtToken(ctx context.Context) {
	look, cancel := context.WithTimeout(ctx, tokenLook)
	defer cancel()
	if _, err := s.keeper.Signer(look); err != nil && ctx.Err() == nil {
		s.log.Debug("the token at start", "state", s.keeper.State(), "err", err)
	}
}

// signer is the one goroutine that signs: the token never sees two requests at once, and
// while it waits for the token or a time-stamping authority, OCR of other documents goes on.
func (s *Station) signer(ctx context.Context, queue <-chan *journal.Job, finish func(*journal.Job)) {
	s.lookAtToken(ctx)
	for {
		var job *journal.Job
		select {
		case job = <-queue:
		case <-ctx.Done():
			return
		}
		// The worker that handed the job over may still hold its claim for a moment.
		if !s.claimWait(ctx, jobKey(job.ID)) {
			return
		}
		// Read it afresh: a stale copy (handed over twice) must not be signed twice.
		fresh, err := s.journal.Get(ctx, job.ID)
		if err != nil || (fresh.State != journal.Built && fresh.State != journal.AwaitingValidation) || fresh.Reason != "" {
			s.release(jobKey(job.ID))
			if err != nil {
				s.log.Error("cannot read a built document from the journal", "job", job.ID, "err", err)
			}
			continue
		}
		job = fresh
		err = s.sign(ctx, job)
		s.release(jobKey(job.ID))
		var wait *waitError
		switch {
		case err == nil:
			finish(job)
		case outbox.IsDiskFull(err) || isJournalFull(err):
			s.diskFull(err)
			go func() {
				select {
				case <-time.After(diskRetry):
					s.requeue(ctx, job)
				case <-ctx.Done():
				}
			}()
		case errors.As(err, &wait) && (errors.Is(err, certify.ErrTSAUnavailable) || errors.Is(err, certify.ErrValidationDataUnavailable)):
			if job.State == journal.AwaitingValidation {
				s.log.Warn(s.printer().Sprintf("time-stamping authority, OCSP responder or CRL unreachable; the signed copy waits"), "job", job.ID, "file", job.SourceName,
					"level", job.Level, "why", err, "retry_in", s.config().Timestamp.RetryEvery)
			} else {
				s.log.Warn(s.printer().Sprintf("time-stamping authority, OCSP responder or CRL unreachable; the document waits"), "job", job.ID, "file", job.SourceName,
					"why", err, "retry_in", s.config().Timestamp.RetryEvery)
			}
			go func() {
				select {
				case <-time.After(s.config().Timestamp.RetryEvery):
					s.requeue(ctx, job)
				case <-ctx.Done():
				}
			}()
		case errors.As(err, &wait):
			if ctx.Err() == nil {
				s.signingStopped(err)
			}
		default:
			// A document fault: let the state machine send it to failed/.
			var se *stageError
			stage := "sign"
			if errors.As(err, &se) {
				stage = se.stage
			}
			job.FailedStage, job.Reason = stage, plainReason(s.printer(), err, job.SourceName)
			if rerr := s.recordJob(ctx, job); rerr != nil {
				s.log.Error("cannot record failure", "job", job.ID, "err", rerr)
				continue
			}
			finish(job)
		}
	}
}

// signingStopped says once, in plain words, why documents wait unsigned.
func (s *Station) signingStopped(err error) {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopReason == err.Error() {
		return
	}
	s.stopReason = err.Error()
	s.log.Error(s.printer().Sprintf("signing stopped; documents wait unsigned in the state folder and nothing is lost. Fix the cause, then restart the service"),
		"why", err)
}

func markProfile(name string) mark.Profile { return mark.Profile(name) }
