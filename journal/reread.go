package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Reread records that a job's spooled file changed after the station took it: the job goes
// back to spooled with job's fields (the new size, SHA-256 and identity, the results of the
// old bytes cleared by the caller), so the new bytes are read, recognised and built again. It
// is the one step back a job may take, and only before delivery: what is delivered or refused
// stays so.
func (j *Journal) Reread(ctx context.Context, job *Job) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("journal %s: read job %d (%s) again: %w", j.path, job.ID, job.Source, err)
		}
	}()
	if err := checkStages(job.StageTimes); err != nil {
		return err
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var current State
	err = tx.QueryRowContext(ctx, "SELECT state FROM jobs WHERE id = ?", job.ID).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if current.Terminal() || rank[current] >= rank[Delivered] || rank[current] < rank[Spooled] {
		return fmt.Errorf("the job is %s; only a spooled job not yet delivered can be read again", current)
	}
	state := job.State
	job.State = Spooled
	now := time.Now().UTC()
	row := rowOf(job)
	set := "updated = ?"
	for _, name := range row.names {
		set += ", " + name + " = ?"
	}
	values := append([]any{formatTime(now)}, row.values...)
	values = append(values, job.ID)
	if _, err := tx.ExecContext(ctx, "UPDATE jobs SET "+set+" WHERE id = ?", values...); err != nil {
		job.State = state
		return err
	}
	if err := tx.Commit(); err != nil {
		job.State = state
		return err
	}
	job.Updated = now
	return nil
}
