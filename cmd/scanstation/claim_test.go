package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"scanstation/internal/samplescan"
)

// traceGate is the daemon's crash-point trace as a pipe the test reads: while the test reads,
// the daemon runs; once the test has seen a step and filled the pipe, the daemon's next
// durable step (any goroutine's) blocks until the test lets it go. It holds the daemon at a
// chosen step without killing it.
type traceGate struct {
	fd      int
	mu      sync.Mutex
	seen    bytes.Buffer
	held    chan struct{} // closed once the pipe is full after the step
	release chan struct{}
	quit    chan struct{}
}

func newTraceGate(t *testing.T, path, step string) *traceGate {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read and write ends in one: the daemon's open for writing does not wait for a reader.
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatalf("cannot make the trace pipe small: %v", err)
	}
	g := &traceGate{fd: fd, held: make(chan struct{}), release: make(chan struct{}), quit: make(chan struct{})}
	go g.run(step)
	t.Cleanup(func() {
		// After the daemon's own clean-up (registered later, run first).
		if !isClosed(g.release) {
			close(g.release)
		}
		close(g.quit)
	})
	return g
}

func (g *traceGate) run(step string) {
	defer syscall.Close(g.fd)
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(g.fd, buf)
		if n > 0 && !isClosed(g.held) {
			g.mu.Lock()
			g.seen.Write(buf[:n])
			hit := strings.Contains(g.seen.String(), " "+step+"\n")
			g.mu.Unlock()
			if hit {
				// Fill what is free: the daemon's next step blocks in its write.
				for {
					if _, err := syscall.Write(g.fd, []byte{'#'}); err != nil {
						break
					}
				}
				close(g.held)
				<-g.release // the daemon then drains through the filler
				continue
			}
		}
		if err != nil && !errors.Is(err, syscall.EAGAIN) {
			return
		}
		if n <= 0 {
			if isClosed(g.quit) {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A new scan saved under the name of a scan whose copy is being delivered is a new input: it
// is taken once the first has left the hot-folder, not dropped because the first job still
// holds the name. The delivery is held mid-way (the outbox PDF renamed, its sidecar not yet)
// through the crash-point trace, the new file is saved, and the delivery then let go.
func TestNewFileUnderTheNameOfAJobBeingDeliveredIsTaken(t *testing.T) {
	dir, cfg := newStation(t)
	inbox, outbox := filepath.Join(dir, "inbox"), filepath.Join(dir, "outbox")
	trace := filepath.Join(t.TempDir(), "trace")
	gate := newTraceGate(t, trace, "outbox.rename pdf")
	d := startDaemonEnv(t, cfg, "SCANSTATION_CRASH_TRACE="+trace, "SCANSTATION_CRASH_SKIP=status.json,waiting.json")
	waitFor(t, "the daemon to be running", time.Minute, func() bool { return strings.Contains(d.log.String(), "station running") }, d.log)

	first, second := letter(t, 1), letter(t, 2)
	name := filepath.Join(inbox, "cong-van.jpg")
	if err := os.WriteFile(name, first, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.held:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the first scan's delivery did not start; daemon log:\n%s", d.log)
	}
	if len(glob(inbox, "*")) != 0 {
		t.Fatalf("the first scan is still in the hot-folder while delivered: %v", glob(inbox, "*"))
	}
	if err := os.WriteFile(name, second, 0o644); err != nil {
		t.Fatal(err)
	}
	// Long enough for the watcher (settle 700 ms, rescan 2 s) to report the new file while the
	// first job is held in its delivery: not a measure of speed.
	time.Sleep(6 * time.Second)
	close(gate.release)

	waitFor(t, "both scans delivered", 2*time.Minute, func() bool {
		return len(glob(outbox, "cong-van*.json")) == 2
	}, d.log)
	d.stop(t)
	want := map[string]bool{fmt.Sprintf("%x", sha256.Sum256(first)): true, fmt.Sprintf("%x", sha256.Sum256(second)): true}
	for _, p := range glob(outbox, "cong-van*.json") {
		delete(want, readSidecar(t, p).SourceSHA256)
	}
	if len(want) != 0 {
		t.Errorf("the outbox does not hold one copy of each scan; missing %v", want)
	}
	if left := glob(inbox, "*"); len(left) != 0 {
		t.Errorf("left in the hot-folder: %v", left)
	}
}

// letter is a small sample scan whose number tells it apart.
func letter(t *testing.T, number int) []byte {
	t.Helper()
	img, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN", fmt.Sprintf("Số: %d/UBND-VP", number))})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := samplescan.WriteJPEG(&b, img, 200, 80); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
