package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"scanstation/lang"
)

// events streams the queue to the queue page as server-sent events: the snapshot as JSON
// whenever it changes (the Desk is asked every c.poll), a comment every c.beat so that a quiet
// stream is not closed by something in between. The stream ends with the request, or when the
// session ends: an open page must not keep a login alive, and the browser's reconnect then
// meets the login page, which console.js answers by reloading.
func (c *console) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The server's write timeout is for pages; a stream is written for as long as it is open.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The browser waits this long before reconnecting after a break.
	fmt.Fprint(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		return
	}

	ctx := r.Context()
	s := sessionOf(r)
	p := lang.Printer(c.languageOf(r))
	poll := time.NewTicker(c.poll)
	defer poll.Stop()
	beat := time.NewTicker(c.beat)
	defer beat.Stop()
	var last []byte
	failing := false // said once in the log, not every second
	send := func() bool {
		q, err := c.desk.Queue(ctx)
		if err != nil {
			if ctx.Err() == nil && !failing {
				c.log.Warn("console: the station does not answer for the queue's events; trying every poll", "err", err)
			}
			failing = true
			return ctx.Err() == nil // a station error now may pass; the next poll tries again
		}
		failing = false
		b, err := json.Marshal(snapshotOf(q, p))
		if err != nil {
			c.log.Error("console: cannot encode the queue", "err", err)
			return false
		}
		if bytes.Equal(b, last) {
			return true
		}
		last = b
		// JSON has no raw newline, so the snapshot is one data line.
		if _, err := fmt.Fprintf(w, "event: queue\ndata: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if !c.sessionLive(s) || !send() {
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// sessionLive reports whether s is still a session of a user who may see the queue, without
// counting the look as a use.
func (c *console) sessionLive(s *session) bool {
	if _, ok := c.sessions.peek(s.id, c.now()); !ok {
		return false
	}
	role, ok := c.users.Role(s.user)
	return ok && role == s.role
}
