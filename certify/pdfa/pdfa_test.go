package pdfa

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

const (
	sRGBPath    = "/usr/share/color/icc/sRGB.icc"
	textFontPth = "/usr/share/tesseract-ocr/5/tessdata/pdf.ttf"
)

// The lines of a Vietnamese official letter head, as OCR would give them.
var letterLines = []string{
	"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
	"Độc lập - Tự do - Hạnh phúc",
	"Số: 2417/UBND-VP",
	"Bà Rịa - Vũng Tàu, ngày 05 tháng 6 năm 2020",
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test needs %s: %v", path, err)
	}
	return b
}

// output runs an outside tool and returns its stdout and exit code. Its stderr is kept out
// of the answer and shown only when the test fails. A tool that is not installed, or cannot
// be started, fails the test: it never skips it (scripts/setup.sh installs them). This
// package's tests cannot use internal/judge, which imports this package.
func output(t testing.TB, cmd *exec.Cmd) (stdout string, code int) {
	t.Helper()
	name := filepath.Base(cmd.Path)
	if cmd.Err != nil {
		t.Fatalf("%s is not installed; scripts/setup.sh installs it (a tool that is missing fails the test): %v", name, cmd.Err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", name, err)
	}
	if errOut.Len() > 0 {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s wrote on stderr (not read as its answer):\n%s", strings.Join(cmd.Args, " "), errOut.String())
			}
		})
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// veraPDF is veraPDF's verdict on a file against PDF/A-2u, read from its XML report on
// stdout.
func veraPDF(t testing.TB, path string) VeraPDFReport {
	t.Helper()
	out, code := output(t, exec.Command("verapdf", "--flavour", "2u", "--format", "xml", path))
	rep, err := ParseVeraPDFReport(strings.NewReader(out))
	if err != nil {
		t.Fatalf("veraPDF on %s (exit %d): %v", path, code, err)
	}
	return rep
}

// uprightWords lays lines of text out as OCR would find them on the
// upright page (pixels, origin top left): 40 px tall words, one line every
// 80 px from (200, 200), a character ~22 px wide and a space 20 px.
func uprightWords(lines []string, dpi float64) []Word {
	scale := dpi / 300
	var words []Word
	for li, line := range lines {
		x := 200.0
		y := 200 + 80*float64(li)
		for _, w := range strings.Fields(line) {
			n := float64(len([]rune(norm.NFC.String(w))))
			r := image.Rect(int(x*scale), int(y*scale), int((x+22*n)*scale), int((y+40)*scale))
			words = append(words, Word{Text: w, Box: r})
			x += 22*n + 20
		}
	}
	return words
}

// storeRotated gives the word boxes as they lie in an image stored turned
// so that a viewer must rotate it clockwise by rot to see it upright;
// uw, uh is the upright image size in pixels.
func storeRotated(words []Word, rot, uw, uh int) []Word {
	out := make([]Word, len(words))
	for i, w := range words {
		r := w.Box
		var s image.Rectangle
		switch rot {
		case 0:
			s = r
		case 90: // stored = upright turned counter-clockwise
			s = image.Rect(r.Min.Y, uw-r.Max.X, r.Max.Y, uw-r.Min.X)
		case 180:
			s = image.Rect(uw-r.Max.X, uh-r.Max.Y, uw-r.Min.X, uh-r.Min.Y)
		case 270: // stored = upright turned clockwise
			s = image.Rect(uh-r.Max.Y, r.Min.X, uh-r.Min.Y, r.Max.X)
		}
		out[i] = Word{Text: w.Text, Box: s}
	}
	return out
}

