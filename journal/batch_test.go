package journal

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestSplitRecordsEveryDocumentOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	batch := &Job{Source: "/in/stack.pdf", SourceName: "stack.pdf", SourceSHA256: "ab", State: Spooled, Spool: "/spool/1-stack.pdf"}
	if err := j.Add(ctx, batch); err != nil {
		t.Fatal(err)
	}
	docs := []*Job{
		{Source: "/in/stack.pdf#1", SourceName: "stack-1.pdf", Spool: batch.Spool, BatchPages: []int{2, 3}},
		{Source: "/in/stack.pdf#2", SourceName: "stack-2.pdf", Spool: batch.Spool, BatchPages: []int{5}, Reason: "1 pages expected, 2 scanned"},
	}
	if err := j.Split(ctx, batch, docs); err != nil {
		t.Fatal(err)
	}
	if batch.Documents != 2 || docs[0].ID == 0 || docs[1].BatchDocument != 2 {
		t.Fatalf("after Split: batch documents %d, first ID %d, second number %d", batch.Documents, docs[0].ID, docs[1].BatchDocument)
	}
	// A second division (a restart that divided again) must not add documents.
	again := []*Job{{Source: "/in/stack.pdf#1", SourceName: "stack-1.pdf"}}
	if err := j.Split(ctx, &Job{ID: batch.ID, Source: batch.Source, State: Spooled}, again); !errors.Is(err, ErrChanged) {
		t.Fatalf("second Split: got %v, want ErrChanged", err)
	}
	j.Close()

	// What was recorded survives reopening.
	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, err := j.Documents(ctx, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d documents recorded, want 2", len(got))
	}
	if !slices.Equal(got[0].BatchPages, []int{2, 3}) || got[0].Batch != batch.ID || got[0].State != Spooled {
		t.Errorf("document 1 = pages %v batch %d state %s", got[0].BatchPages, got[0].Batch, got[0].State)
	}
	if got[1].Reason == "" || got[1].BatchDocument != 2 {
		t.Errorf("document 2 lost its refusal or number: %+v", got[1])
	}
	b, err := j.Get(ctx, batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Documents != 2 {
		t.Errorf("batch records %d documents, want 2", b.Documents)
	}
	// The month's figures count the batch as its documents.
	now := time.Now()
	r, err := j.Month(ctx, now.Year(), now.Month(), time.Local)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Received != 2 {
		t.Errorf("the month counts %d received, want the batch's 2 documents", r.Total.Received)
	}
	// A document's source is its own: the batch's path still finds the batch.
	if found, err := j.BySource(ctx, "/in/stack.pdf"); err != nil || found == nil || found.ID != batch.ID {
		t.Errorf("BySource(batch path) = %v, %v; want the batch", found, err)
	}
}
