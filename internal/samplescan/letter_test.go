package samplescan

import (
	"image"
	"strings"
	"testing"
	"time"
)

func TestLetterSetIsVariedAndStable(t *testing.T) {
	set := LetterSet(40, 1)
	if len(set) != 40 {
		t.Fatalf("%d letters", len(set))
	}
	again := LetterSet(40, 1)
	names := map[string]bool{}
	kinds := map[string]bool{}
	var at200, withParent, twoLineSubject int
	for i, s := range set {
		if s.Name != again[i].Name || s.Letter.NumberLine() != again[i].Letter.NumberLine() ||
			!s.Letter.Date.Equal(again[i].Letter.Date) {
			t.Errorf("letter %d differs between two calls with the same seed", i)
		}
		names[s.Name] = true
		kinds[s.Letter.TypeName] = true
		if s.Options.DPI == 200 {
			at200++
		}
		if s.Letter.ParentOrgan != "" {
			withParent++
			if s.Letter.OrganLines[0] != s.Letter.ParentOrgan {
				t.Errorf("%s: parent %q is not the first line of %q", s.Name, s.Letter.ParentOrgan, s.Letter.OrganLines)
			}
		}
		if len(s.Letter.Subject) > 1 {
			twoLineSubject++
		}
	}
	if len(names) != 40 || len(kinds) < 8 || at200 < 8 || withParent < 10 || withParent > 32 || twoLineSubject < 3 {
		t.Errorf("%d names, %d types, %d at 200 dpi, %d with a parent organ, %d two-line subjects",
			len(names), len(kinds), at200, withParent, twoLineSubject)
	}
}

func TestLetterLines(t *testing.T) {
	l := Letter{
		OrganLines: []string{"ỦY BAN NHÂN DÂN", "TỈNH BÀ RỊA - VŨNG TÀU"},
		CodeNumber: "2417", CodeNotation: "UBND-VP", Place: "Bà Rịa - Vũng Tàu",
		Date:     time.Date(2020, 6, 5, 0, 0, 0, 0, time.UTC),
		TypeName: "Công văn", Subject: []string{"triển khai số hóa"},
	}
	if got := l.NumberLine(); got != "Số: 2417/UBND-VP" {
		t.Errorf("NumberLine %q", got)
	}
	if got := l.DateLine(); got != "Bà Rịa - Vũng Tàu, ngày 05 tháng 6 năm 2020" {
		t.Errorf("DateLine %q", got)
	}
	l.Date = time.Date(2019, 2, 14, 0, 0, 0, 0, time.UTC)
	if got := l.DateLine(); !strings.HasSuffix(got, "ngày 14 tháng 02 năm 2019") {
		t.Errorf("DateLine %q: February takes a leading zero", got)
	}
	if lines := l.Lines(); !contains(lines, "V/v triển khai số hóa") || contains(lines, "CÔNG VĂN") {
		t.Errorf("a Công văn prints a V/v line and no heading: %q", lines)
	}
	l.TypeName = "Quyết định"
	if lines := l.Lines(); !contains(lines, "QUYẾT ĐỊNH") {
		t.Errorf("no heading in %q", lines)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func TestRenderLetter(t *testing.T) {
	s := LetterSet(4, 1)[3] // a 200 dpi page
	img, err := RenderLetter(s.Letter, s.Options)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1654 || b.Dy() != 2339 {
		t.Errorf("200 dpi A4 is %v", b)
	}
	// The header has ink in both columns; the bottom margin has none.
	if n := inkPixels(crop(img, 0, 0, 827, 400)); n == 0 {
		t.Error("no organ block")
	}
	if n := inkPixels(crop(img, 827, 0, 1654, 400)); n == 0 {
		t.Error("no motto")
	}
	if n := inkPixels(crop(img, 0, 2200, 1654, 2339)); n != 0 {
		t.Errorf("%d ink pixels in the bottom margin", n)
	}
	s.Letter.OrganLines = []string{"SỞ \u4e00"}
	if _, err := RenderLetter(s.Letter, s.Options); err == nil || !strings.Contains(err.Error(), "no glyph") {
		t.Errorf("a missing glyph: %v", err)
	}
}

func crop(img image.Image, x0, y0, x1, y1 int) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(x0, y0, x1, y1))
}
