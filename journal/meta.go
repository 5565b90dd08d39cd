package journal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Identity says which journal this is. The station folder's files (the spool, the work
// folder) are named by job ID, and job IDs mean something only in the journal that gave them:
// a journal lost and recreated starts again at 1 and would take an old spool file for its
// new job. The station stamps the identity beside the journal and refuses to start when they
// differ.
type Identity struct {
	Station    string // random, made once for a state folder; kept by a rebuild
	Generation int    // 1 for a new station; a rebuilt journal is the next generation
}

// IsZero reports whether the journal has no identity yet: new, or written by an older version.
func (id Identity) IsZero() bool { return id.Station == "" }

func (id Identity) String() string {
	if id.IsZero() {
		return "no identity"
	}
	return fmt.Sprintf("station %s, generation %d", id.Station, id.Generation)
}

// NewIdentity makes the identity of a new station: a random station ID, generation 1.
func NewIdentity() (Identity, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return Identity{}, fmt.Errorf("make a station ID: %w", err)
	}
	return Identity{Station: hex.EncodeToString(b), Generation: 1}, nil
}

// Identity returns the journal's identity; the zero Identity if it has none.
func (j *Journal) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	var gen string
	err := j.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'station'").Scan(&id.Station)
	if err == nil {
		err = j.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'generation'").Scan(&gen)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{}, nil
	}
	if err == nil {
		id.Generation, err = strconv.Atoi(gen)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("journal %s: read its identity: %w", j.path, err)
	}
	return id, nil
}

// SetIdentity records the journal's identity, replacing any it had.
func (j *Journal) SetIdentity(ctx context.Context, id Identity) error {
	if id.IsZero() || id.Generation < 1 {
		return fmt.Errorf("journal %s: record identity: %q is not an identity", j.path, id)
	}
	_, err := j.db.ExecContext(ctx, "INSERT OR REPLACE INTO meta (key, value) VALUES ('station', ?), ('generation', ?)",
		id.Station, strconv.Itoa(id.Generation))
	if err != nil {
		return fmt.Errorf("journal %s: record identity: %w", j.path, err)
	}
	return nil
}

// StartIDsAfter makes the next job's ID greater than id: files named by job ID that an older
// journal left are never taken for a new job's.
func (j *Journal) StartIDsAfter(ctx context.Context, id int64) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal %s: start job IDs after %d: %w", j.path, id, err)
	}
	defer tx.Rollback()
	var seq sql.NullInt64
	err = tx.QueryRowContext(ctx, "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").Scan(&seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)", id)
	case err == nil && seq.Int64 < id:
		_, err = tx.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'", id)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("journal %s: start job IDs after %d: %w", j.path, id, err)
	}
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Empty reports whether the journal has no job at all.
func (j *Journal) Empty(ctx context.Context) (bool, error) {
	var n int
	if err := j.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs").Scan(&n); err != nil {
		return false, fmt.Errorf("journal %s: count jobs: %w", j.path, err)
	}
	return n == 0, nil
}
