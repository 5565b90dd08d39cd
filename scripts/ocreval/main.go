// Command ocreval measures how well pages are read: it writes a corpus of
// synthetic Vietnamese scans with their ground truth, and scores text (from a
// signed PDF's text layer, or plain text) against it as character error rate
// and the share of number and date words read exactly.
//
//	go run ./scripts/ocreval -corpus DIR make
//	go run ./scripts/ocreval -corpus DIR score FILE.pdf|FILE.txt...
//	go run ./scripts/ocreval -corpus DIR -run tesseract,ocrmypdf,station -config CONFIG
//	go run ./scripts/ocreval -config CONFIG model
//
// A scored file belongs to the corpus page whose name starts its file name
// (the station's outbox names keep the scan's name). Text from a PDF is
// pdftotext's (without -layout, the order a reader copies text in), with the
// certification mark's lines taken out.
//
// Bare tesseract and OCRmyPDF read with the station's model: the languages
// and model folder of -config (ocr.languages, ocr.tessdata, and their
// SCANSTATION_OCR_* overrides), unless -lang or -tessdata say otherwise;
// model prints them for scripts/bench.sh.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
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

	"scanstation/config"
	"scanstation/internal/samplescan"
	"scanstation/internal/scansim"
)

// A page is one scan of the corpus.
type page struct {
	Name    string `json:"name"`    // "seal-2"; the scan is Name+ext, its truth Name+".txt"
	Variant string `json:"variant"` // "seal"
	Scan    string `json:"scan"`    // file name inside the corpus directory
	// Apart marks a page outside the conditions issue 15's target is set
	// for (skew over 3°): scored, but not in the total.
	Apart bool `json:"apart,omitempty"`
}

const manifestName = "corpus.json"

func main() {
	corpus := flag.String("corpus", "", "the corpus `directory`")
	asJSON := flag.Bool("json", false, "print the results as JSON instead of a table")
	run := flag.String("run", "", "read the corpus with these readers, comma-separated: tesseract, ocrmypdf, station")
	ocrmypdf := flag.String("ocrmypdf", "ocrmypdf", "the OCRmyPDF `command`, for -run ocrmypdf")
	langs := flag.String("lang", "", "Tesseract's `languages` for bare tesseract and OCRmyPDF (vie+eng); from -config when empty")
	tessText := flag.String("tesseract-text", "", "a `folder` of bare tesseract's text of the pages (OCREVAL_KEEP's tesseract folder): the order is scored against it when tesseract is not among -run")
	tessdata := flag.String("tessdata", "", "Tesseract's model `folder` for bare tesseract and OCRmyPDF; from -config when empty (empty there: Tesseract's own)")
	config := flag.String("config", "", "the station's `scanstation.yaml`, for -run station")
	station := flag.String("station", "bin/scanstation", "the scanstation `binary`, for -run station")
	agency := flag.String("agency", "", "the agency's name the mark prints (circular01 marks, which have no copy label); read from -config when empty")
	letters := flag.Int("letters", 2, "for make: letters per variant")
	seed := flag.Uint64("seed", 15, "for make: the seed the letters are chosen with")
	flag.Parse()
	if *agency == "" && *config != "" {
		*agency = agencyFrom(*config)
	}
	m, err := modelOf(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ocreval:", err)
		os.Exit(1)
	}
	if *langs != "" {
		m.langs = *langs
	}
	if *tessdata != "" {
		m.tessdata = *tessdata
	}
	if flag.Arg(0) == "model" {
		fmt.Printf("languages=%s\ntessdata=%s\n", m.langs, m.tessdata)
		return
	}
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "ocreval: give the corpus directory with -corpus")
		os.Exit(2)
	}
	rd := readers{station: *station, config: *config, agency: *agency, ocrmypdf: *ocrmypdf, model: m, tessText: *tessText}
	switch {
	case flag.Arg(0) == "make":
		err = makeCorpus(*corpus, *letters, *seed)
	case flag.Arg(0) == "score":
		err = scoreFiles(*corpus, flag.Args()[1:], *agency, *asJSON)
	case *run != "":
		err = runReaders(*corpus, strings.Split(*run, ","), rd, *asJSON)
	default:
		err = errors.New("say what to do: make, score FILE..., model, or -run tesseract,ocrmypdf,station")
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
	// slot is the block of letters the variant takes from the letter
	// set: variants added later take later blocks, so the pages of the
	// earlier ones stay as they were and old results still compare.
	slot  int
	apart bool // outside issue 15's conditions: scored apart from the total
}

