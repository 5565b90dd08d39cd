package journal

import (
	"context"
	"fmt"
)

// migrations[i] brings the schema from version i to version i+1. The version
// lives in PRAGMA user_version. Append to the list; never edit a step that
// has shipped, journals in the field already ran it.
var migrations = []string{
	`CREATE TABLE jobs (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		source          TEXT    NOT NULL,
		source_name     TEXT    NOT NULL DEFAULT '',
		hot_folder      TEXT    NOT NULL DEFAULT '',
		source_size     INTEGER NOT NULL DEFAULT 0,
		source_sha256   TEXT    NOT NULL DEFAULT '',
		state           TEXT    NOT NULL CHECK (state IN ('received', 'spooled', 'awaiting_approval', 'approved', 'built',
		                                                    'signed', 'delivered', 'archived', 'failed')),
		spool           TEXT    NOT NULL DEFAULT '',
		work            TEXT    NOT NULL DEFAULT '',
		out_name        TEXT    NOT NULL DEFAULT '',
		pages           INTEGER NOT NULL DEFAULT 0,
		languages       TEXT    NOT NULL DEFAULT '',
		mean_confidence REAL    NOT NULL DEFAULT 0,
		signer          TEXT    NOT NULL DEFAULT '',
		signed_at       TEXT,
		output_sha256   TEXT    NOT NULL DEFAULT '',
		operator        TEXT    NOT NULL DEFAULT '',
		converted_at    TEXT,
		warnings        TEXT    NOT NULL DEFAULT '',
		approved_by     TEXT    NOT NULL DEFAULT '',
		approved_at     TEXT,
		mark_place      TEXT    NOT NULL DEFAULT '',
		level           TEXT    NOT NULL DEFAULT '',
		timestamp_note  TEXT    NOT NULL DEFAULT '',
		failed_stage    TEXT    NOT NULL DEFAULT '',
		reason          TEXT    NOT NULL DEFAULT '',
		duplicate_of    TEXT    NOT NULL DEFAULT '',
		metadata        TEXT    NOT NULL DEFAULT '',
		decode_ns       INTEGER,
		ocr_ns          INTEGER,
		build_ns        INTEGER,
		sign_ns         INTEGER,
		deliver_ns      INTEGER,
		created         TEXT    NOT NULL,
		updated         TEXT    NOT NULL
	);
	CREATE INDEX jobs_unfinished ON jobs (id) WHERE state NOT IN ('archived', 'failed');
	CREATE INDEX jobs_by_source ON jobs (source);
	CREATE INDEX jobs_by_created ON jobs (created);
	CREATE INDEX jobs_by_sha256 ON jobs (source_sha256);`,
	// The file's identity besides its size and hash, so that a new file saved under an old
	// name, or a spooled file that changed after it was taken, is told from the one hashed.
	`ALTER TABLE jobs ADD COLUMN source_dev   INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN source_inode INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN source_mtime TEXT;`,
	// Which journal this is (station id, generation), so that a journal lost, recreated or
	// swapped is told from the one the spool and work folders belong to (meta.go).
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// Batches divided into documents (capture): each document's batch, number and pages, and
	// how many documents a batch made.
	`ALTER TABLE jobs ADD COLUMN batch          INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN batch_document INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN batch_pages    TEXT    NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN documents      INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX jobs_by_batch ON jobs (batch) WHERE batch != 0;`,
	// The state awaiting_validation: signed, waiting for the validation data or the document
	// timestamp its level needs. SQLite cannot change a CHECK in place, so the table is built
	// again with the same columns in the same order, its rows copied with their ids, the
	// AUTOINCREMENT counter kept (ids of deleted rows are never given again), and every index
	// made again.
	`CREATE TABLE jobs_new (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		source          TEXT    NOT NULL,
		source_name     TEXT    NOT NULL DEFAULT '',
		hot_folder      TEXT    NOT NULL DEFAULT '',
		source_size     INTEGER NOT NULL DEFAULT 0,
		source_sha256   TEXT    NOT NULL DEFAULT '',
		state           TEXT    NOT NULL CHECK (state IN ('received', 'spooled', 'awaiting_approval', 'approved', 'built',
		                                                    'awaiting_validation', 'signed', 'delivered', 'archived', 'failed')),
		spool           TEXT    NOT NULL DEFAULT '',
		work            TEXT    NOT NULL DEFAULT '',
		out_name        TEXT    NOT NULL DEFAULT '',
		pages           INTEGER NOT NULL DEFAULT 0,
		languages       TEXT    NOT NULL DEFAULT '',
		mean_confidence REAL    NOT NULL DEFAULT 0,
		signer          TEXT    NOT NULL DEFAULT '',
		signed_at       TEXT,
		output_sha256   TEXT    NOT NULL DEFAULT '',
		operator        TEXT    NOT NULL DEFAULT '',
		converted_at    TEXT,
		warnings        TEXT    NOT NULL DEFAULT '',
		approved_by     TEXT    NOT NULL DEFAULT '',
		approved_at     TEXT,
		mark_place      TEXT    NOT NULL DEFAULT '',
		level           TEXT    NOT NULL DEFAULT '',
		timestamp_note  TEXT    NOT NULL DEFAULT '',
		failed_stage    TEXT    NOT NULL DEFAULT '',
		reason          TEXT    NOT NULL DEFAULT '',
		duplicate_of    TEXT    NOT NULL DEFAULT '',
		metadata        TEXT    NOT NULL DEFAULT '',
		decode_ns       INTEGER,
		ocr_ns          INTEGER,
		build_ns        INTEGER,
		sign_ns         INTEGER,
		deliver_ns      INTEGER,
		created         TEXT    NOT NULL,
		updated         TEXT    NOT NULL,
		source_dev      INTEGER NOT NULL DEFAULT 0,
		source_inode    INTEGER NOT NULL DEFAULT 0,
		source_mtime    TEXT,
		batch           INTEGER NOT NULL DEFAULT 0,
		batch_document  INTEGER NOT NULL DEFAULT 0,
		batch_pages     TEXT    NOT NULL DEFAULT '',
		documents       INTEGER NOT NULL DEFAULT 0
	);
	INSERT INTO jobs_new (id, source, source_name, hot_folder, source_size, source_sha256, state, spool, work, out_name,
		pages, languages, mean_confidence, signer, signed_at, output_sha256, operator, converted_at, warnings,
		approved_by, approved_at, mark_place, level, timestamp_note, failed_stage, reason, duplicate_of, metadata,
		decode_ns, ocr_ns, build_ns, sign_ns, deliver_ns, created, updated,
		source_dev, source_inode, source_mtime, batch, batch_document, batch_pages, documents)
	SELECT id, source, source_name, hot_folder, source_size, source_sha256, state, spool, work, out_name,
		pages, languages, mean_confidence, signer, signed_at, output_sha256, operator, converted_at, warnings,
		approved_by, approved_at, mark_place, level, timestamp_note, failed_stage, reason, duplicate_of, metadata,
		decode_ns, ocr_ns, build_ns, sign_ns, deliver_ns, created, updated,
		source_dev, source_inode, source_mtime, batch, batch_document, batch_pages, documents
	FROM jobs ORDER BY id;
	DELETE FROM sqlite_sequence WHERE name = 'jobs_new';
	INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs_new', seq FROM sqlite_sequence WHERE name = 'jobs';
	DROP TABLE jobs;
	ALTER TABLE jobs_new RENAME TO jobs;
	CREATE INDEX jobs_unfinished ON jobs (id) WHERE state NOT IN ('archived', 'failed');
	CREATE INDEX jobs_by_source ON jobs (source);
	CREATE INDEX jobs_by_created ON jobs (created);
	CREATE INDEX jobs_by_sha256 ON jobs (source_sha256);
	CREATE INDEX jobs_by_batch ON jobs (batch) WHERE batch != 0;`,
	// The audit trail of the console and the clerk's commands: who did what to which
	// document, with the before and after of corrections or the reason of a refusal (audit.go).
	`CREATE TABLE audit (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		at      TEXT    NOT NULL,
		user    TEXT    NOT NULL,
		role    TEXT    NOT NULL,
		action  TEXT    NOT NULL,
		job     INTEGER NOT NULL DEFAULT 0,
		subject TEXT    NOT NULL DEFAULT '',
		detail  TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_by_job ON audit (job);`,
	// Which reading in the work folder a document waiting for approval is built from, once a
	// review edit wrote a new one ('' is the first, <id>.ocr.json): a new file is written
	// beside the old and recorded with the edit's audit entry in one transaction, so an edit
	// and its entry land together or not at all (station/review.go).
	`ALTER TABLE jobs ADD COLUMN ocr_file TEXT NOT NULL DEFAULT '';`,
}

// migrate brings the schema up to the newest version in one transaction.
func (j *Journal) migrate(ctx context.Context) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("journal %s: read schema version: %w", j.path, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("journal %s was written by a newer scanstation (schema version %d, this one knows %d); use the newer version",
			j.path, version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("journal %s: upgrade schema to version %d: %w", j.path, i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("journal %s: record schema version: %w", j.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal %s: upgrade schema: %w", j.path, err)
	}
	return nil
}
