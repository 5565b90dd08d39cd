package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"scanstation/internal/samplescan"
)

// Pools in these tests run their workers from the test binary itself: the
// package's init turns it into a worker when workerEnv is set.

// newTestPool starts a pool and, when the test ends, closes it and checks
// that no worker process is left.
func newTestPool(t *testing.T, n int, opt Options) *Pool {
	t.Helper()
	p, err := NewPool(n, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("after Close, child processes are left: %v", kids)
		}
	})
	return p
}

// children lists the pids of this process's children, from /proc.
func children(t *testing.T) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		t.Skip("no /proc to look for child processes")
	}
	self := os.Getpid()
	var kids []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // it has exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := string(data[bytes.LastIndexByte(data, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			kids = append(kids, pid)
		}
	}
	return kids
}

// watchSent makes p report on the returned channel the pid of each worker
// that has been handed a page.
func watchSent(p *Pool) <-chan int {
	sent := make(chan int, 100)
	p.testHookSent = func(pid int) { sent <- pid }
	return sent
}

func smallPage(t *testing.T, lines ...string) []byte {
	t.Helper()
	_, data := page(t, samplescan.Options{Lines: lines, Paper: "A5", DPI: 200})
	return data
}

// TestPoolMatchesEngine: a page read through a worker process gives exactly
// what an engine in this process gives: text, boxes, confidences, lines,
// orientation, skew.
func TestPoolMatchesEngine(t *testing.T) {
	var pages [][]byte
	for _, opt := range []samplescan.Options{{Paper: "A5", DPI: 200}, {Paper: "A5", DPI: 200, UpsideDown: true, Skew: 1}} {
		_, data := page(t, opt)
		pages = append(pages, data)
	}
	// One worker and one engine, fed the same pages in the same order:
	// Tesseract adapts to what it has read, so only equal histories give
	// equal answers.
	e := newEngine(t, Options{})
	p := newTestPool(t, 1, Options{})
	sent := watchSent(p)
	for i, data := range pages {
		want, err := e.Recognize(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Recognize(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("page %d: %d words, orientation %d, skew %.2f", i+1, len(got.Words), got.Orientation, got.Skew)
		if len(want.Words) < 50 {
			t.Fatalf("page %d: only %d words in process; not a useful comparison", i+1, len(want.Words))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("page %d through a worker differs from the engine in process:\nworker %+v\nengine %+v", i+1, got, want)
		}
	}
	if got := []int{<-sent, <-sent}; got[0] != got[1] {
		t.Errorf("two pages went to workers %v; want one worker", got)
	}

	// The worker's OpenMP limit is in its environment from the start.
	s := <-p.slots
	pid := s.w.pid
	p.slots <- s
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Skip("cannot read the worker's environment:", err)
	}
	if !bytes.Contains(env, []byte("\x00OMP_THREAD_LIMIT=1\x00")) {
		t.Error("OMP_THREAD_LIMIT=1 is not in the worker's environment")
	}
}

// TestPoolWorkerDies: a worker that dies with a page in hand (kill -9, or
// a crash) fails that page with an error saying so; the next page is read
// by a new worker.
func TestPoolWorkerDies(t *testing.T) {
	var log bytes.Buffer
	p := newTestPool(t, 1, Options{Log: slog.New(slog.NewTextHandler(&log, nil))})
	sent := watchSent(p)
	data := smallPage(t, "Độc lập - Tự do - Hạnh phúc")
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSEGV} {
		done := make(chan error, 1)
		go func() {
			_, err := p.Recognize(context.Background(), data)
			done <- err
		}()
		pid := <-sent
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
		err := <-done
		t.Logf("%v: %v", sig, err)
		if err == nil || !strings.Contains(err.Error(), "died") || !strings.Contains(err.Error(), strconv.Itoa(pid)) {
			t.Errorf("%v to worker %d: err = %v, want one saying that worker died", sig, pid, err)
		}
		res, err := p.Recognize(context.Background(), data)
		if err != nil {
			t.Fatalf("the page after %v: %v", sig, err)
		}
		if next := <-sent; next == pid {
			t.Errorf("after %v the dead worker %d was used again", sig, pid)
		}
		if got, want := res.Text(), "Độc lập - Tự do - Hạnh phúc"; got != want {
			t.Errorf("the page after %v: %q, want %q", sig, got, want)
		}
	}
	// A worker that dies while idle (an operator, the OOM killer) costs no
	// page: the next one goes to a new worker.
	s := <-p.slots
	if err := syscall.Kill(s.w.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.w.exited
	p.slots <- s
	if res, err := p.Recognize(context.Background(), data); err != nil {
		t.Errorf("the page after an idle worker was killed: %v", err)
	} else if res.Text() != "Độc lập - Tự do - Hạnh phúc" {
		t.Errorf("the page after an idle worker was killed: %q", res.Text())
	}
	if !strings.Contains(log.String(), "OCR worker died") {
		t.Errorf("the deaths were not logged:\n%s", log.String())
	}
}

// TestPoolRecyclesWorkers: after PagesPerWorker pages a worker is replaced
// by a new process, which reads correctly.
func TestPoolRecyclesWorkers(t *testing.T) {
	p := newTestPool(t, 1, Options{PagesPerWorker: 2, NoOrientation: true})
	sent := watchSent(p)
	texts := []string{"Số: 12/UBND-VP", "Kính gửi: Sở Nội vụ", "Hạnh phúc", "Văn thư lưu trữ", "Điều 11"}
	var pids []int
	for _, text := range texts {
		res, err := p.Recognize(context.Background(), smallPage(t, text))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, <-sent)
		if got := res.Text(); got != text {
			t.Errorf("page %q read by worker %d as %q", text, pids[len(pids)-1], got)
		}
	}
	t.Logf("workers by page: %v", pids)
	if pids[0] != pids[1] || pids[2] != pids[3] || pids[1] == pids[2] || pids[3] == pids[4] || pids[0] == pids[4] {
		t.Errorf("workers by page %v, want a new worker every 2 pages", pids)
	}
}

