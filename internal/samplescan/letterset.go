package samplescan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// A LetterSample is one generated, labelled document: what to draw and how.
type LetterSample struct {
	Name    string // "letter-07-quyet-dinh-200dpi"
	Letter  Letter
	Options LetterOptions
}

// An organ of the generated set: its block as printed, the labels, the
// abbreviation used in notations, the place it writes from and who signs.
type letterOrgan struct {
	lines  []string
	parent string // label; "" when the block names one organ only
	abbr   string
	place  string
	signer []string
}

var letterOrgans = []letterOrgan{
	{[]string{"ỦY BAN NHÂN DÂN", "TỈNH BÀ RỊA - VŨNG TÀU"}, "", "UBND", "Bà Rịa - Vũng Tàu",
		[]string{"TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn Thọ"}},
	{[]string{"UBND TỈNH ĐỒNG NAI", "SỞ NỘI VỤ"}, "UBND TỈNH ĐỒNG NAI", "SNV", "Đồng Nai",
		[]string{"GIÁM ĐỐC", "Trần Thị Hồng Nhung"}},
	{[]string{"BỘ NỘI VỤ", "CỤC VĂN THƯ VÀ LƯU TRỮ", "NHÀ NƯỚC"}, "BỘ NỘI VỤ", "VTLTNN", "Hà Nội",
		[]string{"CỤC TRƯỞNG", "Đặng Thanh Tùng"}},
	{[]string{"UBND THÀNH PHỐ HÀ NỘI", "SỞ TÀI CHÍNH"}, "UBND THÀNH PHỐ HÀ NỘI", "STC", "Hà Nội",
		[]string{"KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Lê Minh Khôi"}},
	{[]string{"ỦY BAN NHÂN DÂN", "HUYỆN CẦN GIỜ"}, "", "UBND", "Cần Giờ",
		[]string{"TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Phạm Quốc Bảo"}},
	{[]string{"UBND TỈNH THỪA THIÊN HUẾ", "SỞ Y TẾ"}, "UBND TỈNH THỪA THIÊN HUẾ", "SYT", "Thừa Thiên Huế",
		[]string{"GIÁM ĐỐC", "Hoàng Thị Diệu Linh"}},
	{[]string{"UBND TỈNH KHÁNH HÒA", "SỞ GIÁO DỤC VÀ ĐÀO TẠO"}, "UBND TỈNH KHÁNH HÒA", "SGDĐT", "Khánh Hòa",
		[]string{"GIÁM ĐỐC", "Võ Đức Huy"}},
	{[]string{"BỘ TÀI CHÍNH"}, "", "BTC", "Hà Nội",
		[]string{"KT. BỘ TRƯỞNG", "THỨ TRƯỞNG", "Đỗ Hoàng Anh Tuấn"}},
	{[]string{"UBND QUẬN HẢI CHÂU", "PHÒNG NỘI VỤ"}, "UBND QUẬN HẢI CHÂU", "PNV", "Hải Châu",
		[]string{"TRƯỞNG PHÒNG", "Ngô Thị Thu Hà"}},
	{[]string{"HỘI ĐỒNG NHÂN DÂN", "THÀNH PHỐ CẦN THƠ"}, "", "HĐND", "Cần Thơ",
		[]string{"CHỦ TỊCH", "Huỳnh Thanh Tạo"}},
	{[]string{"SỞ NỘI VỤ TỈNH LÂM ĐỒNG", "CHI CỤC VĂN THƯ - LƯU TRỮ"}, "SỞ NỘI VỤ TỈNH LÂM ĐỒNG", "CCVTLT", "Đà Lạt",
		[]string{"CHI CỤC TRƯỞNG", "Bùi Văn Lâm"}},
	{[]string{"ỦY BAN NHÂN DÂN", "XÃ TÂN PHƯỚC"}, "", "UBND", "Tân Phước",
		[]string{"TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Lâm Văn Phúc"}},
}

