package pdfa

import (
	"bytes"
	"encoding/xml"
	"image"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseFontMetricsGlyphLessFont(t *testing.T) {
	m, err := parseFontMetrics(readFile(t, textFontPth))
	if err != nil {
		t.Fatal(err)
	}
	// Tesseract's pdf.ttf: 2048 units per em, glyph 1 half an em wide.
	if m.unitsPerEm != 2048 || m.advance != 1024 || m.numGlyphs < 2 || !m.fixedPitch {
		t.Errorf("metrics = %+v", m)
	}
	if got := m.scale(m.advance); got != 500 {
		t.Errorf("width in glyph space = %v, want 500", got)
	}
	if _, err := parseFontMetrics([]byte("not a font at all")); err == nil {
		t.Error("garbage accepted as a font")
	}
}

func TestTextCodes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint16
	}{
		{"Số:", []uint16{'S', 0x1ED1, ':'}},
		{"Ho\u0300a", []uint16{'H', 'o', 0x0300, 'a'}}, // combining grave kept as its own code
		{"  a \t b  ", []uint16{'a', ' ', 'b'}},
		{"a\x00\uFEFF\uFFFEb", []uint16{'a', 'b'}},
		{"x😀", []uint16{'x', 0xFFFD}},
		{"\x00", nil},
	} {
		got := textCodes(tc.in, nil)
		if len(got) != len(tc.want) {
			t.Errorf("textCodes(%q) = %U, want %U", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("textCodes(%q) = %U, want %U", tc.in, got, tc.want)
				break
			}
		}
	}
}

func TestLayoutWordsLines(t *testing.T) {
	g := newPageGeometry(&Image{Width: 720, Height: 720, DPIX: 72, DPIY: 72}, 0, 0) // 1 px = 1 pt
	words := []Word{
		{"Hạnh", image.Rect(100, 100, 140, 120)}, // line 1, 20 tall
		{"phúc", image.Rect(150, 98, 190, 124)},  // same line, taller with diacritics and descender
		{"Số:", image.Rect(100, 200, 130, 220)},  // line 2
		{"", image.Rect(140, 200, 160, 220)},     // nothing to write: dropped
		{"x", image.Rect(170, 200, 170, 220)},    // empty box: dropped
	}
	got := layoutWords(words, g, 0.5)
	if len(got) != 3 {
		t.Fatalf("placed %d words, want 3: %+v", len(got), got)
	}
	a, b, c := got[0], got[1], got[2]
	if !a.lineHead || b.lineHead || !c.lineHead {
		t.Errorf("line heads = %v %v %v, want true false true", a.lineHead, b.lineHead, c.lineHead)
	}
	// One line: one baseline at the line's bottom (y up: 720-124) and one
	// size, the line's full height (124-98).
	if a.y != 596 || b.y != 596 || a.size != 26 || b.size != 26 {
		t.Errorf("line 1 baselines %v %v sizes %v %v, want 596 and 26", a.y, b.y, a.size, b.size)
	}
	// "Hạnh " runs to where "phúc" starts: 5 codes × 0.5 em × 26 × Tz = 50.
	if string(rune(a.codes[len(a.codes)-1])) != " " || math.Abs(a.hscale/100*5*0.5*26-50) > 1e-9 {
		t.Errorf("first word codes %U scale %v", a.codes, a.hscale)
	}
	// The last word of a line fills its own box and has no space.
	if len(b.codes) != 4 || math.Abs(b.hscale/100*4*0.5*26-40) > 1e-9 || b.x != 150 {
		t.Errorf("last word codes %U scale %v x %v", b.codes, b.hscale, b.x)
	}
	if c.y != 500 || c.size != 20 {
		t.Errorf("line 2 at %v size %v", c.y, c.size)
	}
}

