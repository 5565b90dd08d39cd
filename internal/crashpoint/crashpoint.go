// Package crashpoint names the durable steps of a document's life (each rename, flush, journal
// write, move) so that a test can stop the station dead at any one of them, the way ALICE and
// CrashMonkey test applications: the crash-point harness (cmd/scanstation/crashpoint_test.go)
// runs the station once to learn how many steps a path has, then once per step N with the
// process killed at step N, restarts it and checks that nothing was lost, doubled or left
// half-written.
//
// Two environment variables drive it, read once at the first Hit:
//
//	SCANSTATION_CRASH_AT=N      the Nth step (counting every name, from 1) kills the process
//	                            with SIGKILL: no deferred code runs, no buffer is flushed
//	SCANSTATION_CRASH_TRACE=F   each step appends "index name" as one line to file F
//	SCANSTATION_CRASH_SKIP=a,b  steps whose name contains a or b are neither counted nor traced
//
// SKIP is for steps that happen on a timer rather than as a consequence of a document (the
// daemon's status.json every 5 s): counting them would make step N a different step on every
// run.
//
// The configuration is package state, read from the environment once, against the project's
// rule of no global state outside main. It is the one exception, for a test seam: the steps
// are deep inside outbox, journal and station, and threading a crash hook through every
// constructor and call would put test machinery into every API for the sake of a test, while
// the environment reaches the daemon the harness starts with no API at all. When neither
// variable is set, Hit costs one atomic load.
package crashpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

type config struct {
	at    int64 // 0: never crash
	trace *os.File
	skip  []string
	n     atomic.Int64
	mu    sync.Mutex // orders trace lines with their indexes
}

var (
	once    sync.Once
	active  atomic.Bool
	current *config
)

func load() {
	at, _ := strconv.ParseInt(os.Getenv("SCANSTATION_CRASH_AT"), 10, 64)
	c := &config{at: at}
	if path := os.Getenv("SCANSTATION_CRASH_TRACE"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			// A harness that asked for a trace and gets none would count zero steps and
			// test nothing: say so loudly.
			fmt.Fprintf(os.Stderr, "crashpoint: cannot open the trace file %s: %v\n", path, err)
			os.Exit(70)
		}
		c.trace = f
	}
	for _, s := range strings.Split(os.Getenv("SCANSTATION_CRASH_SKIP"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.skip = append(c.skip, s)
		}
	}
	if c.at > 0 || c.trace != nil {
		current = c
		active.Store(true)
	}
}

// Hit marks one durable step, named for people reading a trace ("outbox.rename pdf",
// "journal.update delivered"). Call it right after the step is done (or right before, when
// the moment between two steps is the one to test).
func Hit(name string) {
	once.Do(load)
	if !active.Load() {
		return
	}
	c := current
	for _, s := range c.skip {
		if strings.Contains(name, s) {
			return
		}
	}
	c.mu.Lock()
	n := c.n.Add(1)
	if c.trace != nil {
		// One write per line with O_APPEND: the line is whole even if the process dies next.
		c.trace.WriteString(strconv.FormatInt(n, 10) + " " + strings.ReplaceAll(name, "\n", " ") + "\n")
	}
	if n == c.at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way; nothing more of this process may run
	}
	c.mu.Unlock()
}
