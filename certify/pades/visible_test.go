package pades

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"scanstation/internal/judge"
)

func TestVisibleMarkOnPDFA(t *testing.T) {
	pki := rsaPKI()
	opt := vietnameseOptions()
	opt.Appearance = testAppearance(t, opt.Time)
	orig := pdfaPDF(t)
	signed := sign(t, orig, pki.signer, opt)
	path := writeTemp(t, "visible.pdf", signed)

	update := signed[len(orig):]
	for _, want := range []string{
		"/F 4/Rect [355 742 575 817]",
		"/BBox [0 0 220 75]",
		"/Subtype/Type0/BaseFont /LiberationSerif/Encoding/Identity-H",
		"/Subtype/CIDFontType2",
		"/CIDToGIDMap/Identity",
		"/FontFile2 ",
		"/ColorSpace/DeviceRGB/BitsPerComponent 8/Filter/FlateDecode/SMask ",
		"/ColorSpace/DeviceGray/BitsPerComponent 8/Filter/FlateDecode",
	} {
		if !bytes.Contains(update, []byte(want)) {
			t.Errorf("the update lacks %q", want)
		}
	}

	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || !r.CoversWholeFile || len(r.Problems) > 0 || r.Certification || r.Level != "B-B" {
		t.Errorf("Verify: intact=%v whole=%v certification=%v level=%q problems=%q", r.Intact, r.CoversWholeFile, r.Certification, r.Level, r.Problems)
	}
	if rep := judge.PDFA(t, path); !rep.Compliant {
		t.Errorf("veraPDF says the file with a visible mark is not PDF/A-2u:\n%s", rep.Summary())
	}
	if ps := judge.PdfSig(t, path); !ps.AllValidWhole() {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}
	if v := judge.PyHanko(t, path, judge.PyHankoOptions{Trust: []string{pki.writeCA(t)}}); !pyhankoField(t, v, "Signature1").BottomLine {
		t.Errorf("pyhanko does not judge the signature valid:\n%s", v)
	}
	if q := judge.QPDFCheck(t, path); !q.Clean() {
		t.Errorf("qpdf --check (exit %d):\n%s", q.ExitCode, q.Stdout)
	}

	// The mark's words, read back through its ToUnicode map, where the
	// widget is.
	out, ok := judge.Run(t, "pdftotext", "-bbox", "-f", "1", "-l", "1", path, "-")
	if !ok {
		t.Fatalf("pdftotext failed:\n%s", out)
	}
	words := bboxWords(t, out)
	const pageHeight = 841.89
	var seen []string
	for _, w := range words {
		// pdftotext's y runs down from the top of the page.
		if w.xMin < markRect[0]-1 || w.xMax > markRect[2]+1 || w.yMin < pageHeight-markRect[3]-1 || w.yMax > pageHeight-markRect[1]+1 {
			t.Errorf("the word %q is at x %.1f-%.1f, y %.1f-%.1f from the top, outside the mark's rectangle", w.text, w.xMin, w.xMax, w.yMin, w.yMax)
		}
		seen = append(seen, w.text)
	}
	if got, want := strings.Join(seen, " "), strings.Join(markLines(opt.Time), " "); got != want {
		t.Errorf("pdftotext reads the mark as %q, want %q", got, want)
	}

	// Rendered, the rectangle has black text and the red seal.
	dark, red := markPixels(t, path)
	if dark < 50 || red < 200 {
		t.Errorf("the rendered mark has %d dark and %d red pixels; the text or the seal is not drawn", dark, red)
	}
}

func TestVisibleMarkOnAnotherPage(t *testing.T) {
	// A two-page document: the mark goes where the Appearance says.
	p := newPDFBuilder()
	p.object("<</Type/Catalog/Pages 2 0 R>>")
	p.object("<</Type/Pages/Kids[3 0 R 4 0 R]/Count 2>>")
	p.object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>>>")
	p.object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>>>")
	two := p.finish()
	look := testAppearance(t, vietnameseOptions().Time)
	look.Page = 2
	signed := sign(t, two, rsaPKI().signer, Options{Appearance: look})
	path := writeTemp(t, "page2.pdf", signed)
	if out, ok := judge.Run(t, "pdftotext", "-f", "2", "-l", "2", path, "-"); !ok || !strings.Contains(out, "SAO Y") {
		t.Errorf("page 2 does not show the mark (pdftotext ok=%v):\n%s", ok, out)
	}
	if out, ok := judge.Run(t, "pdftotext", "-f", "1", "-l", "1", path, "-"); !ok || strings.Contains(out, "SAO Y") {
		t.Errorf("page 1 shows the mark meant for page 2 (pdftotext ok=%v):\n%s", ok, out)
	}
	if ps := judge.PdfSig(t, path); pdfsigValid(ps) != 1 {
		t.Errorf("pdfsig:\n%s", ps.Stdout)
	}

	look.Page = 3
	err := Sign(&bytes.Buffer{}, two, rsaPKI().signer, Options{Appearance: look})
	if err == nil || !strings.Contains(err.Error(), "page 3") {
		t.Errorf("signing onto a page the document does not have: %v", err)
	}
}

