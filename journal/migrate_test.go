package journal

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// v4Journal writes a journal file as scanstation wrote it at schema version 4 (migrations
// 0..3, run by their shipped text), with jobs whose every column holds a value, and the
// highest id deleted so the AUTOINCREMENT counter is above the largest id left.
func v4Journal(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, m := range migrations[:4] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i, err)
		}
	}
	if _, err := db.Exec("PRAGMA user_version = 4"); err != nil {
		t.Fatal(err)
	}
	states := []string{"received", "spooled", "awaiting_approval", "approved", "built", "signed", "delivered", "archived", "failed", "archived"}
	for i, state := range states {
		n := i + 1
		_, err := db.Exec(`INSERT INTO jobs (source, source_name, hot_folder, source_size, source_sha256, state, spool, work, out_name,
			pages, languages, mean_confidence, signer, signed_at, output_sha256, operator, converted_at, warnings,
			approved_by, approved_at, mark_place, level, timestamp_note, failed_stage, reason, duplicate_of, metadata,
			decode_ns, ocr_ns, build_ns, sign_ns, deliver_ns, created, updated,
			source_dev, source_inode, source_mtime, batch, batch_document, batch_pages, documents)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("/in/cong-van-%d.jpg", n), fmt.Sprintf("cong-van-%d.jpg", n), "/in", 1000+n, fmt.Sprintf("%064x", n), state,
			fmt.Sprintf("/state/spool/%d", n), fmt.Sprintf("/state/work/%d.pdf", n), fmt.Sprintf("cong-van-%d", n),
			n, "vie+eng", 90.5+float64(n)/10, "Sở Nội vụ", formatTime(time.Date(2026, 11, n, 9, 0, 0, 0, time.UTC)), fmt.Sprintf("%064x", 100+n),
			"Lan", formatTime(time.Date(2026, 11, n, 8, 0, 0, 0, time.UTC)), "skewed 2°", "Minh", formatTime(time.Date(2026, 11, n, 8, 30, 0, 0, time.UTC)),
			"bottom right", "B-LTA", "note", "sign", "reason", "cong-van-0.pdf", `{"number":"12/UBND"}`,
			n*10, n*20, n*30, n*40, n*50,
			formatTime(time.Date(2026, 11, n, 7, 0, 0, 0, time.UTC)), formatTime(time.Date(2026, 11, n, 10, 0, 0, 0, time.UTC)),
			-n, n*7, formatTime(time.Date(2026, 10, n, 7, 0, 0, 0, time.UTC)), n%3, n%2, "1,2,3", n%4)
		if err != nil {
			t.Fatalf("insert job %d: %v", n, err)
		}
	}
	if _, err := db.Exec("DELETE FROM jobs WHERE id = ?", len(states)); err != nil {
		t.Fatal(err)
	}
	return path
}

// dump reads every row of every column of jobs as SQLite stores it, the columns' names and
// declarations in order, and the indexes' definitions.
func dump(t *testing.T, db *sql.DB) (rows [][]any, columns []string, indexes map[string]string) {
	t.Helper()
	r, err := db.Query("SELECT * FROM jobs ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, _ := r.Columns()
	for r.Next() {
		row := make([]any, len(n))
		ptrs := make([]any, len(n))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	info, err := db.Query("SELECT name, type, \"notnull\", COALESCE(dflt_value, 'NULL'), pk FROM pragma_table_info('jobs')")
	if err != nil {
		t.Fatal(err)
	}
	defer info.Close()
	for info.Next() {
		var name, typ, dflt string
		var notNull, pk int
		if err := info.Scan(&name, &typ, &notNull, &dflt, &pk); err != nil {
			t.Fatal(err)
		}
		columns = append(columns, fmt.Sprintf("%s %s notnull=%d default=%s pk=%d", name, typ, notNull, dflt, pk))
	}
	indexes = map[string]string{}
	idx, err := db.Query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for idx.Next() {
		var name, def string
		if err := idx.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		indexes[name] = def
	}
	return rows, columns, indexes
}

func TestUpgradeFromVersion4KeepsEveryJob(t *testing.T) {
	path := v4Journal(t)
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	beforeRows, beforeColumns, beforeIndexes := dump(t, db)
	db.Close()
	if len(beforeRows) != 9 || len(beforeIndexes) != 5 {
		t.Fatalf("the version 4 journal has %d jobs and %d indexes, want 9 and 5", len(beforeRows), len(beforeIndexes))
	}

	j, err := Open(path)
	if err != nil {
		t.Fatalf("upgrade a version 4 journal: %v", err)
	}
	defer j.Close()
	var version int
	if err := j.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) || version < 5 {
		t.Errorf("schema version %d after the upgrade, want %d", version, len(migrations))
	}
	afterRows, afterColumns, afterIndexes := dump(t, j.db)
	// Columns added by later migrations come last, with their default in every old row.
	added := []string{"ocr_file TEXT notnull=1 default='' pk=0"}
	if n := len(afterColumns) - len(added); n < 0 || !reflect.DeepEqual(afterColumns[n:], added) {
		t.Errorf("the columns added after version 5: %q, want %q", afterColumns, added)
	} else {
		afterColumns = afterColumns[:n]
		for i, row := range afterRows {
			for _, v := range row[n:] {
				if s, ok := v.(string); !ok || s != "" {
					t.Errorf("row %d: a column added after version 5 holds %v, want ''", i+1, v)
				}
			}
			afterRows[i] = row[:n]
		}
	}
	if !reflect.DeepEqual(afterColumns, beforeColumns) {
		t.Errorf("the columns changed:\nbefore %q\nafter  %q", beforeColumns, afterColumns)
	}
	if !reflect.DeepEqual(afterIndexes, beforeIndexes) {
		t.Errorf("the indexes changed:\nbefore %q\nafter  %q", beforeIndexes, afterIndexes)
	}
	if !reflect.DeepEqual(afterRows, beforeRows) {
		t.Errorf("the rows changed:\nbefore %v\nafter  %v", beforeRows, afterRows)
	}
	var fk string
	if err := j.db.QueryRow("SELECT COUNT(*) FROM pragma_foreign_key_check").Scan(&fk); err != nil || fk != "0" {
		t.Errorf("foreign key check after the upgrade: %s %v", fk, err)
	}
	var integrity string
	if err := j.db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity check after the upgrade: %s %v", integrity, err)
	}

	ctx := context.Background()
	// The row deleted before the upgrade had id 10: its id is not given again.
	job := &Job{Source: "/in/moi.jpg", SourceName: "moi.jpg"}
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	if job.ID != 11 {
		t.Errorf("the first job after the upgrade got id %d, want 11 (ids are never reused)", job.ID)
	}
	// The new state is accepted by the table, between built and signed.
	built, err := j.Get(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if built.State != Built || built.Level != "B-LTA" || int64(built.SourceDev) != -5 || built.BatchDocument != 1 {
		t.Errorf("job 5 read back as state %s, level %s, dev %d, batch document %d", built.State, built.Level, built.SourceDev, built.BatchDocument)
	}
	built.State = AwaitingValidation
	if err := j.Update(ctx, built); err != nil {
		t.Fatalf("built → awaiting_validation: %v", err)
	}
	built.State = Built
	if err := j.Update(ctx, built); err == nil {
		t.Error("awaiting_validation → built was allowed")
	}
	built.State = Signed
	if err := j.Update(ctx, built); err != nil {
		t.Fatalf("awaiting_validation → signed: %v", err)
	}
	if _, err := j.db.Exec("UPDATE jobs SET state = 'signed_maybe' WHERE id = 1"); err == nil {
		t.Error("the table accepts a state that does not exist")
	}
}
