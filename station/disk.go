package station

import (
	"strings"
	"time"
)

// diskRetry is how often a station paused by a full disk tries again.
const diskRetry = 10 * time.Second

// isJournalFull reports SQLite's "database or disk is full", which does not wrap ENOSPC.
func isJournalFull(err error) bool {
	return err != nil && strings.Contains(err.Error(), "disk is full")
}

// diskFull says once, in plain words, that the station waits for disk space.
func (s *Station) diskFull(err error) {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if s.diskPaused {
		return
	}
	s.diskPaused = true
	s.log.Error("the disk is full: the station pauses and writes nothing half-done; documents wait where they are and nothing is lost. Free some space (outbox, archive, state folder); the station resumes by itself",
		"err", err, "retry_every", diskRetry)
}

// diskOK notes that writing works again after a pause.
func (s *Station) diskOK() {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if s.diskPaused {
		s.diskPaused = false
		s.log.Info("there is disk space again; the station resumes")
	}
}
