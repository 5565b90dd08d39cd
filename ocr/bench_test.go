package ocr

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// cpuTime is the CPU time of the whole process (all threads) so far: on a
// shared machine it says more about the cost of a page than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, pages int) {
	b.ReportMetric((cpuTime(b)-start).Seconds()/float64(pages), "cpu-s/page")
}

// BenchmarkRecognize: one A4 page at 300 dpi (JPEG), single-threaded.
// "osd" is the station's setting; "no-osd" shows what OSD costs and how an
// upside-down page reads without it.
func BenchmarkRecognize(b *testing.B) {
	upright, _ := page(b, samplescan.Options{})
	_, upsideDown := page(b, samplescan.Options{UpsideDown: true})
	pages := map[string][]byte{"upright": encodeJPEG(b, upright), "upside-down": upsideDown}
	for _, mode := range []struct {
		name string
		opt  Options
	}{{"osd", Options{}}, {"no-osd", Options{NoOrientation: true}}} {
		e := newEngine(b, mode.opt)
		for _, name := range []string{"upright", "upside-down"} {
			b.Run(mode.name+"/"+name, func(b *testing.B) {
				start := cpuTime(b)
				var conf float64
				for b.Loop() {
					res, err := e.Recognize(pages[name])
					if err != nil {
						b.Fatal(err)
					}
					conf = res.MeanConfidence
				}
				reportCPU(b, start, b.N)
				b.ReportMetric(conf, "confidence")
			})
		}
	}
}

