package journal

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// The durability promise rests on these settings holding on every pooled
// connection, not only the first one.
func TestEveryConnectionIsDurable(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()

	const n = 4
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := j.db.Conn(ctx) // hold each so the pool must open a new one
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			var mode string
			var synchronous, timeout int
			if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Error(err)
				return
			}
			if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&synchronous); err != nil {
				t.Error(err)
				return
			}
			if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
				t.Error(err)
				return
			}
			if mode != "wal" || synchronous != 2 || timeout == 0 {
				t.Errorf("connection %d: journal_mode=%s synchronous=%d busy_timeout=%d, want wal, 2 (FULL), >0", i, mode, synchronous, timeout)
			}
		})
	}
	wg.Wait()
}
