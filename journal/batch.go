package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"scanstation/internal/crashpoint"
)

// Split records that batch was divided into docs, in one transaction: the batch's row (with
// Documents set to len(docs)) and a new row for each document, which gets its ID, Batch and
// BatchDocument here. A crash before the commit leaves the batch undivided, to be divided
// again; after it, every document exists: none is lost or made twice. A batch already divided
// is refused.
func (j *Journal) Split(ctx context.Context, batch *Job, docs []*Job) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("journal %s: divide batch %d (%s): %w", j.path, batch.ID, batch.Source, err)
		}
	}()
	if len(docs) == 0 {
		return errors.New("no documents")
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		current   State
		documents int
	)
	err = tx.QueryRowContext(ctx, "SELECT state, documents FROM jobs WHERE id = ?", batch.ID).Scan(&current, &documents)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if current != Spooled || documents != 0 {
		return fmt.Errorf("the batch is %s with %d documents already: %w", current, documents, ErrChanged)
	}
	now := time.Now().UTC()
	divided := *batch
	divided.Documents = len(docs)
	r := rowOf(&divided)
	set := "updated = ?"
	for _, name := range r.names {
		set += ", " + name + " = ?"
	}
	values := append(append([]any{formatTime(now)}, r.values...), batch.ID)
	if _, err := tx.ExecContext(ctx, "UPDATE jobs SET "+set+" WHERE id = ?", values...); err != nil {
		return err
	}
	for i, doc := range docs {
		doc.Batch, doc.BatchDocument = batch.ID, i+1
		if doc.State == "" {
			doc.State = Spooled
		}
		if _, ok := rank[doc.State]; !ok {
			return fmt.Errorf("document %d: unknown state %q", i+1, doc.State)
		}
		r := rowOf(doc)
		names := append([]string{"created", "updated"}, r.names...)
		values := append([]any{formatTime(now), formatTime(now)}, r.values...)
		res, err := tx.ExecContext(ctx, "INSERT INTO jobs ("+strings.Join(names, ", ")+") VALUES (?"+strings.Repeat(", ?", len(names)-1)+")", values...)
		if err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		if doc.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		doc.Created, doc.Updated = now, now
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	batch.Documents, batch.Updated = len(docs), now
	crashpoint.Hit("journal.split")
	return nil
}

// Documents returns the documents divided from the batch with the given ID, in batch order.
func (j *Journal) Documents(ctx context.Context, batch int64) ([]Job, error) {
	jobs, err := j.query(ctx, "WHERE batch = ? ORDER BY batch_document", batch)
	if err != nil {
		return nil, fmt.Errorf("journal %s: documents of batch %d: %w", j.path, batch, err)
	}
	return jobs, nil
}
