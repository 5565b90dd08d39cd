package mark

import (
	"image"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// smallPages are originals too small for the mark as the decree's office lays it out at
// A4: till receipts, a business card, A7 and A8 slips (width × height in mm, as scanned).
var smallPages = []struct {
	name string
	w, h float64
}{
	{"receipt 80 mm", 80, 120},
	{"receipt 58 mm", 58, 150},
	{"business card", 85, 55},
	{"A7", 74, 105},
	{"A8", 52, 74},
}

// TestBuildSmallPages lays the mark out on small originals with both policies, at the
// decree's 10 pt and at an office's 12 pt, upright and turned: with shrink it fits inside the
// page at a margin no narrower than the floor and a font no smaller than 10 pt, sits at its
// margin in the top right corner as displayed, and says what it changed; with refuse, a page
// that needed a change is refused with the page's size and the setting to change.
func TestBuildSmallPages(t *testing.T) {
	for _, agency := range []string{"Sở Nội vụ", agencyVN} {
		for _, size := range []float64{10, 12} {
			for _, p := range smallPages {
				for _, rotate := range []int{0, 90} {
					page := Page{WidthPt: p.w * mm, HeightPt: p.h * mm, Rotate: rotate}
					dispW, dispH := page.WidthPt, page.HeightPt
					if rotate == 90 {
						dispW, dispH = dispH, dispW
					}
					opt := Options{Agency: agency, Time: signingTime, FontSize: size}
					name := strings.Join([]string{p.name, agency, strconv.FormatFloat(size, 'f', -1, 64) + " pt", strconv.Itoa(rotate)}, ", ")
					a, place, err := Build(page, opt)
					if err != nil {
						t.Errorf("%s: shrink: %v", name, err)
						continue
					}
					if place.FontSize < LegalFontSize || place.FontSize > size || place.MarginMM < DefaultMinMarginMM || place.MarginMM > DefaultMarginMM {
						t.Errorf("%s: laid out at %g pt with a %g mm margin", name, place.FontSize, place.MarginMM)
					}
					if got := shownSize(t, a.Content); got != place.FontSize {
						t.Errorf("%s: the text is set at %g pt; the placement says %g", name, got, place.FontSize)
					}
					d := toDisplay(page, place.Rect)
					m := place.MarginMM * mm
					if !near(d[2], dispW-m) || !near(d[3], dispH-m) || d[0] < m-0.01 || d[1] < m-0.01 {
						t.Errorf("%s: box %v (displayed) on a %.1f × %.1f pt page is not top right inside %g mm margins", name, d, dispW, dispH, place.MarginMM)
					}
					changed := place.MarginMM != DefaultMarginMM || place.FontSize != size
					if changed != strings.Contains(place.Where, "; small page: ") || !strings.HasPrefix(place.Where, "top right") {
						t.Errorf("%s: placement %q with margin %g mm and %g pt", name, place.Where, place.MarginMM, place.FontSize)
					}
					t.Logf("%s: %.1f × %.1f mm: %s", name, (d[2]-d[0])/mm, (d[3]-d[1])/mm, place.Where)

					opt.SmallPages = RefuseSmall
					_, refused, err := Build(page, opt)
					switch {
					case changed && err == nil:
						t.Errorf("%s: refuse: placed %+v; want a refusal", name, refused)
					case changed && !(strings.Contains(err.Error(), "too small") && strings.Contains(err.Error(), "mark.small_pages")):
						t.Errorf("%s: refuse: %v; want the page too small and the setting named", name, err)
					case !changed && (err != nil || refused.Rect != place.Rect):
						t.Errorf("%s: refuse on a page the mark fits: %+v, %v; want the same place as shrink", name, refused, err)
					}
				}
			}
		}
	}
}

// TestBuildSmallPagesOrder checks which change comes first: a 12 pt mark on a 58 mm receipt
// first comes down to the decree's 10 pt, and then narrows its margin only as far as needed.
func TestBuildSmallPagesOrder(t *testing.T) {
	page := Page{WidthPt: 58 * mm, HeightPt: 150 * mm}
	_, place, err := Build(page, Options{Agency: "Sở Nội vụ", Time: signingTime, FontSize: 12})
	if err != nil {
		t.Fatal(err)
	}
	// The 10 pt box is 42.3 mm wide: 58 mm leaves 7.85 mm each side, 7.5 in half millimetres.
	want := "top right; small page: margin 7.5 mm instead of 10, font 10 pt instead of 12"
	if place.Where != want || place.MarginMM != 7.5 || place.FontSize != 10 {
		t.Errorf("placement %q (%g mm, %g pt); want %q", place.Where, place.MarginMM, place.FontSize, want)
	}
	// A larger floor than the page allows: refused, naming the size needed.
	_, _, err = Build(page, Options{Agency: "Sở Nội vụ", Time: signingTime, MinMarginMM: 8})
	if err == nil || !strings.Contains(err.Error(), "at least 58.4 × ") || !strings.Contains(err.Error(), "with 8 mm margins") {
		t.Errorf("floor of 8 mm on a 58 mm receipt: %v; want a refusal naming 8 mm margins and a page at least 58 mm wide", err)
	}
}

// TestBuildSmallPageAvoidsInk puts a business card's logo line under the top of the usual
// place: the mark moves off it, and stays where verify looks for it (right half, top quarter).
// A card leaves little room: the mark may go down 3.75 mm at most (55 mm / 4 less the margin).
func TestBuildSmallPageAvoidsInk(t *testing.T) {
	page := Page{WidthPt: 85 * mm, HeightPt: 55 * mm, Ink: blankInk(85*4, 55*4)} // 4 px a mm
	opt := Options{Agency: "Sở Nội vụ", Time: signingTime}
	_, home, err := Build(page, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The logo line: 8 mm to 11 mm down, 60 mm to 80 mm across.
	block := image.Rect(60*4, 8*4, 80*4, 11*4)
	fill(page.Ink, block, 0)
	_, place, err := Build(page, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !place.Moved || pixelRect(page, place.Rect).Overlaps(block) {
		t.Errorf("the mark at %v (pixels %v, %s) is over the card's logo %v", place.Rect, pixelRect(page, place.Rect), place.Where, block)
	}
	r := place.Rect
	if r[2] < page.WidthPt/2 || page.HeightPt-r[3] > page.HeightPt/4 || r[0] < 0 || r[1] < 0 {
		t.Errorf("the mark moved to %v, out of the top right region (right half, top quarter) of the %.0f × %.0f pt card", r, page.WidthPt, page.HeightPt)
	}
	t.Logf("usual place %v; with the logo under it: %v, %s", home.Rect, r, place.Where)

	// Ink over the top right 20 mm: the mark stays in the usual place and says so,
	// rather than leaving the region verify checks.
	fill(page.Ink, image.Rect(40*4, 0, 85*4, 20*4), 0)
	_, place, err = Build(page, opt)
	if err != nil || place.Moved || place.Rect != home.Rect || !strings.Contains(place.Where, "no free place") {
		t.Errorf("ink over the top right of the card: %+v, %v; want the usual place and a word about it", place, err)
	}
}

// shownSize reads the font size of the mark's text.
func shownSize(t *testing.T, content []byte) float64 {
	t.Helper()
	m := regexp.MustCompile(`/F1 ([\d.]+) Tf`).FindSubmatch(content)
	if m == nil {
		t.Fatalf("no Tf in %q", content)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
