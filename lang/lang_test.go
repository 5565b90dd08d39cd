package lang

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

var verb = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[a-zA-Z%]`)

func verbs(s string) []string {
	v := verb.FindAllString(s, -1)
	slices.Sort(v)
	return v
}

// Every message has a Vietnamese text, with the same printf verbs as the English, in NFC
// (the form fonts and search expect), and no key is registered twice.
func TestEveryMessageTranslated(t *testing.T) {
	seen := map[string]bool{}
	for _, table := range tables() {
		for _, p := range table {
			switch {
			case seen[p.en]:
				t.Errorf("%q is registered twice", p.en)
			case strings.TrimSpace(p.vi) == "":
				t.Errorf("%q has no Vietnamese text", p.en)
			case !slices.Equal(verbs(p.en), verbs(p.vi)):
				t.Errorf("%q has verbs %v, its Vietnamese %q has %v", p.en, verbs(p.en), p.vi, verbs(p.vi))
			case !utf8.ValidString(p.vi) || !norm.NFC.IsNormalString(p.vi):
				t.Errorf("the Vietnamese of %q is not NFC UTF-8: %q", p.en, p.vi)
			}
			seen[p.en] = true
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d messages registered", len(seen))
	}
}

func TestPrinters(t *testing.T) {
	vi := Printer(Vietnamese).Sprintf("Logged in as %s", "Lan")
	if vi != "Đang đăng nhập: Lan" {
		t.Errorf("Vietnamese = %q", vi)
	}
	en := Printer(English).Sprintf("Logged in as %s", "Lan")
	if en != "Logged in as Lan" {
		t.Errorf("English = %q", en)
	}
	if got := Printer(Vietnamese).Sprintf("Too many failed logins. Try again in %d minutes.", 15); got != "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." {
		t.Errorf("with a number: %q", got)
	}
	// The terms of Decree 30/2020, with their diacritics.
	for en, vi := range map[string]string{
		"Electronic copy": "Bản sao điện tử", "Digital signature": "Chữ ký số", "Number and notation": "Số và ký hiệu",
		"Summary": "Trích yếu", "Issuing organ": "Cơ quan ban hành", "Document type": "Loại văn bản",
		"Date issued": "Ngày ban hành", "Records clerk": "Văn thư",
	} {
		if got := Printer(Vietnamese).Sprintf(en); got != vi {
			t.Errorf("%q = %q, want %q", en, got, vi)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"vi": "vi", "VI": "vi", "vi-VN": "vi", "en": "en", " en-GB ": "en"} {
		tag, err := Parse(in)
		if err != nil || Code(tag) != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", in, tag, err, want)
		}
	}
	for _, in := range []string{"", "fr", "vietnamese"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
	if !Has("Log in") || Has("no such message") {
		t.Error("Has is wrong")
	}
}
