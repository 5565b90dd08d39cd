package quality

import (
	"image"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sheet is a page of w × h mm scanned at dpi, in colour, with text on it.
func sheet(w, h, dpi float64) PageFacts {
	px := func(mm float64) int { return int(math.Round(mm / 25.4 * dpi)) }
	return PageFacts{Width: px(w), Height: px(h), DPIX: dpi, DPIY: dpi, DPIKnown: true, ColorDepth: 24, Ink: 0.05, Words: 180}
}

func with(p PageFacts, change func(*PageFacts)) PageFacts {
	change(&p)
	return p
}

func no() *bool { f := false; return &f }

func TestCheck(t *testing.T) {
	a4 := sheet(210, 297, 300)
	blank := with(a4, func(p *PageFacts) { p.Ink, p.Words = 0, 0 })
	cases := []struct {
		name     string
		pages    []PageFacts
		rules    Rules
		failed   bool
		kinds    []string // the Rule of each finding, in order
		messages []string // each must appear in the finding of the same place
		paper    []string
		blank    []int
		drop     []int
		fails    []bool // per finding, when it matters
	}{
		{name: "colour A4 at 300 dpi", pages: []PageFacts{a4}, paper: []string{"A4"}},
		{name: "landscape A4 and the other default sizes",
			pages: []PageFacts{sheet(297, 210, 300), sheet(148, 210, 200), sheet(420, 297, 300), sheet(250, 353, 200),
				sheet(176, 250, 300), sheet(215.9, 279.4, 300), sheet(355.6, 215.9, 300)},
			paper: []string{"A4", "A5", "A3", "B4", "B5", "Letter", "Legal"}},
		{name: "an A4 sheet on a whole flatbed platen, 8.5 in wide", pages: []PageFacts{sheet(215.9, 297, 300)}, paper: []string{"A4"}},
		{name: "48-bit colour", pages: []PageFacts{with(a4, func(p *PageFacts) { p.ColorDepth = 48 })}, paper: []string{"A4"}},
		{name: "grayscale", pages: []PageFacts{a4, with(a4, func(p *PageFacts) { p.ColorDepth = 8 })},
			failed: true, kinds: []string{"color"},
			messages: []string{"page 2 is scanned in grayscale or 256 colours (8-bit); the Decree asks for colour (24-bit): set the scanner to colour and scan it again"},
			paper:    []string{"A4", "A4"}},
		{name: "black and white", pages: []PageFacts{with(a4, func(p *PageFacts) { p.ColorDepth = 1 })},
			failed: true, kinds: []string{"color"}, messages: []string{"page 1 is scanned in black and white (1-bit)"}},
		{name: "16-colour palette", pages: []PageFacts{with(a4, func(p *PageFacts) { p.ColorDepth = 4 })},
			failed: true, kinds: []string{"color"}, messages: []string{"with only 4 bits per pixel"}},
		{name: "colour depth unknown", pages: []PageFacts{with(a4, func(p *PageFacts) { p.ColorDepth = 0 })},
			failed: true, kinds: []string{"color"}, messages: []string{"does not say how many colours"}},
		{name: "grayscale allowed", pages: []PageFacts{with(a4, func(p *PageFacts) { p.ColorDepth = 8 })},
			rules: Rules{RequireColor: no()}, paper: []string{"A4"}},
		{name: "150 dpi", pages: []PageFacts{sheet(210, 297, 150)},
			failed: true, kinds: []string{"dpi"},
			messages: []string{"page 1 is scanned at 150 dpi; at least 200 dpi is required: set the scanner to 200 dpi or more"},
			paper:    []string{"A4"}},
		{name: "300 dpi asked, a PDF's 299.96 dpi is 300", pages: []PageFacts{with(a4, func(p *PageFacts) { p.DPIX, p.DPIY = 299.96, 299.96 })},
			rules: Rules{MinDPI: 300}, paper: []string{"A4"}},
		{name: "300 dpi asked, 290 is not", pages: []PageFacts{sheet(210, 297, 290)},
			rules: Rules{MinDPI: 300}, failed: true, kinds: []string{"dpi"}, messages: []string{"scanned at 290 dpi; at least 300 dpi is required"}},
		{name: "unequal resolutions", pages: []PageFacts{with(a4, func(p *PageFacts) { p.DPIY, p.Height = 150, p.Height/2 })},
			failed: true, kinds: []string{"dpi"}, messages: []string{"scanned at 300 × 150 dpi"}, paper: []string{"A4"}},
		{name: "no resolution in the file", pages: []PageFacts{with(a4, func(p *PageFacts) { p.DPIKnown = false })},
			failed: true, kinds: []string{"dpi"}, messages: []string{"page 1: the file carries no resolution (dpi), so neither the resolution nor the 100% scale can be checked"},
			paper: []string{""}},
		{name: "A4 at 50%", pages: []PageFacts{sheet(105, 148.5, 300)},
			failed: true, kinds: []string{"scale"},
			messages: []string{"page 1 measures 105 × 149 mm, which is no known paper size (A4 is 210 × 297 mm): it looks scaled to 50%; scan at 100%"},
			paper:    []string{""}},
		{name: "A4 at 97%", pages: []PageFacts{sheet(210*0.97, 297*0.97, 300)},
			failed: true, kinds: []string{"scale"}, messages: []string{"it looks scaled to 97%"}},
		{name: "landscape A4 at 141%", pages: []PageFacts{sheet(297*1.414, 210*1.414, 300)},
			rules: Rules{PaperSizes: []Paper{{"A4", 210, 297}}}, failed: true, kinds: []string{"scale"}, messages: []string{"it looks scaled to 141%"}},
		{name: "cropped, not scaled", pages: []PageFacts{sheet(200, 297, 300)},
			failed: true, kinds: []string{"scale"}, messages: []string{"page 1 measures 200 × 297 mm, which is no known paper size (the nearest, A4, is 210 × 297 mm)"}},
		{name: "a tighter tolerance refuses the whole platen", pages: []PageFacts{sheet(215.9, 297, 300)},
			rules: Rules{ToleranceMM: 2}, failed: true, kinds: []string{"scale"}},
		{name: "papers from configuration", pages: []PageFacts{a4, sheet(100, 100, 300)},
			rules: Rules{PaperSizes: []Paper{{"100×100 mm", 100, 100}}}, failed: true, kinds: []string{"scale"},
			messages: []string{"page 1 measures 210 × 297 mm"}, paper: []string{"", "100×100 mm"}},
		{name: "several findings on one page", pages: []PageFacts{with(sheet(105, 148.5, 150), func(p *PageFacts) { p.ColorDepth = 8 })},
			failed: true, kinds: []string{"color", "dpi", "scale"}},
		{name: "blank page kept", pages: []PageFacts{a4, blank, a4}, blank: []int{2},
			kinds: []string{"blank"}, fails: []bool{false}, messages: []string{"page 2 looks blank (no text and almost no ink); it is kept in the copy"},
			paper: []string{"A4", "A4", "A4"}},
		{name: "blank page dropped, and its other faults with it",
			pages: []PageFacts{a4, with(blank, func(p *PageFacts) { p.ColorDepth = 8 })}, rules: Rules{BlankPages: BlankDrop},
			blank: []int{2}, drop: []int{2}, kinds: []string{"blank"}, fails: []bool{false},
			messages: []string{"page 2 looks blank (no text and almost no ink); it is left out of the copy"}, paper: []string{"A4", ""}},
		{name: "blank page refused", pages: []PageFacts{a4, blank}, rules: Rules{BlankPages: BlankReject},
			failed: true, blank: []int{2}, kinds: []string{"blank"}, fails: []bool{true}, messages: []string{"does not accept blank pages"}},
		{name: "an unknown blank policy keeps", pages: []PageFacts{a4, blank}, rules: Rules{BlankPages: "burn"},
			blank: []int{2}, kinds: []string{"blank"}, fails: []bool{false}, messages: []string{"it is kept"}},
		{name: "little ink but words is not blank", pages: []PageFacts{with(a4, func(p *PageFacts) { p.Ink, p.Words = 0, 1 })}, paper: []string{"A4"}},
		{name: "no words but ink is not blank", pages: []PageFacts{with(a4, func(p *PageFacts) { p.Ink, p.Words = 0.002, 0 })}, paper: []string{"A4"}},
		{name: "a configured blank threshold", pages: []PageFacts{a4, with(a4, func(p *PageFacts) { p.Ink, p.Words = 0.002, 0 })},
			rules: Rules{BlankInk: 0.01}, blank: []int{2}, kinds: []string{"blank"}},
		{name: "every page blank", pages: []PageFacts{blank, blank}, rules: Rules{BlankPages: BlankDrop},
			failed: true, blank: []int{1, 2}, drop: []int{1, 2}, kinds: []string{"blank", "blank", "blank"},
			fails: []bool{false, false, true}, messages: []string{"", "", "every page looks blank"}},
		{name: "page numbers as given", pages: []PageFacts{with(a4, func(p *PageFacts) { p.Number, p.ColorDepth = 7, 8 })},
			failed: true, kinds: []string{"color"}, messages: []string{"page 7 is scanned"}},
		{name: "no pages", pages: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Check(c.pages, c.rules)
			if res.Failed() != c.failed {
				t.Errorf("Failed() = %v; want %v; findings: %+v", res.Failed(), c.failed, res.Findings)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule)
			}
			if !slices.Equal(got, c.kinds) {
				t.Errorf("finding rules %q; want %q; findings: %+v", got, c.kinds, res.Findings)
			}
			for i, m := range c.messages {
				if i < len(res.Findings) && !strings.Contains(res.Findings[i].Message, m) {
					t.Errorf("finding %d says %q; want it to contain %q", i, res.Findings[i].Message, m)
				}
			}
			for i, want := range c.fails {
				if i < len(res.Findings) && res.Findings[i].Fails != want {
					t.Errorf("finding %d (%s) Fails = %v; want %v", i, res.Findings[i].Message, res.Findings[i].Fails, want)
				}
			}
			for _, f := range res.Findings {
				whole := strings.HasPrefix(f.Message, "every page")
				if whole != (f.Page == 0) || !whole && !strings.HasPrefix(f.Message, "page "+strconv.Itoa(f.Page)) {
					t.Errorf("finding on page %d: %q", f.Page, f.Message)
				}
			}
			if c.paper != nil && !slices.Equal(res.Paper, c.paper) {
				t.Errorf("papers %q; want %q", res.Paper, c.paper)
			}
			if len(res.Paper) != len(c.pages) {
				t.Errorf("%d papers for %d pages", len(res.Paper), len(c.pages))
			}
			if !slices.Equal(res.Blank, c.blank) || !slices.Equal(res.Drop, c.drop) {
				t.Errorf("blank %v drop %v; want %v and %v", res.Blank, res.Drop, c.blank, c.drop)
			}
		})
	}
}

