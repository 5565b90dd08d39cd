package samplescan

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
	"golang.org/x/text/unicode/norm"

	"scanstation/internal/judge"
)

func render(t *testing.T, opt Options) image.Image {
	t.Helper()
	img, err := Render(opt)
	if err != nil {
		t.Fatalf("Render(%+v): %v", opt, err)
	}
	return img
}

func TestRenderSizes(t *testing.T) {
	tests := []struct {
		opt  Options
		w, h int
	}{
		{Options{}, 2480, 3508},
		{Options{Paper: "A5", Gray: true}, 1748, 2480},
		{Options{Paper: "letter", DPI: 200, Gray: true}, 1700, 2200},
		{Options{Paper: "58x150mm", Lines: []string{"HÓA ĐƠN", "Cà phê 25.000"}}, 685, 1772},
	}
	for _, tt := range tests {
		img := render(t, tt.opt)
		if got := img.Bounds(); got != image.Rect(0, 0, tt.w, tt.h) {
			t.Errorf("%+v: bounds %v, want %d×%d", tt.opt, got, tt.w, tt.h)
		}
		_, isGray := img.(*image.Gray)
		if isGray != tt.opt.Gray {
			t.Errorf("%+v: got %T", tt.opt, img)
		}
		if ink := inkPixels(img); ink < 1000 {
			t.Errorf("%+v: only %d ink pixels; the text was not drawn", tt.opt, ink)
		}
	}
}

// inkPixels counts clearly dark pixels.
func inkPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if isInk(img, x, y) {
				n++
			}
		}
	}
	return n
}

func isInk(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

func TestUpsideDownIsTheUprightPageTurned(t *testing.T) {
	upright := render(t, Options{DPI: 100, Gray: true}).(*image.Gray)
	turned := render(t, Options{DPI: 100, Gray: true, UpsideDown: true}).(*image.Gray)
	w, h := upright.Rect.Dx(), upright.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if a, b := upright.GrayAt(x, y), turned.GrayAt(w-1-x, h-1-y); a != b {
				t.Fatalf("pixel (%d,%d) of the upright page is %d, its turned twin is %d", x, y, a.Y, b.Y)
			}
		}
	}
}

// TestSkewTurnsClockwise measures the slope of a single long line: with
// Skew > 0 its right end must lie lower (larger y) than its left end.
func TestSkewTurnsClockwise(t *testing.T) {
	line := []string{"Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của"}
	for _, skew := range []float64{0, 2, -3} {
		img := render(t, Options{DPI: 150, Gray: true, Lines: line, Skew: skew})
		b := img.Bounds()
		// Ink centroids of the left and right quarter of the text column.
		centroid := func(x0, x1 int) (float64, float64) {
			var sx, sy, n float64
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := x0; x < x1; x++ {
					if isInk(img, x, y) {
						sx, sy, n = sx+float64(x), sy+float64(y), n+1
					}
				}
			}
			if n == 0 {
				t.Fatalf("skew %g: no ink between x=%d and x=%d", skew, x0, x1)
			}
			return sx / n, sy / n
		}
		w := b.Dx()
		lx, ly := centroid(w*18/100, w*40/100)
		rx, ry := centroid(w*60/100, w*85/100)
		got := math.Atan2(ry-ly, rx-lx) * 180 / math.Pi
		if math.Abs(got-skew) > 0.3 {
			t.Errorf("skew %g: the line slopes %.2f° (clockwise positive)", skew, got)
		}
	}
}

func TestText(t *testing.T) {
	lines := Text(Options{})
	if len(lines) < 15 {
		t.Fatalf("default document has %d lines", len(lines))
	}
	for _, want := range []string{"ỦY BAN NHÂN DÂN", "TỈNH BÀ RỊA - VŨNG TÀU", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
		"Độc lập - Tự do - Hạnh phúc", "Số: 2417/UBND-VP", "Bà Rịa - Vũng Tàu, ngày 05 tháng 6 năm 2020"} {
		if !slices.Contains(lines, want) {
			t.Errorf("default document lacks %q", want)
		}
	}
	for _, l := range lines {
		if !norm.NFC.IsNormalString(l) {
			t.Errorf("line %q is not NFC", l)
		}
	}
	decomposed := norm.NFD.String("Hạnh phúc")
	if got := Text(Options{Lines: []string{decomposed}}); len(got) != 1 || got[0] != "Hạnh phúc" {
		t.Errorf("Text of a decomposed line = %q, want it in NFC", got)
	}
}

