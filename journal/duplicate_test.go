package journal_test

import (
	"context"
	"testing"

	"scanstation/journal"
)

// A document delivered and then failed in archiving (as older versions did on an archive
// error) was delivered all the same: the same scan dropped again is its duplicate. One
// refused before delivery is not.
func TestEarlierBySHA256FindsADeliveredJobThatLaterFailed(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	add := func(stage string) *journal.Job {
		job := newJob("/scans/in/letter.pdf")
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		if stage != "" {
			job.State, job.FailedStage, job.Reason = journal.Failed, stage, "went wrong"
			if err := j.Update(ctx, job); err != nil {
				t.Fatal(err)
			}
		}
		return job
	}
	delivered := add("archive")
	add("quality")
	again := add("")
	earlier, err := j.EarlierBySHA256(ctx, again.SourceSHA256, again.ID)
	if err != nil {
		t.Fatal(err)
	}
	if earlier == nil || earlier.ID != delivered.ID {
		t.Fatalf("EarlierBySHA256 gave %+v, want job %d (delivered, then failed in archiving)", earlier, delivered.ID)
	}
}