// A letter type of the generated set: its name, its abbreviation in the
// notation, whether the notation carries the year, and subjects (each one or
// two printed lines).
type letterKind struct {
	name     string
	abbr     string
	year     bool
	subjects [][]string
}

var letterKinds = []letterKind{
	{"Công văn", "", false, [][]string{
		{"triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan"},
		{"đôn đốc nộp báo cáo công tác văn thư năm 2020"},
		{"góp ý dự thảo Quy chế quản lý tài liệu điện tử"},
		{"cử cán bộ tham dự lớp tập huấn nghiệp vụ lưu trữ"},
		{"chuẩn bị nội dung làm việc với Đoàn kiểm tra của tỉnh về cải cách hành chính"},
	}},
	{"Quyết định", "QĐ", true, [][]string{
		{"Về việc ban hành Quy chế công tác văn thư, lưu trữ"},
		{"Ban hành Quy định về quản lý, sử dụng chữ ký số", "trong các cơ quan nhà nước trên địa bàn"},
		{"Về việc thành lập Hội đồng xác định giá trị tài liệu"},
	}},
	{"Quyết định", "QĐ", false, [][]string{
		{"Về việc khen thưởng tập thể, cá nhân có thành tích xuất sắc"},
		{"Về việc phê duyệt Kế hoạch số hóa tài liệu lưu trữ", "giai đoạn 2021 - 2025"},
	}},
	{"Báo cáo", "BC", false, [][]string{
		{"Kết quả công tác văn thư, lưu trữ năm 2020"},
		{"Tình hình thực hiện nhiệm vụ quý I và phương hướng", "nhiệm vụ quý II"},
	}},
	{"Thông báo", "TB", false, [][]string{
		{"Kết luận của Chủ tịch tại cuộc họp giao ban tháng 6"},
		{"Về việc tạm dừng tiếp nhận hồ sơ trực tiếp"},
	}},
	{"Kế hoạch", "KH", false, [][]string{
		{"Chuyển đổi số trong công tác lưu trữ năm 2021"},
		{"Kiểm tra công tác văn thư, lưu trữ tại các cơ quan,", "đơn vị trực thuộc"},
	}},
	{"Tờ trình", "TTr", false, [][]string{
		{"Về việc đề nghị phê duyệt kinh phí chỉnh lý tài liệu"},
	}},
	{"Nghị quyết", "NQ", true, [][]string{
		{"Quy định mức chi bảo đảm cho công tác lưu trữ"},
	}},
	{"Hướng dẫn", "HD", false, [][]string{
		{"Lập hồ sơ và nộp lưu hồ sơ, tài liệu vào Lưu trữ cơ quan"},
	}},
	{"Giấy mời", "GM", false, [][]string{
		{"Dự hội nghị tổng kết công tác năm 2020"},
	}},
}

var letterBody = []string{
	"Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của",
	"Chính phủ về công tác văn thư, cơ quan đề nghị các đơn vị rà soát,",
	"thống kê hồ sơ, tài liệu giấy cần số hóa và lập kế hoạch thực hiện.",
	"Bản sao điện tử phải được ký số bằng chữ ký số của cơ quan, bảo đảm",
	"tính toàn vẹn, xác thực và có giá trị pháp lý như bản chính.",
	"Văn thư cơ quan chịu trách nhiệm kiểm tra chất lượng ảnh quét trước",
	"khi chuyển vào hệ thống quản lý văn bản và điều hành.",
	"Trong quá trình thực hiện, nếu có vướng mắc, đề nghị các đơn vị phản",
	"ánh về Văn phòng để được hướng dẫn kịp thời./.",
}

var letterRecipients = []string{
	"Các sở, ban, ngành thuộc tỉnh.",
	"Ủy ban nhân dân các huyện, thị xã, thành phố.",
	"Các phòng, ban chuyên môn.",
	"",
}

