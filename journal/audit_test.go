package journal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"scanstation/journal"
)

// TestAuditWithTheDecision: an approval and its audit entry are one transaction; a second
// decision on the same job records neither, and an edit guarded by the state is refused once
// the job is approved.
func TestAuditWithTheDecision(t *testing.T) {
	j, _ := openTemp(t)
	ctx := context.Background()
	job := newJob("/inbox/cho-duyet.jpg")
	job.State = journal.AwaitingApproval
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	edit := *job
	edit.Metadata = `{"code_number":{"value":"17","confidence":1,"source":"console","by":"Lan"}}`
	if err := j.UpdateAudited(ctx, &edit, journal.AwaitingApproval, journal.AuditEntry{User: "Chị Lan", Role: "clerk", Action: "correct", Detail: `{"code_number":{"before":"7","after":"17"}}`}); err != nil {
		t.Fatal(err)
	}
	approve := journal.Decision{State: journal.Approved, ApprovedBy: "Chị Lan", ApprovedAt: time.Now()}
	if err := j.DecideAudited(ctx, job.ID, journal.AwaitingApproval, approve, journal.AuditEntry{User: "Chị Lan", Role: "clerk", Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	err := j.DecideAudited(ctx, job.ID, journal.AwaitingApproval, approve, journal.AuditEntry{User: "Anh Minh", Role: "clerk", Action: "approve"})
	if !errors.Is(err, journal.ErrChanged) {
		t.Fatalf("second approval: %v, want ErrChanged", err)
	}
	edit.Metadata = "{}"
	err = j.UpdateAudited(ctx, &edit, journal.AwaitingApproval, journal.AuditEntry{User: "Anh Minh", Role: "clerk", Action: "correct"})
	if !errors.Is(err, journal.ErrChanged) {
		t.Fatalf("edit after approval: %v, want ErrChanged", err)
	}
	got, err := j.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != journal.Approved || got.ApprovedBy != "Chị Lan" || got.Metadata == "{}" {
		t.Fatalf("job after: state %s by %q metadata %s", got.State, got.ApprovedBy, got.Metadata)
	}
	trail, err := j.AuditOf(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 || trail[0].Action != "correct" || trail[1].Action != "approve" || trail[1].User != "Chị Lan" || trail[1].Job != job.ID {
		t.Fatalf("audit trail: %+v", trail)
	}
	if time.Since(trail[1].At) > time.Minute {
		t.Errorf("audit time %v", trail[1].At)
	}
	if err := j.Record(ctx, journal.AuditEntry{Action: "discard"}); err == nil {
		t.Error("an entry without a user was recorded")
	}
}
