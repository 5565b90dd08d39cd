package docmeta

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fold lowers s and takes the tone and vowel marks off its letters ("Số" →
// "so", "ĐỊNH" → "dinh"), so that text read with slips in the diacritics
// still compares equal.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// trimPunct takes punctuation off both ends of a word: "Tàu," → "Tàu".
func trimPunct(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) && r != '-' && r != '/' })
}

// digitSlips maps what OCR reads instead of a digit.
var digitSlips = map[rune]rune{
	'O': '0', 'o': '0', 'Ơ': '0', 'ơ': '0', 'Ô': '0', 'ô': '0', 'ó': '0', 'ò': '0',
	'l': '1', 'I': '1', 'i': '1', '|': '1', '!': '1', 'í': '1', 'ì': '1', ']': '1',
	'Z': '2', 'z': '2', 'S': '5', 's': '5', 'B': '8', 'g': '9', 'G': '6', 'b': '6',
}

// digits reads s as digits, mending OCR slips; it reports how many runes it
// had to mend, and false when s is not digit-like at all.
func digits(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	var b strings.Builder
	mended := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			d, ok := digitSlips[r]
			if !ok {
				return "", 0, false
			}
			b.WriteRune(d)
			mended++
		}
	}
	if mended*2 > len([]rune(s)) {
		return "", 0, false // mostly letters: a word, not a number
	}
	return b.String(), mended, true
}

// notationSlips are parts of a notation OCR reads without the stroke of Đ
// or with the wrong case, and what they are (Decree 30/2020 Appendix III
// abbreviations and common organ abbreviations). Only parts that cannot be
// something else are listed: "HD" (hướng dẫn) and "HĐ" (hợp đồng) both
// exist, so neither is mended.
var notationSlips = map[string]string{
	"QD": "QĐ", "ND": "NĐ", "QYD": "QyĐ", "QyD": "QyĐ", "HDND": "HĐND", "DHQG": "ĐHQG",
	"SGDDT": "SGDĐT", "GDDT": "GDĐT", "TTR": "TTr", "CTR": "CTr", "UBMTTQ": "UBMTTQ",
	"DU": "ĐU", "DUK": "ĐUK", "TTLT": "TTLT", "CD": "CĐ",
}

// Decree 30/2020 Appendix III: document types and their abbreviations.
var documentTypes = []struct{ name, abbr string }{
	{"Nghị quyết", "NQ"}, {"Quyết định", "QĐ"}, {"Chỉ thị", "CT"}, {"Quy chế", "QC"},
	{"Quy định", "QyĐ"}, {"Thông cáo", "TC"}, {"Thông báo", "TB"}, {"Hướng dẫn", "HD"},
	{"Chương trình", "CTr"}, {"Kế hoạch", "KH"}, {"Phương án", "PA"}, {"Đề án", "ĐA"},
	{"Dự án", "DA"}, {"Báo cáo", "BC"}, {"Biên bản", "BB"}, {"Tờ trình", "TTr"},
	{"Hợp đồng", "HĐ"}, {"Công điện", "CĐ"}, {"Bản ghi nhớ", "BGN"}, {"Bản thỏa thuận", "BTT"},
	{"Giấy ủy quyền", "GUQ"}, {"Giấy mời", "GM"}, {"Giấy giới thiệu", "GGT"}, {"Giấy nghỉ phép", "GNP"},
	{"Phiếu gửi", "PG"}, {"Phiếu chuyển", "PC"}, {"Phiếu báo", "PB"}, {"Thư công", ""},
	{"Công văn", ""},
}

// A lexicon maps folded phrases to their written form, so that words read
// without their marks ("VUNG TAU") get them back ("VŨNG TÀU").
type lexicon struct {
	phrases map[string][]string // folded first word → folded phrases starting with it
	written map[string]string   // folded phrase → written phrase
	glued   map[string]string   // folded phrase without spaces → written phrase ("haichau")
	longest int                 // words in the longest phrase
}

