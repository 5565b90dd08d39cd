package journal_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"scanstation/journal"
)

// TestDecideOnlyFromTheStateSeen: of two decisions on one waiting job made at once, exactly one
// is recorded and the other gets ErrChanged; a decision on a job that moved on changes nothing.
func TestDecideOnlyFromTheStateSeen(t *testing.T) {
	j, _ := openTemp(t)
	ctx := context.Background()
	for round := range 20 {
		job := newJob("/inbox/cho-duyet.jpg")
		job.State = journal.AwaitingApproval
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		approve := journal.Decision{State: journal.Approved, ApprovedBy: "Lan", ApprovedAt: time.Now()}
		refuse := journal.Decision{State: journal.AwaitingApproval, FailedStage: "approval", Reason: "refused by the clerk: mờ"}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, d := range []journal.Decision{approve, refuse} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = j.Decide(ctx, job.ID, journal.AwaitingApproval, d)
			}()
		}
		wg.Wait()
		got, err := j.Get(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case errs[0] == nil && errors.Is(errs[1], journal.ErrChanged):
			if got.State != journal.Approved || got.ApprovedBy != "Lan" || got.Reason != "" {
				t.Errorf("round %d: the approval won but the job is %s by %q with reason %q", round, got.State, got.ApprovedBy, got.Reason)
			}
		case errs[1] == nil && errors.Is(errs[0], journal.ErrChanged):
			if got.State != journal.AwaitingApproval || got.ApprovedBy != "" || got.Reason != refuse.Reason {
				t.Errorf("round %d: the refusal won but the job is %s by %q with reason %q", round, got.State, got.ApprovedBy, got.Reason)
			}
		default:
			t.Fatalf("round %d: want exactly one decision recorded, got approve: %v, refuse: %v", round, errs[0], errs[1])
		}
		// The station moved it on: a late decision changes nothing.
		if err := j.Decide(ctx, job.ID, journal.AwaitingApproval, refuse); !errors.Is(err, journal.ErrChanged) {
			t.Errorf("round %d: a late decision: %v, want ErrChanged", round, err)
		}
	}
	if err := j.Decide(ctx, 9999, journal.AwaitingApproval, journal.Decision{State: journal.Approved}); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("a decision on a job the journal does not have: %v, want ErrNotFound", err)
	}
}
