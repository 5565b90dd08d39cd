package journal

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdentityColumnsRoundTripAndOldJournalsAreUpgraded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	// A journal as the first schema left it, with one job in it.
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0] + `; PRAGMA user_version = 1;
		INSERT INTO jobs (source, state, created, updated) VALUES ('/in/old.jpg', 'spooled', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	old, err := j.BySource(ctx, "/in/old.jpg")
	if err != nil || old == nil {
		t.Fatalf("the old job is not readable after the upgrade: %v %v", old, err)
	}
	if old.SourceInode != 0 || !old.SourceMtime.IsZero() {
		t.Errorf("an old job has an identity it never recorded: %+v", old)
	}

	mtime := time.Date(2026, 3, 4, 5, 6, 7, 89, time.UTC)
	job := &Job{Source: "/in/scan.tif", SourceSize: 10, SourceSHA256: "aa", SourceDev: 1<<63 + 5, SourceInode: 1234567, SourceMtime: mtime}
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	got, err := j.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceDev != job.SourceDev || got.SourceInode != job.SourceInode || !got.SourceMtime.Equal(mtime) {
		t.Errorf("identity read back as dev %d inode %d mtime %v, want %d %d %v",
			got.SourceDev, got.SourceInode, got.SourceMtime, job.SourceDev, job.SourceInode, mtime)
	}
}

func TestRereadGoesBackToSpooledOnlyBeforeDelivery(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	job := &Job{Source: "/in/scan.tif", SourceSize: 10, SourceSHA256: "aa"}
	if err := j.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := j.Reread(ctx, job); err == nil {
		t.Error("a job not yet spooled was read again")
	}
	for _, s := range []State{Spooled, Built, Signed} {
		job.State = s
		if err := j.Update(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	job.SourceSize, job.SourceSHA256 = 20, "bb"
	if err := j.Reread(ctx, job); err != nil {
		t.Fatal(err)
	}
	got, _ := j.Get(ctx, job.ID)
	if got.State != Spooled || got.SourceSize != 20 || got.SourceSHA256 != "bb" {
		t.Errorf("after Reread: state %s, size %d, sha %s; want spooled, 20, bb", got.State, got.SourceSize, got.SourceSHA256)
	}
	job.State = Delivered
	if err := j.Update(ctx, job); err != nil {
		t.Fatal(err)
	}
	err = j.Reread(ctx, job)
	if err == nil || !strings.Contains(err.Error(), "delivered") {
		t.Errorf("a delivered job was read again (err %v)", err)
	}
}