func TestAppearanceRefusals(t *testing.T) {
	at := vietnameseOptions().Time
	for _, c := range []struct {
		name  string
		spoil func(a *Appearance)
		want  string
	}{
		{"empty rectangle", func(a *Appearance) { a.Rect = [4]float64{10, 10, 10, 50} }, "no width or height"},
		{"negative page", func(a *Appearance) { a.Page = -1 }, "pages count from 1"},
		{"glyph without text", func(a *Appearance) {
			for g := range a.Fonts["F1"].ToUnicode {
				delete(a.Fonts["F1"].ToUnicode, g)
				break
			}
		}, "no Unicode text"},
		{"text that means none", func(a *Appearance) {
			for g := range a.Fonts["F1"].ToUnicode {
				a.Fonts["F1"].ToUnicode[g] = "\ufeff"
				break
			}
		}, "does not allow"},
		{"font not embedded", func(a *Appearance) { a.Fonts["F1"].Program = nil }, "no font program"},
		{"image of the wrong size", func(a *Appearance) { a.Images["Seal"].Width++ }, "colour samples"},
		{"alpha that is not zlib", func(a *Appearance) { a.Images["Seal"].Alpha = []byte("png?") }, "alpha samples"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := testAppearance(t, at)
			c.spoil(a)
			var out bytes.Buffer
			err := Sign(&out, minimalPDF(0), rsaPKI().signer, Options{Appearance: a})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Sign = %v, want an error saying %q", err, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("a refused signature wrote %d bytes", out.Len())
			}
		})
	}
}

func TestWidthsArray(t *testing.T) {
	got := widthsArray(map[uint16]float64{3: 250, 4: 333.0078125, 5: 500, 9: 722, 11: 0})
	if want := "[3[250 333.0078125 500]9[722]11[0]]"; got != want {
		t.Errorf("widthsArray = %s, want %s", got, want)
	}
	if got := widthsArray(nil); got != "[]" {
		t.Errorf("widthsArray(nil) = %s", got)
	}
}

func TestToUnicodeCMap(t *testing.T) {
	m := map[uint16]string{0x24: "A", 0x1a5: "ử", 0x3e8: "ffi"}
	for i := range 150 { // more than one bfchar block
		m[uint16(0x2000+i)] = "x"
	}
	cmap := string(toUnicodeCMap(m))
	for _, want := range []string{"<0024> <0041>\n", "<01A5> <1EED>\n", "<03E8> <006600660069>\n", "100 beginbfchar\n", "53 beginbfchar\n"} {
		if !strings.Contains(cmap, want) {
			t.Errorf("the CMap lacks %q", want)
		}
	}
}

type bboxWord struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

var wordRE = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

func bboxWords(t testing.TB, html string) []bboxWord {
	t.Helper()
	var words []bboxWord
	for _, m := range wordRE.FindAllStringSubmatch(html, -1) {
		var f [4]float64
		for i := range f {
			v, err := strconv.ParseFloat(m[i+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			f[i] = v
		}
		words = append(words, bboxWord{m[5], f[0], f[1], f[2], f[3]})
	}
	return words
}

// markPixels renders page 1 at 50 dpi and counts, inside the mark's
// rectangle, the dark pixels (text) and the red ones (seal).
func markPixels(t testing.TB, pdf string) (dark, red int) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	if _, ok := judge.Run(t, "pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", "-singlefile", pdf, prefix); !ok {
		t.Fatal("pdftoppm could not render the page")
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	const s, pageHeight = 50.0 / 72, 841.89
	r := image.Rect(int(markRect[0]*s), int((pageHeight-markRect[3])*s), int(markRect[2]*s)+1, int((pageHeight-markRect[1])*s)+1)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			cr, cg, cb = cr>>8, cg>>8, cb>>8
			switch {
			case cr > 150 && cg < 90 && cb < 90:
				red++
			case cr < 128 && cg < 128 && cb < 128:
				dark++
			}
		}
	}
	return dark, red
}

// BenchmarkSignContext signs a one-page PDF/A as the station would, with
// the key in memory (a token's own signing time comes on top).
// "visible" embeds the whole 390 KB Liberation Serif, so it mostly
// measures compressing the font program.
func BenchmarkSignContext(b *testing.B) {
	pdf := pdfaPDF(b)
	s := rsaPKI().signer
	srv := (&testTSA{t: b}).start()
	at := vietnameseOptions().Time
	for _, c := range []struct {
		name string
		opt  func() Options
	}{
		{"invisible", func() Options { return vietnameseOptions() }},
		{"visible", func() Options {
			o := vietnameseOptions()
			o.Appearance = testAppearance(b, at)
			return o
		}},
		{"visible+certify+TSA", func() Options {
			o := vietnameseOptions()
			o.Appearance = testAppearance(b, at)
			o.Certify = true
			o.TSA = &TSA{URL: srv.URL}
			return o
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			opt := c.opt()
			ctx := context.Background()
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := SignContext(ctx, &out, pdf, s, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.Len()-len(pdf)), "update-bytes")
		})
	}
}
