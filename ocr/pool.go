package ocr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const (
	defaultPagesPerWorker = 200
	defaultPageTimeout    = 5 * time.Minute

	// stopGrace is how long a worker told to stop may take to close its
	// engine and exit before it is killed.
	stopGrace = 10 * time.Second
)

// A Pool recognises pages in parallel with n worker processes, each running
// one single-threaded engine. Its methods are safe for concurrent use.
//
// A worker is replaced after Options.PagesPerWorker pages, which gives back
// the memory gosseract leaks. A worker that dies on a page (a crash in
// Tesseract, the OOM killer, kill -9), or overruns Options.PageTimeout, is
// replaced too; that page fails with an error, the others go on.
type Pool struct {
	opt       Options
	log       *slog.Logger
	perWorker int
	timeout   time.Duration

	slots     chan *slot // n slots; a slot's worker is nil until needed
	n         int
	closed    chan struct{}
	closeOnce sync.Once
	stopping  sync.WaitGroup // workers being stopped in the background

	// testHookSent, if set, is called with the worker's pid once a page
	// has been handed to it.
	testHookSent func(pid int)
}

type slot struct{ w *worker }

// NewPool starts n worker processes (n <= 0: one per CPU). Each holds its
// own models, about 100 MB with vie+eng and OSD, and uses one core. A
// missing language or model is reported here.
func NewPool(n int, opt Options) (*Pool, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{
		opt:       opt,
		log:       opt.Log,
		perWorker: opt.PagesPerWorker,
		timeout:   opt.PageTimeout,
		slots:     make(chan *slot, n),
		n:         n,
		closed:    make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.perWorker == 0 {
		p.perWorker = defaultPagesPerWorker
	}
	if p.timeout <= 0 {
		p.timeout = defaultPageTimeout
	}
	// Models load in parallel: a second or so each.
	slots := make([]*slot, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w, err := p.start(context.Background())
			slots[i], errs[i] = &slot{w: w}, err
		})
	}
	wg.Wait()
	for _, s := range slots {
		p.slots <- s
	}
	for i, err := range errs {
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("start OCR engine %d of %d: %w", i+1, n, err)
		}
	}
	return p, nil
}

// Recognize waits for a free worker and recognises img with it (see
// Engine.Recognize). When ctx ends, waiting stops, or the page being read
// is abandoned and its worker replaced. Errors about the page say so; an
// error from a worker that died says which worker and how.
func (p *Pool) Recognize(ctx context.Context, img []byte) (*Result, error) {
	var s *slot
	select {
	case <-p.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("ocr: waiting for a free OCR worker: %w", context.Cause(ctx))
	case s = <-p.slots:
	}
	defer func() { p.slots <- s }()
	select {
	case <-p.closed:
		return nil, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ocr: %w", context.Cause(ctx))
	}
	if s.w != nil {
		select {
		case <-s.w.exited: // died while idle (OOM killer, an operator): not this page's fault
			p.log.Warn("OCR worker had exited while idle", "pid", s.w.pid, "pages", s.w.pages, "exit", s.w.waitErr)
			s.w.close()
			s.w = nil
		default:
		}
	}
	if s.w == nil {
		w, err := p.start(ctx)
		if err != nil {
			return nil, err // says what became of the worker
		}
		s.w = w
	}
	res, err := p.read(ctx, s.w, img)
	switch {
	case s.w.broken:
		p.stopInBackground(s.w)
		s.w = nil
	case p.perWorker > 0 && s.w.pages >= p.perWorker:
		p.log.Debug("OCR worker replaced to give back memory", "pid", s.w.pid, "pages", s.w.pages)
		p.stopInBackground(s.w)
		s.w = nil
	}
	return res, err
}

// errPageTimeout is the cause of a page's context when PageTimeout passed.
var errPageTimeout = errors.New("page timeout")

// read hands img to w and waits for the answer, ctx or the page timeout.
func (p *Pool) read(ctx context.Context, w *worker, img []byte) (*Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errPageTimeout)
	defer cancel()
	// Killing the worker is what interrupts Tesseract, and it unblocks the
	// pipes below.
	stop := context.AfterFunc(ctx, w.kill)
	defer stop()

	var reply workerReply
	err := w.enc.Encode(workerRequest{Size: len(img)})
	if err == nil {
		_, err = w.bw.Write(img)
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		if p.testHookSent != nil {
			p.testHookSent(w.pid)
		}
		err = w.dec.Decode(&reply)
	}
	if err != nil {
		w.broken = true
		w.kill()
		<-w.exited
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errPageTimeout):
			return nil, fmt.Errorf("ocr: the page was not read within %v; its OCR worker (pid %d) was stopped", p.timeout, w.pid)
		case cause != nil:
			return nil, fmt.Errorf("ocr: stopped reading the page, and its OCR worker (pid %d): %w", w.pid, cause)
		}
		p.log.Warn("OCR worker died reading a page", "pid", w.pid, "pages", w.pages, "exit", w.waitErr)
		return nil, fmt.Errorf("ocr: the OCR worker (pid %d) died reading the page (%v); "+
			"the page may be damaged or hostile", w.pid, w.waitErr)
	}
	if !stop() {
		// ctx ended as the answer came: the worker is being killed, but
		// the answer is good.
		w.broken = true
	}
	w.pages++
	if reply.Err != "" {
		return nil, errors.New(reply.Err)
	}
	if reply.Result == nil {
		w.broken = true
		return nil, fmt.Errorf("ocr: the OCR worker (pid %d) answered without a result", w.pid)
	}
	if reply.Result.Words == nil {
		reply.Result.Words = []Word{} // as the engine gives it; gob sends no empty slices
	}
	return reply.Result, nil
}

