// Command ocreval measures how well pages are read: it writes a corpus of
// synthetic Vietnamese scans with their ground truth, and scores text (from a
// signed PDF's text layer, or plain text) against it as character error rate
// and the share of number and date words read exactly.
//
//	go run ./scripts/ocreval -corpus DIR make
//	go run ./scripts/ocreval -corpus DIR score FILE.pdf|FILE.txt...
//	go run ./scripts/ocreval -corpus DIR -run tesseract,station -config CONFIG
//
// A scored file belongs to the corpus page whose name starts its file name
// (the station's outbox names keep the scan's name). Text from a PDF is
// pdftotext's (without -layout, the order a reader copies text in), with the
// certification mark's lines taken out.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/internal/samplescan"
	"scanstation/internal/scansim"
)

// A page is one scan of the corpus.
type page struct {
	Name    string `json:"name"`    // "seal-2"; the scan is Name+ext, its truth Name+".txt"
	Variant string `json:"variant"` // "seal"
	Scan    string `json:"scan"`    // file name inside the corpus directory
}

const manifestName = "corpus.json"

func main() {
	corpus := flag.String("corpus", "", "the corpus `directory`")
	asJSON := flag.Bool("json", false, "print the results as JSON instead of a table")
	run := flag.String("run", "", "read the corpus with these readers, comma-separated: tesseract, station")
	config := flag.String("config", "", "the station's `scanstation.yaml`, for -run station")
	station := flag.String("station", "bin/scanstation", "the scanstation `binary`, for -run station")
	agency := flag.String("agency", "", "the agency's name the mark prints (circular01 marks, which have no copy label); read from -config when empty")
	letters := flag.Int("letters", 2, "for make: letters per variant")
	seed := flag.Uint64("seed", 15, "for make: the seed the letters are chosen with")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "ocreval: give the corpus directory with -corpus")
		os.Exit(2)
	}
	if *agency == "" && *config != "" {
		*agency = agencyFrom(*config)
	}
	var err error
	switch {
	case flag.Arg(0) == "make":
		err = makeCorpus(*corpus, *letters, *seed)
	case flag.Arg(0) == "score":
		err = scoreFiles(*corpus, flag.Args()[1:], *agency, *asJSON)
	case *run != "":
		err = runReaders(*corpus, strings.Split(*run, ","), *station, *config, *agency, *asJSON)
	default:
		err = errors.New("say what to do: make, score FILE..., or -run tesseract,station")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ocreval:", err)
		os.Exit(1)
	}
}

// A variant is one scanning condition of the corpus.
type variant struct {
	name, condition string
	draw            func(samplescan.LetterSample, uint64) (image.Image, []string, float64, error) // page, truth, dpi
	jpeg            int                                                                           // JPEG quality; 0 = PNG
}

var variants = []variant{
	{"clean", "300 dpi colour, lossless (PNG)", clean(300, 0), 0},
	{"noise", "300 dpi colour through scansim: blur, sensor noise σ≈6, paper 236 / toner 28", scanned(300, 0, false), 90},
	{"skew+3", "300 dpi colour, turned 3° clockwise", clean(300, 3), 90},
	{"skew-2", "300 dpi colour, turned 2° counter-clockwise", clean(300, -2), 90},
	{"upside-down", "300 dpi colour, fed upside down (180°)", upsideDown, 90},
	{"jpeg60", "300 dpi colour, JPEG quality 60", clean(300, 0), 60},
	{"200dpi-greyish", "200 dpi colour scan of a black-and-white page (near-grey pixels), with scanner noise", scanned(200, 0.4, false), 85},
	{"seal", "300 dpi colour, a red seal (rings, star, dashes) stamped across the signature block", sealed, 90},
	{"two-column", "300 dpi colour, header across, body in two columns", twoColumns, 90},
}

func clean(dpi, skew float64) func(samplescan.LetterSample, uint64) (image.Image, []string, float64, error) {
	return func(s samplescan.LetterSample, _ uint64) (image.Image, []string, float64, error) {
		opt := s.Options
		opt.DPI, opt.Skew, opt.Gray = dpi, skew, false
		img, err := samplescan.RenderLetter(s.Letter, opt)
		return img, rowLines(s.Letter), dpi, err
	}
}

