package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"

	"scanstation/internal/samplescan"
)

// Bounds measured on synthetic 300 dpi pages with Debian's vie+eng models
// (see the package documentation). The upright page's errors are mostly tone
// marks lost on bold all-caps headings; the bounds leave room for noise, not
// for a regression to unreadable text.
const (
	maxCERUpright = 0.03
	maxCERTurned  = 0.04
)

func newEngine(t testing.TB, opt Options) *Engine {
	t.Helper()
	e, err := NewEngine(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// page renders opt and encodes it as a 300 dpi JPEG, as a scanner would.
func page(t testing.TB, opt samplescan.Options) (image.Image, []byte) {
	t.Helper()
	img, err := samplescan.Render(opt)
	if err != nil {
		t.Fatal(err)
	}
	return img, encodeJPEG(t, img)
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := samplescan.WriteJPEG(&buf, img, 300, 90); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// turn90 turns img by 90°, clockwise or counter-clockwise.
func turn90(img image.Image, clockwise bool) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.At(b.Min.X+x, b.Min.Y+y)
			if clockwise {
				out.Set(h-1-y, x, c)
			} else {
				out.Set(y, w-1-x, c)
			}
		}
	}
	return out
}

// cer is the character error rate of got against want: the edit distance
// between the two texts in NFC, with runs of white space made one space,
// divided by the length of want.
func cer(want, got string) float64 {
	a := []rune(strings.Join(strings.Fields(norm.NFC.String(want)), " "))
	b := []rune(strings.Join(strings.Fields(norm.NFC.String(got)), " "))
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(max(1, len(a)))
}

func truth(opt samplescan.Options) string {
	return strings.Join(samplescan.Text(opt), "\n")
}

// inkTopLeft finds where the first text line was drawn: the top-most dark
// row, and the left-most dark column within the 60 rows below it.
func inkTopLeft(img image.Image) image.Point {
	b := img.Bounds()
	dark := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return (r+g+bl)/3 < 0x8000
	}
	top := -1
	for y := b.Min.Y; y < b.Max.Y && top < 0; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				top = y
				break
			}
		}
	}
	left := b.Max.X
	for y := top; y < min(top+60, b.Max.Y); y++ {
		for x := b.Min.X; x < left; x++ {
			if dark(x, y) {
				left = x
				break
			}
		}
	}
	return image.Pt(left, top)
}

func checkBoxesInside(t *testing.T, res *Result, bounds image.Rectangle) {
	t.Helper()
	for _, w := range res.Words {
		if w.Box.Empty() || !w.Box.In(bounds) {
			t.Errorf("word %q has box %v outside the image %v", w.Text, w.Box, bounds)
		}
	}
}

func TestRecognizeUpright(t *testing.T) {
	opt := samplescan.Options{}
	img, data := page(t, opt)
	res, err := newEngine(t, Options{}).Recognize(data)
	if err != nil {
		t.Fatal(err)
	}
	got := cer(truth(opt), res.Text())
	t.Logf("upright: %d words, CER %.4f, mean confidence %.1f, skew %.2f\n%s",
		len(res.Words), got, res.MeanConfidence, res.Skew, res.Text())
	if got > maxCERUpright {
		t.Errorf("CER %.4f above %.2f", got, maxCERUpright)
	}
	if res.Orientation != 0 {
		t.Errorf("Orientation %d, want 0", res.Orientation)
	}
	if math.Abs(res.Skew) > 0.3 {
		t.Errorf("Skew %.2f on a straight page", res.Skew)
	}
	if res.MeanConfidence < 85 || res.MeanConfidence > 100 {
		t.Errorf("MeanConfidence %.1f, want 85..100 on a clean page", res.MeanConfidence)
	}
	checkBoxesInside(t, res, img.Bounds())
	first := res.Words[0]
	drawn := inkTopLeft(img)
	if first.Text != "ỦY" {
		t.Errorf("first word %q, want ỦY", first.Text)
	}
	if d := first.Box.Min.Sub(drawn); abs(d.X) > 8 || abs(d.Y) > 8 {
		t.Errorf("first word box starts at %v, the ink at %v", first.Box.Min, drawn)
	}
	if res.Words[len(res.Words)-1].Line < 15 {
		t.Errorf("only %d lines found", res.Words[len(res.Words)-1].Line+1)
	}
}

func abs(v int) int { return max(v, -v) }

