package preview

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"scanstation/internal/samplescan"
	"scanstation/scan"
)

// A page of 200 dpi A4 (1654×2339) with ink in its top left corner, as
// the scanner delivered it: white paper, a black 3 cm square, 1 cm in
// from the top and left edges.
const (
	pageDPI  = 200
	pageW    = 1654
	pageH    = 2339
	inkFrom  = 79  // 1 cm at 200 dpi
	inkTo    = 315 // 4 cm
	mmPoints = 72 / 25.4
)

func cornerPage(gray bool) image.Image {
	var img settable
	if gray {
		img = image.NewGray(image.Rect(0, 0, pageW, pageH))
	} else {
		img = image.NewRGBA(image.Rect(0, 0, pageW, pageH))
	}
	for y := 0; y < pageH; y++ {
		for x := 0; x < pageW; x++ {
			c := color.RGBA{250, 248, 240, 255}
			if x >= inkFrom && x < inkTo && y >= inkFrom && y < inkTo {
				c = color.RGBA{10, 10, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

type settable interface {
	image.Image
	Set(x, y int, c color.Color)
}

func writeJPEG(t testing.TB, dir string, img image.Image, dpi float64) string {
	t.Helper()
	var buf bytes.Buffer
	if err := samplescan.WriteJPEG(&buf, img, dpi, 90); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "page.jpg")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTIFF(t testing.TB, dir string, pages []image.Image, dpi float64) string {
	t.Helper()
	path := filepath.Join(dir, "pages.tif")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := samplescan.WriteTIFF(f, pages, dpi); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func newCache(t testing.TB) *Cache {
	return &Cache{Dir: filepath.Join(t.TempDir(), "previews")}
}

func get(t testing.TB, c *Cache, src Source, req Request) (*Preview, image.Image) {
	t.Helper()
	p, err := c.Page(context.Background(), src, req)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatalf("the preview is not a JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != p.Width || b.Dy() != p.Height {
		t.Fatalf("the preview is %v, but says %d×%d", b, p.Width, p.Height)
	}
	return p, img
}

// dark says whether the preview is ink at the given fraction of its width
// and height.
func dark(img image.Image, fx, fy float64) bool {
	b := img.Bounds()
	r, g, bl, _ := img.At(int(fx*float64(b.Dx())), int(fy*float64(b.Dy()))).RGBA()
	return (r+g+bl)/3 < 0x4000
}

// inkCorner names the corner of the preview the ink square is in, checking
// that the other three corners are paper.
func inkCorner(t *testing.T, img image.Image) string {
	t.Helper()
	// The square's middle is 2.5 cm from two edges of a 21 × 29.7 cm page.
	across, down := 2.5/21, 2.5/29.7
	if img.Bounds().Dx() > img.Bounds().Dy() {
		across, down = down, across
	}
	var found []string
	for _, c := range []struct {
		name   string
		fx, fy float64
	}{
		{"top left", across, down},
		{"top right", 1 - across, down},
		{"bottom left", across, 1 - down},
		{"bottom right", 1 - across, 1 - down},
	} {
		if dark(img, c.fx, c.fy) {
			found = append(found, c.name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("ink found in corners %v, want exactly one", found)
	}
	return found[0]
}

func TestWidths(t *testing.T) {
	for _, c := range []struct{ ask, want int }{
		{0, Thumb}, {-5, Thumb}, {120, Thumb}, {200, Thumb}, {201, Screen}, {900, Screen}, {901, Zoom}, {1400, Zoom}, {100000, Zoom},
	} {
		if got := Width(c.ask); got != c.want {
			t.Errorf("Width(%d) = %d, want %d", c.ask, got, c.want)
		}
	}
}

func TestPreviewSizeAndTurn(t *testing.T) {
	dir := t.TempDir()
	src := Source{Path: writeJPEG(t, dir, cornerPage(false), pageDPI)}
	c := newCache(t)
	for _, tc := range []struct {
		req    Request
		w, h   int
		corner string
	}{
		{Request{Page: 1, Width: 900}, 900, 1273, "top left"},
		{Request{Page: 1, Width: 500}, 900, 1273, "top left"}, // served at Screen
		{Request{Page: 1, Width: 150}, 200, 283, "top left"},
		{Request{Page: 1, Width: 1400}, 1400, 1980, "top left"},
		{Request{Page: 1, Width: 900, Rotate: 90}, 900, 636, "top right"},
		{Request{Page: 1, Width: 900, Rotate: 180}, 900, 1273, "bottom right"},
		{Request{Page: 1, Width: 900, Rotate: 270}, 900, 636, "bottom left"},
		{Request{Page: 1, Width: 900, Rotate: -90}, 900, 636, "bottom left"},
	} {
		t.Run(fmt.Sprintf("w%d_r%d", tc.req.Width, tc.req.Rotate), func(t *testing.T) {
			p, img := get(t, c, src, tc.req)
			if p.Width != tc.w || p.Height != tc.h {
				t.Errorf("preview is %d×%d, want %d×%d", p.Width, p.Height, tc.w, tc.h)
			}
			if got := inkCorner(t, img); got != tc.corner {
				t.Errorf("ink in the %s corner, want %s", got, tc.corner)
			}
		})
	}
}

// A page smaller than the width asked for is not blown up.
func TestSmallPageNotEnlarged(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 600, 300))
	src := Source{Path: writeJPEG(t, t.TempDir(), img, 100)}
	p, _ := get(t, newCache(t), src, Request{Page: 1, Width: 1400})
	if p.Width != 600 || p.Height != 300 {
		t.Errorf("preview is %d×%d, want the page's own 600×300", p.Width, p.Height)
	}
}

func TestFormats(t *testing.T) {
	dir := t.TempDir()
	colour, gray := cornerPage(false), cornerPage(true)
	jpg := writeJPEG(t, dir, colour, pageDPI)
	tif := writeTIFF(t, dir, []image.Image{gray, colour}, pageDPI)

	// A bilevel G4 TIFF, as office scanners write black-and-white pages.
	g := gray.(*image.Gray)
	var pbm bytes.Buffer
	fmt.Fprintf(&pbm, "P4\n%d %d\n", pageW, pageH)
	row := make([]byte, (pageW+7)/8)
	for y := 0; y < pageH; y++ {
		clear(row)
		for x := 0; x < pageW; x++ {
			if g.GrayAt(x, y).Y < 128 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		pbm.Write(row)
	}
	pbmPath := filepath.Join(dir, "page.pbm")
	if err := os.WriteFile(pbmPath, pbm.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g4 := filepath.Join(dir, "g4.tif")
	run(t, "ppm2tiff", "-c", "g4", "-R", fmt.Sprint(pageDPI), pbmPath, g4)

	// Scanner PDFs: the JPEG as is, and turned a quarter by the scanner's /Rotate.
	pdf := filepath.Join(dir, "page.pdf")
	run(t, "img2pdf", "--rotation=0", "-o", pdf, jpg)
	turned := filepath.Join(dir, "turned.pdf")
	run(t, "img2pdf", "--rotation=90", "-o", turned, jpg)

	c := newCache(t)
	for _, tc := range []struct {
		name   string
		src    string
		req    Request
		w, h   int
		corner string
	}{
		{"jpeg", jpg, Request{Page: 1, Width: 900}, 900, 1273, "top left"},
		{"tiff grey page 1", tif, Request{Page: 1, Width: 900}, 900, 1273, "top left"},
		{"tiff colour page 2", tif, Request{Page: 2, Width: 900, Rotate: 180}, 900, 1273, "bottom right"},
		{"tiff g4", g4, Request{Page: 1, Width: 200}, 200, 283, "top left"},
		{"pdf", pdf, Request{Page: 1, Width: 900}, 900, 1273, "top left"},
		{"pdf with /Rotate 90", turned, Request{Page: 1, Width: 900}, 900, 636, "top right"},
		{"pdf with /Rotate 90 and a further 90", turned, Request{Page: 1, Width: 900, Rotate: 90}, 900, 1273, "bottom right"},
		{"pdf with /Rotate 90 ignored", turned, Request{Page: 1, Width: 900, IgnorePageRotate: true}, 900, 1273, "top left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, img := get(t, c, Source{Path: tc.src}, tc.req)
			if p.Width != tc.w || p.Height != tc.h {
				t.Errorf("preview is %d×%d, want %d×%d", p.Width, p.Height, tc.w, tc.h)
			}
			if got := inkCorner(t, img); got != tc.corner {
				t.Errorf("ink in the %s corner, want %s", got, tc.corner)
			}
		})
	}
}

// red says whether the preview is tinted by the mark at (x, y).
func red(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r > g+0x1800 && r > b+0x1800
}

func TestMarkDrawnWhereItWillGo(t *testing.T) {
	src := Source{Path: writeJPEG(t, t.TempDir(), cornerPage(false), pageDPI)}
	// A4 in points, and a 60 × 25 mm mark 10 mm in from the top right
	// corner: where certify/mark puts it on a page with no ink there.
	const wPt, hPt = pageW * 72.0 / pageDPI, pageH * 72.0 / pageDPI
	mark := Corners([4]float64{wPt - 70*mmPoints, hPt - 35*mmPoints, wPt - 10*mmPoints, hPt - 10*mmPoints})
	c := newCache(t)
	for _, tc := range []struct {
		rotate int
		// the mark's middle, as fractions of the preview's width and height
		fx, fy float64
	}{
		{0, 1 - 40.0/210, 22.5 / 297},
		{90, 1 - 22.5/297, 1 - 40.0/210}, // top right turned a quarter clockwise is bottom right
		{180, 40.0 / 210, 1 - 22.5/297},
		{270, 22.5 / 297, 40.0 / 210},
	} {
		t.Run(fmt.Sprint(tc.rotate), func(t *testing.T) {
			p, img := get(t, c, src, Request{Page: 1, Width: Screen, Rotate: tc.rotate, Mark: &mark})
			x, y := int(tc.fx*float64(p.Width)), int(tc.fy*float64(p.Height))
			if !red(img, x, y) {
				t.Errorf("no mark at (%d, %d) of the %d×%d preview: %v", x, y, p.Width, p.Height, img.At(x, y))
			}
			// Translucent: the paper under it is lighter than the outline.
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0xC000 {
				t.Errorf("the mark's fill at (%d, %d) is not translucent: %v", x, y, img.At(x, y))
			}
			// Only there: the page's middle and the opposite corner are paper.
			for _, q := range [][2]float64{{0.5, 0.5}, {1 - tc.fx, 1 - tc.fy}} {
				qx, qy := int(q[0]*float64(p.Width)), int(q[1]*float64(p.Height))
				if red(img, qx, qy) {
					t.Errorf("mark colour at (%d, %d), away from the mark", qx, qy)
				}
			}
			r := MarkPixels(mark, wPt, hPt, tc.rotate, p.Width, p.Height)
			if !image.Pt(x, y).In(r) {
				t.Errorf("MarkPixels gives %v, which does not hold the drawn mark at (%d, %d)", r, x, y)
			}
			if !red(img, r.Min.X+1, r.Min.Y+1) || !red(img, r.Max.X-2, r.Max.Y-2) {
				t.Errorf("MarkPixels gives %v, but the mark is not drawn at its corners", r)
			}
			if red(img, r.Min.X-4, r.Min.Y-4) || red(img, r.Max.X+3, r.Max.Y+3) {
				t.Errorf("the mark is drawn beyond %v", r)
			}
		})
	}
}

func TestMarkPixels(t *testing.T) {
	// A 100 × 200 pt page shown at 50 × 100 px (or 100 × 50 when turned);
	// the mark is 10 × 20 pt, 10 pt from the left and 20 pt from the bottom.
	m := Rect{X: 10, Y: 20, W: 10, H: 20}
	for _, tc := range []struct {
		rotate, w, h int
		want         image.Rectangle
	}{
		{0, 50, 100, image.Rect(5, 80, 10, 90)},
		{90, 100, 50, image.Rect(10, 5, 20, 10)},
		{180, 50, 100, image.Rect(40, 10, 45, 20)},
		{270, 100, 50, image.Rect(80, 40, 90, 45)},
		{-90, 100, 50, image.Rect(80, 40, 90, 45)},
	} {
		if got := MarkPixels(m, 100, 200, tc.rotate, tc.w, tc.h); got != tc.want {
			t.Errorf("rotate %d: %v, want %v", tc.rotate, got, tc.want)
		}
	}
	// Off the page is clipped away.
	if got := MarkPixels(Rect{X: 90, Y: 190, W: 50, H: 50}, 100, 200, 0, 50, 100); got != image.Rect(45, 0, 50, 5) {
		t.Errorf("a mark over the top right edge: %v, want it clipped to (45,0)-(50,5)", got)
	}
	if got := Corners([4]float64{30, 40, 10, 20}); got != (Rect{10, 20, 20, 20}) {
		t.Errorf("Corners: %+v", got)
	}
}

func TestCachedPreviewIsNotDecodedAgain(t *testing.T) {
	src := Source{Path: writeJPEG(t, t.TempDir(), cornerPage(false), pageDPI)}
	c := newCache(t)
	first, _ := get(t, c, src, Request{Page: 1, Width: Screen})
	files, err := filepath.Glob(filepath.Join(c.Dir, "*.jpg"))
	if err != nil || len(files) != 1 {
		t.Fatalf("cache holds %v (%v), want one preview", files, err)
	}
	before, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	second, _ := get(t, c, src, Request{Page: 1, Width: 700}) // served at Screen too
	after, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := c.decoded.Load(); n != 1 {
		t.Errorf("%d decodes for the same preview twice, want 1", n)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the cached preview was written again")
	}
	if !bytes.Equal(first.Data, second.Data) || first.ETag != second.ETag || first.ETag == "" {
		t.Errorf("the second answer differs from the first (ETag %s, %s)", first.ETag, second.ETag)
	}

	// Another turn or another mark is another picture.
	third, _ := get(t, c, src, Request{Page: 1, Width: Screen, Rotate: 90})
	get(t, c, src, Request{Page: 1, Width: Screen, Mark: &Rect{X: 10, Y: 10, W: 100, H: 50}})
	if n := c.decoded.Load(); n != 3 || third.ETag == first.ETag {
		t.Errorf("%d decodes after a turn and a mark, want 3 (ETags %s, %s)", n, first.ETag, third.ETag)
	}

	// A scan written again under the same name (a rescan) is a new picture.
	if err := os.WriteFile(src.Path, []byte("not a scan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Page(context.Background(), src, Request{Page: 1, Width: Screen}); err == nil {
		t.Errorf("a preview of a file that is no longer a scan was served from the cache")
	}

}

func TestRestartFindsCachedPreviews(t *testing.T) {
	src := Source{Path: writeJPEG(t, t.TempDir(), cornerPage(false), pageDPI), SHA256: "00ff"}
	c := newCache(t)
	get(t, c, src, Request{Page: 1, Width: Thumb})
	restarted := &Cache{Dir: c.Dir}
	get(t, restarted, src, Request{Page: 1, Width: Thumb})
	if n := restarted.decoded.Load(); n != 0 {
		t.Errorf("the restarted cache decoded the page %d times, want 0", n)
	}
}

func TestConcurrentRequestsDecodeOnce(t *testing.T) {
	src := Source{Path: writeJPEG(t, t.TempDir(), cornerPage(false), pageDPI)}
	c := newCache(t)
	var wg sync.WaitGroup
	etags := make([]string, 8)
	for i := range etags {
		wg.Go(func() {
			p, err := c.Page(context.Background(), src, Request{Page: 1, Width: Zoom})
			if err != nil {
				t.Error(err)
				return
			}
			etags[i] = p.ETag
		})
	}
	wg.Wait()
	if n := c.decoded.Load(); n != 1 {
		t.Errorf("8 concurrent requests decoded the page %d times, want 1", n)
	}
	for _, e := range etags[1:] {
		if e != etags[0] {
			t.Errorf("concurrent requests got different previews: %v", etags)
			break
		}
	}
}

func TestCacheStaysWithinItsSize(t *testing.T) {
	dir := t.TempDir()
	src := Source{Path: writeTIFF(t, dir, []image.Image{cornerPage(false), cornerPage(true), cornerPage(false)}, pageDPI)}
	c := newCache(t)
	one, _ := get(t, c, src, Request{Page: 1, Width: Screen})
	c.MaxBytes = int64(len(one.Data)) * 5 / 2 // room for two
	// A leftover temporary file of an interrupted write is not counted as a preview.
	for page := 1; page <= 3; page++ {
		for _, rot := range []int{0, 90} {
			get(t, c, src, Request{Page: page, Width: Screen, Rotate: rot})
		}
	}
	var total int64
	files, _ := filepath.Glob(filepath.Join(c.Dir, "*.jpg"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total > c.MaxBytes || len(files) == 0 {
		t.Errorf("cache holds %d bytes in %d files, over its %d", total, len(files), c.MaxBytes)
	}
	// The newest is kept.
	decoded := c.decoded.Load()
	get(t, c, src, Request{Page: 3, Width: Screen, Rotate: 90})
	if c.decoded.Load() != decoded {
		t.Errorf("the newest preview was evicted")
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	jpg := writeJPEG(t, dir, cornerPage(false), pageDPI)
	broken := filepath.Join(dir, "broken.jpg")
	data, err := os.ReadFile(jpg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCache(t)
	small := &Cache{Dir: c.Dir, Scan: scan.Options{Limits: scan.Limits{MaxPixels: 1_000_000}}}
	for _, tc := range []struct {
		name  string
		c     *Cache
		path  string
		req   Request
		words []string
	}{
		{"no page 2", c, jpg, Request{Page: 2}, []string{jpg, "has one page, so there is no page 2"}},
		{"page 0", c, jpg, Request{Page: 0}, []string{jpg, "no page 0"}},
		{"odd turn", c, jpg, Request{Page: 1, Rotate: 45}, []string{jpg, "page 1", "not 45"}},
		{"empty mark", c, jpg, Request{Page: 1, Mark: &Rect{X: 1, Y: 1}}, []string{jpg, "page 1", "mark", "empty"}},
		{"missing file", c, filepath.Join(dir, "gone.jpg"), Request{Page: 1}, []string{"gone.jpg", "page 1", "not there"}},
		{"cut short", c, broken, Request{Page: 1}, []string{broken, "page 1", "incomplete"}},
		{"too many pixels", small, jpg, Request{Page: 1}, []string{jpg, "page 1", "1654×2339 pixels", "more than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Page(context.Background(), Source{Path: tc.path}, tc.req)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if files, _ := filepath.Glob(filepath.Join(c.Dir, "*")); len(files) != 0 {
		t.Errorf("refused previews left files in the cache: %v", files)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	src := Source{Path: writeJPEG(t, t.TempDir(), cornerPage(false), pageDPI)}
	c := newCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// An ended context ends the wait; the decode still finishes and is cached.
	if _, err := c.Page(ctx, src, Request{Page: 1, Width: Thumb}); err != nil && !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("error %v, want it to say the context was cancelled", err)
	}
	get(t, c, src, Request{Page: 1, Width: Thumb})
	if n := c.decoded.Load(); n != 1 {
		t.Errorf("%d decodes, want 1", n)
	}
}
