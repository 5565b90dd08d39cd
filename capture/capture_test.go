package capture

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// letter is a printed side; blank a blank one.
var (
	letter = Page{Ink: 0.08}
	blank  = Page{Blank: true, Ink: 0.0004}
)

func sheetPage(t *testing.T, pages int, fields map[string]string) Page {
	t.Helper()
	code, err := Sheet{Pages: pages, Fields: fields}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	return Page{Codes: []string{code}, Ink: 0.05}
}

// duplexSheets gives n single-sided letters scanned duplex: front, blank back.
func duplexSheets(n int) []Page {
	var out []Page
	for range n {
		out = append(out, letter, blank)
	}
	return out
}

// TestAcceptanceBatch is the batch: 40 sheets duplex, four separator
// sheets each before its document with its page count, blank backs dropped,
// and one sheet of the third document fed twice.
func TestAcceptanceBatch(t *testing.T) {
	var batch []Page
	add := func(expected, scanned int, typ string) {
		batch = append(batch, sheetPage(t, expected, map[string]string{"type_name": typ, "code_number": fmt.Sprint(100 + expected)}), blank)
		batch = append(batch, duplexSheets(scanned)...)
	}
	add(9, 9, "Công văn")
	add(9, 9, "Quyết định")
	add(8, 9, "Báo cáo") // one sheet went through twice
	add(9, 9, "Tờ trình")
	if len(batch) != 80 {
		t.Fatalf("the batch has %d sides, want 80", len(batch))
	}
	b, err := Split(batch, Settings{Separate: SeparatorSheet, Duplex: true, DropBlankBacks: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Documents) != 4 {
		t.Fatalf("%d documents, want 4", len(b.Documents))
	}
	good := 0
	for _, d := range b.Documents {
		if d.Refused == "" {
			good++
			if len(d.Pages) != d.Expected {
				t.Errorf("document %d: %d pages, its sheet says %d", d.Number, len(d.Pages), d.Expected)
			}
		}
	}
	if good != 3 {
		t.Errorf("%d good documents, want 3", good)
	}
	third := b.Documents[2]
	if want := "8 pages expected, 9 scanned: a sheet may have been fed twice"; !strings.HasPrefix(third.Refused, want) {
		t.Errorf("document 3 refused with %q, want it to start %q", third.Refused, want)
	}
	if third.Sheet == nil || third.Sheet.Fields["type_name"] != "Báo cáo" {
		t.Errorf("document 3's sheet fields: %+v", third.Sheet)
	}
	if got := b.Documents[1].Pages; got[0] != 23 || got[8] != 39 {
		t.Errorf("document 2 holds pages %v, want the fronts 23..39", got)
	}
	counts := map[Fate]int{}
	for i, a := range b.Pages {
		if a.Page != i+1 {
			t.Fatalf("account line %d is for page %d", i+1, a.Page)
		}
		counts[a.Fate]++
	}
	if len(b.Pages) != 80 || counts[Separator] != 8 || counts[InDocument] != 36 || counts[BlankDrop] != 36 {
		t.Errorf("account of %d sides: %v, want 8 separator, 36 document, 36 blank dropped", len(b.Pages), counts)
	}
	if a := b.Pages[3]; a.Fate != BlankDrop || a.Side != "back" || a.Ink != blank.Ink {
		t.Errorf("page 4 (a blank back): %+v", a)
	}
	// The batch record the station will write holds the same account.
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"page":4,"side":"back","fate":"blank_dropped","ink":0.0004,"orientation":0,"orientation_confidence":0}`, `"refused":"8 pages expected, 9 scanned`, `"separator_sheet":{"pages":8,"fields":{`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the batch as JSON lacks %s", want)
		}
	}
}