// testImage is a light page with dark bars where the text lines are, so
// the scan is not blank.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{250, 248, 240, 255}
			if (y/40)%4 == 1 && x > w/8 && x < w*7/8 {
				c = color.RGBA{40, 40, 60, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegImage(t testing.TB, w, h int, dpi float64) Image {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	return Image{Width: w, Height: h, DPIX: dpi, DPIY: dpi, ColorSpace: RGB, BitsPerComponent: 8, Filter: "DCTDecode", Data: b.Bytes()}
}

func zlibBytes(t testing.TB, raw []byte) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rgbFlateImage(t testing.TB, w, h int, dpi float64) Image {
	src := testImage(w, h)
	raw := make([]byte, 0, w*h*3)
	for i := 0; i < len(src.Pix); i += 4 {
		raw = append(raw, src.Pix[i], src.Pix[i+1], src.Pix[i+2])
	}
	return Image{Width: w, Height: h, DPIX: dpi, DPIY: dpi, ColorSpace: RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: zlibBytes(t, raw)}
}

func bilevelImage(t testing.TB, w, h int, dpi float64) Image {
	stride := (w + 7) / 8
	raw := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			white := !((y/20)%4 == 1 && x > w/8 && x < w*7/8)
			if white { // 1 is white in DeviceGray
				raw[y*stride+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return Image{Width: w, Height: h, DPIX: dpi, DPIY: dpi, ColorSpace: Gray, BitsPerComponent: 1, Filter: "FlateDecode", Data: zlibBytes(t, raw)}
}

func baseDocument(t testing.TB) *Document {
	return &Document{
		Title:     "Công văn số 2417/UBND-VP — sao y <bản chính> & \"lưu\"",
		Creator:   "scanstation test",
		Producer:  "scanstation/certify/pdfa",
		Created:   time.Date(2020, 6, 5, 16, 43, 18, 0, time.FixedZone("ICT", 7*3600)),
		OutputICC: readFile(t, sRGBPath),
		TextFont:  readFile(t, textFontPth),
	}
}

// writeTemp writes doc to a file in a test directory and returns its path.
func writeTemp(t *testing.T, doc *Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, doc); err != nil {
		t.Fatalf("Write: %v", err)
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs an outside tool that must exit 0 and returns its stdout.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, code := output(t, exec.Command(name, args...))
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

// skewWords gives the boxes the words have in a scan that came out turned
// by skew degrees clockwise (so Page.Skew = skew straightens it): each box
// centre turned about the image centre, the box size kept.
func skewWords(words []Word, skew float64, w, h int) []Word {
	s, c := math.Sincos(-skew * math.Pi / 180)
	out := make([]Word, len(words))
	for i, wd := range words {
		// y grows downwards in pixels; turn in y-up coordinates.
		cx := float64(wd.Box.Min.X+wd.Box.Max.X)/2 - float64(w)/2
		cy := float64(h)/2 - float64(wd.Box.Min.Y+wd.Box.Max.Y)/2
		nx, ny := c*cx-s*cy, s*cx+c*cy
		px, py := nx+float64(w)/2, float64(h)/2-ny
		hw, hh := float64(wd.Box.Dx())/2, float64(wd.Box.Dy())/2
		out[i] = Word{Text: wd.Text, Box: image.Rect(int(math.Round(px-hw)), int(math.Round(py-hh)), int(math.Round(px+hw)), int(math.Round(py+hh)))}
	}
	return out
}

// testPage is a page of the validation document with what the checks
// expect of it.
type testPage struct {
	page     Page
	upright  []Word  // the words' boxes on the upright page, in pixels
	dpi      float64 // both directions
	wPt, hPt float64 // stored page size in points
}

func validationPages(t testing.TB) []testPage {
	mk := func(img Image, rot int, skew float64, uw, uh int) testPage {
		up := uprightWords(letterLines, img.DPIX)
		stored := storeRotated(up, rot, uw, uh)
		if skew != 0 {
			stored = skewWords(stored, skew, img.Width, img.Height)
		}
		return testPage{
			page:    Page{Image: img, Words: stored, Rotate: rot, Skew: skew},
			upright: up,
			dpi:     img.DPIX,
			wPt:     float64(img.Width) / img.DPIX * 72,
			hPt:     float64(img.Height) / img.DPIY * 72,
		}
	}
	return []testPage{
		// A5 portrait at 300 dpi, JPEG passed through.
		mk(jpegImage(t, 1748, 2480, 300), 0, 0, 1748, 2480),
		// Letter at 100 dpi, RGB samples, stored upside down.
		mk(rgbFlateImage(t, 850, 1100, 100), 180, 0, 850, 1100),
		// Letter at 150 dpi, black and white, scanned 1.5° askew.
		mk(bilevelImage(t, 1275, 1650, 150), 0, 1.5, 1275, 1650),
		// Portrait pages stored lying on their side, both ways.
		mk(rgbFlateImage(t, 1100, 850, 100), 90, 0, 850, 1100),
		mk(rgbFlateImage(t, 1100, 850, 100), 270, 0, 850, 1100),
	}
}

// TestWriteValidates writes one document with every kind of page and lets
// the real tools judge it.
func TestWriteValidates(t *testing.T) {
	pages := validationPages(t)
	doc := baseDocument(t)
	for _, p := range pages {
		doc.Pages = append(doc.Pages, p.page)
	}
	doc.ExtraXMP = []XMPSchema{{
		Namespace:   "https://scanstation.example/ns/conversion/1.0/",
		Prefix:      "conv",
		Description: "Dấu chuyển đổi từ giấy (Luật Giao dịch điện tử 2023, Điều 12)",
		Properties: []XMPProperty{
			{Name: "Agency", Value: "UBND tỉnh Bà Rịa - Vũng Tàu", Description: "Cơ quan chuyển đổi"},
			{Name: "SourceSHA256", Value: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Description: "SHA-256 of the scanned source file"},
		},
	}}
	path := writeTemp(t, doc)
	dir := filepath.Dir(path)

	t.Run("veraPDF", func(t *testing.T) {
		if rep := veraPDF(t, path); !rep.Compliant {
			t.Fatalf("veraPDF says the file is not PDF/A-2u:\n%s", rep.Summary())
		}
	})

	t.Run("qpdf", func(t *testing.T) {
		out := run(t, "qpdf", "--check", path)
		if !strings.Contains(out, "No syntax or stream encoding errors found") {
			t.Fatalf("qpdf --check:\n%s", out)
		}
	})

	t.Run("pdfinfo", func(t *testing.T) {
		out := run(t, "pdfinfo", "-f", "1", "-l", strconv.Itoa(len(pages)), path)
		for i, p := range pages {
			m := regexp.MustCompile(fmt.Sprintf(`Page +%d size: +([0-9.]+) x ([0-9.]+) pts`, i+1)).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no size for page %d in:\n%s", i+1, out)
			}
			w, _ := strconv.ParseFloat(m[1], 64)
			h, _ := strconv.ParseFloat(m[2], 64)
			if math.Abs(w-p.wPt) > 0.01 || math.Abs(h-p.hPt) > 0.01 {
				t.Errorf("page %d is %v × %v pt, want %v × %v (pixels / dpi × 72)", i+1, w, h, p.wPt, p.hPt)
			}
			if !regexp.MustCompile(fmt.Sprintf(`Page +%d rot: +%d\n`, i+1, p.page.Rotate)).MatchString(out) {
				t.Errorf("page %d: rotation %d not reported by pdfinfo:\n%s", i+1, p.page.Rotate, out)
			}
		}
		if got, want := regexp.MustCompile(`(?m)^Title: +(.*)$`).FindStringSubmatch(out), doc.Title; got == nil || got[1] != want {
			t.Errorf("title = %q, want %q", got, want)
		}
		// A5 at 300 dpi must be A5 to within half a point.
		if math.Abs(pages[0].wPt-419.53) > 0.5 || math.Abs(pages[0].hPt-595.28) > 0.5 {
			t.Errorf("A5 page is %v × %v pt", pages[0].wPt, pages[0].hPt)
		}
	})

	t.Run("pdftotext", func(t *testing.T) {
		want := strings.Join(strings.Fields(norm.NFC.String(strings.Join(letterLines, " "))), " ")
		for i := range pages {
			n := strconv.Itoa(i + 1)
			got := run(t, "pdftotext", "-f", n, "-l", n, path, "-")
			got = strings.Join(strings.Fields(norm.NFC.String(got)), " ")
			if got != want {
				t.Errorf("page %d (rotate %d, skew %v) text:\n got %q\nwant %q", i+1, pages[i].page.Rotate, pages[i].page.Skew, got, want)
			}
			// With -layout each OCR line must come out as one line.
			layout := run(t, "pdftotext", "-layout", "-f", n, "-l", n, path, "-")
			var lines []string
			for _, l := range strings.Split(norm.NFC.String(layout), "\n") {
				if l = strings.Join(strings.Fields(l), " "); l != "" {
					lines = append(lines, l)
				}
			}
			if strings.Join(lines, "\n") != norm.NFC.String(strings.Join(letterLines, "\n")) {
				t.Errorf("page %d: pdftotext -layout lines:\n%s", i+1, layout)
			}
		}
	})

	t.Run("word boxes", func(t *testing.T) {
		// pdftotext -bbox reports word boxes on the page as the viewer
		// shows it (after /Rotate, y down), in points. The left edge and
		// the top and bottom must lie on the OCR box; the right edge runs
		// on to the following space, so it is not compared.
		out := run(t, "pdftotext", "-bbox", path, "-")
		pageRE := regexp.MustCompile(`(?s)<page [^>]*>(.*?)</page>`)
		wordRE := regexp.MustCompile(`<word xMin="([-0-9.]+)" yMin="([-0-9.]+)" xMax="[-0-9.]+" yMax="([-0-9.]+)">([^<]*)</word>`)
		got := pageRE.FindAllStringSubmatch(out, -1)
		if len(got) != len(pages) {
			t.Fatalf("pdftotext -bbox found %d pages, want %d", len(got), len(pages))
		}
		for i, p := range pages {
			words := wordRE.FindAllStringSubmatch(got[i][1], -1)
			if len(words) != len(p.upright) {
				t.Errorf("page %d: %d words, want %d", i+1, len(words), len(p.upright))
				continue
			}
			k := 72 / p.dpi
			for j, w := range words {
				want := p.upright[j]
				x0, _ := strconv.ParseFloat(w[1], 64)
				y0, _ := strconv.ParseFloat(w[2], 64)
				y1, _ := strconv.ParseFloat(w[3], 64)
				// Half a point of slack: boxes are whole pixels, and on the
				// skewed page they were rounded once more.
				if math.Abs(x0-float64(want.Box.Min.X)*k) > 0.5 || math.Abs(y0-float64(want.Box.Min.Y)*k) > 0.5 || math.Abs(y1-float64(want.Box.Max.Y)*k) > 0.5 {
					t.Errorf("page %d word %q at x=%v y=%v..%v pt, want x=%v y=%v..%v", i+1, w[4], x0, y0, y1,
						float64(want.Box.Min.X)*k, float64(want.Box.Min.Y)*k, float64(want.Box.Max.Y)*k)
				}
			}
		}
	})

	t.Run("pdfimages", func(t *testing.T) {
		prefix := filepath.Join(dir, "img")
		run(t, "pdfimages", "-j", "-f", "1", "-l", "1", path, prefix)
		got := readFile(t, prefix+"-000.jpg")
		if sha256.Sum256(got) != sha256.Sum256(pages[0].page.Image.Data) {
			t.Errorf("the JPEG in the PDF (%d bytes) differs from the input (%d bytes)", len(got), len(pages[0].page.Image.Data))
		}
	})

	t.Run("XMP", func(t *testing.T) {
		out := run(t, "pdfinfo", "-meta", path)
		// Well-formed XML with the Vietnamese title and the extra property.
		dec := xml.NewDecoder(strings.NewReader(out[strings.Index(out, "<x:xmpmeta") : strings.Index(out, "</x:xmpmeta>")+len("</x:xmpmeta>")]))
		var titles, agencies []string
		var path []string
		for {
			tok, err := dec.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("XMP is not well-formed: %v\n%s", err, out)
				}
				break
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				path = append(path, tok.Name.Local)
			case xml.EndElement:
				path = path[:len(path)-1]
			case xml.CharData:
				if len(path) >= 2 && path[len(path)-1] == "li" && path[len(path)-3] == "title" {
					titles = append(titles, string(tok))
				}
				if path[len(path)-1] == "Agency" {
					agencies = append(agencies, string(tok))
				}
			}
		}
		if len(titles) != 1 || titles[0] != doc.Title {
			t.Errorf("dc:title = %q, want %q", titles, doc.Title)
		}
		if len(agencies) != 1 || agencies[0] != doc.ExtraXMP[0].Properties[0].Value {
			t.Errorf("conv:Agency = %q", agencies)
		}
	})
}

// BenchmarkWrite writes a 10-page document of A4 JPEG pages at 300 dpi
// with 400 words each.
func BenchmarkWrite(b *testing.B) {
	img := jpegImage(b, 2480, 3508, 300)
	var lines []string
	for i := 0; i < 10; i++ {
		lines = append(lines, letterLines...)
	}
	words := uprightWords(lines, 300)
	doc := baseDocument(b)
	for i := 0; i < 10; i++ {
		doc.Pages = append(doc.Pages, Page{Image: img, Words: words, Skew: 0.3})
	}
	var out bytes.Buffer
	if err := Write(&out, doc); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d pages, %d words each, %d bytes of JPEG each, PDF %d bytes", len(doc.Pages), len(words), len(img.Data), out.Len())
	b.SetBytes(int64(out.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, doc); err != nil {
			b.Fatal(err)
		}
	}
}