func scanned(dpi, skew float64, grey bool) func(samplescan.LetterSample, uint64) (image.Image, []string, float64, error) {
	return func(s samplescan.LetterSample, seed uint64) (image.Image, []string, float64, error) {
		opt := s.Options
		opt.DPI, opt.Skew, opt.Gray = dpi, 0, true
		img, err := samplescan.RenderLetter(s.Letter, opt)
		if err != nil {
			return nil, nil, 0, err
		}
		out, err := scansim.Scan(img.(*image.Gray), scansim.Condition{DPI: dpi, Skew: skew, Grey: grey}, seed)
		return out, rowLines(s.Letter), dpi, err
	}
}

func upsideDown(s samplescan.LetterSample, seed uint64) (image.Image, []string, float64, error) {
	img, lines, dpi, err := clean(300, 0)(s, seed)
	if err != nil {
		return nil, nil, 0, err
	}
	return samplescan.TurnedHalf(img), lines, dpi, nil
}

func sealed(s samplescan.LetterSample, _ uint64) (image.Image, []string, float64, error) {
	opt := s.Options
	opt.DPI, opt.Skew = 300, 0
	img, err := samplescan.RenderSealed(s.Letter, opt)
	return img, rowLines(s.Letter), 300, err
}

func twoColumns(s samplescan.LetterSample, _ uint64) (image.Image, []string, float64, error) {
	opt := s.Options
	opt.DPI, opt.Skew, opt.Gray = 300, 0, false
	img, lines, err := samplescan.RenderTwoColumns(s.Letter, opt)
	return img, lines, 300, err
}

// rowLines is the letter's text line by line across the page: the header's
// two blocks share baselines (RenderLetter starts the organ and the motto on
// the same one, and puts the place and date beside the number), so a row
// reads organ line then motto line, as a reader following the lines does.
// Below the header, Letter.Lines's order is already the page's.
func rowLines(l samplescan.Letter) []string {
	all := l.Lines()
	organ := all[:len(l.OrganLines)]
	motto := all[len(organ) : len(organ)+2]
	var out []string
	for i := range max(len(organ), len(motto)) {
		var row []string
		if i < len(organ) {
			row = append(row, organ[i])
		}
		if i < len(motto) {
			row = append(row, motto[i])
		}
		out = append(out, strings.Join(row, " "))
	}
	rest := all[len(organ)+2:]
	out = append(out, rest[0]+" "+rest[1]) // number, then place and date
	return append(out, rest[2:]...)
}

func makeCorpus(dir string, letters int, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make the corpus directory: %w", err)
	}
	// Each variant gets its own letters, so the corpus has more different
	// text than one letter seen nine ways.
	set := samplescan.LetterSet(letters*len(variants), seed)
	var pages []page
	type job struct {
		v variant
		s samplescan.LetterSample
		p page
		n uint64
	}
	var jobs []job
	for vi, v := range variants {
		for i := range letters {
			name := fmt.Sprintf("%s-%d", v.name, i+1)
			ext := ".jpg"
			if v.jpeg == 0 {
				ext = ".png"
			}
			p := page{Name: name, Variant: v.name, Scan: name + ext}
			pages = append(pages, p)
			jobs = append(jobs, job{v, set[vi*letters+i], p, seed*1000 + uint64(vi*letters+i)})
		}
	}
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				errs[i] = writePage(dir, j.v, j.s, j.p, j.n)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	data, err := json.MarshalIndent(pages, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the corpus manifest: %w", err)
	}
	fmt.Printf("%d pages (%d variants × %d letters, seed %d) in %s\n", len(pages), len(variants), letters, seed, dir)
	return nil
}

func writePage(dir string, v variant, s samplescan.LetterSample, p page, seed uint64) error {
	img, lines, dpi, err := v.draw(s, seed)
	if err != nil {
		return fmt.Errorf("draw %s (%s): %w", p.Name, s.Name, err)
	}
	var buf bytes.Buffer
	if v.jpeg == 0 {
		err = samplescan.WritePNG(&buf, img, dpi)
	} else {
		err = samplescan.WriteJPEG(&buf, img, dpi, v.jpeg)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", p.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, p.Scan), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the scan %s: %w", p.Scan, err)
	}
	var truth strings.Builder
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			truth.WriteString(norm.NFC.String(l) + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, p.Name+".txt"), []byte(truth.String()), 0o644); err != nil {
		return fmt.Errorf("write the ground truth of %s: %w", p.Name, err)
	}
	return nil
}

func loadCorpus(dir string) ([]page, map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, nil, fmt.Errorf("read the corpus manifest (make the corpus first): %w", err)
	}
	var pages []page
	if err := json.Unmarshal(data, &pages); err != nil {
		return nil, nil, fmt.Errorf("the corpus manifest %s is damaged: %w", filepath.Join(dir, manifestName), err)
	}
	truth := map[string]string{}
	for _, p := range pages {
		t, err := os.ReadFile(filepath.Join(dir, p.Name+".txt"))
		if err != nil {
			return nil, nil, fmt.Errorf("read the ground truth of %s: %w", p.Name, err)
		}
		truth[p.Name] = string(t)
	}
	return pages, truth, nil
}