func TestSplit(t *testing.T) {
	code := func(s ...string) Page { return Page{Codes: s, Ink: 0.05} }
	tests := []struct {
		name     string
		pages    []Page
		settings Settings
		docs     string // each document's pages, "|" between documents
		fates    string // one letter a page: d document, k blank kept, x blank dropped, s separator
		refused  []string
	}{
		{"none keeps one document", []Page{letter, blank, letter}, Settings{Separate: None}, "1 2 3", "dkd", nil},
		{"simplex blank pages are kept", []Page{letter, blank}, Settings{Separate: None}, "1 2", "dk", nil},
		{"duplex blank backs dropped", duplexSheets(2), Settings{Separate: None, Duplex: true, DropBlankBacks: true}, "1 3", "dxdx", nil},
		{"duplex blank backs kept", duplexSheets(2), Settings{Separate: None, Duplex: true}, "1 2 3 4", "dkdk", nil},
		{"blank front is kept even when backs drop", []Page{blank, letter}, Settings{Separate: None, Duplex: true, DropBlankBacks: true}, "1 2", "kd", nil},
		{"sidecar page count matches", []Page{letter, blank, letter, blank}, Settings{Separate: None, Duplex: true, Pages: 2}, "1 2 3 4", "dkdk", nil},
		{"sidecar page count differs", []Page{letter, letter}, Settings{Separate: None, Pages: 3}, "1 2", "dd",
			[]string{"3 pages expected, 2 scanned: a sheet may have been double-fed"}},
		{"a separator sheet where none is expected", []Page{letter, sheetPage(t, 1, nil), letter}, Settings{Separate: None}, "1 2 3", "ddd",
			[]string{"page 2 is a separator sheet, but this hot-folder is set to separate: none"}},
		{"every 2", []Page{letter, letter, letter, letter, letter}, Settings{Separate: Every, N: 2}, "1 2|3 4|5", "ddddd", nil},
		{"every 2 counts kept pages", duplexSheets(3), Settings{Separate: Every, N: 2, Duplex: true, DropBlankBacks: true}, "1 3|5", "dxdxdx", nil},
		{"barcode page starts its document", []Page{letter, code("DOC-1"), letter, code("other"), code("DOC-2")},
			Settings{Separate: Barcode, Pattern: regexp.MustCompile(`^DOC-\d+$`)}, "1|2 3 4|5", "ddddd", nil},
		{"blank sheet simplex", []Page{letter, blank, letter, blank, blank, letter}, Settings{Separate: BlankSheet}, "1|3|6", "dsdssd", nil},
		{"blank sheet duplex needs both sides", []Page{letter, blank, blank, blank, letter, letter},
			Settings{Separate: BlankSheet, Duplex: true, DropBlankBacks: true}, "1|5 6", "dxssdd", nil},
		{"pages before the first sheet are a document without one", []Page{letter, sheetPage(t, 1, nil), letter},
			Settings{Separate: SeparatorSheet}, "1|3", "dsd", nil},
		{"sheet read on the back of a sheet fed upside down", []Page{blank, sheetPage(t, 1, nil), letter, blank},
			Settings{Separate: SeparatorSheet, Duplex: true, DropBlankBacks: true}, "3", "ssdx", nil},
		{"sheet with too few pages", []Page{sheetPage(t, 3, nil), letter, letter}, Settings{Separate: SeparatorSheet}, "2 3", "sdd",
			[]string{"3 pages expected, 2 scanned: a sheet may have been double-fed"}},
		{"blank kept pages are not counted", []Page{sheetPage(t, 2, nil), blank, letter, blank, letter, blank},
			Settings{Separate: SeparatorSheet, Duplex: true}, "3 4 5 6", "ssdkdk", nil},
		{"sheet followed by nothing", []Page{sheetPage(t, 2, nil), letter, sheetPage(t, 1, nil)}, Settings{Separate: SeparatorSheet}, "2|", "sds",
			[]string{"2 pages expected, 1 scanned: a sheet may have been double-fed", "1 pages expected, none scanned after the separator sheet on page 3"}},
		{"unreadable sheet refuses its document", []Page{code(SheetPrefix + "1\n{\"colour\":\"red\"}"), letter}, Settings{Separate: SeparatorSheet}, "2", "sd",
			[]string{`the separator sheet on page 1 cannot be read: separator sheet: unknown field "colour"`}},
		{"newer sheet version refuses its document", []Page{code(SheetPrefix + "2\n{}"), letter}, Settings{Separate: SeparatorSheet}, "2", "sd",
			[]string{"the separator sheet on page 1 cannot be read: separator sheet: format version 2 is newer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Split(tc.pages, tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			var docs []string
			for _, d := range b.Documents {
				docs = append(docs, strings.Trim(fmt.Sprint(d.Pages), "[]"))
			}
			if got := strings.Join(docs, "|"); got != tc.docs {
				t.Errorf("documents %q, want %q", got, tc.docs)
			}
			letters := map[Fate]byte{InDocument: 'd', BlankKept: 'k', BlankDrop: 'x', Separator: 's'}
			var fates []byte
			for _, a := range b.Pages {
				fates = append(fates, letters[a.Fate])
			}
			if string(fates) != tc.fates {
				t.Errorf("fates %q, want %q", fates, tc.fates)
			}
			var refused []string
			for _, d := range b.Documents {
				if d.Refused != "" {
					refused = append(refused, d.Refused)
				}
			}
			if len(refused) != len(tc.refused) {
				t.Fatalf("refused %q, want %q", refused, tc.refused)
			}
			for i := range refused {
				if !strings.HasPrefix(refused[i], tc.refused[i]) {
					t.Errorf("refused %q, want it to start %q", refused[i], tc.refused[i])
				}
			}
		})
	}
}

