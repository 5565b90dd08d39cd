package ocr

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkPreparation: the Leptonica decode that guards every page, and
// the 180° turn used for the second reading of a short upside-down page.
func BenchmarkPreparation(b *testing.B) {
	_, data := page(b, samplescan.Options{})
	b.Run("decode-check", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := imageSize(data); err != nil {
				b.Fatal(err)
			}
		}
	})
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

func rss(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
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
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
