package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestIdentityIsKeptAndJobIDsStartAfterLeftovers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := j.Identity(ctx); err != nil || !id.IsZero() {
		t.Fatalf("a new journal has identity %v (%v), want none", id, err)
	}
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.SetIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := j.StartIDsAfter(ctx, 41); err != nil {
		t.Fatal(err)
	}
	job := &Job{Source: "/in/a.jpg", SourceName: "a.jpg"}
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	if job.ID != 42 {
		t.Errorf("the first job after StartIDsAfter(41) has ID %d, want 42", job.ID)
	}
	// Lower never takes IDs back.
	if err := j.StartIDsAfter(ctx, 3); err != nil {
		t.Fatal(err)
	}
	old := &Job{Source: "/in/b.jpg", SourceName: "b.jpg", State: Archived, Created: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	if err := j.Restore(ctx, old); err != nil {
		t.Fatal(err)
	}
	if old.ID != 43 {
		t.Errorf("the next job has ID %d, want 43", old.ID)
	}
	j.Close()

	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got, err := j.Identity(ctx); err != nil || got != id {
		t.Errorf("identity after reopening = %v (%v), want %v", got, err, id)
	}
	back, err := j.Get(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Created.Equal(old.Created) {
		t.Errorf("a restored job was received %v, want %v", back.Created, old.Created)
	}
}