// The skews go both ways and at several angles, because whether Tesseract's
// layout analysis keeps a skewed page's body changes from one angle to the
// next (docs/ocr-accuracy.md, Skew): one angle a direction would hide it.
var variants = []variant{
	{"clean", "300 dpi colour, lossless (PNG)", clean(300, 0), 0, 0, false},
	{"noise", "300 dpi colour through scansim: blur, sensor noise σ≈6, paper 236 / toner 28", scanned(300, 0, false), 90, 1, false},
	skewed("-4", -4, 16, true),
	skewed("-3", -3, 9, false),
	skewed("-2.5", -2.5, 10, false),
	skewed("-2", -2, 3, false),
	skewed("-1", -1, 11, false),
	skewed("+1", 1, 12, false),
	skewed("+2", 2, 13, false),
	skewed("+2.5", 2.5, 14, false),
	skewed("+3", 3, 2, false),
	skewed("+4", 4, 15, true),
	{"upside-down", "300 dpi colour, fed upside down (180°)", upsideDown, 90, 4, false},
	{"jpeg60", "300 dpi colour, JPEG quality 60", clean(300, 0), 60, 5, false},
	{"200dpi-greyish", "200 dpi colour scan of a black-and-white page (near-grey pixels), with scanner noise", scanned(200, 0.4, false), 85, 6, false},
	{"seal", "300 dpi colour, a red seal (rings, star, dashes) stamped across the signature block", sealed, 90, 7, false},
	{"two-column", "300 dpi colour, header across, body in two columns", twoColumns, 90, 8, false},
}