// The text layer's matrix must carry each upright box back onto the box
// OCR found in the stored image, for every rotation.
func TestUprightBoxRoundTrip(t *testing.T) {
	img := &Image{Width: 600, Height: 900, DPIX: 150, DPIY: 300}
	box := image.Rect(60, 90, 240, 120)
	for _, rot := range []int{0, 90, 180, 270} {
		g := newPageGeometry(img, rot, 0)
		u := g.uprightBox(box)
		m := g.uprightToStored()
		ax, ay := m.apply(u.x0, u.y0)
		bx, by := m.apply(u.x1, u.y1)
		got := rect{math.Min(ax, bx), math.Min(ay, by), math.Max(ax, bx), math.Max(ay, by)}
		want := rect{60 * g.sx, g.h - 120*g.sy, 240 * g.sx, g.h - 90*g.sy}
		for i, v := range []float64{got.x0 - want.x0, got.y0 - want.y0, got.x1 - want.x1, got.y1 - want.y1} {
			if math.Abs(v) > 1e-9 {
				t.Errorf("rotate %d: coordinate %d off by %v: got %+v want %+v", rot, i, v, got, want)
			}
		}
		// Upright page size: the media box, turned.
		uw, uh := g.w, g.h
		if rot == 90 || rot == 270 {
			uw, uh = uh, uw
		}
		if u.x0 < 0 || u.y0 < 0 || u.x1 > uw || u.y1 > uh {
			t.Errorf("rotate %d: upright box %+v outside the %v × %v page", rot, u, uw, uh)
		}
	}
}

func TestAppendNum(t *testing.T) {
	for in, want := range map[float64]string{
		595.2: "595.2", 841.92: "841.92", 0: "0", -0.00001: "0", 1: "1", -12.5: "-12.5", 0.99996: "1", 1e-4: "0.0001",
	} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestDates(t *testing.T) {
	ict := time.Date(2020, 6, 5, 16, 43, 18, 0, time.FixedZone("", 7*3600))
	if got := xmpDate(ict); got != "2020-06-05T16:43:18+07:00" {
		t.Errorf("xmpDate = %q", got)
	}
	if got := pdfDate(ict); got != "D:20200605164318+07'00'" {
		t.Errorf("pdfDate = %q", got)
	}
	nfld := time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(3*3600+30*60)))
	if got := pdfDate(nfld); got != "D:20200102030405-03'30'" {
		t.Errorf("pdfDate = %q", got)
	}
}

func TestPDFTextString(t *testing.T) {
	for in, want := range map[string]string{
		"a (b) \\c":      `(a \(b\) \\c)`,
		"So\u0302\u0301": "<FEFF0053006F03020301>",
		"Số":             "<FEFF00531ED1>",
	} {
		if got := pdfTextString(in); got != want {
			t.Errorf("pdfTextString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestXMPWellFormed(t *testing.T) {
	title := cleanText("Quyết định <số 12> & \"khẩn\"\r\x01")
	var p xmpPacket
	p.add(xmpSchema{ns: nsDC, prefix: "dc", props: []xmpProp{{name: "title", value: title, altLang: true}}})
	p.add(xmpSchema{ns: "https://x.example/ns/", prefix: "conv", custom: true, description: "a & b",
		props: []xmpProp{{name: "Operator", value: "Nguyễn <Văn> A"}}, propDescs: []string{"who"}})
	packet := p.bytes()
	dec := xml.NewDecoder(bytes.NewReader(packet))
	var text []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, packet)
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			text = append(text, string(cd))
		}
	}
	joined := strings.Join(text, "|")
	for _, want := range []string{title, "Nguyễn <Văn> A", "a & b", "https://x.example/ns/"} {
		if !strings.Contains(joined, want) {
			t.Errorf("packet text %q lacks %q", joined, want)
		}
	}
	if strings.ContainsRune(title, '\x01') || strings.ContainsRune(title, '\r') {
		t.Errorf("cleanText left characters XML cannot carry: %q", title)
	}
}

