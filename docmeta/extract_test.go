package docmeta

import (
	"image"
	"strings"
	"testing"

	"scanstation/ocr"
)

// page builds an OCR result from printed lines: each is placed at x, y on
// an A4 page at 300 dpi (2480×3508), 25 pixels a character, words 50 high.
type page struct {
	res  ocr.Result
	line int
}

func (p *page) at(x, y int, text string) *page {
	for _, w := range strings.Fields(text) {
		n := len([]rune(w))
		p.res.Words = append(p.res.Words, ocr.Word{
			Text: w, Box: image.Rect(x, y, x+25*n, y+50), Confidence: 95, Line: p.line,
		})
		x += 25*n + 20
	}
	p.line++
	return p
}

const pageW, pageH = 2480, 3508

// congVan is the default letter as OCR reads it with slips: tone marks lost
// on the bold heading, "S6:" for "Số:", O for 0, "ngay" for "ngày", the
// organ and the motto read as one line.
func congVan() *page {
	p := &page{}
	// Organ and motto on the same Tesseract line.
	p.res.Words = nil
	p.at(550, 250, "ỦY BAN NHÂN DÂN")
	p.line--
	p.at(1190, 250, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
	p.at(480, 315, "TINH BA RIA - VUNG TAU")
	p.line--
	p.at(1380, 318, "Độc lập - Tự do - Hạnh phúc")
	p.at(580, 400, "S6: 2417/UBND-VP")
	p.at(1200, 402, "Bà Rịa - Vũng Tàu, ngay O5 thang 6 năm 2O2O")
	p.at(430, 470, "V/v triển khai số hóa hồ sơ,")
	p.at(470, 530, "tài liệu lưu trữ")
	p.at(860, 630, "Kính gửi: Các sở, ban, ngành thuộc tỉnh.")
	p.at(480, 750, "Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của")
	return p
}

func quyetDinh() *page {
	p := &page{}
	p.at(530, 250, "UBND TỈNH ĐỒNG NAI")
	p.at(1190, 250, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
	p.at(670, 320, "SỞ NỘI VỤ")
	p.at(1380, 325, "Độc lập - Tự do - Hạnh phúc")
	p.at(530, 425, "Số: l2/2O20/QD-SNV")
	p.line--
	p.at(1300, 425, "Đồng Nai, ngày 3l tháng 0l năm 2019")
	p.at(1100, 570, "QUYET DINH")
	p.at(730, 650, "Về việc ban hành Quy chế công tác văn thư,")
	p.at(900, 720, "lưu trữ của Sở")
	p.at(1000, 800, "GIÁM ĐỐC SỞ NỘI VỤ")
	p.at(480, 900, "Căn cứ Luật Lưu trữ ngày 11 tháng 11 năm 2011;")
	return p
}

func TestExtractCongVanWithSlips(t *testing.T) {
	m := Extract(&congVan().res, pageW, pageH)
	want := map[string]string{
		"organ_name":    "ỦY BAN NHÂN DÂN TỈNH BÀ RỊA - VŨNG TÀU",
		"parent_organ":  "",
		"code_number":   "2417",
		"code_notation": "UBND-VP",
		"place":         "Bà Rịa - Vũng Tàu",
		"issued_date":   "2020-06-05",
		"type_name":     "Công văn",
		"subject":       "triển khai số hóa hồ sơ, tài liệu lưu trữ",
	}
	checkFields(t, m, want)
	// Mended slips cost confidence.
	if c := m.CodeNumber.Confidence; c < 0.5 || c > 0.95 {
		t.Errorf("CodeNumber confidence %.2f, want 0.5..0.95 after mending", c)
	}
	if c := m.IssuedDate.Confidence; c >= 0.95*0.95 {
		t.Errorf("IssuedDate confidence %.2f: two O read as 0 should cost", c)
	}
}

func TestExtractQuyetDinh(t *testing.T) {
	m := Extract(&quyetDinh().res, pageW, pageH)
	checkFields(t, m, map[string]string{
		"organ_name":    "SỞ NỘI VỤ",
		"parent_organ":  "UBND TỈNH ĐỒNG NAI",
		"code_number":   "12",
		"code_notation": "2020/QĐ-SNV",
		"place":         "Đồng Nai",
		"issued_date":   "2019-01-31",
		"type_name":     "Quyết định",
		"subject":       "Về việc ban hành Quy chế công tác văn thư, lưu trữ của Sở",
	})
}

func TestExtractUpsideDown(t *testing.T) {
	p := quyetDinh()
	for i, w := range p.res.Words {
		b := w.Box
		p.res.Words[i].Box = image.Rect(pageW-b.Max.X, pageH-b.Max.Y, pageW-b.Min.X, pageH-b.Min.Y)
	}
	p.res.Orientation = 180
	m := Extract(&p.res, pageW, pageH)
	checkFields(t, m, map[string]string{"organ_name": "SỞ NỘI VỤ", "code_number": "12", "issued_date": "2019-01-31",
		"type_name": "Quyết định"})

	// Turned 90°: the image is as wide as the page is high.
	p = quyetDinh()
	for i, w := range p.res.Words {
		b := w.Box // upright (x, y) sits at (y, W-x) in an image to be turned 90° clockwise
		p.res.Words[i].Box = image.Rect(b.Min.Y, pageW-b.Max.X, b.Max.Y, pageW-b.Min.X)
	}
	p.res.Orientation = 90
	m = Extract(&p.res, pageH, pageW)
	checkFields(t, m, map[string]string{"organ_name": "SỞ NỘI VỤ", "parent_organ": "UBND TỈNH ĐỒNG NAI",
		"code_notation": "2020/QĐ-SNV"})
}

func TestExtractRefusesImpossibleDate(t *testing.T) {
	p := &page{}
	p.at(530, 250, "SỞ NỘI VỤ")
	p.at(530, 425, "Số: 08/TB-VP")
	p.line--
	p.at(1300, 425, "Hà Nội, ngày 30 tháng 02 năm 2020")
	p.at(480, 600, "Nội dung thông báo như sau.")
	m := Extract(&p.res, pageW, pageH)
	if m.IssuedDate.Known() {
		t.Errorf("IssuedDate %q from 30 February", m.IssuedDate.Value)
	}
	// No heading, no V/v: the type comes from the notation, less sure.
	checkFields(t, m, map[string]string{"code_number": "08", "code_notation": "TB-VP", "type_name": "Thông báo",
		"organ_name": "SỞ NỘI VỤ"})
	if m.TypeName.Confidence >= m.CodeNotation.Confidence {
		t.Errorf("type from the notation has confidence %.2f, not below the notation's %.2f",
			m.TypeName.Confidence, m.CodeNotation.Confidence)
	}
}

func TestExtractNothing(t *testing.T) {
	p := &page{}
	p.at(480, 600, "Một trang không có số, không có ngày tháng.")
	m := Extract(&p.res, pageW, pageH)
	for _, name := range FieldNames {
		if f, _ := m.Get(name); f.Known() {
			t.Errorf("%s = %q from a page with no header", name, f.Value)
		}
	}
	if m := Extract(nil, pageW, pageH); m.CodeNumber.Known() {
		t.Error("a number from no OCR")
	}
}

func TestParseNumber(t *testing.T) {
	for _, c := range []struct{ in, number, notation string }{
		{"2417/UBND-VP", "2417", "UBND-VP"},
		{"12/2020/QĐ-UBND", "12", "2020/QĐ-UBND"},
		{"l2/2O2O/QD-UBND", "12", "2020/QĐ-UBND"},
		{"245/BC-SNV.", "245", "BC-SNV"},
		{"08/TB-VP", "08", "TB-VP"},
		{"O8/TB-VP", "08", "TB-VP"},
		{"15/TTR-UBND", "15", "TTr-UBND"},
		{"3/KH-UB0ND", "3", "KH-UBOND"},
		{"7/2019/NQ-HDND", "7", "2019/NQ-HĐND"},
		{"77/ÐA-SNV", "77", "ĐA-SNV"},
		{"93G/CCVTLT-NV", "936", "CCVTLT-NV"},
	} {
		n, s, _, ok := parseNumber(c.in)
		if !ok || n != c.number || s != c.notation {
			t.Errorf("parseNumber(%q) = %q, %q, %v; want %q, %q", c.in, n, s, ok, c.number, c.notation)
		}
	}
	for _, bad := range []string{"UBND-VP", "abc/UBND", "12/", "/UBND", "12/2020"} {
		if n, s, _, ok := parseNumber(bad); ok {
			t.Errorf("parseNumber(%q) = %q, %q; want refused", bad, n, s)
		}
	}
}

func TestLexiconRestores(t *testing.T) {
	got, known := organLexicon.restore(strings.Fields("UY BAN NHAN DAN TINH KHANH HOA,"))
	if s := strings.Join(got, " "); s != "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA," {
		t.Errorf("restored %q", s)
	}
	if known != 1 {
		t.Errorf("known share %.2f, want 1", known)
	}
	got, _ = placeLexicon.restore([]string{"HAICHAU"})
	if got[0] != "HẢI CHÂU" {
		t.Errorf("glued words restored as %q", got[0])
	}
	got, known = organLexicon.restore(strings.Fields("CÔNG TY XYZ"))
	if strings.Join(got, " ") != "CÔNG TY XYZ" || known != 0 {
		t.Errorf("unknown words changed: %q, known %.2f", got, known)
	}
}

func checkFields(t *testing.T, m Metadata, want map[string]string) {
	t.Helper()
	for name, v := range want {
		f, ok := m.Get(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		if f.Value != v {
			t.Errorf("%s = %q, want %q", name, f.Value, v)
		}
		if v != "" && (f.Source != SourceExtracted || f.Confidence <= 0 || f.Confidence > 1) {
			t.Errorf("%s: source %q confidence %.2f", name, f.Source, f.Confidence)
		}
	}
}

func TestLexiconSplitsGluedWords(t *testing.T) {
	got, _ := organLexicon.restore(strings.Fields("SỞ NỘI VỤ TỈNHLÂM ĐỒNG"))
	if s := strings.Join(got, " "); s != "SỞ NỘI VỤ TỈNH LÂM ĐỒNG" {
		t.Errorf("restored %q", s)
	}
}

// TestExtractLongVvLine: a V/v line running past the motto's left edge keeps
// the words on its own Tesseract line up to its end.
func TestExtractLongVvLine(t *testing.T) {
	p := &page{}
	p.at(550, 250, "ỦY BAN NHÂN DÂN")
	p.line--
	p.at(1190, 250, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
	p.at(480, 315, "TINH BA RIA - VUNG TAU")
	p.line--
	p.at(1380, 318, "Độc lập - Tự do - Hạnh phúc")
	p.at(580, 400, "Số: 2417/UBND-VP")
	p.at(1300, 402, "Bà Rịa - Vũng Tàu, ngày 05 tháng 6 năm 2020")
	p.at(430, 470, "V/v triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan")
	p.at(860, 630, "Kính gửi: Các sở, ban, ngành thuộc tỉnh.")
	m := Extract(&p.res, pageW, pageH)
	checkFields(t, m, map[string]string{
		"subject":    "triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan",
		"organ_name": "ỦY BAN NHÂN DÂN TỈNH BÀ RỊA - VŨNG TÀU",
	})
}

// TestStrayMark: a tone mark or dot read apart from its letter is no word of an organ's name;
// a name's words and the dash of "BÀ RỊA - VŨNG TÀU" are.
func TestStrayMark(t *testing.T) {
	for text, want := range map[string]bool{
		"ˆ": true, ".": true, "ˆ.": true, "`": true, "˜": true,
		"-": false, "–": false, "HUẾ": false, "UBND": false, "TỈNH": false, "12": false, "Đ": false,
	} {
		if got := strayMark(text); got != want {
			t.Errorf("strayMark(%q) = %v, want %v", text, got, want)
		}
	}
}