func newLexicon(lists ...string) *lexicon {
	lx := &lexicon{phrases: map[string][]string{}, written: map[string]string{}, glued: map[string]string{}}
	for _, list := range lists {
		for _, line := range strings.Split(list, "\n") {
			line = norm.NFC.String(strings.TrimSpace(line))
			if line == "" {
				continue
			}
			words := strings.Fields(line)
			key := fold(strings.Join(words, " "))
			if w, ok := lx.written[key]; ok {
				if w != strings.Join(words, " ") {
					lx.written[key] = "" // two written forms: restore neither
				}
				continue
			}
			lx.written[key] = strings.Join(words, " ")
			if len(words) > 1 {
				lx.glued[strings.ReplaceAll(key, " ", "")] = lx.written[key]
			}
			first := fold(words[0])
			lx.phrases[first] = append(lx.phrases[first], key)
			lx.longest = max(lx.longest, len(words))
		}
	}
	return lx
}

// restore gives words their marks back where a run of them folds to a known
// phrase, longest phrases first, keeping each word's case and punctuation.
// It returns the words and the share of them the lexicon knew.
func (lx *lexicon) restore(words []string) ([]string, float64) {
	words = lx.unglue(words)
	out := append([]string(nil), words...)
	core := make([]string, len(words))
	for i, w := range words {
		core[i] = fold(trimPunct(w))
	}
	known := 0
	for i := 0; i < len(words); {
		matched := 0
		for n := min(lx.longest, len(words)-i); n > 0; n-- {
			key := strings.Join(core[i:i+n], " ")
			if phrase, ok := lx.written[key]; ok && phrase != "" {
				for j, w := range strings.Fields(phrase) {
					out[i+j] = withCaseAndPunct(words[i+j], w)
				}
				matched = n
				break
			}
		}
		if matched == 0 {
			// Words OCR glued together: "HAICHAU" for "HẢI CHÂU".
			if phrase, ok := lx.glued[core[i]]; ok && phrase != "" {
				var ws []string
				for _, w := range strings.Fields(phrase) {
					ws = append(ws, withCaseAndPunct(trimPunct(words[i]), w))
				}
				out[i] = strings.Replace(words[i], trimPunct(words[i]), strings.Join(ws, " "), 1)
				known++
			}
			i++
			continue
		}
		known += matched
		i += matched
	}
	if len(words) == 0 {
		return out, 0
	}
	return out, float64(known) / float64(len(words))
}

// unglue cuts words OCR read as one ("TỈNHLÂM") where exactly one cut
// gives a known word followed by the start of a known phrase.
func (lx *lexicon) unglue(words []string) []string {
	var out []string
	for _, w := range words {
		core := trimPunct(w)
		f := fold(core)
		if _, ok := lx.phrases[f]; ok || core != w || !utf8Same(f, core) || len(f) != len([]rune(f)) {
			out = append(out, w)
			continue
		}
		cut, n := 0, 0
		for i := 1; i < len(f); i++ {
			if lx.written[f[:i]] != "" && len(lx.phrases[f[i:]]) > 0 {
				cut = i
				n++
			}
		}
		if n != 1 {
			out = append(out, w)
			continue
		}
		r := []rune(core) // folding keeps one rune per letter
		out = append(out, string(r[:cut]), string(r[cut:]))
	}
	return out
}

// utf8Same tells whether folded has as many runes as s, so that a cut in
// one is a cut in the other (folded must also be ASCII: bytes are runes).
func utf8Same(folded, s string) bool {
	return len([]rune(folded)) == len([]rune(s))
}

// withCaseAndPunct writes the lexicon's word w in the case of the OCR word
// ocrWord and with its punctuation.
func withCaseAndPunct(ocrWord, w string) string {
	core := trimPunct(ocrWord)
	i := strings.Index(ocrWord, core)
	if core == "" || i < 0 {
		return ocrWord
	}
	switch {
	case isUpper(core):
		w = strings.ToUpper(w)
	case startsUpper(core):
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		w = string(r)
	}
	return ocrWord[:i] + w + ocrWord[i+len(core):]
}

func isUpper(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if !unicode.IsUpper(r) {
				return false
			}
		}
	}
	return letters > 0
}

func startsUpper(s string) bool {
	for _, r := range s {
		return unicode.IsUpper(r)
	}
	return false
}
