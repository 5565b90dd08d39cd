package ocr

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
)

// A Pool's engines run in worker processes: the same executable started
// again with workerEnv set. gosseract v2.4.1 leaks on every page and
// crashes the process on some inputs; in a child process the leak is given
// back when the worker is replaced, and a crash costs one page, not the
// station.
//
// The worker is entered from this package's init, before main and before
// TestMain, so every program and test binary that links this package can
// run Pools without any code of its own: the station, its tests, the
// command line. The worker never returns to the program's main.
const workerEnv = "SCANSTATION_OCR_WORKER"

// The worker talks gob on two inherited descriptors, so that its stdout and
// stderr, where Leptonica, libgomp and the Go runtime (on a crash) write,
// can go to the parent's log without corrupting the protocol.
const (
	workerIn  = 3 // requests from the parent
	workerOut = 4 // replies to the parent
)

// workerConfig is the first message to a worker: what its engine needs.
type workerConfig struct {
	Languages     []string
	TessdataDir   string
	NoOrientation bool
}

// workerRequest is one page to recognise. The image's Size bytes follow the
// message on the pipe, outside gob: a gob Encoder keeps the buffer of the
// largest message it ever sent, and a decoded colour page is 26 MB, which
// the station then held for each worker for good (docs/ocr-memory.md,
// "Daemon memory, issue 15").
type workerRequest struct {
	Size int
}

// workerReply answers workerConfig (engine ready, or why not) and each
// workerRequest.
type workerReply struct {
	Result *Result
	Err    string
}

func init() {
	if os.Getenv(workerEnv) != "1" {
		return
	}
	// More likely than the station to be chosen by the kernel's OOM
	// killer: a decompression bomb should cost a page, not the journal's
	// owner. Raising one's own score needs no privilege.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("500"), 0)
	in, out := os.NewFile(workerIn, "ocr-requests"), os.NewFile(workerOut, "ocr-replies")
	if err := serveWorker(in, out); err != nil {
		fmt.Fprintln(os.Stderr, "ocr worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveWorker runs one engine: it reads a workerConfig, starts the engine,
// answers it, then answers each workerRequest until in ends.
func serveWorker(in io.Reader, out io.Writer) error {
	br := bufio.NewReader(in)
	dec := gob.NewDecoder(br)
	bw := bufio.NewWriter(out)
	enc := gob.NewEncoder(bw)
	reply := func(r workerReply) error {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
		return nil
	}
	var cfg workerConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	e, err := NewEngine(Options{Languages: cfg.Languages, TessdataDir: cfg.TessdataDir, NoOrientation: cfg.NoOrientation})
	if err != nil {
		return reply(workerReply{Err: err.Error()})
	}
	defer e.Close()
	if err := reply(workerReply{}); err != nil {
		return err
	}
	for {
		var req workerRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil // the pool is done with this worker
		} else if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		if req.Size < 0 || req.Size > 1<<31 {
			return fmt.Errorf("read request: an image of %d bytes", req.Size)
		}
		img := make([]byte, req.Size)
		if _, err := io.ReadFull(br, img); err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		res, err := e.Recognize(img)
		r := workerReply{Result: res}
		if err != nil {
			r = workerReply{Err: err.Error()}
		}
		if err := reply(r); err != nil {
			return err
		}
	}
}
