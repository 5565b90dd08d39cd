package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"scanstation/internal/crashpoint"
)

// An AuditEntry is one thing a person did to a document or to a refused input: approved,
// refused, turned a page, corrected a field, sent it back, retried or discarded it.
type AuditEntry struct {
	ID     int64
	At     time.Time // set when recorded
	User   string
	Role   string // "clerk", "operator", "clerk (command line)"
	Action string // "approve", "reject", "rotate", "drop_page", "reocr", "correct", "send_back", "retry", "discard"
	Job    int64  // 0 for an input in failed/ the journal does not know by id
	// Subject names what was acted on besides the job: a page ("page 2"), a file in failed/.
	Subject string
	// Detail is JSON: before and after of a correction, the reason of a refusal or a drop.
	Detail string
}

// Record writes e to the audit trail.
func (j *Journal) Record(ctx context.Context, e AuditEntry) error {
	if err := insertAudit(ctx, j.db, &e); err != nil {
		return fmt.Errorf("journal %s: record %s by %s: %w", j.path, e.Action, e.User, err)
	}
	return nil
}

// AuditOf returns what was done to job, oldest first.
func (j *Journal) AuditOf(ctx context.Context, job int64) ([]AuditEntry, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT id, at, user, role, action, job, subject, detail FROM audit WHERE job = ? ORDER BY id", job)
	if err != nil {
		return nil, fmt.Errorf("journal %s: read the audit trail of job %d: %w", j.path, job, err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.Action, &e.Job, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("journal %s: read the audit trail of job %d: %w", j.path, job, err)
		}
		if e.At, err = time.Parse(timeLayout, at); err != nil {
			return nil, fmt.Errorf("journal %s: audit entry %d: %w", j.path, e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: read the audit trail of job %d: %w", j.path, job, err)
	}
	return out, nil
}

// UpdateAudited writes every field of job, and e, in one transaction, only if the job's row is
// still in state from with no reason (nobody approved, refused or moved it meanwhile); else
// nothing is written and the error wraps ErrChanged. The job's state is not changed by it.
func (j *Journal) UpdateAudited(ctx context.Context, job *Job, from State, e AuditEntry) error {
	fail := func(err error) error {
		return fmt.Errorf("journal %s: update job %d (%s): %w", j.path, job.ID, job.Source, err)
	}
	if job.State != from {
		return fail(fmt.Errorf("the job is %s, not %s", job.State, from))
	}
	if err := checkStages(job.StageTimes); err != nil {
		return fail(err)
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var current State
	var reason string
	err = tx.QueryRowContext(ctx, "SELECT state, reason FROM jobs WHERE id = ?", job.ID).Scan(&current, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(ErrNotFound)
	}
	if err != nil {
		return fail(err)
	}
	if current != from || reason != "" {
		return fail(ErrChanged)
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
		return fail(err)
	}
	e.Job = job.ID
	if err := insertAudit(ctx, tx, &e); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	job.Updated = now
	crashpoint.Hit("journal.update audited " + e.Action)
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertAudit(ctx context.Context, db execer, e *AuditEntry) error {
	if strings.TrimSpace(e.User) == "" || e.Action == "" {
		return errors.New("an audit entry needs the user and the action")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	res, err := db.ExecContext(ctx, "INSERT INTO audit (at, user, role, action, job, subject, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		formatTime(e.At), e.User, e.Role, e.Action, e.Job, e.Subject, e.Detail)
	if err != nil {
		return err
	}
	e.ID, err = res.LastInsertId()
	return err
}
