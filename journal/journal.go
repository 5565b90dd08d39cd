// Package journal is the station's one embedded store: one row per input
// document, its state and what each stage recorded about it.
//
// The journal is a SQLite file in WAL mode with synchronous=FULL, so every
// Add and Update is on disk when it returns: a crash, a kill -9 or a power
// cut right after it cannot lose the step.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"scanstation/internal/crashpoint"
)

// A State is where a job is on its one-way path through the station.
type State string

// The states in the order a job moves through them. Failed can follow any
// state that is not terminal.
const (
	Received         State = "received"          // a complete file was seen in a hot-folder
	Spooled          State = "spooled"           // the original was moved out of the hot-folder
	AwaitingApproval State = "awaiting_approval" // recognised and checked; waits for the clerk's approval
	Approved         State = "approved"          // the clerk approved it; to be built and signed
	Built            State = "built"             // the unsigned PDF/A is durable in the work folder
	// AwaitingValidation: signed; the signed copy is durable in the work folder and waits for
	// the validation data (OCSP, CRL) or the document timestamp its level needs.
	AwaitingValidation State = "awaiting_validation"
	Signed             State = "signed"    // the signed PDF is durable in the work folder
	Delivered          State = "delivered" // the PDF and sidecar are durable in the outbox
	Archived           State = "archived"  // the original is in the archive; done
	Failed             State = "failed"    // the original is in the failed folder with a reason
)

// Terminal reports whether no further step follows s.
func (s State) Terminal() bool { return s == Archived || s == Failed }

// rank orders the states; states not listed are unknown.
var rank = map[State]int{Received: 1, Spooled: 2, AwaitingApproval: 3, Approved: 4, Built: 5, AwaitingValidation: 6, Signed: 7,
	Delivered: 8, Archived: 9, Failed: 10}

// The stages whose durations are kept, as keys of Job.StageTimes. The same
// names are meant for Job.FailedStage.
const (
	StageDecode  = "decode"
	StageOCR     = "ocr"
	StageBuild   = "build"
	StageSign    = "sign"
	StageDeliver = "deliver"
)

// stageColumns maps each stage to its column; one column per stage keeps the
// monthly report a plain SQL query.
var stageColumns = []struct{ stage, column string }{
	{StageDecode, "decode_ns"},
	{StageOCR, "ocr_ns"},
	{StageBuild, "build_ns"},
	{StageSign, "sign_ns"},
	{StageDeliver, "deliver_ns"},
}

// A Job is one input document and everything the station recorded about it.
type Job struct {
	ID           int64
	Source       string // the path the file had in the hot-folder
	SourceName   string // base name of Source
	HotFolder    string
	SourceSize   int64
	SourceSHA256 string
	State        State  // Received if left empty when added
	Spool        string // where the original waits while processed
	Work         string // the unsigned (built) or signed PDF before delivery
	OutName      string // the outbox base name, recorded before delivery
	// OCRFile names the file in the work folder holding the reading of a document waiting for
	// approval; "" for the first reading, <id>.ocr.json. A review edit writes a new one.
	OCRFile string

	// The identity of the file the station hashed: with SourceSize and SourceSHA256 it is
	// what the job certifies. A file at the same path with another identity is another input.
	SourceDev   uint64
	SourceInode uint64
	SourceMtime time.Time

	Operator      string    // who scanned it: from the hot-folder's setting or its sub-folder
	ConvertedAt   time.Time // when the paper became an electronic copy (the conversion record)
	Warnings      string    // quality findings that did not stop it, one per line
	ApprovedBy    string    // the clerk who approved the signature (approval mode)
	ApprovedAt    time.Time
	MarkPlace     string // where the certification mark went, in plain words
	Level         string // the signature's PAdES level: B-B, B-T, B-LT or B-LTA (reached so far while awaiting validation)
	TimestampNote string // why a document is not at the level configured, or what it waits for to reach it
	DuplicateOf   string // the outbox name of an earlier copy of the same scan (same SHA-256)
	Metadata      string // the document's record (number, notation, date, organ, type, subject) as JSON

	// A document cut from a scanned batch (docs/capture.md): the batch's job, the document's
	// number in the batch, and the batch's pages it holds (from 1, in order). Zero for a scan
	// that is one document. Its Spool is the batch's original, which the batch job archives
	// once every document of it is finished.
	Batch         int64
	BatchDocument int
	BatchPages    []int
	// Documents is, for a batch, how many documents it was divided into; 0 until divided.
	Documents int

	Pages          int
	Languages      string
	MeanConfidence float64
	Signer         string
	SignedAt       time.Time
	OutputSHA256   string

	FailedStage string
	Reason      string

	Created time.Time
	Updated time.Time

	// StageTimes holds how long each stage took, keyed by the Stage
	// constants. Other keys are refused by Add and Update.
	StageTimes map[string]time.Duration
}

// ErrNotFound is returned by Get and Update for a job the journal does not have.
var ErrNotFound = errors.New("no such job in the journal")

// A Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	db   *sql.DB
	path string
}

