package main

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normalise puts text in the form both sides are compared in: NFC, every run
// of white space (line ends included) one space, none at the ends.
func normalise(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// levenshtein is the edit distance between a and b in runes: insertions,
// deletions and substitutions each cost one.
func levenshtein(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
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
	return prev[len(b)]
}

// markTime matches the signing time as the mark prints it by default
// (certify/mark DefaultTimeFormat, "05.03.2020 16:43:18 +07:00").
var markTime = regexp.MustCompile(`^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}$`)

// copyLabels are the words a decree30 mark starts with (certify/mark).
var copyLabels = map[string]bool{"SAO Y": true, "SAO LỤC": true, "TRÍCH SAO": true}

// removeMark takes the certification mark's lines out of text read from a
// signed PDF: the copy label, the agency's name (wrapped over one or more
// lines) and the signing time, which the mark draws as consecutive lines.
// agency may be empty; then only a label-to-time block, or the time line
// alone, is recognised. Lines of the document that merely resemble the mark
// (a page with "SAO Y" somewhere in its body) stay unless the time line
// follows within the mark's reach.
func removeMark(lines []string, agency string) []string {
	agency = normalise(agency)
	for t, l := range lines {
		if !markTime.MatchString(strings.TrimSpace(l)) {
			continue
		}
		start := t
		// A decree30 mark: label, agency lines, time.
		for s := t - 1; s >= 0 && s >= t-6; s-- {
			if copyLabels[normalise(lines[s])] {
				start = s
				break
			}
		}
		if start == t && agency != "" {
			// A circular01 mark has no label: the agency's lines
			// directly above the time.
			for s := t - 1; s >= 0; s-- {
				n := normalise(lines[s])
				if n == "" || !strings.Contains(" "+agency+" ", " "+n+" ") {
					break
				}
				start = s
			}
		}
		out := append([]string(nil), lines[:start]...)
		return append(out, lines[t+1:]...)
	}
	return lines
}

// digitTokens returns the words of s that contain a digit (numbers, dates,
// document numbers such as "30/2020/NĐ-CP"), with the punctuation that ends a
// sentence or clause trimmed off their ends.
func digitTokens(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		w = strings.TrimRight(w, ".,;:)")
		w = strings.TrimLeft(w, "(")
		if strings.IndexFunc(w, unicode.IsDigit) >= 0 {
			out = append(out, w)
		}
	}
	return out
}

// digitMatches counts how many of the truth's digit tokens the hypothesis
// has exactly, each hypothesis token matching once.
func digitMatches(truth, hyp string) (matched, total int) {
	have := map[string]int{}
	for _, w := range digitTokens(hyp) {
		have[w]++
	}
	for _, w := range digitTokens(truth) {
		total++
		if have[w] > 0 {
			have[w]--
			matched++
		}
	}
	return matched, total
}

// score is one page's result.
type score struct {
	Edits       int `json:"edits"`
	TruthRunes  int `json:"truth_chars"`
	DigitsRight int `json:"number_words_right"`
	Digits      int `json:"number_words"`
	// WordsMissed counts the truth's words the text lacks, in any order:
	// it tells recognition errors from reading-order ones, which the CER
	// counts as well (a moved line costs twice its length).
	WordsMissed int `json:"words_missed_any_order"`
	Words       int `json:"words"`
	// InOrder of Common words (those both texts have) stand in the
	// reference's order; see wordOrder.
	InOrder int `json:"words_in_order"`
	Common  int `json:"words_common"`
}

// order is the share of the words both texts have that stand in the
// reference's order: 1 for the same order, about one half for a page whose
// two columns came out the other way round.
func (s score) order() float64 {
	if s.Common == 0 {
		return 0
	}
	return float64(s.InOrder) / float64(s.Common)
}

// wordOrder compares the order of hyp's words with ref's: inOrder is the
// length of the longest common subsequence of the two word sequences, common
// the number of words they share in any order. Words that were misread count
// in neither, so the ratio measures reading order apart from recognition.
func wordOrder(ref, hyp string) (inOrder, common int) {
	r, h := strings.Fields(ref), strings.Fields(hyp)
	missed, total := wordsMissed(ref, hyp)
	common = total - missed
	// Words as small integers: comparing ints in the quadratic loop, not strings.
	ids := map[string]int{}
	id := func(ws []string) []int {
		out := make([]int, len(ws))
		for i, w := range ws {
			if _, ok := ids[w]; !ok {
				ids[w] = len(ids)
			}
			out[i] = ids[w]
		}
		return out
	}
	a, b := id(r), id(h)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)], common
}

func (s score) wordMiss() float64 {
	if s.Words == 0 {
		return 0
	}
	return float64(s.WordsMissed) / float64(s.Words)
}

// wordsMissed counts the words of truth that hyp does not have, each word of
// hyp standing for one of truth's.
func wordsMissed(truth, hyp string) (missed, total int) {
	have := map[string]int{}
	for _, w := range strings.Fields(hyp) {
		have[w]++
	}
	for _, w := range strings.Fields(truth) {
		total++
		if have[w] > 0 {
			have[w]--
		} else {
			missed++
		}
	}
	return missed, total
}

func (s score) cer() float64 {
	if s.TruthRunes == 0 {
		return 0
	}
	return float64(s.Edits) / float64(s.TruthRunes)
}

func (s *score) add(o score) {
	s.Edits += o.Edits
	s.TruthRunes += o.TruthRunes
	s.DigitsRight += o.DigitsRight
	s.Digits += o.Digits
	s.WordsMissed += o.WordsMissed
	s.Words += o.Words
	s.InOrder += o.InOrder
	s.Common += o.Common
}

// compare scores recognised text against the ground truth; both are
// normalised first.
func compare(truth, hyp string) score {
	t, h := normalise(truth), normalise(hyp)
	right, total := digitMatches(t, h)
	missed, words := wordsMissed(t, h)
	inOrder, common := wordOrder(t, h)
	return score{
		InOrder:     inOrder,
		Common:      common,
		WordsMissed: missed,
		Words:       words,
		Edits:       levenshtein([]rune(t), []rune(h)),
		TruthRunes:  len([]rune(t)),
		DigitsRight: right,
		Digits:      total,
	}
}

// The pieces of the mark's default time, found alone when pdftotext splits
// the time's line.
var markTimeWord = regexp.MustCompile(`^(\d{2}\.\d{2}\.\d{4}|\d{2}:\d{2}:\d{2}|[+-]\d{2}:\d{2})$`)

// removeMarkWords takes out the mark's words where removeMark found no whole
// lines: every word shaped like a piece of the mark's time, and the first run
// of the copy label followed by the agency's words (the label alone when
// agency is empty). Only what is left after a time piece was found is
// touched, so a page without a mark keeps its "SAO Y".
func removeMarkWords(text, agency string) string {
	words := strings.Fields(norm.NFC.String(text))
	var kept []string
	for _, w := range words {
		if !markTimeWord.MatchString(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == len(words) {
		return text
	}
	agencyWords := strings.Fields(normalise(agency))
	for label := range copyLabels {
		seq := append(strings.Fields(label), agencyWords...)
		for i := 0; i+len(seq) <= len(kept); i++ {
			if slices.Equal(kept[i:i+len(seq)], seq) {
				return strings.Join(slices.Delete(kept, i, i+len(seq)), " ")
			}
		}
	}
	return strings.Join(kept, " ")
}
