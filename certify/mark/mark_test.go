package mark

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

const (
	a4W, a4H = 595.276, 841.89
	agencyVN = "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"
)

// signingTime is the example from the Government CA's signer:
// 05.03.2020 16:43:18 +07:00, given here in UTC.
var signingTime = time.Date(2020, 3, 5, 9, 43, 18, 0, time.UTC)

func TestFormatTime(t *testing.T) {
	minus3 := time.FixedZone("", -3*3600-30*60)
	for _, c := range []struct {
		t       time.Time
		zone    *time.Location
		pattern string
		want    string
	}{
		{signingTime, nil, "", "05.03.2020 16:43:18 +07:00"},
		{signingTime, nil, DefaultTimeFormat, "05.03.2020 16:43:18 +07:00"},
		// Cut, never rounded up: the mark must not show a later second.
		{signingTime.Add(999 * time.Millisecond), nil, "", "05.03.2020 16:43:18 +07:00"},
		{signingTime, time.UTC, "", "05.03.2020 09:43:18 +00:00"},
		{signingTime, minus3, "", "05.03.2020 06:13:18 -03:30"},
		{signingTime, nil, "yyyy-MM-dd'T'HH:mm:ss±hh:mm", "2020-03-05T16:43:18+07:00"},
		{signingTime, nil, "HH:mm:ss 'ngày' dd/MM/yyyy", "16:43:18 ngày 05/03/2020"},
		{signingTime, nil, "dd.MM.yyyy '('''')'", "05.03.2020 ('')"},
		{signingTime, nil, "HH 'o''clock' ''dd''", "16 o'clock '05'"},
		{time.Date(2020, 12, 31, 17, 0, 1, 0, time.UTC), nil, "", "01.01.2021 00:00:01 +07:00"},
	} {
		got, err := FormatTime(c.t, c.zone, c.pattern)
		if err != nil || got != c.want {
			t.Errorf("FormatTime(%v, %q) = %q, %v; want %q", c.t, c.pattern, got, err, c.want)
		}
	}
	for _, bad := range []string{"dd.MM.yyy", "dd 'at HH", "hh:mm", "dd.MM.yyyy HH:mm:ss Z"} {
		if got, err := FormatTime(signingTime, nil, bad); err == nil {
			t.Errorf("FormatTime(%q) = %q; want an error", bad, got)
		}
	}
}

func TestBuildPlacesTopRightUpright(t *testing.T) {
	seal := sealPNG(t)
	for _, profile := range []Profile{Decree30, Circular01} {
		for _, rotate := range []int{0, 90, 180, 270} {
			opt := Options{Profile: profile, Agency: agencyVN, Time: signingTime, SealPNG: seal}
			page := Page{WidthPt: a4W, HeightPt: a4H, Rotate: rotate}
			a, place, err := Build(page, opt)
			if err != nil {
				t.Fatalf("%s, rotate %d: %v", profile, rotate, err)
			}
			if place.Moved || place.Where != "top right" || place.Rect != a.Rect || a.Page != 1 {
				t.Errorf("%s, rotate %d: placement %+v, appearance page %d", profile, rotate, place, a.Page)
			}
			dispW, dispH := a4W, a4H
			if rotate%180 != 0 {
				dispW, dispH = a4H, a4W
			}
			d := toDisplay(page, a.Rect)
			margin := DefaultMarginMM * mm
			if !near(d[2], dispW-margin) || !near(d[3], dispH-margin) {
				t.Errorf("%s, rotate %d: displayed box %v; want its top right at (%.2f, %.2f)",
					profile, rotate, d, dispW-margin, dispH-margin)
			}
			if d[0] < dispW/3 || d[1] < dispH*2/3 {
				t.Errorf("%s, rotate %d: displayed box %v reaches out of the top right region", profile, rotate, d)
			}

			// The form's matrix must carry the upright box onto the rectangle
			// so that, after the page's rotation, it shows upright where the
			// box was placed: upright (u, v) lands on display (d0+u, d1+v).
			m := formMatrix(t, a.Content)
			bw, bh := d[2]-d[0], d[3]-d[1]
			for _, p := range [][2]float64{{0, 0}, {bw, 0}, {0, bh}, {bw / 3, bh / 2}} {
				fx := m[0]*p[0] + m[2]*p[1] + m[4]
				fy := m[1]*p[0] + m[3]*p[1] + m[5]
				got := toDisplay(page, [4]float64{a.Rect[0] + fx, a.Rect[1] + fy, a.Rect[0] + fx, a.Rect[1] + fy})
				if !near(got[0], d[0]+p[0]) || !near(got[1], d[1]+p[1]) {
					t.Errorf("%s, rotate %d: upright point %v shows at (%.2f, %.2f); want (%.2f, %.2f)",
						profile, rotate, p, got[0], got[1], d[0]+p[0], d[1]+p[1])
				}
			}

			if profile == Circular01 {
				im := a.Images["Im1"]
				if im == nil || im.Width != 200 || im.Height != 200 || im.Alpha == nil {
					t.Fatalf("%s: seal image %+v; want 200×200 with alpha", profile, im)
				}
				rgb, alpha := inflate(t, im.RGB), inflate(t, im.Alpha)
				if len(rgb) != 3*200*200 || len(alpha) != 200*200 || alpha[0] != 0 || alpha[100*200+100] != 0xff ||
					!bytes.Equal(rgb[3*(100*200+100):][:3], []byte{0xd0, 0x10, 0x10}) {
					t.Errorf("%s: seal samples do not match the PNG (%d RGB bytes, %d alpha bytes)", profile, len(rgb), len(alpha))
				}
				// The seal at its real size: 36 mm wide, the box at least that.
				if bw < DefaultSealSizeMM*mm || !strings.Contains(string(a.Content), " 102.047 0 0 102.047 0 ") {
					t.Errorf("%s: box %.1f pt wide, content %q; want the seal drawn 36 mm (102.047 pt) wide",
						profile, bw, a.Content)
				}
			} else if a.Images != nil {
				t.Errorf("%s: images %v; the decree's mark has none", profile, a.Images)
			}
		}
	}
}