// Open opens the journal at path, creating the file (mode 0600), its folder
// (mode 0700) and the schema if they are missing, and bringing an older schema
// up to date.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: create state folder: %w", path, err)
	}
	// SQLite would create the file with 0644; create it first so the job
	// history is readable by the station's user only. SQLite gives the -wal
	// and -shm files the same mode as the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	f.Close()

	// The settings go in the DSN so that every pooled connection gets them:
	// synchronous is per connection. txlock=immediate makes each transaction
	// take the write lock up front, so concurrent writers wait (busy
	// timeout) instead of failing with "database is locked".
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &Journal{db: db, path: path}
	if err := j.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return j, nil
}

// Close closes the journal file.
func (j *Journal) Close() error {
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// Add records a new job, sets its ID and its Created and Updated times.
func (j *Journal) Add(ctx context.Context, job *Job) error {
	return j.add(ctx, job, time.Now().UTC())
}

// Restore records a job taken back from the files a lost journal left (scanstation journal
// rebuild), keeping job.Created (now if zero) as when it was received, so history and the
// monthly report count it in its own month.
func (j *Journal) Restore(ctx context.Context, job *Job) error {
	when := job.Created
	if when.IsZero() {
		when = time.Now()
	}
	return j.add(ctx, job, when.UTC())
}

func (j *Journal) add(ctx context.Context, job *Job, now time.Time) error {
	if job.State == "" {
		job.State = Received
	}
	if _, ok := rank[job.State]; !ok {
		return fmt.Errorf("journal %s: add %s: unknown state %q", j.path, job.Source, job.State)
	}
	if err := checkStages(job.StageTimes); err != nil {
		return fmt.Errorf("journal %s: add %s: %w", j.path, job.Source, err)
	}
	row := rowOf(job)
	names := append([]string{"created", "updated"}, row.names...)
	values := append([]any{formatTime(now), formatTime(now)}, row.values...)
	query := "INSERT INTO jobs (" + strings.Join(names, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(names)-1) + ")"
	res, err := j.db.ExecContext(ctx, query, values...)
	if err != nil {
		return fmt.Errorf("journal %s: add %s: %w", j.path, job.Source, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("journal %s: add %s: %w", j.path, job.Source, err)
	}
	job.ID, job.Created, job.Updated = id, now, now
	crashpoint.Hit("journal.add " + string(job.State))
	return nil
}

// Update writes every field of job to its row in one transaction and sets
// Updated. A job only moves forward: Update refuses to take it back to an
// earlier state or out of a terminal one.
func (j *Journal) Update(ctx context.Context, job *Job) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("journal %s: update job %d (%s): %w", j.path, job.ID, job.Source, err)
		}
	}()
	if _, ok := rank[job.State]; !ok {
		return fmt.Errorf("unknown state %q", job.State)
	}
	if err := checkStages(job.StageTimes); err != nil {
		return err
	}
	now, err := j.write(ctx, job, func(current State) error { return checkMove(current, job.State) })
	if err != nil {
		return err
	}
	crashpoint.Hit("journal.update " + string(job.State))
	job.Updated = now
	return nil
}

// write writes every field of job to its row in one transaction, if allowed accepts the move
// from the row's current state, and returns the time it recorded as updated.
func (j *Journal) write(ctx context.Context, job *Job, allowed func(current State) error) (time.Time, error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, err
	}
	defer tx.Rollback()
	var current State
	err = tx.QueryRowContext(ctx, "SELECT state FROM jobs WHERE id = ?", job.ID).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	if err := allowed(current); err != nil {
		return time.Time{}, err
	}
	now := time.Now().UTC()
	row := rowOf(job)
	set := "updated = ?"
	for _, name := range row.names {
		set += ", " + name + " = ?"
	}
	values := append([]any{formatTime(now)}, row.values...)
	values = append(values, job.ID)
	if _, err := tx.ExecContext(ctx, "UPDATE jobs SET "+set+" WHERE id = ?", values...); err != nil {
		return time.Time{}, err
	}
	return now, tx.Commit()
}

// ErrChanged is returned by Decide for a job that is no longer as the caller saw it: another
// clerk or the station changed it first.
var ErrChanged = errors.New("the job was changed meanwhile")

// A Decision is what a clerk decides about a job: approve it (State Approved, with who and
// when) or refuse it (the same state, with FailedStage and Reason, which the station acts on).
type Decision struct {
	State       State
	ApprovedBy  string
	ApprovedAt  time.Time
	FailedStage string
	Reason      string
}

// Decide records d for job id only if the job is still in state from with no reason, in one
// UPDATE, so two clerks (or a clerk and the station) never overwrite each other: the second
// gets an error wrapping ErrChanged, or ErrNotFound. Only the fields of d are written.
func (j *Journal) Decide(ctx context.Context, id int64, from State, d Decision) error {
	return j.decide(ctx, id, from, d, nil)
}

// DecideAudited is Decide with the decision's audit entry written in the same transaction:
// a crash leaves both or neither.
func (j *Journal) DecideAudited(ctx context.Context, id int64, from State, d Decision, e AuditEntry) error {
	return j.decide(ctx, id, from, d, &e)
}