func TestRenderRefuses(t *testing.T) {
	tooMany := make([]string, 400)
	for i := range tooMany {
		tooMany[i] = "dòng"
	}
	for name, opt := range map[string]Options{
		"unknown paper":  {Paper: "B7"},
		"tiny paper":     {Paper: "10x10mm"},
		"half a size":    {Paper: "58xmm"},
		"no glyph":       {Lines: []string{"漢字"}},
		"too many lines": {Lines: tooMany, DPI: 72},
		"absurd dpi":     {DPI: 5},
		"absurd skew":    {Skew: 90},
	} {
		if _, err := Render(opt); err == nil {
			t.Errorf("%s: Render succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestWriteJPEG(t *testing.T) {
	for _, gray := range []bool{false, true} {
		img := render(t, Options{DPI: 300, Gray: gray})
		var buf bytes.Buffer
		if err := WriteJPEG(&buf, img, 300, 85); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if got := jfifDensity(t, data); got != 300 {
			t.Errorf("gray=%v: JFIF density %d, want 300", gray, got)
		}
		back, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("gray=%v: decode: %v", gray, err)
		}
		if back.Bounds() != img.Bounds() {
			t.Errorf("gray=%v: decoded bounds %v, want %v", gray, back.Bounds(), img.Bounds())
		}
		if _, isGray := back.(*image.Gray); isGray != gray {
			t.Errorf("gray=%v: decoded as %T", gray, back)
		}
		// img2pdf sizes the page from the JFIF density: an A4 page at
		// 300 dpi must come out as A4 in points.
		assertPDFPageIsA4(t, "page.jpg", data)
	}
}

func jfifDensity(t *testing.T, data []byte) int {
	t.Helper()
	if len(data) < 20 || !bytes.Equal(data[:4], []byte{0xFF, 0xD8, 0xFF, 0xE0}) || string(data[6:11]) != "JFIF\x00" {
		t.Fatalf("no JFIF APP0 right after SOI: % x", data[:min(20, len(data))])
	}
	if data[13] != 1 {
		t.Fatalf("JFIF units %d, want 1 (dots per inch)", data[13])
	}
	x, y := binary.BigEndian.Uint16(data[14:]), binary.BigEndian.Uint16(data[16:])
	if x != y {
		t.Errorf("JFIF density %d×%d is not square", x, y)
	}
	return int(x)
}

func assertPDFPageIsA4(t *testing.T, name string, image []byte) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, name), filepath.Join(dir, "page.pdf")
	if err := os.WriteFile(in, image, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, ok := judge.Run(t, "img2pdf", "-o", out, in); !ok {
		t.Fatalf("img2pdf failed:\n%s", msg)
	}
	info, ok := judge.Run(t, "pdfinfo", out)
	if !ok {
		t.Fatalf("pdfinfo failed:\n%s", info)
	}
	m := regexp.MustCompile(`Page size:\s+([\d.]+) x ([\d.]+) pts`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("pdfinfo printed no page size:\n%s", info)
	}
	w, _ := strconv.ParseFloat(m[1], 64)
	h, _ := strconv.ParseFloat(m[2], 64)
	if math.Abs(w-595.3) > 1 || math.Abs(h-841.9) > 1 {
		t.Errorf("%s became a %.1f×%.1f pt page, want A4 (595×842)", name, w, h)
	}
}

func TestWritePNG(t *testing.T) {
	img := render(t, Options{DPI: 300, Gray: true, Skew: 1})
	var buf bytes.Buffer
	if err := WritePNG(&buf, img, 300); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	i := bytes.Index(data, []byte("pHYs"))
	if i < 0 || i > bytes.Index(data, []byte("IDAT")) {
		t.Fatalf("no pHYs chunk before the image data")
	}
	ppm := binary.BigEndian.Uint32(data[i+4:])
	if data[i+12] != 1 || math.Abs(float64(ppm)*0.0254-300) > 0.1 {
		t.Errorf("pHYs says %d per unit %d, want 11811 per metre", ppm, data[i+12])
	}
	back, err := png.Decode(bytes.NewReader(data)) // also checks every chunk's CRC
	if err != nil {
		t.Fatal(err)
	}
	samePixels(t, "PNG", img, back)
	assertPDFPageIsA4(t, "page.png", data)
}

func samePixels(t *testing.T, what string, want, got image.Image) {
	t.Helper()
	if want.Bounds() != got.Bounds() {
		t.Fatalf("%s: bounds %v, want %v", what, got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := want.At(x, y).RGBA()
			r2, g2, b2, _ := got.At(x, y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
				t.Fatalf("%s: pixel (%d,%d) changed", what, x, y)
			}
		}
	}
}

func TestWriteTIFF(t *testing.T) {
	colour := render(t, Options{DPI: 300})
	gray := render(t, Options{DPI: 300, Gray: true, Lines: []string{"Trang hai", "Hồ sơ lưu trữ"}})
	var buf bytes.Buffer
	if err := WriteTIFF(&buf, []image.Image{colour, gray}, 300); err != nil {
		t.Fatal(err)
	}
	first, err := tiff.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("x/image/tiff cannot read our TIFF: %v", err)
	}
	samePixels(t, "TIFF page 1", colour, first)

	dir := t.TempDir()
	path := filepath.Join(dir, "two.tif")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// tiffinfo's report of each directory is on stdout; libtiff's warnings about the file
	// are on stderr, kept apart and checked on their own.
	if _, err := exec.LookPath("tiffinfo"); err != nil {
		t.Fatalf("tiffinfo is not installed; scripts/setup.sh installs libtiff-tools (a tool that is missing fails the test)")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("tiffinfo", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tiffinfo: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	info := stdout.String()
	if n := strings.Count(info, "TIFF Directory at offset"); n != 2 {
		t.Errorf("tiffinfo sees %d pages, want 2:\n%s", n, info)
	}
	if n := strings.Count(info, "Resolution: 300, 300 pixels/inch"); n != 2 {
		t.Errorf("tiffinfo sees 300 dpi on %d pages, want 2:\n%s", n, info)
	}
	if strings.Contains(strings.ToLower(stderr.String()), "warning") || strings.Contains(strings.ToLower(info), "warning") {
		t.Errorf("libtiff warns about the file:\n%s%s", stderr.String(), info)
	}
	// libtiff splits the file; page 2 must read back as the gray page.
	if msg, ok := judge.Run(t, "tiffsplit", path, filepath.Join(dir, "part-")); !ok {
		t.Fatalf("tiffsplit failed:\n%s", msg)
	}
	f, err := os.Open(filepath.Join(dir, "part-aab.tif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	second, err := tiff.Decode(f)
	if err != nil {
		t.Fatalf("page 2 after tiffsplit: %v", err)
	}
	samePixels(t, "TIFF page 2", gray, second)
}

func TestWritersRefuse(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var buf bytes.Buffer
	if WriteJPEG(&buf, img, 0, 90) == nil {
		t.Error("WriteJPEG accepted 0 dpi")
	}
	if WriteJPEG(&buf, img, 300, 101) == nil {
		t.Error("WriteJPEG accepted quality 101")
	}
	if WritePNG(&buf, img, -1) == nil {
		t.Error("WritePNG accepted -1 dpi")
	}
	if WriteTIFF(&buf, nil, 300) == nil {
		t.Error("WriteTIFF accepted no pages")
	}
}

func BenchmarkRenderA4(b *testing.B) {
	for b.Loop() {
		if _, err := Render(Options{Skew: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
