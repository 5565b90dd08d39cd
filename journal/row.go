package journal

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayout is fixed width and UTC so that stored times sort as text and
// SQLite's date functions read them (for the monthly report).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s.String)
}

// row is a job's writable columns, in matching order.
type row struct {
	names  []string
	values []any
}

func rowOf(job *Job) row {
	r := row{
		names: []string{
			"source", "source_name", "hot_folder", "source_size", "source_sha256",
			"state", "spool", "work", "out_name",
			"pages", "languages", "mean_confidence", "signer", "signed_at", "output_sha256",
			"operator", "converted_at", "warnings", "approved_by", "approved_at", "mark_place", "level", "timestamp_note",
			"failed_stage", "reason", "duplicate_of", "metadata",
			"source_dev", "source_inode", "source_mtime",
			"batch", "batch_document", "batch_pages", "documents",
			"ocr_file",
		},
		values: []any{
			job.Source, job.SourceName, job.HotFolder, job.SourceSize, job.SourceSHA256,
			string(job.State), job.Spool, job.Work, job.OutName,
			job.Pages, job.Languages, job.MeanConfidence, job.Signer, nullTime(job.SignedAt), job.OutputSHA256,
			job.Operator, nullTime(job.ConvertedAt), job.Warnings, job.ApprovedBy, nullTime(job.ApprovedAt), job.MarkPlace, job.Level, job.TimestampNote,
			job.FailedStage, job.Reason, job.DuplicateOf, job.Metadata,
			// SQLite integers are signed; the bits survive the round trip.
			int64(job.SourceDev), int64(job.SourceInode), nullTime(job.SourceMtime),
			job.Batch, job.BatchDocument, formatPages(job.BatchPages), job.Documents,
			job.OCRFile,
		},
	}
	for _, c := range stageColumns {
		r.names = append(r.names, c.column)
		if d, ok := job.StageTimes[c.stage]; ok {
			r.values = append(r.values, int64(d))
		} else {
			r.values = append(r.values, nil) // not measured, unlike a zero duration
		}
	}
	return r
}

var selectColumns = func() string {
	names := []string{"id", "created", "updated"}
	names = append(names, rowOf(&Job{}).names...)
	return strings.Join(names, ", ")
}()

// query returns the jobs matching the SQL that follows "FROM jobs".
func (j *Journal) query(ctx context.Context, where string, args ...any) ([]Job, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT "+selectColumns+" FROM jobs "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, rows.Err()
}

func scanJob(rows *sql.Rows) (Job, error) {
	var (
		job                      Job
		state                    string
		created, updated, signed sql.NullString
		converted, approved      sql.NullString
		dev, inode               int64
		mtime                    sql.NullString
		batchPages               string
		stageNS                  = make([]sql.NullInt64, len(stageColumns))
	)
	dest := []any{
		&job.ID, &created, &updated,
		&job.Source, &job.SourceName, &job.HotFolder, &job.SourceSize, &job.SourceSHA256,
		&state, &job.Spool, &job.Work, &job.OutName,
		&job.Pages, &job.Languages, &job.MeanConfidence, &job.Signer, &signed, &job.OutputSHA256,
		&job.Operator, &converted, &job.Warnings, &job.ApprovedBy, &approved, &job.MarkPlace, &job.Level, &job.TimestampNote,
		&job.FailedStage, &job.Reason, &job.DuplicateOf, &job.Metadata,
		&dev, &inode, &mtime,
		&job.Batch, &job.BatchDocument, &batchPages, &job.Documents,
		&job.OCRFile,
	}
	for i := range stageNS {
		dest = append(dest, &stageNS[i])
	}
	if err := rows.Scan(dest...); err != nil {
		return Job{}, err
	}
	job.State = State(state)
	job.SourceDev, job.SourceInode = uint64(dev), uint64(inode)
	var err error
	if job.BatchPages, err = parsePages(batchPages); err != nil {
		return Job{}, fmt.Errorf("job %d: batch pages: %w", job.ID, err)
	}
	if job.SourceMtime, err = parseTime(mtime); err != nil {
		return Job{}, fmt.Errorf("job %d: source modification time: %w", job.ID, err)
	}
	if job.Created, err = parseTime(created); err != nil {
		return Job{}, fmt.Errorf("job %d: created time: %w", job.ID, err)
	}
	if job.Updated, err = parseTime(updated); err != nil {
		return Job{}, fmt.Errorf("job %d: updated time: %w", job.ID, err)
	}
	if job.SignedAt, err = parseTime(signed); err != nil {
		return Job{}, fmt.Errorf("job %d: signing time: %w", job.ID, err)
	}
	if job.ConvertedAt, err = parseTime(converted); err != nil {
		return Job{}, fmt.Errorf("job %d: conversion time: %w", job.ID, err)
	}
	if job.ApprovedAt, err = parseTime(approved); err != nil {
		return Job{}, fmt.Errorf("job %d: approval time: %w", job.ID, err)
	}
	for i, c := range stageColumns {
		if stageNS[i].Valid {
			if job.StageTimes == nil {
				job.StageTimes = make(map[string]time.Duration)
			}
			job.StageTimes[c.stage] = time.Duration(stageNS[i].Int64)
		}
	}
	return job, nil
}

// formatPages stores page numbers as "3,4,5": readable in the sqlite3 shell.
func formatPages(pages []int) string {
	parts := make([]string, len(pages))
	for i, p := range pages {
		parts[i] = strconv.Itoa(p)
	}
	return strings.Join(parts, ",")
}

func parsePages(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	pages := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		pages[i] = n
	}
	return pages, nil
}
