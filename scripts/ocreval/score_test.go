package main

import (
	"slices"
	"testing"
)

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"Uỷ ban", "Ủy ban", 2}, // two letters swapped their tone mark
		{"tỉnh", "tinh", 1},     // one rune, not one byte
		{"số hóa", "số hóa", 0},
	} {
		if got := levenshtein([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNormalise(t *testing.T) {
	// "Ủy" with the hook above as a combining mark (NFD) and stray white space.
	in := "  \u0055\u0309y ban\n\n nhân\tdân  "
	if got, want := normalise(in), "Ủy ban nhân dân"; got != want {
		t.Errorf("normalise(%q) = %q, want %q", in, got, want)
	}
}

func TestRemoveMark(t *testing.T) {
	page := []string{"ỦY BAN NHÂN DÂN", "Số: 12/UBND-VP", "SAO Y"}
	decree30 := append(append([]string{}, page...),
		"SAO Y", "Ủy ban nhân dân tỉnh Bà Rịa -", "Vũng Tàu", "05.03.2020 16:43:18 +07:00", "Kính gửi: Các sở.")
	if got, want := removeMark(decree30, ""), append(append([]string{}, page...), "Kính gửi: Các sở."); !slices.Equal(got, want) {
		t.Errorf("decree30 mark: got %q, want %q", got, want)
	}

	circular := []string{"Nguyễn Văn Thọ", "Ủy ban nhân dân tỉnh", "Bà Rịa - Vũng Tàu", "05.03.2020 16:43:18 +07:00"}
	if got, want := removeMark(circular, "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"), []string{"Nguyễn Văn Thọ"}; !slices.Equal(got, want) {
		t.Errorf("circular01 mark: got %q, want %q", got, want)
	}

	// Without a time line there is no mark: a page's own "SAO Y" stays.
	if got := removeMark(page, ""); !slices.Equal(got, page) {
		t.Errorf("page without a mark: got %q, want it unchanged", got)
	}
}

func TestCompareDigits(t *testing.T) {
	truth := "Số: 2417/UBND-VP ngày 05 tháng 6 năm 2020."
	hyp := "Số: 2417/UBND-VP ngày 06 tháng 6 nam 2020"
	s := compare(truth, hyp)
	if s.Digits != 4 || s.DigitsRight != 3 {
		t.Errorf("number words: %d of %d right, want 3 of 4", s.DigitsRight, s.Digits)
	}
	if s.Edits != 3 { // 5→6, ă→a, the full stop
		t.Errorf("edits = %d, want 3", s.Edits)
	}
}

func TestRemoveMarkWords(t *testing.T) {
	torn := "ỦY BAN NHÂN DÂN NHÀ NƯỚC SAO Y Cơ quan thử nghiệm (DEV) 09:04:39 +07:00 Số: 03/TB\nKính gửi 07.12.2026 các sở."
	want := "ỦY BAN NHÂN DÂN NHÀ NƯỚC Số: 03/TB Kính gửi các sở."
	if got := removeMarkWords(torn, "Cơ quan thử nghiệm (DEV)"); got != want {
		t.Errorf("torn mark:\n got %q\nwant %q", got, want)
	}
	// No piece of the mark's time: the text is not touched.
	page := "Bản SAO Y bản chính, ngày 05 tháng 3"
	if got := removeMarkWords(page, "Cơ quan"); got != page {
		t.Errorf("page without a mark: got %q, want it unchanged", got)
	}
}

func TestWordsMissed(t *testing.T) {
	// The same words in another order miss nothing; a lost tone mark misses one.
	if m, n := wordsMissed("Số: 12 Kính gửi", "Kính gửi Số: 12"); m != 0 || n != 4 {
		t.Errorf("reordered: %d of %d missed, want 0 of 4", m, n)
	}
	if m, _ := wordsMissed("tỉnh Bà Rịa", "tinh Bà Rịa"); m != 1 {
		t.Errorf("lost tone mark: %d missed, want 1", m)
	}
}

func TestWordOrder(t *testing.T) {
	ref := "a1 a2 a3 a4 b1 b2 b3 b4"
	for _, c := range []struct {
		name, hyp       string
		inOrder, common int
	}{
		{"same order", ref, 8, 8},
		{"columns swapped", "b1 b2 b3 b4 a1 a2 a3 a4", 4, 8},
		{"one word misread", "a1 a2 a3 a4 b1 bZ b3 b4", 7, 7},
		{"one line moved", "a1 a2 b1 b2 a3 a4 b3 b4", 6, 8},
		{"nothing", "", 0, 0},
	} {
		in, n := wordOrder(ref, c.hyp)
		if in != c.inOrder || n != c.common {
			t.Errorf("%s: %d of %d in order, want %d of %d", c.name, in, n, c.inOrder, c.common)
		}
	}
}