// Every finding names its page, or is about the whole document.
func TestFindingPages(t *testing.T) {
	bad := sheet(105, 148.5, 150)
	bad.ColorDepth = 8
	res := Check([]PageFacts{sheet(210, 297, 300), bad, {Number: 3, DPIKnown: false, Words: 0}}, Rules{})
	for _, f := range res.Findings {
		if f.Page == 0 {
			t.Errorf("finding without a page: %+v", f)
			continue
		}
		if !strings.HasPrefix(f.Message, "page "+strconv.Itoa(f.Page)+" ") && !strings.HasPrefix(f.Message, "page "+strconv.Itoa(f.Page)+":") {
			t.Errorf("finding on page %d does not start by naming it: %q", f.Page, f.Message)
		}
	}
	if len(res.Findings) < 5 {
		t.Errorf("only %d findings for two bad pages: %+v", len(res.Findings), res.Findings)
	}
}

// With the default tolerance no page can be two default papers at once, and
// each default paper is matched as itself.
func TestDefaultPapersAreDistinct(t *testing.T) {
	ps := DefaultPapers()
	for _, p := range ps {
		for _, q := range ps {
			if p == q {
				continue
			}
			for _, qq := range [][2]float64{{q.WidthMM, q.HeightMM}, {q.HeightMM, q.WidthMM}} {
				if math.Abs(p.WidthMM-qq[0]) <= 2*DefaultToleranceMM && math.Abs(p.HeightMM-qq[1]) <= 2*DefaultToleranceMM {
					t.Errorf("%s and %s are within twice the tolerance of each other", p.Name, q.Name)
				}
			}
		}
		if got, ok := match(p.WidthMM, p.HeightMM, ps, DefaultToleranceMM); !ok || got != p {
			t.Errorf("%s matched %v, %v", p.Name, got, ok)
		}
	}
}