func TestRecognizeUpsideDown(t *testing.T) {
	opt := samplescan.Options{UpsideDown: true}
	img, data := page(t, opt)
	res, err := newEngine(t, Options{}).Recognize(data)
	if err != nil {
		t.Fatal(err)
	}
	got := cer(truth(opt), res.Text())
	t.Logf("upside down: CER %.4f, orientation %d, confidence %.1f", got, res.Orientation, res.MeanConfidence)
	if res.Orientation != 180 {
		t.Errorf("Orientation %d, want 180", res.Orientation)
	}
	if got > maxCERTurned {
		t.Errorf("CER %.4f above %.2f:\n%s", got, maxCERTurned, res.Text())
	}
	checkBoxesInside(t, res, img.Bounds())
	// Boxes are in the image as given: the first word read lies at the
	// bottom right, where the upright page's first word ended up.
	upright, _ := samplescan.Render(samplescan.Options{})
	drawn := inkTopLeft(upright)
	b := img.Bounds()
	wantMax := image.Pt(b.Dx()-drawn.X, b.Dy()-drawn.Y)
	if d := res.Words[0].Box.Max.Sub(wantMax); abs(d.X) > 8 || abs(d.Y) > 8 {
		t.Errorf("first word %q box %v, want it to end near %v", res.Words[0].Text, res.Words[0].Box, wantMax)
	}
}

func TestRecognizeTurned90(t *testing.T) {
	upright, _ := page(t, samplescan.Options{})
	e := newEngine(t, Options{})
	for _, tt := range []struct {
		clockwise bool
		want      int
	}{{true, 270}, {false, 90}} {
		img := turn90(upright, tt.clockwise)
		res, err := e.Recognize(encodeJPEG(t, img))
		if err != nil {
			t.Fatal(err)
		}
		got := cer(truth(samplescan.Options{}), res.Text())
		t.Logf("turned clockwise=%v: orientation %d, CER %.4f, skew %.2f", tt.clockwise, res.Orientation, got, res.Skew)
		if res.Orientation != tt.want {
			t.Errorf("turned clockwise=%v: Orientation %d, want %d", tt.clockwise, res.Orientation, tt.want)
		}
		if got > maxCERTurned {
			t.Errorf("turned clockwise=%v: CER %.4f above %.2f", tt.clockwise, got, maxCERTurned)
		}
		if math.Abs(res.Skew) > 0.3 {
			t.Errorf("turned clockwise=%v: Skew %.2f on a straight page", tt.clockwise, res.Skew)
		}
		checkBoxesInside(t, res, img.Bounds())
	}
}