// stopInBackground stops w without holding up the page that retired it.
func (p *Pool) stopInBackground(w *worker) {
	p.stopping.Go(w.stop)
}

// Close waits for the pages being recognised, then stops all workers and
// waits for them to exit. Closing twice is harmless.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		for range p.n {
			s := <-p.slots
			if s.w != nil {
				p.stopInBackground(s.w)
				s.w = nil
			}
		}
		p.stopping.Wait()
	})
	return nil
}

// A worker is one child process running serveWorker. Only the goroutine
// holding its slot uses it.
type worker struct {
	cmd     *exec.Cmd
	pid     int
	req     *os.File // our end of the request pipe
	resp    *os.File // our end of the reply pipe
	bw      *bufio.Writer
	enc     *gob.Encoder
	dec     *gob.Decoder
	pages   int
	broken  bool          // must not be used again
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // how it exited; read after exited is closed
}

// start starts a worker process and waits until its engine is ready.
func (p *Pool) start(ctx context.Context) (*worker, error) {
	exe, err := executable()
	if err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ocr: pipe to an OCR worker: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("ocr: pipe from an OCR worker: %w", err)
	}
	out := &lineLogger{log: p.log}
	cmd := &exec.Cmd{
		Path: exe,
		Args: []string{os.Args[0], "ocr-worker"},
		// OpenMP reads OMP_THREAD_LIMIT when the library loads: set in
		// the child's environment from the start, it takes effect.
		Env:        append(os.Environ(), workerEnv+"=1", "OMP_THREAD_LIMIT=1"),
		Stdout:     out,
		Stderr:     out,
		ExtraFiles: []*os.File{reqR, respW}, // fds 3 and 4
		// The kernel kills the worker if the station dies, so no worker
		// outlives it, busy or not.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
		WaitDelay:   time.Second,
	}
	err = startOnSpawnThread(cmd)
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, fmt.Errorf("ocr: start an OCR worker (%s): %w", exe, err)
	}
	bw := bufio.NewWriterSize(reqW, 1<<16)
	w := &worker{
		cmd:    cmd,
		pid:    cmd.Process.Pid,
		req:    reqW,
		resp:   respR,
		bw:     bw,
		enc:    gob.NewEncoder(bw),
		dec:    gob.NewDecoder(bufio.NewReader(respR)),
		exited: make(chan struct{}),
	}
	out.setPID(w.pid)
	go func() {
		w.waitErr = cmd.Wait()
		out.flush()
		close(w.exited)
	}()

	stop := context.AfterFunc(ctx, w.kill)
	defer stop()
	var hello workerReply
	err = w.send(workerConfig{Languages: p.opt.Languages, TessdataDir: p.opt.TessdataDir, NoOrientation: p.opt.NoOrientation})
	if err == nil {
		err = w.dec.Decode(&hello)
	}
	if err != nil {
		w.kill()
		w.close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ocr: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("ocr: the OCR worker (pid %d) exited before it was ready (%v)", w.pid, w.waitErr)
	}
	if hello.Err != "" {
		w.close()
		return nil, errors.New(hello.Err)
	}
	return w, nil
}

// send writes one message to the worker.
func (w *worker) send(msg any) error {
	if err := w.enc.Encode(msg); err != nil {
		return err
	}
	return w.bw.Flush()
}

// kill ends the process at once. Harmless when it has exited already:
// os.Process uses a pidfd, so it cannot hit a reused pid.
func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
}

// stop asks the worker to exit (end of input: it closes its engine) and
// kills it if it has not after stopGrace.
func (w *worker) stop() {
	w.req.Close()
	select {
	case <-w.exited:
	case <-time.After(stopGrace):
		w.kill()
	}
	w.close()
}

// close waits for the process to exit and releases our pipe ends.
func (w *worker) close() {
	w.req.Close()
	<-w.exited
	w.resp.Close()
}

// executable is the program to run as a worker: this very program. The
// link /proc/self/exe still reaches it after an upgrade has replaced the
// file on disk, so a worker is never a different version from its pool.
func executable() (string, error) {
	const self = "/proc/self/exe"
	if _, err := os.Stat(self); err == nil {
		return self, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("ocr: cannot find this program to start OCR workers: %w", err)
	}
	return exe, nil
}

// Pdeathsig fires when the thread that started the child ends, not the
// process; Go may end threads. Workers are therefore started from one
// goroutine locked to a thread that never ends.
var (
	spawnOnce sync.Once
	spawns    chan spawn
)

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnSpawnThread(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawns = make(chan spawn)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for s := range spawns {
				s.done <- s.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawns <- spawn{cmd, done}
	return <-done
}

// lineLogger logs what a worker writes to stdout and stderr, a line at a
// time, so that the pipe never fills up and nothing is lost silently.
type lineLogger struct {
	log *slog.Logger
	pid int
	mu  sync.Mutex
	buf []byte
}

// maxLogLine bounds one logged line; a hostile page must not flood the log
// with one endless line.
const maxLogLine = 1024

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLogLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			return len(b), nil
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) setPID(pid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pid = pid
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	if len(line) > maxLogLine {
		line = append(line[:maxLogLine:maxLogLine], "…"...)
	}
	l.log.Warn("OCR worker: "+string(line), "pid", l.pid)
}