// pageOf finds the corpus page a file's name starts with, the longest such
// name ("seal-1" must not take "seal-10.pdf").
func pageOf(pages []page, file string) (page, bool) {
	base := filepath.Base(file)
	best := -1
	for i, p := range pages {
		rest, ok := strings.CutPrefix(base, p.Name)
		if !ok || (rest != "" && !strings.ContainsAny(rest[:1], ".-_ ")) {
			continue
		}
		if best < 0 || len(p.Name) > len(pages[best].Name) {
			best = i
		}
	}
	if best < 0 {
		return page{}, false
	}
	return pages[best], true
}

// readText returns a file's text: a PDF's text layer without the mark, or
// a text file as it is.
func readText(file, agency string) (string, error) {
	if !strings.EqualFold(filepath.Ext(file), ".pdf") {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the text: %w", err)
		}
		return string(b), nil
	}
	// The mark is the signature widget's appearance, and pdftotext reads
	// it with the page. Where the mark sits beside page text, pdftotext
	// mixes the two ("ngày 23 tháng 01Cơ / năm / quan2018"), and no
	// matching of lines or words can part them. So the page's /Annots are
	// hidden first, in an uncompressed copy (qpdf --qdf), by renaming the
	// key to one of the same length; the line and word matching stay for
	// when qpdf cannot read the file.
	src := file
	if hidden, err := withoutAnnots(file); err == nil {
		defer os.Remove(hidden)
		src = hidden
	} else {
		fmt.Fprintf(os.Stderr, "ocreval: %s: the mark could not be hidden (%v); taking out the lines and words that match it\n", file, err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", src, "-").Output()
	if err != nil {
		return "", fmt.Errorf("pdftotext %s: %w%s", file, err, stderrOf(err))
	}
	lines := removeMark(strings.Split(string(out), "\n"), agency)
	return removeMarkWords(strings.Join(lines, "\n"), agency), nil
}

// withoutAnnots writes a copy of a PDF whose pages show no annotations and
// returns its name.
func withoutAnnots(file string) (string, error) {
	tmp, err := os.CreateTemp("", "ocreval-*.pdf")
	if err != nil {
		return "", err
	}
	tmp.Close()
	// qpdf exits 3 for warnings, with a usable file.
	if out, err := exec.Command("qpdf", "--qdf", "--object-streams=disable", file, tmp.Name()).CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("qpdf: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	data, err := os.ReadFile(tmp.Name())
	if err == nil {
		err = os.WriteFile(tmp.Name(), bytes.ReplaceAll(data, []byte("/Annots"), []byte("/XAnnot")), 0o600)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// agencyFrom reads station.agency from a scanstation.yaml; the mark prints
// it. Only the one key is wanted, so a line match does instead of a YAML
// parser.
func agencyFrom(config string) string {
	data, err := os.ReadFile(config)
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`(?m)^\s+agency:\s*"?([^"\n#]*)"?`).FindSubmatch(data)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]))
}

func scoreFiles(dir string, files []string, agency string, asJSON bool) error {
	if len(files) == 0 {
		return errors.New("score: give the files to score")
	}
	pages, truth, err := loadCorpus(dir)
	if err != nil {
		return err
	}
	type row struct {
		File    string `json:"file"`
		Page    string `json:"page"`
		Variant string `json:"variant"`
		score
		CER float64 `json:"cer"`
	}
	var rows []row
	var total score
	for _, f := range files {
		p, ok := pageOf(pages, f)
		if !ok {
			return fmt.Errorf("score %s: its name starts with no corpus page's name", f)
		}
		text, err := readText(f, agency)
		if err != nil {
			return err
		}
		s := compare(truth[p.Name], text)
		total.add(s)
		rows = append(rows, row{f, p.Name, p.Variant, s, s.cer()})
	}
	if asJSON {
		return printJSON(map[string]any{"files": rows, "total": total, "cer": total.cer()})
	}
	fmt.Println("| file | variant | edits | chars | CER | numbers/dates right | words missed (any order) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %d | %d | %.4f | %d/%d | %d/%d |\n", r.File, r.Variant, r.Edits, r.TruthRunes, r.CER, r.DigitsRight, r.Digits, r.WordsMissed, r.Words)
	}
	fmt.Printf("| **total** | | %d | %d | **%.4f** | %d/%d | %d/%d |\n", total.Edits, total.TruthRunes, total.cer(), total.DigitsRight, total.Digits, total.WordsMissed, total.Words)
	return nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// A reader turns the corpus's scans into text files, one a page, named by