func TestSplitRefusesBatch(t *testing.T) {
	tests := []struct {
		name     string
		pages    []Page
		settings Settings
		want     string
	}{
		{"odd duplex", []Page{letter, blank, letter}, Settings{Separate: None, Duplex: true}, "a duplex batch with 3 sides"},
		{"no pages", nil, Settings{Separate: None}, "no pages"},
		{"no mode", []Page{letter}, Settings{}, "separate: not set"},
		{"barcode without pattern", []Page{letter}, Settings{Separate: Barcode}, "needs a pattern"},
		{"every 0", []Page{letter}, Settings{Separate: Every}, "every 0 pages"},
		{"sidecar count with separation", []Page{letter}, Settings{Separate: BlankSheet, Pages: 2}, "needs separate: none"},
		{"drop backs simplex", []Page{letter}, Settings{Separate: None, DropBlankBacks: true}, "needs a duplex batch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Split(tc.pages, tc.settings)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestSheetPayload(t *testing.T) {
	s := Sheet{Pages: 12, Fields: map[string]string{
		"type_name": "Công văn", "code_number": "2417", "code_notation": "UBND-VP",
		"issued_date": "05/06/2020", "organ_name": "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu",
		"subject": `Triển khai số hóa "hồ sơ", tài liệu lưu trữ`,
	}}
	code, err := s.Payload()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range code {
		if r > 0x7e || (r < 0x20 && r != '\n') {
			t.Fatalf("payload holds %q outside printable ASCII: %s", r, code)
		}
	}
	if !strings.HasPrefix(code, "SCANSTATION-SEP/1\n{\"pages\":12,") {
		t.Errorf("payload starts %q", code[:30])
	}
	back, err := ParseSheet(code)
	if err != nil {
		t.Fatal(err)
	}
	if back.Pages != 12 || back.Fields["subject"] != s.Fields["subject"] || back.Fields["organ_name"] != s.Fields["organ_name"] {
		t.Errorf("read back %+v", back)
	}
	m, err := back.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if m.IssuedDate.Value != "2020-06-05" || m.TypeName.Source != SourceSheet {
		t.Errorf("metadata %+v", m)
	}
}

func TestParseSheetRefuses(t *testing.T) {
	tests := []struct{ code, want string }{
		{"hello", "not a separator sheet's"},
		{SheetPrefix + "x\n{}", "not a number"},
		{SheetPrefix + "1\n{\"pages\":0}", "pages 0 is not a whole number"},
		{SheetPrefix + "1\n{\"pages\":2.5}", "pages 2.5 is not a whole number"},
		{SheetPrefix + "1\n{\"pages\":\"3\"}", "pages 3 is not a whole number"},
		{SheetPrefix + "1\n{\"subject\":7}", "field subject is not text"},
		{SheetPrefix + "1\n{\"pages\":1", "not readable"},
		{SheetPrefix + "1\n{} {}", "text after the fields"},
		{SheetPrefix + "1\n{\"code_number\":\"" + strings.Repeat("9", 40) + "\"}", "code_number"},
	}
	for _, tc := range tests {
		_, err := ParseSheet(tc.code)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSheet(%q): %v, want an error saying %q", tc.code, err, tc.want)
		}
	}
	if _, err := (Sheet{Fields: map[string]string{"subject": strings.Repeat("Triển khai số hóa ", 60)}}).Payload(); err == nil {
		t.Error("a payload past MaxPayload was written")
	}
}