func TestBuildVietnameseText(t *testing.T) {
	orig, err := os.ReadFile(DefaultFontFile)
	if err != nil {
		t.Fatal(err)
	}
	origFont, err := sfnt.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range []Profile{Decree30, Circular01} {
		// The agency typed decomposed (letters + combining marks) must come
		// out as the precomposed letters the font has.
		opt := Options{Profile: profile, CopyLabel: "SAO LỤC", Agency: norm.NFD.String(agencyVN),
			Time: signingTime, SealPNG: sealPNG(t)}
		a, _, err := Build(Page{WidthPt: a4W, HeightPt: a4H}, opt)
		if err != nil {
			t.Fatal(err)
		}
		f := a.Fonts["F1"]
		if f == nil || len(a.Fonts) != 1 {
			t.Fatalf("fonts %v; want F1 only", a.Fonts)
		}
		if !regexp.MustCompile(`^[A-Z]{6}\+LiberationSerif$`).MatchString(f.BaseFont) {
			t.Errorf("BaseFont %q; want a subset tag and LiberationSerif", f.BaseFont)
		}
		lines := shownLines(t, a.Content)
		var shown []string
		for _, l := range lines {
			var s strings.Builder
			for _, g := range l {
				u, ok := f.ToUnicode[g]
				if !ok {
					t.Errorf("glyph %d is shown but has no ToUnicode entry", g)
				}
				if _, ok := f.Widths[g]; !ok {
					t.Errorf("glyph %d is shown but has no width", g)
				}
				s.WriteString(u)
			}
			shown = append(shown, s.String())
		}
		want := []string{"SAO LỤC", agencyVN, "05.03.2020 16:43:18 +07:00"}
		if profile == Circular01 {
			want = want[1:]
		}
		if !slices.Equal(shown, want) {
			t.Errorf("%s: lines read back through ToUnicode %q; want %q", profile, shown, want)
		}

		// The subset: an ordinary font to sfnt, each character on its
		// original glyph ID with the original outline (the accented letters
		// are composites, so this fails if a component was dropped), and
		// much smaller than the whole font.
		sub, err := sfnt.Parse(f.Program)
		if err != nil {
			t.Fatalf("the subset font does not parse: %v", err)
		}
		var b1, b2 sfnt.Buffer
		for _, r := range strings.Join(want, "") {
			g0, _ := origFont.GlyphIndex(&b1, r)
			g1, err := sub.GlyphIndex(&b2, r)
			if err != nil || g1 != g0 || g0 == 0 {
				t.Errorf("%q: subset glyph %d (%v); want the original %d", r, g1, err, g0)
				continue
			}
			s0, err0 := origFont.LoadGlyph(&b1, g0, 2048<<6, nil)
			s0 = slices.Clone(s0)
			s1, err1 := sub.LoadGlyph(&b2, g1, 2048<<6, nil)
			if err0 != nil || err1 != nil || len(s0) == 0 && r != ' ' || !slices.Equal(s0, s1) {
				t.Errorf("%q: subset outline (%d segments, %v) differs from the original (%d segments, %v)",
					r, len(s1), err1, len(s0), err0)
			}
			a0, _ := origFont.GlyphAdvance(&b1, g0, 2048<<6, font.HintingNone)
			a1, _ := sub.GlyphAdvance(&b2, g1, 2048<<6, font.HintingNone)
			if a0 != a1 || !near(f.Widths[uint16(g0)], float64(a0)/64*1000/2048) {
				t.Errorf("%q: advance %v in the subset, %v in the original, %g in Widths", r, a1, a0, f.Widths[uint16(g0)])
			}
		}
		if len(f.Program)*10 > len(orig) {
			t.Errorf("subset is %d bytes of the original %d; want less than a tenth", len(f.Program), len(orig))
		}
		t.Logf("%s: subset %d bytes (%d deflated), original %d bytes, %d glyphs shown",
			profile, len(f.Program), len(deflate(f.Program)), len(orig), len(f.Widths))
	}
}

