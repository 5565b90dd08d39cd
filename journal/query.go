package journal

// Read queries for `scanstation status`, `history` and `report`. They only read
// the jobs table; every figure comes from the same rows the station writes.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// QueueStates are the states of unfinished documents, in the order a document
// moves through them.
var QueueStates = []State{Received, Spooled, AwaitingApproval, Approved, Built, AwaitingValidation, Signed, Delivered}

// A QueueLine is how many documents wait in one state and since when the
// oldest of them was received.
type QueueLine struct {
	State  State
	Count  int
	Oldest time.Time // when the oldest of them was received; zero when Count is 0
}

// Queue returns one line per unfinished state, in the order of the states,
// including states with no documents.
func (j *Journal) Queue(ctx context.Context) ([]QueueLine, error) {
	rows, err := j.db.QueryContext(ctx,
		"SELECT state, COUNT(*), MIN(created) FROM jobs WHERE state NOT IN (?, ?) AND documents = 0 GROUP BY state", Archived, Failed)
	if err != nil {
		return nil, fmt.Errorf("journal %s: count waiting documents: %w", j.path, err)
	}
	defer rows.Close()
	found := make(map[State]QueueLine)
	for rows.Next() {
		var (
			line   QueueLine
			oldest string
		)
		if err := rows.Scan(&line.State, &line.Count, &oldest); err != nil {
			return nil, fmt.Errorf("journal %s: count waiting documents: %w", j.path, err)
		}
		if line.Oldest, err = time.Parse(timeLayout, oldest); err != nil {
			return nil, fmt.Errorf("journal %s: count waiting documents: received time %q: %w", j.path, oldest, err)
		}
		found[line.State] = line
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: count waiting documents: %w", j.path, err)
	}
	lines := make([]QueueLine, len(QueueStates))
	for i, s := range QueueStates {
		lines[i] = found[s]
		lines[i].State = s
	}
	return lines, nil
}

// FinishedSince counts the documents that became archived (done) and failed
// at or after since.
func (j *Journal) FinishedSince(ctx context.Context, since time.Time) (archived, failed int, err error) {
	err = j.db.QueryRowContext(ctx,
		"SELECT COALESCE(SUM(state = ?), 0), COALESCE(SUM(state = ?), 0) FROM jobs WHERE state IN (?, ?) AND updated >= ? AND documents = 0",
		Archived, Failed, Archived, Failed, formatTime(since)).Scan(&archived, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("journal %s: count finished documents: %w", j.path, err)
	}
	return archived, failed, nil
}

// LastFailed returns the n documents that failed most recently, the most
// recent first.
func (j *Journal) LastFailed(ctx context.Context, n int) ([]Job, error) {
	jobs, err := j.query(ctx, "WHERE state = ? ORDER BY updated DESC, id DESC LIMIT ?", Failed, n)
	if err != nil {
		return nil, fmt.Errorf("journal %s: list failed documents: %w", j.path, err)
	}
	return jobs, nil
}

// A Filter selects documents for History. Zero fields select everything.
type Filter struct {
	Since     time.Time // received at or after
	Until     time.Time // received before
	State     State
	HotFolder string
	Operator  string // compared without regard to ASCII case
	// Search is looked for, as written, in the source name, the outbox name,
	// the failure reason, the operator, the signer and the source's SHA-256.
	Search string
	Limit  int // at most this many; 0 means no limit
}