// the page, in out.
type reader func(dir string, pages []page, out string) error

func runReaders(dir string, names []string, station, config, agency string, asJSON bool) error {
	pages, truth, err := loadCorpus(dir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ocreval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	results := map[string]map[string]score{} // reader → page → score
	elapsed := map[string]time.Duration{}
	for _, name := range names {
		var rd reader
		switch name {
		case "tesseract":
			rd = runTesseract
		case "station":
			if config == "" {
				return errors.New("-run station needs the station's configuration: -config scanstation.yaml")
			}
			rd = func(dir string, pages []page, out string) error {
				return runStation(dir, pages, out, station, config, agency)
			}
		default:
			return fmt.Errorf("unknown reader %q: use tesseract or station", name)
		}
		out := filepath.Join(work, name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		start := time.Now()
		if err := rd(dir, pages, out); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		elapsed[name] = time.Since(start)
		results[name] = map[string]score{}
		for _, p := range pages {
			text, err := os.ReadFile(filepath.Join(out, p.Name+".txt"))
			if err != nil {
				return fmt.Errorf("%s gave no text for %s: %w", name, p.Name, err)
			}
			results[name][p.Name] = compare(truth[p.Name], string(text))
		}
		if keep := os.Getenv("OCREVAL_KEEP"); keep != "" {
			// For looking at the errors afterwards.
			_ = os.MkdirAll(filepath.Join(keep, name), 0o755)
			for _, p := range pages {
				b, _ := os.ReadFile(filepath.Join(out, p.Name+".txt"))
				_ = os.WriteFile(filepath.Join(keep, name, p.Name+".txt"), b, 0o644)
			}
		}
	}

	var order []string // variants in corpus order
	byVariant := map[string]map[string]score{}
	for _, p := range pages {
		if !slices.Contains(order, p.Variant) {
			order = append(order, p.Variant)
			byVariant[p.Variant] = map[string]score{}
		}
		for _, n := range names {
			s := byVariant[p.Variant][n]
			s.add(results[n][p.Name])
			byVariant[p.Variant][n] = s
		}
	}
	totals := map[string]score{}
	for _, n := range names {
		for _, p := range pages {
			t := totals[n]
			t.add(results[n][p.Name])
			totals[n] = t
		}
	}
	if asJSON {
		type cell struct {
			score
			CER float64 `json:"cer"`
		}
		out := map[string]any{}
		pagesOut := map[string]map[string]cell{}
		for _, n := range names {
			pagesOut[n] = map[string]cell{}
			for p, s := range results[n] {
				pagesOut[n][p] = cell{s, s.cer()}
			}
		}
		varOut := map[string]map[string]cell{}
		for v, m := range byVariant {
			varOut[v] = map[string]cell{}
			for n, s := range m {
				varOut[v][n] = cell{s, s.cer()}
			}
		}
		totOut := map[string]cell{}
		secs := map[string]float64{}
		for _, n := range names {
			totOut[n] = cell{totals[n], totals[n].cer()}
			secs[n] = elapsed[n].Seconds()
		}
		out["pages"], out["variants"], out["total"], out["seconds"] = pagesOut, varOut, totOut, secs
		return printJSON(out)
	}
	fmt.Print("| variant | pages |")
	for _, n := range names {
		fmt.Printf(" %s CER |", n)
	}
	for _, n := range names {
		fmt.Printf(" %s numbers/dates right |", n)
	}
	for _, n := range names {
		fmt.Printf(" %s words missed (any order) |", n)
	}
	fmt.Print("\n|---|---:|")
	fmt.Print(strings.Repeat("---:|", 3*len(names)))
	fmt.Println()
	count := map[string]int{}
	for _, p := range pages {
		count[p.Variant]++
	}
	for _, v := range order {
		fmt.Printf("| %s | %d |", v, count[v])
		for _, n := range names {
			fmt.Printf(" %.4f |", byVariant[v][n].cer())
		}
		for _, n := range names {
			s := byVariant[v][n]
			fmt.Printf(" %d/%d |", s.DigitsRight, s.Digits)
		}
		for _, n := range names {
			fmt.Printf(" %.4f |", byVariant[v][n].wordMiss())
		}
		fmt.Println()
	}
	fmt.Printf("| **all** | %d |", len(pages))
	for _, n := range names {
		fmt.Printf(" **%.4f** |", totals[n].cer())
	}
	for _, n := range names {
		s := totals[n]
		fmt.Printf(" %d/%d (%.3f) |", s.DigitsRight, s.Digits, float64(s.DigitsRight)/float64(max(s.Digits, 1)))
	}
	for _, n := range names {
		fmt.Printf(" %.4f |", totals[n].wordMiss())
	}
	fmt.Println()
	for _, n := range names {
		fmt.Printf("\n%s: %d pages in %.1f s wall (%d characters of truth, %d edits)", n, len(pages), elapsed[n].Seconds(), totals[n].TruthRunes, totals[n].Edits)
	}
	fmt.Println()
	return nil
}

// runTesseract reads every scan with bare tesseract (vie+eng, default page
// segmentation, no orientation detection), one single-threaded process a
// core, as scripts/bench.sh times it. A PDF is read from its first page's
// image at 300 dpi.
func runTesseract(dir string, pages []page, out string) error {
	errs := make([]error, len(pages))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = tesseractPage(filepath.Join(dir, pages[i].Scan), filepath.Join(out, pages[i].Name+".txt"), out)
			}
		}()
	}
	for i := range pages {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func tesseractPage(scan, txt, work string) error {
	input := scan
	if strings.EqualFold(filepath.Ext(scan), ".pdf") {
		prefix := strings.TrimSuffix(txt, ".txt") + "-page"
		if out, err := exec.Command("pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile", scan, prefix).CombinedOutput(); err != nil {
			return fmt.Errorf("pdftoppm %s: %w: %s", scan, err, bytes.TrimSpace(out))
		}
		input = prefix + ".png"
	}
	cmd := exec.Command("tesseract", input, "-", "-l", "vie+eng")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	text, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tesseract %s: %w%s", scan, err, stderrOf(err))
	}
	if err := os.WriteFile(txt, text, 0o644); err != nil {
		return fmt.Errorf("write the text of %s: %w", scan, err)
	}
	return nil
}