// skewed is a clean 300 dpi page turned by degrees (clockwise when
// positive), JPEG q90, named "skew" and the signed angle: "skew+2.5".
func skewed(name string, degrees float64, slot int, apart bool) variant {
	way := "clockwise"
	if degrees < 0 {
		way = "counter-clockwise"
	}
	return variant{"skew" + name, fmt.Sprintf("300 dpi colour, turned %g° %s", math.Abs(degrees), way), clean(300, degrees), 90, slot, apart}
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
	slots := 0
	for _, v := range variants {
		slots = max(slots, v.slot+1)
	}
	set := samplescan.LetterSet(letters*slots, seed)
	var pages []page
	type job struct {
		v variant
		s samplescan.LetterSample
		p page
		n uint64
	}
	var jobs []job
	for _, v := range variants {
		for i := range letters {
			name := fmt.Sprintf("%s-%d", v.name, i+1)
			ext := ".jpg"
			if v.jpeg == 0 {
				ext = ".png"
			}
			p := page{Name: name, Variant: v.name, Scan: name + ext, Apart: v.apart}
			pages = append(pages, p)
			n := v.slot*letters + i
			jobs = append(jobs, job{v, set[n], p, seed*1000 + uint64(n)})
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

// model is the recognition model the peers read with: the station's.
type model struct {
	langs    string // Tesseract's form: "vie+eng"
	tessdata string // empty: Tesseract's own folder
}

// modelOf is the station's ocr.languages and ocr.tessdata, read as the
// station reads them (package config: its defaults, the SCANSTATION_OCR_*
// overrides, a relative folder taken from the file's), so that bare
// tesseract and OCRmyPDF follow when the station's model changes. Without a
// configuration file, the station's defaults.
func modelOf(file string) (model, error) {
	if file == "" {
		tmp, err := os.CreateTemp("", "ocreval-*.yaml")
		if err != nil {
			return model{}, fmt.Errorf("the station's default model: %w", err)
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		file = tmp.Name()
	}
	c, err := config.Load(file)
	if err != nil {
		return model{}, fmt.Errorf("the station's model: %w", err)
	}
	if len(c.OCR.Languages) == 0 {
		return model{}, fmt.Errorf("the station's model: %s sets no ocr.languages", file)
	}
	return model{strings.Join(c.OCR.Languages, "+"), c.OCR.Tessdata}, nil
}

// env is the environment a peer's Tesseract runs in: one thread, as each of
// the station's engines, and the station's model folder.
func (m model) env() []string {
	env := append(os.Environ(), "OMP_THREAD_LIMIT=1")
	if m.tessdata != "" {
		env = append(env, "TESSDATA_PREFIX="+m.tessdata)
	}
	return env
}

// readers is what the readers need to know besides the corpus.
type readers struct {
	station, config, agency string
	ocrmypdf                string
	model                   model
	tessText                string // bare tesseract's texts from an earlier run, for the order
}

// A reader turns the corpus's scans into text files, one a page, named by
// the page, in out.
type reader func(dir string, pages []page, out string) error

func (rs readers) reader(name string) (reader, error) {
	switch name {
	case "tesseract":
		return func(dir string, pages []page, out string) error {
			return eachPage(pages, func(p page) error {
				return tesseractPage(filepath.Join(dir, p.Scan), filepath.Join(out, p.Name+".txt"), rs.model)
			})
		}, nil
	case "ocrmypdf":
		return func(dir string, pages []page, out string) error {
			return eachPage(pages, func(p page) error {
				return rs.ocrmypdfPage(filepath.Join(dir, p.Scan), filepath.Join(out, p.Name))
			})
		}, nil
	case "station":
		if rs.config == "" {
			return nil, errors.New("-run station needs the station's configuration: -config scanstation.yaml")
		}
		return func(dir string, pages []page, out string) error {
			return runStation(dir, pages, out, rs.station, rs.config, rs.agency)
		}, nil
	}
	return nil, fmt.Errorf("unknown reader %q: use tesseract, ocrmypdf or station", name)
}

// total is a reader's result over some pages.
type total struct {
	score
	CER   float64 `json:"cer"`
	Order float64 `json:"order"`
	// The reading order against bare tesseract's text of the same pages
	// (the engine's own order) rather than the truth's.
	OrderVsTesseract *float64 `json:"order_vs_tesseract,omitempty"`
	NumbersRight     float64  `json:"numbers_right"` // share of the number and date words read exactly
}

func totalOf(s score, vsTess *score) total {
	t := total{score: s, CER: s.cer(), Order: s.order(), NumbersRight: float64(s.DigitsRight) / float64(max(s.Digits, 1))}
	if vsTess != nil {
		o := vsTess.order()
		t.OrderVsTesseract = &o
	}
	return t
}

func runReaders(dir string, names []string, rs readers, asJSON bool) error {
	pages, truth, err := loadCorpus(dir)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ocreval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	results := map[string]map[string]score{} // reader → page → score against the truth
	texts := map[string]map[string]string{}  // reader → page → text
	elapsed := map[string]time.Duration{}
	for _, name := range names {
		rd, err := rs.reader(name)
		if err != nil {
			return err
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
		texts[name] = map[string]string{}
		for _, p := range pages {
			text, err := os.ReadFile(filepath.Join(out, p.Name+".txt"))
			if err != nil {
				return fmt.Errorf("%s gave no text for %s: %w", name, p.Name, err)
			}
			texts[name][p.Name] = string(text)
			results[name][p.Name] = compare(truth[p.Name], string(text))
		}
		if keep := os.Getenv("OCREVAL_KEEP"); keep != "" {
			// For looking at the errors afterwards.
			_ = os.MkdirAll(filepath.Join(keep, name), 0o755)
			for _, p := range pages {
				_ = os.WriteFile(filepath.Join(keep, name, p.Name+".txt"), []byte(texts[name][p.Name]), 0o644)
			}
		}
	}
	// The order of each reader's words against bare tesseract's: the
	// issue asks for the text layer in the order the engine read.
	vsTess := map[string]map[string]score{} // reader → page → order only
	if _, ok := texts["tesseract"]; !ok && rs.tessText != "" {
		texts["tesseract"] = map[string]string{}
		for _, p := range pages {
			t, err := os.ReadFile(filepath.Join(rs.tessText, p.Name+".txt"))
			if err != nil {
				return fmt.Errorf("bare tesseract's text of %s (-tesseract-text): %w", p.Name, err)
			}
			texts["tesseract"][p.Name] = string(t)
		}
	}
	if _, ok := texts["tesseract"]; ok {
		for _, n := range names {
			vsTess[n] = map[string]score{}
			for _, p := range pages {
				in, common := wordOrder(normalise(texts["tesseract"][p.Name]), normalise(texts[n][p.Name]))
				vsTess[n][p.Name] = score{InOrder: in, Common: common}
			}
		}
	}

	// Sums over the pages of each variant, over every page not apart (the
	// total) and over those apart.
	type sums struct{ truth, tess map[string]*score } // by reader
	newSums := func() *sums { return &sums{map[string]*score{}, map[string]*score{}} }
	var order []string // variants in corpus order
	byVariant := map[string]*sums{}
	all, apart := newSums(), newSums()
	count := map[string]int{}
	apartPages := 0
	for _, p := range pages {
		if _, ok := byVariant[p.Variant]; !ok {
			order = append(order, p.Variant)
			byVariant[p.Variant] = newSums()
		}
		count[p.Variant]++
		whole := all
		if p.Apart {
			whole = apart
			apartPages++
		}
		for _, sm := range []*sums{byVariant[p.Variant], whole} {
			for _, n := range names {
				if sm.truth[n] == nil {
					sm.truth[n], sm.tess[n] = &score{}, &score{}
				}
				sm.truth[n].add(results[n][p.Name])
				if vsTess[n] != nil {
					sm.tess[n].add(vsTess[n][p.Name])
				}
			}
		}
	}
	cell := func(sm *sums, n string) total {
		if sm.truth[n] == nil {
			return total{}
		}
		var vt *score
		if vsTess[n] != nil {
			vt = sm.tess[n]
		}
		return totalOf(*sm.truth[n], vt)
	}
	if asJSON {
		type readerOut struct {
			Total    total            `json:"total"` // pages not apart
			Apart    *total           `json:"apart,omitempty"`
			Variants map[string]total `json:"variants"`
			Pages    map[string]total `json:"pages"`
			Seconds  float64          `json:"seconds"`
		}
		out := map[string]readerOut{}
		for _, n := range names {
			r := readerOut{Total: cell(all, n), Variants: map[string]total{}, Pages: map[string]total{}, Seconds: elapsed[n].Seconds()}
			if apartPages > 0 {
				a := cell(apart, n)
				r.Apart = &a
			}
			for _, v := range order {
				r.Variants[v] = cell(byVariant[v], n)
			}
			for _, p := range pages {
				var vt *score
				if vsTess[n] != nil {
					s := vsTess[n][p.Name]
					vt = &s
				}
				r.Pages[p.Name] = totalOf(results[n][p.Name], vt)
			}
			out[n] = r
		}
		var apartNames []string
		for _, v := range order {
			if slices.ContainsFunc(pages, func(p page) bool { return p.Variant == v && p.Apart }) {
				apartNames = append(apartNames, v)
			}
		}
		return printJSON(map[string]any{"readers": out, "variants": order, "apart": apartNames,
			"pages": len(pages) - apartPages, "languages": rs.model.langs, "tessdata": rs.model.tessdata})
	}
	row := func(label string, pagesN int, sm *sums) {
		fmt.Printf("| %s | %d |", label, pagesN)
		for _, n := range names {
			fmt.Printf(" %.4f |", cell(sm, n).CER)
		}
		for _, n := range names {
			c := cell(sm, n)
			fmt.Printf(" %d/%d |", c.DigitsRight, c.Digits)
		}
		for _, n := range names {
			fmt.Printf(" %.4f |", cell(sm, n).wordMiss())
		}
		for _, n := range names {
			c := cell(sm, n)
			if c.OrderVsTesseract != nil {
				fmt.Printf(" %.3f / %.3f |", c.Order, *c.OrderVsTesseract)
			} else {
				fmt.Printf(" %.3f |", c.Order)
			}
		}
		fmt.Println()
	}
	fmt.Print("| variant | pages |")
	for _, what := range []string{"CER", "numbers/dates right", "words missed (any order)", "words in order"} {
		for _, n := range names {
			fmt.Printf(" %s %s |", n, what)
		}
	}
	fmt.Print("\n|---|---:|")
	fmt.Print(strings.Repeat("---:|", 4*len(names)))
	fmt.Println()
	for _, v := range order {
		row(v, count[v], byVariant[v])
	}
	row("**all**", len(pages)-apartPages, all)
	if apartPages > 0 {
		row("apart (not in all)", apartPages, apart)
	}
	fmt.Println("\nwords in order: the share of the words a text shares with the truth that stand in the truth's order (/ in bare tesseract's order).")
	for _, n := range names {
		fmt.Printf("\n%s: %d pages in %.1f s wall (%d characters of truth, %d edits, pages apart not counted)", n, len(pages), elapsed[n].Seconds(), all.truth[n].TruthRunes, all.truth[n].Edits)
	}
	fmt.Printf("\nmodel: -l %s, tessdata %q\n", rs.model.langs, rs.model.tessdata)
	return nil
}

// eachPage runs read on every page, one page a core at a time, as
// scripts/bench.sh runs the peers.
func eachPage(pages []page, read func(page) error) error {
	errs := make([]error, len(pages))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = read(pages[i])
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

// tesseractPage reads a scan with bare tesseract (default page segmentation,
// no orientation detection, one thread). A PDF is read from its first page's
// image at 300 dpi.
func tesseractPage(scan, txt string, m model) error {
	input := scan
	if strings.EqualFold(filepath.Ext(scan), ".pdf") {
		prefix := strings.TrimSuffix(txt, ".txt") + "-page"
		if out, err := exec.Command("pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile", scan, prefix).CombinedOutput(); err != nil {
			return fmt.Errorf("pdftoppm %s: %w: %s", scan, err, bytes.TrimSpace(out))
		}
		input = prefix + ".png"
	}
	args := []string{input, "-", "-l", m.langs}
	if m.tessdata != "" {
		args = append(args, "--tessdata-dir", m.tessdata)
	}
	cmd := exec.Command("tesseract", args...)
	cmd.Env = m.env()
	text, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tesseract %s: %w%s", scan, err, stderrOf(err))
	}
	if err := os.WriteFile(txt, text, 0o644); err != nil {
		return fmt.Errorf("write the text of %s: %w", scan, err)
	}
	return nil
}

// ocrmypdfPage makes a PDF/A of a scan with OCRmyPDF as scripts/bench.sh
// times it (--output-type pdfa --rotate-pages, one job) and takes its text
// layer as the station's is taken: base.pdf, then base.txt.
func (rs readers) ocrmypdfPage(scan, base string) error {
	cmd := exec.Command(rs.ocrmypdf, "-q", "-j", "1", "-l", rs.model.langs, "--rotate-pages", "--output-type", "pdfa", scan, base+".pdf")
	cmd.Env = rs.model.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", rs.ocrmypdf, scan, err, bytes.TrimSpace(out))
	}
	text, err := readText(base+".pdf", "")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".txt", []byte(text), 0o644); err != nil {
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