// BenchmarkPreparation: the Leptonica decode and skew search every page
// goes through, the turn that straightens a skewed one, and the 180° turn
// used for the second reading of a short upside-down page.
func BenchmarkPreparation(b *testing.B) {
	_, data := page(b, samplescan.Options{})
	_, skewed := page(b, samplescan.Options{Skew: 3})
	for _, tt := range []struct {
		name string
		data []byte
	}{{"straight", data}, {"skewed-3", skewed}} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := prepare(tt.data, defaultPreparation); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("turn-180", func(b *testing.B) {
		for b.Loop() {
			if _, err := turnedHalf(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput recognises 4 pages per iteration with a Pool of 1
// and 2 worker processes (each single-threaded, OMP_THREAD_LIMIT=1).
func BenchmarkThroughput(b *testing.B) {
	var pages [][]byte
	for _, opt := range []samplescan.Options{{}, {UpsideDown: true}, {Skew: 1}, {Gray: true}} {
		_, data := page(b, opt)
		pages = append(pages, data)
	}
	for _, workers := range []int{1, 2} {
		b.Run(strconv.Itoa(workers)+"-workers", func(b *testing.B) {
			p, err := NewPool(workers, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			start, wall := childCPUTime(b), time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for _, data := range pages {
					wg.Go(func() {
						if _, err := p.Recognize(context.Background(), data); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			n := b.N * len(pages)
			p.Close() // the workers' CPU time is counted once they are waited for
			b.ReportMetric((childCPUTime(b)-start).Seconds()/float64(n), "worker-cpu-s/page")
			b.ReportMetric(float64(n)/time.Since(wall).Minutes(), "pages/min")
		})
	}
}

// childCPUTime is the CPU time of the process's children that have been
// waited for.
func childCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemory reports how the resident set grows per page once an
// engine is warm: gosseract v2.4.1 never frees the per-word strings nor
// the result iterator of GetBoundingBoxesVerbose. Run with
// -benchtime=50x to see it clearly.
func BenchmarkMemory(b *testing.B) {
	_, data := page(b, samplescan.Options{})
	e := newEngine(b, Options{})
	for range 3 { // reach the steady state first
		if _, err := e.Recognize(data); err != nil {
			b.Fatal(err)
		}
	}
	settle()
	before := rss(b)
	words := 0
	for b.Loop() {
		res, err := e.Recognize(data)
		if err != nil {
			b.Fatal(err)
		}
		words = len(res.Words)
	}
	settle()
	grown := rss(b) - before
	b.ReportMetric(float64(grown)/1024/float64(b.N), "rss-KiB/page")
	b.ReportMetric(float64(words), "words/page")
}

// settle collects Go's garbage and returns free pages to the system, so
// that resident memory measured next is memory in use.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rss(b *testing.B) int64 { return procRSS(b, "/proc/self/status") }

func procRSS(b *testing.B, path string) int64 {
	status, err := os.ReadFile(path)
	if err != nil {
		b.Skip("no "+path+":", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kib * 1024
		}
	}
	b.Fatal("no VmRSS in " + path)
	return 0
}

// BenchmarkPoolMemory feeds b.N small pages (A5, 150 dpi, the first 8
// lines of the sample letter) to a Pool of 2 workers, in batches of 100, and reports resident
// memory: of this process (the parent) and of its workers, with workers
// replaced every 200 pages and never replaced. Run with -benchtime=1000x;
// -v logs the memory after each batch.
func BenchmarkPoolMemory(b *testing.B) {
	_, data := page(b, samplescan.Options{Paper: "A5", DPI: 150, Lines: samplescan.Text(samplescan.Options{})[:8]})
	for _, tt := range []struct {
		name      string
		perWorker int
	}{{"recycle-200", 200}, {"no-recycle", -1}} {
		b.Run(tt.name, func(b *testing.B) {
			p, err := NewPool(2, Options{PagesPerWorker: tt.perWorker, NoOrientation: true})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			const batch = 100
			var parent0, parentMax, worker0, workerMax int64
			var words atomic.Int64
			start := time.Now()
			for done := 0; done < b.N; done += batch {
				var wg sync.WaitGroup
				pages := make(chan struct{}, batch)
				for range min(batch, b.N-done) {
					pages <- struct{}{}
				}
				close(pages)
				for range 2 {
					wg.Go(func() {
						for range pages {
							res, err := p.Recognize(context.Background(), data)
							if err != nil {
								b.Error(err)
								continue
							}
							words.Store(int64(len(res.Words)))
						}
					})
				}
				wg.Wait()
				settle()
				parent, workers := rss(b), workersRSS(b, p)
				if done == 0 {
					parent0, worker0 = parent, workers[0]
				}
				parentMax, workerMax = max(parentMax, parent), max(workerMax, workers[0], workers[1])
				b.Logf("%5d pages: parent %6.1f MiB, workers %6.1f %6.1f MiB",
					min(done+batch, b.N), mib(parent), mib(workers[0]), mib(workers[1]))
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "wall-ms/page")
			b.ReportMetric(float64(words.Load()), "words/page")
			b.ReportMetric(mib(parentMax-parent0), "parent-growth-MiB")
			b.ReportMetric(mib(workerMax), "worker-max-MiB")
			b.ReportMetric(mib(workerMax-worker0), "worker-growth-MiB")
		})
	}
}

// procCPU is the CPU time of process pid so far, in clock ticks of 10 ms.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after "(comm)": state is 3rd, utime 14th and stime 15th of the line.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// workersRSS reads the resident memory of p's workers (all idle).
func workersRSS(b *testing.B, p *Pool) []int64 {
	var out []int64
	var slots []*slot
	for range p.n {
		s := <-p.slots
		slots = append(slots, s)
		if s.w == nil { // being replaced: it starts with the next page
			out = append(out, 0)
			continue
		}
		out = append(out, procRSS(b, "/proc/"+strconv.Itoa(s.w.pid)+"/status"))
	}
	for _, s := range slots {
		p.slots <- s
	}
	return out
}

// BenchmarkProcessBoundary compares one page read by an engine in this
// process with the same page read through a Pool of one worker: the
// difference is what the process boundary costs (gob, two pipes, a copy of
// the image and of the words). "tiny" is a blank 32×32 image, where that
// cost is nearly all there is; "a4" is a 300 dpi JPEG of the sample letter.
func BenchmarkProcessBoundary(b *testing.B) {
	_, a4 := page(b, samplescan.Options{})
	images := map[string][]byte{"tiny": warmUpImage(), "a4": a4}
	e := newEngine(b, Options{})
	p, err := NewPool(1, Options{PagesPerWorker: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for _, name := range []string{"tiny", "a4"} {
		b.Run("engine/"+name, func(b *testing.B) {
			start := cpuTime(b)
			for b.Loop() {
				if _, err := e.Recognize(images[name]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/page")
		})
		b.Run("pool/"+name, func(b *testing.B) {
			s := <-p.slots
			pid := s.w.pid
			p.slots <- s
			start, startWorker := cpuTime(b), procCPU(b, pid)
			for b.Loop() {
				if _, err := p.Recognize(context.Background(), images[name]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-start+procCPU(b, pid)-startWorker).Microseconds())/float64(b.N), "cpu-µs/page")
		})
	}
}

// BenchmarkWorkerStart: starting a worker process until its engine is
// ready (models loaded), and stopping it; paid once per PagesPerWorker
// pages.
func BenchmarkWorkerStart(b *testing.B) {
	for b.Loop() {
		p, err := NewPool(1, Options{})
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