// runStation copies the scans to a folder of their own (process moves its
// inputs to the archive), runs `scanstation process` on them at once, and takes
// each page's text from its signed PDF in the outbox.
func runStation(dir string, pages []page, out, station, config, agency string) error {
	outbox, err := outboxOf(config)
	if err != nil {
		return err
	}
	outbox = filepath.Clean(outbox)
	in := filepath.Join(out, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		return err
	}
	args := []string{"process", "--config", config}
	for _, p := range pages {
		args = append(args, filepath.Join(in, p.Scan))
		data, err := os.ReadFile(filepath.Join(dir, p.Scan))
		if err != nil {
			return fmt.Errorf("read the scan %s: %w", p.Scan, err)
		}
		if err := os.WriteFile(filepath.Join(in, p.Scan), data, 0o644); err != nil {
			return err
		}
	}
	// The station names each copy after its scan, adding "-1", "-2" when
	// the outbox already has the name; its report line says which is whose:
	// "seal-1.jpg: … → /…/outbox/seal-1-1.pdf".
	var report bytes.Buffer
	cmd := exec.Command(station, args...)
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stderr, &report), os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s process: %w", station, err)
	}
	scans := map[string]page{}
	for _, p := range pages {
		scans[p.Scan] = p
	}
	found := map[string]bool{}
	line := regexp.MustCompile(`^(\S+): .* → (.+\.pdf)$`)
	for _, l := range strings.Split(report.String(), "\n") {
		m := line.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		p, ok := scans[m[1]]
		if !ok {
			continue
		}
		text, err := readText(m[2], agency)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, p.Name+".txt"), []byte(text), 0o644); err != nil {
			return err
		}
		found[p.Name] = true
	}
	for _, p := range pages {
		if !found[p.Name] {
			return fmt.Errorf("no signed PDF in %s for %s (see the station's output above, and its failed folder)", outbox, p.Scan)
		}
	}
	return nil
}

// outboxOf reads folders.outbox from a scanstation.yaml, relative to the
// file's folder as the station reads it; the default is "outbox".
func outboxOf(config string) (string, error) {
	data, err := os.ReadFile(config)
	if err != nil {
		return "", fmt.Errorf("read the station's configuration: %w", err)
	}
	box := "outbox"
	if m := regexp.MustCompile(`(?m)^\s+outbox:\s*"?([^"\n#]*)"?`).FindSubmatch(data); m != nil {
		box = strings.TrimSpace(string(m[1]))
	}
	if !filepath.IsAbs(box) {
		box = filepath.Join(filepath.Dir(config), box)
	}
	return box, nil
}
