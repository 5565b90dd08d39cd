// Command sepbench measures how reliably the station reads its separator
// sheets: it makes sheets with random record fields (short and long
// subjects, so small and large QR codes), renders each at 200 and 300 dpi,
// scans it in every condition of the grid (straight and ±5° skew, lossless
// or JPEG quality 60, colour or greyscale; internal/scansim), reads it with
// separator.Codes and checks that the payload read is exactly the one
// printed.
//
//	go run ./scripts/sepbench [-n 25] [-seed 1] [-out FILE] [-match REGEXP]
//
// -match keeps only the conditions whose name (as the table prints it, say
// "200 dpi, skew +5°, grey") matches, to iterate on the weak ones quickly;
// the letters are still scanned at every resolution kept. It prints the detection rate per condition and writes the same table, as
// Markdown, to -out. A code read with other bytes than printed counts as a
// misread, apart from a miss: a misread would file a document under the
// wrong fields.
package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/internal/samplescan"
	"scanstation/internal/scansim"
)

var (
	types  = []string{"Công văn", "Quyết định", "Báo cáo", "Tờ trình", "Thông báo", "Kế hoạch", "Giấy mời"}
	organs = []string{"Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu", "Sở Nội vụ tỉnh Đồng Nai", "Ủy ban nhân dân huyện Côn Đảo", "Văn phòng Ủy ban nhân dân tỉnh"}
	words  = strings.Fields("triển khai số hóa hồ sơ tài liệu lưu trữ của các cơ quan tổ chức thuộc phạm vi quản lý về việc tăng cường công tác văn thư năm 2026 kế hoạch thực hiện đề án chuyển đổi số quốc gia")
)

// sheet makes the i-th random sheet. Subjects run from none to as long as
// a sheet holds.
func sheet(rng *rand.Rand) capture.Sheet {
	for {
		n := rng.IntN(60)
		sub := make([]string, n)
		for i := range sub {
			sub[i] = words[rng.IntN(len(words))]
		}
		s := capture.Sheet{Pages: 1 + rng.IntN(80), Fields: map[string]string{
			"type_name":     types[rng.IntN(len(types))],
			"code_number":   fmt.Sprint(1 + rng.IntN(9999)),
			"code_notation": "UBND-VP",
			"issued_date":   fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28)),
			"organ_name":    organs[rng.IntN(len(organs))],
			"subject":       strings.Join(sub, " "),
		}}
		if _, err := s.Payload(); err == nil {
			return s
		}
	}
}

type tally struct{ tried, read, misread int }

// letterCondition is how the letters without a code are scanned, to count
// codes read where none is printed.
var letterCondition = scansim.Condition{JPEG: 60}