var letterUnits = []string{"VP", "VP", "TCCB", "KHTC", "NV", "VX"}

// LetterSet returns n labelled documents, the same ones for the same seed:
// organs of one to three lines with and without a parent organ, Công văn
// with a "V/v" line and documents with a type heading, numbers with and
// without the year, subjects of one or two lines, body sizes 13 and 14 pt,
// different line spacing and margins; every fourth page at 200 dpi, some in
// grey, some turned by a fraction of a degree.
func LetterSet(n int, seed uint64) []LetterSample {
	r := rand.New(rand.NewPCG(seed, 0x5ca9))
	out := make([]LetterSample, 0, n)
	for i := range n {
		org := letterOrgans[i%len(letterOrgans)]
		kind := letterKinds[(i*7+i/len(letterOrgans))%len(letterKinds)]
		l := Letter{
			OrganLines:  org.lines,
			ParentOrgan: org.parent,
			Place:       org.place,
			TypeName:    kind.name,
			Signer:      org.signer,
		}
		organ := org.lines
		if org.parent != "" {
			organ = organ[1:]
		}
		l.OrganName = strings.Join(organ, " ")

		l.Date = time.Date(2018+r.IntN(7), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		num := 1 + r.IntN(3000)
		if r.IntN(5) == 0 {
			num = 1 + r.IntN(9)
		}
		l.CodeNumber = fmt.Sprint(num)
		if num < 10 {
			l.CodeNumber = fmt.Sprintf("%02d", num)
		}
		switch {
		case kind.abbr == "":
			l.CodeNotation = org.abbr + "-" + letterUnits[r.IntN(len(letterUnits))]
		case kind.year:
			l.CodeNotation = fmt.Sprintf("%d/%s-%s", l.Date.Year(), kind.abbr, org.abbr)
		default:
			l.CodeNotation = kind.abbr + "-" + org.abbr
		}
		l.Subject = kind.subjects[r.IntN(len(kind.subjects))]
		if l.IsCongVan() {
			l.Recipient = letterRecipients[r.IntN(len(letterRecipients))]
		}
		start := r.IntN(3)
		l.Body = letterBody[start : start+4+r.IntN(len(letterBody)-start-3)]

		opt := LetterOptions{
			Points:  13,
			Spacing: 1.2 + 0.05*float64(r.IntN(7)),
			LeftMM:  30 + float64(r.IntN(6)),
		}
		if r.IntN(3) == 0 {
			opt.Points = 14
		}
		if i%4 == 3 {
			opt.DPI = 200
		}
		if i%5 == 2 {
			opt.Gray = true
		}
		if i%6 == 4 {
			opt.Skew = []float64{-0.5, 0.4, 0.8}[r.IntN(3)]
		}
		if i%7 == 5 {
			opt.NoRules = true
		}
		dpi := opt.DPI
		if dpi == 0 {
			dpi = 300
		}
		name := fmt.Sprintf("letter-%02d-%s-%gdpi", i+1, asciiSlug(kind.name), dpi)
		out = append(out, LetterSample{Name: name, Letter: l, Options: opt})
	}
	return out
}

// asciiSlug turns "Quyết định" into "quyet-dinh" for file names.
func asciiSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == 'đ':
			b.WriteByte('d')
		case r < 128:
			b.WriteRune(r)
		default:
			if base, ok := vietnameseBase[r]; ok {
				b.WriteRune(base)
			}
		}
	}
	return b.String()
}

var vietnameseBase = func() map[rune]rune {
	m := map[rune]rune{}
	groups := map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ", 'e': "èéẻẽẹêềếểễệ", 'i': "ìíỉĩị",
		'o': "òóỏõọôồốổỗộơờớởỡợ", 'u': "ùúủũụưừứửữự", 'y': "ỳýỷỹỵ",
	}
	for base, s := range groups {
		for _, r := range s {
			m[r] = base
		}
	}
	return m
}()
