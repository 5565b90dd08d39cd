// Command metaeval measures docmeta.Extract on a labelled set of generated
// documents: it renders each letter of samplescan.LetterSet, encodes it as a
// JPEG at its resolution, reads it with the ocr package (Tesseract vie+eng),
// extracts the metadata and compares each field with the label.
//
//	go run ./scripts/metaeval [-n 40] [-seed 1] [-out FILE] [-v]
//
// It prints per-field precision and recall (all pages, 300 dpi pages, 200 dpi
// pages) and writes the same table, as Markdown, to -out.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/docmeta"
	"scanstation/internal/samplescan"
	"scanstation/ocr"
)

var fields = []string{
	"organ_name", "parent_organ", "code_number", "code_notation", "place", "issued_date", "type_name", "subject",
}

// A tally counts one field over a set of pages.
type tally struct {
	labelled, extracted, correct int
	confRight, confWrong         float64
	wrong                        int
}

func (t tally) precision() float64 { return ratio(t.correct, t.extracted) }
func (t tally) recall() float64    { return ratio(t.correct, t.labelled) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func main() {
	n := flag.Int("n", 40, "number of documents")
	seed := flag.Uint64("seed", 1, "seed of the generated set")
	out := flag.String("out", "", "write the results as Markdown to this file")
	verbose := flag.Bool("v", false, "print every wrong or missing value")
	flag.Parse()
	if err := run(*n, *seed, *out, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "metaeval:", err)
		os.Exit(1)
	}
}

func labels(l samplescan.Letter) map[string]string {
	return map[string]string{
		"organ_name":    l.OrganName,
		"parent_organ":  l.ParentOrgan,
		"code_number":   l.CodeNumber,
		"code_notation": l.CodeNotation,
		"place":         l.Place,
		"issued_date":   l.Date.Format("2006-01-02"),
		"type_name":     l.TypeName,
		"subject":       strings.Join(l.Subject, " "),
	}
}

func clean(s string) string { return strings.Join(strings.Fields(norm.NFC.String(s)), " ") }

func run(n int, seed uint64, outPath string, verbose bool) error {
	engine, err := ocr.NewEngine(ocr.Options{})
	if err != nil {
		return err
	}
	defer engine.Close()

	groups := []string{"all", "300 dpi", "200 dpi"}
	tallies := map[string]map[string]*tally{}
	for _, g := range groups {
		tallies[g] = map[string]*tally{}
		for _, f := range fields {
			tallies[g][f] = &tally{}
		}
	}
	pages := map[string]int{}
	began := time.Now()
	for _, s := range samplescan.LetterSet(n, seed) {
		img, err := samplescan.RenderLetter(s.Letter, s.Options)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		dpi := s.Options.DPI
		if dpi == 0 {
			dpi = 300
		}
		var buf bytes.Buffer
		if err := samplescan.WriteJPEG(&buf, img, dpi, 90); err != nil {
			return err
		}
		res, err := engine.Recognize(buf.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		b := img.Bounds()
		m := docmeta.Extract(res, b.Dx(), b.Dy())
		group := fmt.Sprintf("%g dpi", dpi)
		pages["all"]++
		pages[group]++
		want := labels(s.Letter)
		for _, f := range fields {
			got, _ := m.Get(f)
			w, g := clean(want[f]), clean(got.Value)
			for _, name := range []string{"all", group} {
				t := tallies[name][f]
				if w != "" {
					t.labelled++
				}
				if g != "" {
					t.extracted++
					if g == w {
						t.correct++
						t.confRight += got.Confidence
					} else {
						t.wrong++
						t.confWrong += got.Confidence
					}
				}
			}
			if verbose && g != w {
				fmt.Printf("%-34s %-13s want %q\n%-48s got  %q (%.2f)\n", s.Name, f, w, "", g, got.Confidence)
			}
		}
		if problems := m.Validate(); len(problems) > 0 {
			fmt.Printf("%s: extracted values fail validation: %v\n", s.Name, problems)
		}
	}
	elapsed := time.Since(began)

	var md bytes.Buffer
	fmt.Fprintf(&md, "Set: %d documents (seed %d): %d at 300 dpi, %d at 200 dpi; OCR and extraction took %s.\n\n",
		pages["all"], seed, pages["300 dpi"], pages["200 dpi"], elapsed.Round(time.Second))
	for _, g := range groups {
		if pages[g] == 0 {
			continue
		}
		fmt.Fprintf(&md, "%s (%d documents):\n\n", capital(g), pages[g])
		fmt.Fprintf(&md, "| field | labelled | extracted | exact | precision | recall | mean confidence right / wrong |\n")
		fmt.Fprintf(&md, "|---|---:|---:|---:|---:|---:|---|\n")
		for _, f := range fields {
			t := tallies[g][f]
			conf := "-"
			if t.correct > 0 {
				conf = fmt.Sprintf("%.2f", t.confRight/float64(t.correct))
			}
			if t.wrong > 0 {
				conf += fmt.Sprintf(" / %.2f", t.confWrong/float64(t.wrong))
			} else {
				conf += " / -"
			}
			fmt.Fprintf(&md, "| %s | %d | %d | %d | %.1f%% | %.1f%% | %s |\n",
				f, t.labelled, t.extracted, t.correct, 100*t.precision(), 100*t.recall(), conf)
		}
		md.WriteString("\n")
	}
	io.Copy(os.Stdout, bytes.NewReader(md.Bytes()))
	if outPath != "" {
		return os.WriteFile(outPath, md.Bytes(), 0o644)
	}
	return nil
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