func TestCheckRejects(t *testing.T) {
	good := func() *Document {
		d := baseDocument(t)
		d.Pages = []Page{{Image: rgbFlateImage(t, 16, 16, 100)}, {Image: jpegImage(t, 32, 24, 200)}}
		return d
	}
	if err := Write(io.Discard, good()); err != nil {
		t.Fatalf("good document refused: %v", err)
	}
	for name, tc := range map[string]struct {
		spoil func(*Document)
		want  string
	}{
		"no pages":         {func(d *Document) { d.Pages = nil }, "no pages"},
		"no ICC":           {func(d *Document) { d.OutputICC = nil }, "colour profile"},
		"no dpi":           {func(d *Document) { d.Pages[1].Image.DPIY = 0 }, "page 2: image resolution"},
		"JPEG size":        {func(d *Document) { d.Pages[1].Image.Width = 33 }, "page 2: JPEG image is 32×24"},
		"JPEG as gray":     {func(d *Document) { d.Pages[1].Image.ColorSpace = Gray }, "3 colour components"},
		"raw not zlib":     {func(d *Document) { d.Pages[0].Image.Data = []byte{1, 2, 3} }, "page 1: image data is not zlib"},
		"1-bit RGB":        {func(d *Document) { d.Pages[0].Image.BitsPerComponent = 1 }, "page 1: 1 bits"},
		"odd rotation":     {func(d *Document) { d.Pages[0].Rotate = 45 }, "page 1: rotation 45"},
		"filter":           {func(d *Document) { d.Pages[0].Image.Filter = "LZWDecode" }, "not supported"},
		"font":             {func(d *Document) { d.Pages[0].Words = []Word{{"a", image.Rect(0, 0, 4, 4)}}; d.TextFont = []byte("x") }, "pdf.ttf"},
		"XMP prefix":       {func(d *Document) { d.ExtraXMP = []XMPSchema{{Namespace: "https://x/", Prefix: "dc"}} }, "prefix \"dc\""},
		"XMP dc namespace": {func(d *Document) { d.ExtraXMP = []XMPSchema{{Namespace: nsDC, Prefix: "x1"}} }, "standard one"},
		"XMP namespace":    {func(d *Document) { d.ExtraXMP = []XMPSchema{{Namespace: "https://x", Prefix: "x1"}} }, "must end in"},
	} {
		d := good()
		tc.spoil(d)
		var out bytes.Buffer
		err := Write(&out, d)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one mentioning %q", name, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: %d bytes written for a refused document", name, out.Len())
		}
	}
}

// TestFileStructure checks the byte-level rules of PDF/A that are easy to
// get subtly wrong: exact xref offsets, stream lengths, the end of file.
func TestFileStructure(t *testing.T) {
	doc := baseDocument(t)
	for _, p := range validationPages(t)[:2] {
		doc.Pages = append(doc.Pages, p.page)
	}
	var b bytes.Buffer
	if err := Write(&b, doc); err != nil {
		t.Fatal(err)
	}
	pdf := b.Bytes()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.7\n%")) || pdf[10] < 128 || pdf[11] < 128 || pdf[12] < 128 || pdf[13] < 128 {
		t.Errorf("header = %q", pdf[:16])
	}
	if !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Errorf("file ends %q", pdf[len(pdf)-10:])
	}
	start, err := strconv.Atoi(string(regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(pdf)[1]))
	if err != nil || !bytes.HasPrefix(pdf[start:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", start)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n\r\n`).FindAllSubmatch(pdf[start:], -1)
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := strconv.Itoa(i+1) + " 0 obj\n"; !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q", i+1, pdf[off:off+12])
		}
	}
	streams := regexp.MustCompile(`/Length (\d+)>>\nstream\n`).FindAllSubmatchIndex(pdf, -1)
	for _, s := range streams {
		n, _ := strconv.Atoi(string(pdf[s[2]:s[3]]))
		if !bytes.HasPrefix(pdf[s[1]+n:], []byte("\nendstream\n")) {
			t.Errorf("stream at %d: /Length %d is not where endstream is", s[0], n)
		}
	}
	if len(entries) < 10 || len(streams) < 5 {
		t.Errorf("found only %d objects and %d streams", len(entries), len(streams))
	}
	// Same document, same bytes (the /ID comes from the content).
	var again bytes.Buffer
	Write(&again, doc)
	if !bytes.Equal(pdf, again.Bytes()) {
		t.Error("writing the same document twice gave different files")
	}
}

// TestWriteWithoutTextValidates covers pages where OCR found nothing
// usable: no font is written at all, and the file must still be PDF/A-2u.
func TestWriteWithoutTextValidates(t *testing.T) {
	doc := baseDocument(t)
	doc.Title = ""
	doc.TextFont = nil
	doc.Pages = []Page{{Image: bilevelImage(t, 400, 300, 100), Rotate: 90}}
	if err := Write(io.Discard, doc); err != nil {
		t.Fatalf("a document without words needs no font, but: %v", err)
	}
	// Words that are only blanks and characters that cannot be written.
	doc.TextFont = readFile(t, textFontPth)
	doc.Pages = append(doc.Pages, Page{Image: rgbFlateImage(t, 100, 100, 100),
		Words: []Word{{" ", image.Rect(1, 1, 20, 20)}, {"\x00\uFEFF", image.Rect(30, 1, 50, 20)}}})
	path := writeTemp(t, doc)
	if rep := veraPDF(t, path); !rep.Compliant {
		t.Fatalf("veraPDF says the file is not PDF/A-2u:\n%s", rep.Summary())
	}
	if text := run(t, "pdffonts", path); strings.Contains(text, fontName) {
		t.Errorf("a font was written for pages without text:\n%s", text)
	}
}