func gray(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

func TestInk(t *testing.T) {
	noisyPaper := gray(100, 100, 240)
	for i := range noisyPaper.Pix {
		noisyPaper.Pix[i] = uint8(236 + i*7%9) // 236-244
	}
	grayPaper := gray(100, 100, 200)
	for i := 0; i < 1000; i++ {
		grayPaper.Pix[i*10] = 100 // a tenth is text
	}
	showThrough := gray(100, 100, 245)
	for i := 0; i < 3000; i++ {
		showThrough.Pix[i] = 225 // the other side's print, seen through the paper
	}
	halves := gray(100, 100, 245)
	for y := 0; y < 100; y++ {
		for x := 0; x < 50; x++ {
			halves.Pix[y*100+x] = 30
		}
	}
	cases := []struct {
		name  string
		thumb *image.Gray
		want  float64
	}{
		{"nil", nil, 0},
		{"empty", gray(0, 0, 0), 0},
		{"white paper with noise", noisyPaper, 0},
		{"grey paper with text", grayPaper, 0.1},
		{"show-through is not ink", showThrough, 0},
		{"all dark: the floor keeps it ink", gray(20, 20, 60), 1},
		{"just lighter than the contrast", gray(10, 10, 245), 0},
		{"left half of a page", halves.SubImage(image.Rect(0, 0, 50, 100)).(*image.Gray), 1},
		{"right half of a page", halves.SubImage(image.Rect(50, 0, 100, 100)).(*image.Gray), 0},
		{"whole page of two halves", halves, 0.5},
	}
	for _, c := range cases {
		if got := Ink(c.thumb); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: Ink = %v; want %v", c.name, got, c.want)
		}
	}
}

