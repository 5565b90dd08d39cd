package journal

import (
	"context"
	"fmt"
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
	state := job.State
	job.State = Spooled
	now, err := j.write(ctx, job, func(current State) error {
		if current.Terminal() || rank[current] >= rank[Delivered] || rank[current] < rank[Spooled] {
			return fmt.Errorf("the job is %s; only a spooled job not yet delivered can be read again", current)
		}
		return nil
	})
	if err != nil {
		job.State = state
		return err
	}
	job.Updated = now
	return nil
}