func TestRecognizeSkewed(t *testing.T) {
	e := newEngine(t, Options{})
	for _, tt := range []samplescan.Options{{Skew: 2}, {Skew: -2, Gray: true}, {Skew: 1.5, UpsideDown: true}} {
		_, data := page(t, tt)
		res, err := e.Recognize(data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: skew %.2f, orientation %d, CER %.4f", tt, res.Skew, res.Orientation, cer(truth(tt), res.Text()))
		// samplescan turns the content clockwise by Skew; the straightening
		// turn is counter-clockwise by the same angle.
		if math.Abs(res.Skew-tt.Skew) > 0.7 {
			t.Errorf("%+v: Skew %.2f, want %.1f ± 0.7", tt, res.Skew, tt.Skew)
		}
		if wantO := map[bool]int{false: 0, true: 180}[tt.UpsideDown]; res.Orientation != wantO {
			t.Errorf("%+v: Orientation %d, want %d", tt, res.Orientation, wantO)
		}
	}
}

func TestRecognizeBlankPage(t *testing.T) {
	_, data := page(t, samplescan.Options{Lines: []string{}})
	res, err := newEngine(t, Options{}).Recognize(data)
	if err != nil {
		t.Fatalf("blank page: %v", err)
	}
	if len(res.Words) != 0 || res.MeanConfidence != 0 || res.Orientation != 0 || res.Skew != 0 {
		t.Errorf("blank page gave %+v", res)
	}
}

func TestRecognizeRefusesDamagedImages(t *testing.T) {
	e := newEngine(t, Options{})
	_, good := page(t, samplescan.Options{Lines: []string{"Hạnh phúc"}, Paper: "A5", DPI: 200})
	for name, data := range map[string][]byte{
		"empty":        nil,
		"text":         []byte("this is not an image at all"),
		"JPEG header":  good[:20],
		"random bytes": bytes.Repeat([]byte{0x13, 0x37, 0xc0, 0xde}, 1000),
	} {
		if res, err := e.Recognize(data); err == nil {
			t.Errorf("%s: no error, got %d words", name, len(res.Words))
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// The engine still works after refusing them.
	res, err := e.Recognize(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Text(); got != "Hạnh phúc" {
		t.Errorf("after the damaged images: %q, want %q", got, "Hạnh phúc")
	}
}

func TestNewEngineReportsMissingModels(t *testing.T) {
	if _, err := NewEngine(Options{Languages: []string{"klingon"}}); err == nil {
		t.Error("an engine started with a language that does not exist")
	} else {
		t.Log(err)
	}
	empty := t.TempDir()
	if _, err := NewEngine(Options{TessdataDir: empty}); err == nil || !strings.Contains(err.Error(), "osd") {
		t.Errorf("empty tessdata folder: err = %v, want one naming the orientation model", err)
	}
	if _, err := NewEngine(Options{TessdataDir: empty, NoOrientation: true}); err == nil || !strings.Contains(err.Error(), "vie+Vietnamese") || !strings.Contains(err.Error(), "tesseract-ocr-script-viet") {
		t.Errorf("empty tessdata folder: err = %v, want one naming the languages and their packages", err)
	}
}

// TestTessdataDir gives the engine a folder of its own holding only the
// models it needs, as a station configured with a tessdata folder would.
func TestTessdataDir(t *testing.T) {
	system := "/usr/share/tesseract-ocr/5/tessdata"
	if _, err := os.Stat(filepath.Join(system, "vie.traineddata")); err != nil {
		t.Skip("Debian's tessdata folder is not here:", err)
	}
	dir := t.TempDir()
	for _, m := range []string{"vie", "Vietnamese", "osd"} {
		name := m + ".traineddata"
		if err := os.Symlink(filepath.Join(system, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t, Options{TessdataDir: dir})
	opt := samplescan.Options{Lines: []string{"Độc lập - Tự do - Hạnh phúc"}, Paper: "A5"}
	_, data := page(t, opt)
	res, err := e.Recognize(data)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != truth(opt) || res.Orientation != 0 {
		t.Errorf("with tessdata %s: %q, orientation %d", dir, res.Text(), res.Orientation)
	}
}

// TestShortPageUpsideDown: OSD needs a fair amount of text; a page with a
// line or two fed upside down is caught by its low confidence instead.
func TestShortPageUpsideDown(t *testing.T) {
	e := newEngine(t, Options{})
	for _, lines := range [][]string{
		{"Độc lập - Tự do - Hạnh phúc"},
		{"Kính gửi: Văn phòng Ủy ban nhân dân tỉnh.", "Danh mục hồ sơ đề nghị số hóa", "1. Sổ đăng ký văn bản đi, văn bản đến."},
	} {
		opt := samplescan.Options{Lines: lines, UpsideDown: true}
		_, data := page(t, opt)
		res, err := e.Recognize(data)
		if err != nil {
			t.Fatal(err)
		}
		got := cer(truth(opt), res.Text())
		t.Logf("%d lines upside down: orientation %d, confidence %.1f, CER %.4f", len(lines), res.Orientation, res.MeanConfidence, got)
		if res.Orientation != 180 || got > maxCERTurned {
			t.Errorf("%d lines upside down: orientation %d, CER %.4f: %q", len(lines), res.Orientation, got, res.Text())
		}
	}
}

func TestClosed(t *testing.T) {
	e := newEngine(t, Options{NoOrientation: true})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	_, data := page(t, samplescan.Options{Lines: []string{"Số"}, Paper: "A5", DPI: 100})
	if _, err := e.Recognize(data); !errors.Is(err, ErrClosed) {
		t.Errorf("Recognize after Close: %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPool(t *testing.T) {
	p, err := NewPool(2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	upright, data := page(t, samplescan.Options{})
	pages := []struct {
		name        string
		data        []byte
		orientation int
		text        string
	}{
		{"upright", data, 0, truth(samplescan.Options{})},
		{"upside down", nil, 180, truth(samplescan.Options{})},
		{"turned", encodeJPEG(t, turn90(upright, false)), 90, truth(samplescan.Options{})},
		{"second page", nil, 0, ""},
	}
	_, pages[1].data = page(t, samplescan.Options{UpsideDown: true})
	second := samplescan.Options{Lines: []string{
		"PHỤ LỤC", "Danh mục hồ sơ đề nghị số hóa",
		"1. Sổ đăng ký văn bản đi, văn bản đến.", "2. Biên bản họp giao ban hằng tháng."}}
	_, pages[3].data = page(t, second)
	pages[3].text = truth(second)

	results := make([]*Result, len(pages))
	errs := make([]error, len(pages))
	var wg sync.WaitGroup
	for i := range pages {
		wg.Go(func() { results[i], errs[i] = p.Recognize(context.Background(), pages[i].data) })
	}
	wg.Wait()
	for i, pg := range pages {
		if errs[i] != nil {
			t.Errorf("%s: %v", pg.name, errs[i])
			continue
		}
		got := cer(pg.text, results[i].Text())
		t.Logf("%s: orientation %d, CER %.4f", pg.name, results[i].Orientation, got)
		if results[i].Orientation != pg.orientation {
			t.Errorf("%s: Orientation %d, want %d", pg.name, results[i].Orientation, pg.orientation)
		}
		if got > maxCERTurned {
			t.Errorf("%s: CER %.4f:\n%s", pg.name, got, results[i].Text())
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Recognize(ctx, data); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
	if _, err := p.Recognize(context.Background(), []byte("garbage")); err == nil {
		t.Error("Pool accepted garbage")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Recognize(context.Background(), data); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}
