package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"scanstation/journal"
)

// TestApproveAndRejectRaceOneWins: two clerks decide on the same waiting document at the same
// moment, one approving, one refusing. Exactly one decision is recorded, that clerk is told so,
// and the other is told plainly that theirs was not.
func TestApproveAndRejectRaceOneWins(t *testing.T) {
	cfg, state := writeConfig(t)
	j, err := journal.Open(filepath.Join(state, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	const rounds = 30
	ids := make([]int64, rounds)
	for i := range ids {
		job := &journal.Job{Source: "/inbox/to-trinh-" + strconv.Itoa(i) + ".jpg", SourceName: "to-trinh-" + strconv.Itoa(i) + ".jpg", State: journal.AwaitingApproval}
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		ids[i] = job.ID
	}

	approvedWins, refusedWins := 0, 0
	for _, id := range ids {
		arg := strconv.FormatInt(id, 10)
		var wg sync.WaitGroup
		var approveOut, rejectOut string
		var approveErr, rejectErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			approveOut, approveErr = runCommand(t, "approve", "--config", cfg, arg, "--by", "Lan")
		}()
		go func() {
			defer wg.Done()
			<-start
			rejectOut, rejectErr = runCommand(t, "reject", "--config", cfg, arg, "--by", "Minh", "--reason", "thiếu trang 2")
		}()
		close(start)
		wg.Wait()

		job, err := j.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		approved := approveErr == nil && strings.Contains(approveOut, "approved by Lan")
		refused := rejectErr == nil && strings.Contains(rejectOut, "refused")
		switch {
		case approved && refused:
			t.Errorf("document %d: both clerks were told their decision counts; the journal says %s, approved by %q, reason %q", id, job.State, job.ApprovedBy, job.Reason)
		case approved:
			approvedWins++
			if job.State != journal.Approved || job.Reason != "" {
				t.Errorf("document %d: approval reported but the journal says %s with reason %q", id, job.State, job.Reason)
			}
			if msg := rejectOut + errText(rejectErr); !strings.Contains(msg, "NOT refused") || !strings.Contains(msg, "already approved by Lan") {
				t.Errorf("document %d: the refusing clerk is not told plainly that the refusal did not count: %q", id, msg)
			}
		case refused:
			refusedWins++
			if job.State != journal.AwaitingApproval || !strings.Contains(job.Reason, "thiếu trang 2") || job.ApprovedBy != "" {
				t.Errorf("document %d: refusal reported but the journal says %s, approved by %q, reason %q", id, job.State, job.ApprovedBy, job.Reason)
			}
			if !strings.Contains(approveOut, "NOT approved") || !strings.Contains(approveOut, "already refused (refused by the clerk Minh: thiếu trang 2)") {
				t.Errorf("document %d: the approving clerk is not told plainly that the approval did not count: %q", id, approveOut)
			}
		default:
			t.Errorf("document %d: neither decision counts:\napprove: %s %v\nreject: %s %v", id, approveOut, approveErr, rejectOut, rejectErr)
		}
	}
	t.Logf("%d rounds: approval won %d, refusal won %d", rounds, approvedWins, refusedWins)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestDecisionsNeverMakeAJournal: approve and reject on a station without a journal say so and
// leave no empty journal behind, which the station would take for a replaced one.
func TestDecisionsNeverMakeAJournal(t *testing.T) {
	dir, cfg := newStation(t)
	journalPath := filepath.Join(dir, "state", "journal.db")
	os.Remove(journalPath)
	for _, args := range [][]string{
		{"approve", "--config", cfg},
		{"approve", "--config", cfg, "1", "--by", "Lan"},
		{"reject", "--config", cfg, "1", "--reason", "thiếu trang"},
	} {
		out, code := scanstation(t, nil, args...)
		if code == 0 || !strings.Contains(out, "there is no journal at") || !strings.Contains(out, "journal rebuild") {
			t.Errorf("%v exits %d:\n%s", args, code, out)
		}
		if _, err := os.Stat(journalPath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v made %s (%v)", args, journalPath, err)
		}
	}
}
