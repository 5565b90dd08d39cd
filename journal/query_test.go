package journal

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const (
	vanThu = "/srv/scan/inbox/van-thu"
	motCua = "/srv/scan/inbox/mot-cua"
)

func vietnam(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// put records job as the station would (Add), then dates it: received at
// created, last changed at updated (created when zero), and signed toSign after
// it was received when toSign is not zero.
func put(t *testing.T, j *Journal, job Job, created, updated time.Time, toSign time.Duration) int64 {
	t.Helper()
	ctx := context.Background()
	if job.Source == "" {
		job.Source = filepath.Join(job.HotFolder, job.SourceName)
	}
	if toSign != 0 {
		job.SignedAt = created.Add(toSign)
	}
	if err := j.Add(ctx, &job); err != nil {
		t.Fatal(err)
	}
	if updated.IsZero() {
		updated = created
	}
	// Add stamps the time of the call; the test needs the documents spread
	// over months.
	if _, err := j.db.ExecContext(ctx, "UPDATE jobs SET created = ?, updated = ? WHERE id = ?",
		formatTime(created), formatTime(updated), job.ID); err != nil {
		t.Fatal(err)
	}
	return job.ID
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// monthJournal fills a journal with documents around November 2026, two
// hot-folders, every kind of outcome.
func monthJournal(t *testing.T) *Journal {
	t.Helper()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	// van-thu, November: three digitised (1 at 00:30 on 1 Nov and 1 at 23:30
	// on 30 Nov, Vietnam time), one signed and not yet delivered, one built,
	// two refused.
	put(t, j, Job{SourceName: "a1.jpg", HotFolder: vanThu, State: Archived, Pages: 3}, utc("2026-11-05 02:00"), time.Time{}, 10*time.Minute)
	put(t, j, Job{SourceName: "a2.jpg", HotFolder: vanThu, State: Delivered, Pages: 2}, utc("2026-11-30 16:30"), time.Time{}, 20*time.Minute)
	put(t, j, Job{SourceName: "a3.jpg", HotFolder: vanThu, State: Failed, Pages: 4, FailedStage: "quality", Reason: "page 1: 150 dpi"}, utc("2026-11-10 03:00"), time.Time{}, 0)
	put(t, j, Job{SourceName: "a4.jpg", HotFolder: vanThu, State: Failed, FailedStage: "decode", Reason: "the file is incomplete"}, utc("2026-11-11 03:00"), time.Time{}, 0)
	put(t, j, Job{SourceName: "a5.jpg", HotFolder: vanThu, State: Archived, Pages: 1}, utc("2026-10-31 17:30"), time.Time{}, 30*time.Minute)
	put(t, j, Job{SourceName: "a8.jpg", HotFolder: vanThu, State: Built, Pages: 7}, utc("2026-11-20 03:00"), time.Time{}, 0)
	put(t, j, Job{SourceName: "a9.jpg", HotFolder: vanThu, State: Signed, Pages: 2}, utc("2026-11-21 03:00"), time.Time{}, 15*time.Minute)
	// van-thu, outside November in Vietnam: 00:30 on 1 Dec and 23:30 on 31 Oct.
	put(t, j, Job{SourceName: "dec.jpg", HotFolder: vanThu, State: Archived, Pages: 9}, utc("2026-11-30 17:30"), time.Time{}, time.Minute)
	put(t, j, Job{SourceName: "oct.jpg", HotFolder: vanThu, State: Archived, Pages: 6}, utc("2026-10-31 16:30"), time.Time{}, time.Minute)
	// mot-cua, November: one digitised, three refused (one after signing).
	put(t, j, Job{SourceName: "b1.tif", HotFolder: motCua, State: Archived, Pages: 5}, utc("2026-11-12 01:00"), time.Time{}, 5*time.Minute)
	put(t, j, Job{SourceName: "b2.tif", HotFolder: motCua, State: Failed, Pages: 2, FailedStage: "quality", Reason: "grey"}, utc("2026-11-13 01:00"), time.Time{}, 0)
	put(t, j, Job{SourceName: "b3.tif", HotFolder: motCua, State: Failed, Pages: 1, FailedStage: "approval", Reason: "refused by the clerk: wrong page"}, utc("2026-11-14 01:00"), time.Time{}, 0)
	put(t, j, Job{SourceName: "b4.tif", HotFolder: motCua, State: Failed, Pages: 1, FailedStage: "validate", Reason: "not PDF/A"}, utc("2026-11-15 01:00"), time.Time{}, time.Minute)
	return j
}

func TestMonthCountsDocumentsReceivedInTheVietnamMonth(t *testing.T) {
	j := monthJournal(t)
	loc := vietnam(t)
	r, err := j.Month(context.Background(), 2026, time.November, loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := utc("2026-10-31 17:00"); !r.From.Equal(want) {
		t.Errorf("the month starts at %v, want %v", r.From.UTC(), want)
	}
	if want := utc("2026-11-30 17:00"); !r.To.Equal(want) {
		t.Errorf("the month ends at %v, want %v", r.To.UTC(), want)
	}
	want := []Figures{
		{HotFolder: motCua, Received: 4, Digitised: 1, Pages: 5, Signed: 1, Refused: 3,
			RefusedBy: map[string]int{"quality": 1, "approval": 1, "validate": 1}, ToSignature: 5 * time.Minute, signedMS: 300000},
		{HotFolder: vanThu, Received: 7, Digitised: 3, Pages: 6, Signed: 4, Refused: 2,
			RefusedBy: map[string]int{"quality": 1, "decode": 1}, ToSignature: 1125 * time.Second, signedMS: 4500000},
	}
	if !reflect.DeepEqual(r.Folders, want) {
		t.Errorf("by hot-folder:\n got %+v\nwant %+v", r.Folders, want)
	}
	total := Figures{Received: 11, Digitised: 4, Pages: 11, Signed: 5, Refused: 5,
		RefusedBy: map[string]int{"quality": 2, "decode": 1, "approval": 1, "validate": 1}, ToSignature: 960 * time.Second, signedMS: 4800000}
	if !reflect.DeepEqual(r.Total, total) {
		t.Errorf("total:\n got %+v\nwant %+v", r.Total, total)
	}

	// 23:30 on 31 October in Vietnam is October's; 00:30 on 1 December is December's.
	for _, c := range []struct {
		month         time.Month
		received, pgs int
	}{{time.October, 1, 6}, {time.December, 1, 9}} {
		r, err := j.Month(context.Background(), 2026, c.month, loc)
		if err != nil {
			t.Fatal(err)
		}
		if r.Total.Received != c.received || r.Total.Pages != c.pgs || len(r.Folders) != 1 || r.Folders[0].HotFolder != vanThu {
			t.Errorf("%s: %+v, want %d document(s), %d pages, from %s", c.month, r, c.received, c.pgs, vanThu)
		}
	}

	// In UTC the two border documents would fall the other way: the zone matters.
	r, err = j.Month(context.Background(), 2026, time.November, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Received != 11 || r.Total.Pages != 9+2+3+5 {
		t.Errorf("UTC November: %d documents, %d pages; want 11 and 19", r.Total.Received, r.Total.Pages)
	}
}

func TestMonthWithNoDocuments(t *testing.T) {
	j := monthJournal(t)
	r, err := j.Month(context.Background(), 2025, time.March, vietnam(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Folders) != 0 || r.Total.Received != 0 || r.Total.ToSignature != 0 || len(r.Total.RefusedBy) != 0 {
		t.Errorf("an empty month has figures: %+v", r)
	}
}

func TestRefusalStagesInPipelineOrder(t *testing.T) {
	got := RefusalStages(map[string]int{"validate": 1, "zeta": 1, "quality": 2, "decode": 1, "alpha": 1, "receive": 1})
	want := []string{"receive", "decode", "quality", "validate", "alpha", "zeta"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func sourceNames(jobs []Job) []string {
	names := make([]string, len(jobs))
	for i, job := range jobs {
		names[i] = job.SourceName
	}
	return names
}

func TestHistoryFilters(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	loc := vietnam(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, loc) }
	put(t, j, Job{SourceName: "cong-van-1.jpg", HotFolder: vanThu, Operator: "Lan", State: Archived, OutName: "cong-van-1"}, day(1).Add(30*time.Minute), time.Time{}, time.Minute)
	put(t, j, Job{SourceName: "to-trinh.jpg", HotFolder: motCua, Operator: "Minh", State: Failed, FailedStage: "quality", Reason: "page 2: 150 dpi (50%_less)"}, day(2).Add(time.Hour), time.Time{}, 0)
	put(t, j, Job{SourceName: "cong-van-2.jpg", HotFolder: vanThu, Operator: "lan", State: Built}, day(2).Add(23*time.Hour+30*time.Minute), time.Time{}, 0)
	put(t, j, Job{SourceName: "quyet-dinh.pdf", HotFolder: motCua, Operator: "Minh", State: Archived, OutName: "quyet-dinh (2)", Signer: "UBND xã"}, day(3).Add(8*time.Hour), time.Time{}, time.Minute)

	ctx := context.Background()
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest first", Filter{}, []string{"quyet-dinh.pdf", "cong-van-2.jpg", "to-trinh.jpg", "cong-van-1.jpg"}},
		{"limit", Filter{Limit: 2}, []string{"quyet-dinh.pdf", "cong-van-2.jpg"}},
		{"one Vietnam day", Filter{Since: day(2), Until: day(3)}, []string{"cong-van-2.jpg", "to-trinh.jpg"}},
		{"since", Filter{Since: day(3)}, []string{"quyet-dinh.pdf"}},
		{"until", Filter{Until: day(2)}, []string{"cong-van-1.jpg"}},
		{"state", Filter{State: Archived}, []string{"quyet-dinh.pdf", "cong-van-1.jpg"}},
		{"hot-folder", Filter{HotFolder: motCua}, []string{"quyet-dinh.pdf", "to-trinh.jpg"}},
		{"operator, any case", Filter{Operator: "LAN"}, []string{"cong-van-2.jpg", "cong-van-1.jpg"}},
		{"search in the name", Filter{Search: "cong-van"}, []string{"cong-van-2.jpg", "cong-van-1.jpg"}},
		{"search in the reason", Filter{Search: "150 dpi"}, []string{"to-trinh.jpg"}},
		{"search in the outbox name", Filter{Search: "(2)"}, []string{"quyet-dinh.pdf"}},
		{"search in the signer", Filter{Search: "xã"}, []string{"quyet-dinh.pdf"}},
		{"search is not a pattern", Filter{Search: "%_"}, []string{"to-trinh.jpg"}},
		{"search matches nothing", Filter{Search: "_-1"}, []string{}},
		{"filters together", Filter{HotFolder: vanThu, State: Built, Operator: "lan", Search: "2"}, []string{"cong-van-2.jpg"}},
	}
	for _, c := range cases {
		jobs, err := j.History(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := sourceNames(jobs); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := j.History(ctx, Filter{State: "lost"}); err == nil {
		t.Error("History takes an unknown state")
	}
}

func TestQueueFinishedAndLastFailed(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	today := now.Add(-time.Hour)
	put(t, j, Job{SourceName: "old-built.jpg", State: Built}, now.Add(-3*time.Hour), time.Time{}, 0)
	put(t, j, Job{SourceName: "new-built.jpg", State: Built}, now.Add(-time.Minute), time.Time{}, 0)
	put(t, j, Job{SourceName: "waits.jpg", State: AwaitingApproval}, now.Add(-26*time.Hour), time.Time{}, 0)
	put(t, j, Job{SourceName: "spooled.jpg", State: Spooled}, now.Add(-10*time.Second), time.Time{}, 0)
	put(t, j, Job{SourceName: "waits-ocsp.jpg", State: AwaitingValidation, Level: "B-T"}, now.Add(-4*time.Hour), time.Time{}, 0)
	put(t, j, Job{SourceName: "done-today.jpg", State: Archived}, now.Add(-2*time.Hour), now.Add(-30*time.Minute), time.Minute)
	put(t, j, Job{SourceName: "done-yesterday.jpg", State: Archived}, now.Add(-30*time.Hour), now.Add(-29*time.Hour), time.Minute)
	put(t, j, Job{SourceName: "bad-1.jpg", State: Failed, FailedStage: "decode", Reason: "incomplete"}, now.Add(-5*time.Hour), now.Add(-5*time.Hour), 0)
	put(t, j, Job{SourceName: "bad-2.jpg", State: Failed, FailedStage: "quality", Reason: "grey"}, now.Add(-50*time.Minute), now.Add(-40*time.Minute), 0)
	put(t, j, Job{SourceName: "bad-3.jpg", State: Failed, FailedStage: "sign", Reason: "token"}, now.Add(-20*time.Minute), now.Add(-10*time.Minute), 0)

	queue, err := j.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueLine{
		{Received, 0, time.Time{}},
		{Spooled, 1, now.Add(-10 * time.Second)},
		{AwaitingApproval, 1, now.Add(-26 * time.Hour)},
		{Approved, 0, time.Time{}},
		{Built, 2, now.Add(-3 * time.Hour)},
		{AwaitingValidation, 1, now.Add(-4 * time.Hour)},
		{Signed, 0, time.Time{}},
		{Delivered, 0, time.Time{}},
	}
	if !reflect.DeepEqual(queue, want) {
		t.Errorf("queue:\n got %v\nwant %v", queue, want)
	}

	archived, failed, err := j.FinishedSince(ctx, today)
	if err != nil {
		t.Fatal(err)
	}
	if archived != 1 || failed != 2 {
		t.Errorf("finished in the last hour: %d archived, %d failed; want 1 and 2", archived, failed)
	}

	last, err := j.LastFailed(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceNames(last); !reflect.DeepEqual(got, []string{"bad-3.jpg", "bad-2.jpg"}) {
		t.Errorf("last failed: %v", got)
	}
	if last[0].FailedStage != "sign" || last[0].Reason != "token" {
		t.Errorf("the last failure lost its stage or reason: %+v", last[0])
	}
}