func main() {
	n := flag.Int("n", 25, "sheets per resolution; each is scanned in every condition")
	seed := flag.Uint64("seed", 1, "random seed")
	outPath := flag.String("out", "", "also write the table as Markdown to this file")
	match := flag.String("match", "", "only the conditions whose name matches this regular expression")
	flag.Parse()
	keep, err := regexp.Compile(*match)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sepbench: -match:", err)
		os.Exit(2)
	}

	var conds []scansim.Condition
	for _, dpi := range []float64{200, 300} {
		for _, skew := range []float64{0, 5, -5} {
			for _, q := range []int{0, 60} {
				for _, grey := range []bool{false, true} {
					conds = append(conds, scansim.Condition{DPI: dpi, Skew: skew, JPEG: q, Grey: grey})
				}
			}
		}
	}
	results := make([]tally, len(conds))
	var mu sync.Mutex
	var letters, falseCodes int
	var letterTime, letterSlowest time.Duration
	payloadBytes := map[int]int{} // smallest and largest payload, for the report
	start := time.Now()

	type job struct {
		dpi   float64
		i     int
		rseed uint64
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				rng := rand.New(rand.NewPCG(j.rseed, uint64(j.i)))
				s := sheet(rng)
				want, _ := s.Payload()
				page, err := separator.Render(s, j.dpi)
				if err != nil {
					fmt.Fprintln(os.Stderr, "sepbench:", err)
					os.Exit(1)
				}
				// A letter of the same resolution, which has no code.
				letter, err := samplescan.Render(samplescan.Options{DPI: j.dpi, Gray: true})
				if err != nil {
					fmt.Fprintln(os.Stderr, "sepbench:", err)
					os.Exit(1)
				}
				lc := letterCondition
				lc.DPI = j.dpi
				limg, err := scansim.Scan(letter.(*image.Gray), lc, j.rseed+uint64(j.i))
				if err != nil {
					fmt.Fprintln(os.Stderr, "sepbench:", err)
					os.Exit(1)
				}
				t0 := time.Now()
				lcodes, err := separator.Codes(limg)
				spent := time.Since(t0)
				if err != nil {
					fmt.Fprintln(os.Stderr, "sepbench:", err)
					os.Exit(1)
				}
				mu.Lock()
				letters++
				falseCodes += len(lcodes)
				letterTime += spent
				letterSlowest = max(letterSlowest, spent)
				mu.Unlock()
				for ci, c := range conds {
					// Skipped conditions keep their place in the grid, so a
					// scan's noise is the same with -match as without.
					if c.DPI != j.dpi || !keep.MatchString(c.String()) {
						continue
					}
					img, err := scansim.Scan(page, c, j.rseed^uint64(j.i*1000+ci))
					if err != nil {
						fmt.Fprintln(os.Stderr, "sepbench:", err)
						os.Exit(1)
					}
					codes, err := separator.Codes(img)
					if err != nil {
						fmt.Fprintln(os.Stderr, "sepbench:", err)
						os.Exit(1)
					}
					mu.Lock()
					results[ci].tried++
					switch {
					case len(codes) == 1 && codes[0] == want:
						results[ci].read++
					case len(codes) > 0:
						results[ci].misread++
					}
					if payloadBytes[0] == 0 || len(want) < payloadBytes[0] {
						payloadBytes[0] = len(want)
					}
					payloadBytes[1] = max(payloadBytes[1], len(want))
					mu.Unlock()
				}
			}
		}()
	}
	for _, dpi := range []float64{200, 300} {
		if !slices.ContainsFunc(conds, func(c scansim.Condition) bool { return c.DPI == dpi && keep.MatchString(c.String()) }) {
			continue
		}
		for i := range *n {
			jobs <- job{dpi: dpi, i: i, rseed: *seed}
		}
	}
	close(jobs)
	wg.Wait()

	var b strings.Builder
	fmt.Fprintf(&b, "| condition | sheets | read | missed | misread | detection |\n|---|---:|---:|---:|---:|---:|\n")
	var all tally
	for i, c := range conds {
		r := results[i]
		if r.tried == 0 {
			continue
		}
		all.tried += r.tried
		all.read += r.read
		all.misread += r.misread
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f %% |\n", c, r.tried, r.read, r.tried-r.read-r.misread, r.misread, 100*float64(r.read)/float64(r.tried))
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %d | %d | %.2f %% |\n", all.tried, all.read, all.tried-all.read-all.misread, all.misread, 100*float64(all.read)/float64(all.tried))
	fmt.Fprintf(&b, "\n%d sheets per resolution (seed %d), payloads %d to %d bytes, %d scans in %s on %d cores.\n",
		*n, *seed, payloadBytes[0], payloadBytes[1], all.tried, time.Since(start).Round(time.Second), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "Letters without a code (samplescan's page at 200 and 300 dpi, JPEG q60, colour): %d scanned, %d codes read; looking at one took %s on average, %s at most.\n", letters, falseCodes, (letterTime / time.Duration(max(letters, 1))).Round(time.Millisecond), letterSlowest.Round(time.Millisecond))
	var w io.Writer = os.Stdout
	fmt.Fprint(w, b.String())
	if *outPath != "" {
		if err := os.WriteFile(*outPath, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "sepbench:", err)
			os.Exit(1)
		}
	}
}