// TestPoolHostileImages: images that cannot be read, or that crashed
// gosseract in process, fail with an error; the worker goes on, and what
// Leptonica says about them reaches the log.
func TestPoolHostileImages(t *testing.T) {
	var mu sync.Mutex
	var log bytes.Buffer
	p := newTestPool(t, 1, Options{NoOrientation: true, Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))})
	sent := watchSent(p)
	good := smallPage(t, "Hạnh phúc")
	if _, err := p.Recognize(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	first := <-sent
	for name, data := range map[string][]byte{
		"empty":        nil,
		"garbage":      bytes.Repeat([]byte{0x13, 0x37, 0xc0, 0xde}, 1000),
		"JPEG header":  good[:20],
		"33000×20 PNG": widePNG(t),
	} {
		res, err := p.Recognize(context.Background(), data)
		if err == nil {
			t.Errorf("%s: no error, %d words", name, len(res.Words))
			continue
		}
		t.Logf("%s: %v", name, err)
		if strings.Contains(err.Error(), "died") {
			t.Errorf("%s killed the worker: %v", name, err)
		}
		if pid := <-sent; pid != first {
			t.Errorf("%s: worker %d replaced by %d", name, first, pid)
		}
	}
	res, err := p.Recognize(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Text(); got != "Hạnh phúc" {
		t.Errorf("after the hostile images: %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), "pixReadMem") || !strings.Contains(log.String(), "pid="+strconv.Itoa(first)) {
		t.Errorf("Leptonica's messages did not reach the log with the worker's pid:\n%s", log.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// widePNG is 873 bytes that crash gosseract v2.4.1 in process: Tesseract
// refuses an image wider than 32767 pixels, and gosseract then walks a null
// result iterator (SIGSEGV).
func widePNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 33000, 20))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for x := 100; x < 32000; x += 50 {
		img.Set(x, 10, color.Gray{})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPoolCancel: a context ended while a page is being read stops that
// reading at once (its worker is replaced); the next page is read.
func TestPoolCancel(t *testing.T) {
	p := newTestPool(t, 1, Options{})
	sent := watchSent(p)
	_, data := page(t, samplescan.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sent
		cancel()
	}()
	if _, err := p.Recognize(ctx, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled mid-page: err = %v, want context.Canceled", err)
	}
	res, err := p.Recognize(context.Background(), smallPage(t, "Điều 11"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != "Điều 11" {
		t.Errorf("after the cancelled page: %q", res.Text())
	}
}

// TestPoolPageTimeout: a page that takes longer than PageTimeout fails and
// its worker is stopped. One millisecond is far shorter than any reading.
func TestPoolPageTimeout(t *testing.T) {
	p := newTestPool(t, 1, Options{PageTimeout: 1e6, NoOrientation: true})
	_, err := p.Recognize(context.Background(), smallPage(t, "Văn thư lưu trữ"))
	if err == nil || !strings.Contains(err.Error(), "not read within 1ms") {
		t.Errorf("err = %v, want a page timeout", err)
	}
}

// TestNewPoolReportsMissingModels: a worker that cannot start its engine
// fails NewPool with the engine's own explanation, and leaves no process.
func TestNewPoolReportsMissingModels(t *testing.T) {
	_, err := NewPool(2, Options{Languages: []string{"klingon"}, NoOrientation: true})
	if err == nil || !strings.Contains(err.Error(), "tesseract-ocr-klingon") {
		t.Errorf("err = %v, want one naming the missing language package", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left after a failed NewPool: %v", kids)
	}
}