func TestBuildAvoidsInk(t *testing.T) {
	for _, rotate := range []int{0, 90} {
		page := Page{WidthPt: a4W, HeightPt: a4H, Rotate: rotate}
		opt := Options{Agency: agencyVN, Time: signingTime}
		_, home, err := Build(page, opt)
		if err != nil {
			t.Fatal(err)
		}

		// A blank page: the usual place.
		page.Ink = blankInk(150, 212)
		_, place, err := Build(page, opt)
		if err != nil || place.Moved || place.Rect != home.Rect || place.Where != "top right" {
			t.Fatalf("rotate %d, blank page: %+v, %v; want the usual place %v", rotate, place, err, home.Rect)
		}

		// A dark block (a letterhead, a stamp) under the usual place.
		block := pixelRect(page, home.Rect).Inset(-3)
		fill(page.Ink, block, 0)
		_, place, err = Build(page, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !place.Moved || !strings.HasPrefix(place.Where, "moved ") || !strings.HasSuffix(place.Where, ": ink under the usual place") {
			t.Fatalf("rotate %d, ink under the usual place: %+v; want it moved and said so", rotate, place)
		}
		if pixelRect(page, place.Rect).Overlaps(block) {
			t.Errorf("rotate %d: moved to %v (pixels %v), still over the ink at %v", rotate, place.Rect, pixelRect(page, place.Rect), block)
		}
		d0, d1 := toDisplay(page, home.Rect), toDisplay(page, place.Rect)
		if d1[2] > d0[2]+0.01 || d1[3] > d0[3]+0.01 {
			t.Errorf("rotate %d: moved box %v (displayed) goes right of or above the usual %v", rotate, d1, d0)
		}
		t.Logf("rotate %d: %s", rotate, place.Where)

		// A column of ink down the whole right side: the only free places
		// are to the left.
		dispW := a4W
		if rotate == 90 {
			dispW = a4H
		}
		fill(page.Ink, page.Ink.Rect, 0xff)
		fill(page.Ink, pixelRect(page, toUser(page, rotate, [4]float64{dispW - 30*mm, 0, 1e4, 1e4})), 0)
		_, place, err = Build(page, opt)
		if err != nil || !place.Moved || !strings.Contains(place.Where, "mm left of the top right corner") {
			t.Fatalf("rotate %d, ink down the right side: %+v, %v; want it moved left", rotate, place, err)
		}
		t.Logf("rotate %d: %s", rotate, place.Where)

		// Ink everywhere: the usual place, and the operator is told.
		fill(page.Ink, page.Ink.Rect, 0)
		_, place, err = Build(page, opt)
		if err != nil || place.Moved || place.Rect != home.Rect || !strings.Contains(place.Where, "no free place") {
			t.Errorf("rotate %d, ink everywhere: %+v, %v; want the usual place and a word about it", rotate, place, err)
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	page := Page{WidthPt: a4W, HeightPt: a4H}
	good := Options{Agency: agencyVN, Time: signingTime}
	for _, c := range []struct {
		name string
		page Page
		edit func(*Options)
		want string
	}{
		{"no agency", page, func(o *Options) { o.Agency = "  " }, "station.agency"},
		{"no time", page, func(o *Options) { o.Time = time.Time{} }, "signing time"},
		{"unknown profile", page, func(o *Options) { o.Profile = "decree31" }, "decree31"},
		{"no seal", page, func(o *Options) { o.Profile = Circular01 }, "mark.seal_image"},
		{"not a PNG", page, func(o *Options) { o.Profile, o.SealPNG = Circular01, []byte("GIF89a") }, "PNG"},
		{"letter missing", page, func(o *Options) { o.Agency = "Sở 中文" }, "U+4E2D"},
		{"bad format", page, func(o *Options) { o.TimeFormat = "dd.MM.yy" }, "time format"},
		{"no font", page, func(o *Options) { o.FontFile = "/nonexistent.ttf" }, "font"},
		{"not a font", page, func(o *Options) { o.FontFile = "/etc/hostname" }, "font"},
		{"odd rotation", Page{WidthPt: a4W, HeightPt: a4H, Rotate: 45}, nil, "45 degrees"},
		{"no size", Page{}, nil, "size"},
		{"too small", Page{WidthPt: 30 * mm, HeightPt: 20 * mm}, nil, "page would have to be at least"},
		{"too small, refused", Page{WidthPt: 150, HeightPt: 80}, func(o *Options) { o.SmallPages = RefuseSmall }, "mark.small_pages"},
		{"unknown small page policy", page, func(o *Options) { o.SmallPages = "smaller" }, "smaller"},
	} {
		opt := good
		if c.edit != nil {
			c.edit(&opt)
		}
		_, _, err := Build(c.page, opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one mentioning %q", c.name, err, c.want)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	page := Page{WidthPt: a4W, HeightPt: a4H, Ink: blankInk(207, 292)} // 1/8 of a 200 dpi A4 scan
	fill(page.Ink, image.Rect(120, 0, 207, 60), 0)
	opt := Options{Agency: agencyVN, Time: signingTime}
	for b.Loop() {
		if _, _, err := Build(page, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// toDisplay turns a rectangle in the page's user space into the displayed
// page's space (origin at its lower left), after a clockwise /Rotate.
func toDisplay(page Page, r [4]float64) [4]float64 {
	W, H := page.WidthPt, page.HeightPt
	pt := func(x, y float64) (float64, float64) {
		switch (page.Rotate%360 + 360) % 360 {
		case 90:
			return y, W - x
		case 180:
			return W - x, H - y
		case 270:
			return H - y, x
		}
		return x, y
	}
	ax, ay := pt(r[0], r[1])
	bx, by := pt(r[2], r[3])
	return [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)}
}

func near(a, b float64) bool { return a-b < 0.01 && b-a < 0.01 }

// formMatrix reads the cm the content stream begins with.
func formMatrix(t *testing.T, content []byte) [6]float64 {
	t.Helper()
	m := regexp.MustCompile(`^q ([-\d. ]+) cm\n`).FindSubmatch(content)
	if m == nil {
		t.Fatalf("content does not begin with q … cm: %q", content)
	}
	var out [6]float64
	f := strings.Fields(string(m[1]))
	if len(f) != 6 {
		t.Fatalf("cm with %d numbers: %q", len(f), m[1])
	}
	for i, s := range f {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// shownLines reads the glyph IDs of each Tj in content.
func shownLines(t *testing.T, content []byte) [][]uint16 {
	t.Helper()
	var lines [][]uint16
	for _, m := range regexp.MustCompile(`<([0-9A-F]*)> Tj`).FindAllSubmatch(content, -1) {
		if len(m[1])%4 != 0 {
			t.Fatalf("odd hex string %q", m[1])
		}
		var l []uint16
		for i := 0; i < len(m[1]); i += 4 {
			v, _ := strconv.ParseUint(string(m[1][i:i+4]), 16, 16)
			l = append(l, uint16(v))
		}
		lines = append(lines, l)
	}
	return lines
}

// sealPNG is a red ring on a transparent background, 200 × 200 pixels.
func sealPNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			d := (x-100)*(x-100) + (y-100)*(y-100)
			if d < 98*98 && d > 80*80 || d < 30*30 {
				img.Set(x, y, color.NRGBA{R: 0xd0, G: 0x10, B: 0x10, A: 0xff})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func blankInk(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	fill(g, g.Rect, 0xff)
	return g
}

func fill(g *image.Gray, r image.Rectangle, v uint8) {
	r = r.Intersect(g.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			g.SetGray(x, y, color.Gray{Y: v})
		}
	}
}

// pixelRect is the pixels of page.Ink under r, a rectangle in user space.
func pixelRect(page Page, r [4]float64) image.Rectangle {
	sx := float64(page.Ink.Rect.Dx()) / page.WidthPt
	sy := float64(page.Ink.Rect.Dy()) / page.HeightPt
	return image.Rect(int(r[0]*sx), int((page.HeightPt-r[3])*sy), int(r[2]*sx+0.999), int((page.HeightPt-r[1])*sy+0.999))
}

func inflate(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