func (j *Journal) decide(ctx context.Context, id int64, from State, d Decision, e *AuditEntry) error {
	fail := func(err error) error { return fmt.Errorf("journal %s: decide on job %d: %w", j.path, id, err) }
	if _, ok := rank[d.State]; !ok {
		return fail(fmt.Errorf("unknown state %q", d.State))
	}
	if err := checkMove(from, d.State); err != nil {
		return fail(err)
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		"UPDATE jobs SET updated = ?, state = ?, approved_by = ?, approved_at = ?, failed_stage = ?, reason = ? "+
			"WHERE id = ? AND state = ? AND reason = ''",
		formatTime(time.Now()), string(d.State), d.ApprovedBy, nullTime(d.ApprovedAt), d.FailedStage, d.Reason,
		id, string(from))
	if err != nil {
		return fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(err)
	}
	if n == 1 {
		if e != nil {
			e.Job = id
			if err := insertAudit(ctx, tx, e); err != nil {
				return fail(err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fail(err)
		}
		crashpoint.Hit("journal.decide " + string(d.State))
		return nil
	}
	tx.Rollback()
	if _, err := j.Get(ctx, id); err != nil {
		return err
	}
	return fail(ErrChanged)
}

// checkMove allows staying in a state (to record more about it), moving
// forward, and failing from any state that is not terminal.
func checkMove(from, to State) error {
	switch {
	case from == to:
		return nil
	case from.Terminal():
		return fmt.Errorf("the job is already %s and cannot become %s", from, to)
	case rank[to] < rank[from]:
		return fmt.Errorf("the job is %s and cannot go back to %s", from, to)
	}
	return nil
}

func checkStages(times map[string]time.Duration) error {
	for stage := range times {
		known := false
		for _, c := range stageColumns {
			known = known || c.stage == stage
		}
		if !known {
			return fmt.Errorf("unknown stage %q in stage times", stage)
		}
	}
	return nil
}

// InState returns the jobs in state, oldest first.
func (j *Journal) InState(ctx context.Context, state State) ([]Job, error) {
	jobs, err := j.query(ctx, "WHERE state = ? ORDER BY id", state)
	if err != nil {
		return nil, fmt.Errorf("journal %s: list %s jobs: %w", j.path, state, err)
	}
	return jobs, nil
}

// EarlierBySHA256 returns the newest job older than id whose source had this SHA-256 and that
// was not refused (delivered, archived or still under way; or failed only in archiving, after
// its delivery, as older versions did), or nil: the same scan dropped twice. Only older jobs
// count, so of two copies dropped together the second is the duplicate.
func (j *Journal) EarlierBySHA256(ctx context.Context, sum string, id int64) (*Job, error) {
	jobs, err := j.query(ctx, "WHERE source_sha256 = ? AND id < ? AND (state != ? OR failed_stage = 'archive') ORDER BY id DESC LIMIT 1", sum, id, Failed)
	if err != nil {
		return nil, fmt.Errorf("journal %s: find scans with SHA-256 %s: %w", j.path, sum, err)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return &jobs[0], nil
}

// Unfinished returns the jobs that are not in a terminal state, oldest first:
// the work to resume after a restart.
func (j *Journal) Unfinished(ctx context.Context) ([]Job, error) {
	jobs, err := j.query(ctx, "WHERE state NOT IN (?, ?) ORDER BY id", Archived, Failed)
	if err != nil {
		return nil, fmt.Errorf("journal %s: list unfinished jobs: %w", j.path, err)
	}
	return jobs, nil
}

// Delivering reports whether a job that took outName as its outbox name has not yet recorded
// its delivery: the files under that name in the outbox may be its own delivery, half-done or
// done but not recorded, and a restart delivers them again. The sender leaves them alone until
// then. (A name freed by the sender is taken again by later jobs; only unfinished ones count.)
func (j *Journal) Delivering(ctx context.Context, outName string) (bool, error) {
	// The literal states let SQLite use the partial index of unfinished jobs.
	var n int
	err := j.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('archived', 'failed') AND state != 'delivered' AND out_name = ?",
		outName).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("journal %s: find the job delivering %s: %w", j.path, outName, err)
	}
	return n > 0, nil
}

// BySource returns the unfinished job for a hot-folder path, or nil if there
// is none. Should there be several (a new file arrived under the same name
// while the first was still in progress), it returns the newest.
func (j *Journal) BySource(ctx context.Context, source string) (*Job, error) {
	jobs, err := j.query(ctx, "WHERE source = ? AND state NOT IN (?, ?) ORDER BY id DESC LIMIT 1", source, Archived, Failed)
	if err != nil {
		return nil, fmt.Errorf("journal %s: find job for %s: %w", j.path, source, err)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return &jobs[0], nil
}

// Get returns the job with the given ID, or an error wrapping ErrNotFound.
func (j *Journal) Get(ctx context.Context, id int64) (*Job, error) {
	jobs, err := j.query(ctx, "WHERE id = ?", id)
	if err == nil && len(jobs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: get job %d: %w", j.path, id, err)
	}
	return &jobs[0], nil
}