// History returns the documents the filter selects, newest first.
func (j *Journal) History(ctx context.Context, f Filter) ([]Job, error) {
	var (
		where []string
		args  []any
	)
	if !f.Since.IsZero() {
		where, args = append(where, "created >= ?"), append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created < ?"), append(args, formatTime(f.Until))
	}
	if f.State != "" {
		if _, ok := rank[f.State]; !ok {
			return nil, fmt.Errorf("unknown state %q", f.State)
		}
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.HotFolder != "" {
		where, args = append(where, "hot_folder = ?"), append(args, f.HotFolder)
	}
	if f.Operator != "" {
		where, args = append(where, "operator = ? COLLATE NOCASE"), append(args, f.Operator)
	}
	if f.Search != "" {
		like := "%" + escapeLike(f.Search) + "%"
		var or []string
		for _, c := range []string{"source_name", "out_name", "reason", "operator", "signer", "source_sha256"} {
			or, args = append(or, c+` LIKE ? ESCAPE '\'`), append(args, like)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	jobs, err := j.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal %s: list documents: %w", j.path, err)
	}
	return jobs, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Figures are the monthly numbers of one hot-folder, or of all of them.
type Figures struct {
	HotFolder string // empty for the total
	Received  int    // documents received
	Digitised int    // delivered or archived: the signed copy is in the outbox
	Pages     int    // pages of the digitised documents
	Signed    int    // signed and not refused afterwards
	Refused   int    // failed
	// RefusedBy counts the refused documents by the stage that refused
	// them (the journal's failed_stage: "quality", "decode", "approval", ...).
	RefusedBy map[string]int
	// ToSignature is the mean time from receiving the scan to its
	// signature, over the Signed documents; zero when none was signed.
	ToSignature time.Duration

	signedMS int64 // sum of the times to signature, for the total's mean
}

// A MonthReport holds the figures of the documents received in one month.
type MonthReport struct {
	From, To time.Time // the month: received at or after From and before To
	Folders  []Figures // one per hot-folder, by hot-folder
	Total    Figures
}

// Month returns the figures of the documents received in the given month,
// whose first and last day are those of loc (the station's time zone, Asia/Ho_Chi_Minh).
// A batch divided into documents is counted as its documents, not as one more (here, in
// Queue and in FinishedSince).
func (j *Journal) Month(ctx context.Context, year int, month time.Month, loc *time.Location) (*MonthReport, error) {
	from := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	r := &MonthReport{From: from, To: from.AddDate(0, 1, 0)}
	span := []any{formatTime(r.From), formatTime(r.To)}
	// The stored times are fixed-width UTC text, so a month is a range of text
	// (which the jobs_by_created index serves) and julianday reads them.
	rows, err := j.db.QueryContext(ctx, `
		SELECT hot_folder,
			COUNT(*),
			SUM(state IN ('delivered', 'archived')),
			SUM(CASE WHEN state IN ('delivered', 'archived') THEN pages ELSE 0 END),
			SUM(signed_at IS NOT NULL AND state != 'failed'),
			SUM(state = 'failed'),
			COALESCE(SUM(CASE WHEN signed_at IS NOT NULL AND state != 'failed'
				THEN ROUND((julianday(signed_at) - julianday(created)) * 86400000) END), 0)
		FROM jobs WHERE created >= ? AND created < ? AND documents = 0
		GROUP BY hot_folder ORDER BY hot_folder`, span...)
	if err != nil {
		return nil, fmt.Errorf("journal %s: monthly figures: %w", j.path, err)
	}
	defer rows.Close()
	index := make(map[string]int)
	for rows.Next() {
		var (
			f  Figures
			ms float64
		)
		if err := rows.Scan(&f.HotFolder, &f.Received, &f.Digitised, &f.Pages, &f.Signed, &f.Refused, &ms); err != nil {
			return nil, fmt.Errorf("journal %s: monthly figures: %w", j.path, err)
		}
		f.signedMS = int64(ms)
		f.RefusedBy = make(map[string]int)
		index[f.HotFolder] = len(r.Folders)
		r.Folders = append(r.Folders, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: monthly figures: %w", j.path, err)
	}
	rows.Close()

	rows, err = j.db.QueryContext(ctx, `
		SELECT hot_folder, failed_stage, COUNT(*) FROM jobs
		WHERE created >= ? AND created < ? AND state = 'failed' AND documents = 0
		GROUP BY hot_folder, failed_stage`, span...)
	if err != nil {
		return nil, fmt.Errorf("journal %s: monthly refusals: %w", j.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			folder, stage string
			n             int
		)
		if err := rows.Scan(&folder, &stage, &n); err != nil {
			return nil, fmt.Errorf("journal %s: monthly refusals: %w", j.path, err)
		}
		if stage == "" {
			stage = "unknown"
		}
		if i, ok := index[folder]; ok {
			r.Folders[i].RefusedBy[stage] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: monthly refusals: %w", j.path, err)
	}

	r.Total.RefusedBy = make(map[string]int)
	for i := range r.Folders {
		f := &r.Folders[i]
		if f.Signed > 0 {
			f.ToSignature = meanMS(f.signedMS, f.Signed)
		}
		t := &r.Total
		t.Received += f.Received
		t.Digitised += f.Digitised
		t.Pages += f.Pages
		t.Signed += f.Signed
		t.Refused += f.Refused
		t.signedMS += f.signedMS
		for stage, n := range f.RefusedBy {
			t.RefusedBy[stage] += n
		}
	}
	if r.Total.Signed > 0 {
		r.Total.ToSignature = meanMS(r.Total.signedMS, r.Total.Signed)
	}
	return r, nil
}

// meanMS is the mean of n durations that sum to sum milliseconds, to the second.
func meanMS(sum int64, n int) time.Duration {
	return (time.Duration(sum) * time.Millisecond / time.Duration(n)).Round(time.Second)
}

// StageOrder lists the stages that can refuse a document, in the order a
// document meets them; stages not listed sort after them by name.
var StageOrder = []string{"receive", "duplicate", StageDecode, StageOCR, "quality", "metadata", "mark", "approval", StageBuild, StageSign, "validate", StageDeliver, "archive"}

// RefusalStages returns the stages in counts, in StageOrder.
func RefusalStages(counts map[string]int) []string {
	pos := make(map[string]int, len(StageOrder))
	for i, s := range StageOrder {
		pos[s] = i + 1
	}
	stages := make([]string, 0, len(counts))
	for s := range counts {
		stages = append(stages, s)
	}
	sort.Slice(stages, func(a, b int) bool {
		pa, pb := pos[stages[a]], pos[stages[b]]
		switch {
		case pa != 0 && pb != 0:
			return pa < pb
		case pa != 0 || pb != 0:
			return pa != 0
		}
		return stages[a] < stages[b]
	})
	return stages
}