func TestParsePaper(t *testing.T) {
	good := []struct {
		in   string
		want Paper
	}{
		{"A4", Paper{"A4", 210, 297}},
		{" a4 ", Paper{"A4", 210, 297}},
		{"letter", Paper{"Letter", 215.9, 279.4}},
		{"B5", Paper{"B5", 176, 250}},
		{"jis-b5", Paper{"JIS-B5", 182, 257}},
		{"A0", Paper{"A0", 841, 1189}},
		{"210x297mm", Paper{"210×297 mm", 210, 297}},
		{"215.9 x 330 mm", Paper{"215.9×330 mm", 215.9, 330}},
		{"100×150MM", Paper{"100×150 mm", 100, 150}},
	}
	for _, c := range good {
		got, err := ParsePaper(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePaper(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "A9", "Tabloid", "210x297", "210mm", "x297mm", "axbmm", "5x5mm", "210x-297mm", "NaNxNaNmm", "1e9x297mm"} {
		if p, err := ParsePaper(in); err == nil {
			t.Errorf("ParsePaper(%q) = %+v; want an error", in, p)
		} else if !strings.Contains(err.Error(), "paper size") {
			t.Errorf("ParsePaper(%q): %v; want it to say which setting", in, err)
		}
	}
}

func TestZeroRulesAreTheDecree(t *testing.T) {
	r := Rules{}.withDefaults()
	if !*r.RequireColor || r.MinDPI != 200 || r.ToleranceMM != DefaultToleranceMM || r.BlankPages != BlankKeep || r.BlankInk != DefaultBlankInk {
		t.Errorf("zero Rules became %+v", r)
	}
	var names []string
	for _, p := range r.PaperSizes {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"A4", "A3", "A5", "B4", "B5", "Letter", "Legal"}) {
		t.Errorf("default papers %v", names)
	}
}

// BenchmarkInkA4 measures Ink on the thumbnail of an A4 page at 300 dpi.
func BenchmarkInkA4(b *testing.B) {
	thumb := gray(310, 439, 240)
	for i := 0; i < len(thumb.Pix); i += 17 {
		thumb.Pix[i] = 40
	}
	for b.Loop() {
		Ink(thumb)
	}
}

// BenchmarkCheck100Pages measures the gate on a 100-page document.
func BenchmarkCheck100Pages(b *testing.B) {
	pages := make([]PageFacts, 100)
	for i := range pages {
		pages[i] = sheet(210, 297, 300)
		if i%10 == 0 {
			pages[i].ColorDepth = 8
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Check(pages, Rules{})
	}
}

// TestJBIG2SymbolCodingNoted: a page its scanner stored with JBIG2 pattern
// matching is noted in the findings (the record's warnings), not failed.
func TestJBIG2SymbolCodingNoted(t *testing.T) {
	a4 := sheet(210, 297, 300)
	res := Check([]PageFacts{a4, with(a4, func(p *PageFacts) { p.JBIG2Symbols = true })}, Rules{})
	if res.Failed() || len(res.Findings) != 1 {
		t.Fatalf("findings %+v; want one note, no failure", res.Findings)
	}
	if f := res.Findings[0]; f.Page != 2 || f.Rule != "jbig2" || !strings.Contains(f.Message, "JBIG2") {
		t.Errorf("finding %+v; want a jbig2 note for page 2", f)
	}
}
