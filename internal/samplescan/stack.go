package samplescan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"scanstation/internal/scansim"
)

// SideKind is what one scanned side of a sheet shows.
type SideKind int

const (
	// SideLetter is a page of a letter.
	SideLetter SideKind = iota + 1
	// SideSeparator is the front of a separator sheet.
	SideSeparator
	// SideBlank is a side with nothing printed on it: the back of a
	// one-sided page or of a separator sheet.
	SideBlank
)

func (k SideKind) String() string {
	switch k {
	case SideLetter:
		return "letter"
	case SideSeparator:
		return "separator"
	case SideBlank:
		return "blank"
	}
	return fmt.Sprintf("SideKind(%d)", int(k))
}

// A StackSide is one side of a sheet as the feeder meets it. In a duplex
// stack the sides alternate front, back.
type StackSide struct {
	Kind SideKind

	// Letter, Page and Pages say what a SideLetter shows: page Page
	// (1-based) of a letter of Pages pages. Page 1 is the letter as
	// RenderLetter draws it; later pages continue its body under a line
	// naming the letter and the page, so no two pages of a stack look
	// alike to OCR.
	Letter      Letter
	Page, Pages int

	// Sheet is what a SideSeparator's code and text say.
	Sheet Sheet

	// Seed makes the scan's noise and skew repeatable. A sheet fed twice
	// is the same paper scanned again: same content, another seed.
	Seed uint64
}

// Sheet is what a separator sheet says, field for field capture.Sheet, which converts to it
// (capture.Sheet(s)). samplescan cannot import capture: capture's imports (docmeta, and
// through it ocr) test themselves with samplescan.
type Sheet struct {
	Pages  int
	Fields map[string]string
}

// StackOptions describe how a stack is scanned.
type StackOptions struct {
	DPI  float64 // zero = 200, the Decree's minimum and a feeder's usual setting
	Grey bool    // a greyscale scan; otherwise colour

	// MaxSkew is the largest skew, in degrees either way, of a sheet fed
	// crooked; each side gets its own from its seed. Zero = 0.5°; negative
	// feeds every sheet straight.
	MaxSkew float64

	// Separator draws a separator sheet, white 255 and ink 0; pass
	// capture/separator.Render. It is a parameter because that package
	// draws its text with this one, and so cannot be imported here.
	Separator func(s Sheet, dpi float64) (*image.Gray, error)

	// Workers is how many sides are drawn at once; zero = GOMAXPROCS.
	Workers int
}

// RenderStack scans the sides of a stack, in order: each is drawn as clean
// paper and then put through scansim, crooked, blurred and with sensor
// noise, as the feeder would give it back. Pages are A4.
func RenderStack(sides []StackSide, opt StackOptions) ([]image.Image, error) {
	if opt.DPI == 0 {
		opt.DPI = 200
	}
	if opt.MaxSkew == 0 {
		opt.MaxSkew = 0.5
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]image.Image, len(sides))
	errs := make([]error, len(sides))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(sides)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = scanSide(sides[i], opt)
			}
		}()
	}
	for i := range sides {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("samplescan: side %d of the stack (%s): %w", i+1, sides[i].Kind, err)
		}
	}
	return out, nil
}

func scanSide(s StackSide, opt StackOptions) (image.Image, error) {
	rng := rand.New(rand.NewPCG(s.Seed, 0x57ac))
	var paper *image.Gray
	switch s.Kind {
	case SideLetter:
		p, err := letterSide(s, opt.DPI)
		if err != nil {
			return nil, err
		}
		paper = p
	case SideSeparator:
		if opt.Separator == nil {
			return nil, errors.New("no Separator function to draw the separator sheet with; pass separator.Render")
		}
		p, err := opt.Separator(s.Sheet, opt.DPI)
		if err != nil {
			return nil, err
		}
		paper = p
	case SideBlank:
		paper = blankSide(opt.DPI, rng)
	default:
		return nil, fmt.Errorf("unknown kind of side %d", int(s.Kind))
	}
	skew := 0.0
	if opt.MaxSkew > 0 {
		skew = (2*rng.Float64() - 1) * opt.MaxSkew
	}
	return scansim.Scan(paper, scansim.Condition{DPI: opt.DPI, Skew: skew, Grey: opt.Grey}, rng.Uint64())
}

// a4 is the size of an A4 page in pixels at dpi.
func a4(dpi float64) image.Rectangle {
	return image.Rect(0, 0, int(math.Round(210/25.4*dpi)), int(math.Round(297/25.4*dpi)))
}

// blankSide is clean white paper with, on some sides, a speck of dust: two
// pixels across, far below what a page number leaves, as a real blank back
// has. The scanner's noise comes from scansim.
func blankSide(dpi float64, rng *rand.Rand) *image.Gray {
	g := image.NewGray(a4(dpi))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	if rng.IntN(2) == 0 {
		b := g.Rect
		x, y := rng.IntN(b.Dx()-2), rng.IntN(b.Dy()-2)
		for dy := range 2 {
			for dx := range 2 {
				g.Pix[g.PixOffset(x+dx, y+dy)] = 90
			}
		}
	}
	return g
}

// letterSide draws a letter page, white 255 and ink 0, for scansim.
func letterSide(s StackSide, dpi float64) (*image.Gray, error) {
	if s.Page < 1 || s.Page > max(s.Pages, 1) {
		return nil, fmt.Errorf("page %d of a letter of %d pages", s.Page, s.Pages)
	}
	last := s.Page == max(s.Pages, 1)
	var img image.Image
	var err error
	if s.Page == 1 {
		l := s.Letter
		l.Body = bodyLines(l, 1, 9)
		if !last {
			l.Signer = nil // the signature closes the letter, on its last page
		}
		img, err = RenderLetter(l, LetterOptions{DPI: dpi, Gray: true})
	} else {
		lines := []string{
			fmt.Sprintf("%s - trang %d/%d", s.Letter.NumberLine(), s.Page, s.Pages),
			"",
		}
		lines = append(lines, bodyLines(s.Letter, s.Page, 16)...)
		if last {
			lines = append(lines, "")
			lines = append(lines, s.Letter.Signer...)
		}
		img, err = Render(Options{DPI: dpi, Gray: true, Lines: lines})
	}
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("the letter page was drawn as %T, not grey", img)
	}
	// samplescan draws paper and ink as a scanner sees them; scansim wants
	// the sheet as printed, white and black, and adds the scanner itself.
	lo, hi := float64(inkGray.Y), float64(paperGray.Y)
	for i, v := range g.Pix {
		g.Pix[i] = uint8(math.Round(math.Max(0, math.Min(255, (float64(v)-lo)/(hi-lo)*255))))
	}
	return g, nil
}

// stackBody is the text letter pages are filled from, one printed line each
// (every line fits an A4 column at 13 pt).
var stackBody = []string{
	"Căn cứ Luật Lưu trữ ngày 11 tháng 11 năm 2011 và các văn bản hướng dẫn",
	"thi hành, cơ quan tổ chức rà soát toàn bộ hồ sơ, tài liệu đang bảo quản",
	"tại các phòng, ban chuyên môn và lập danh mục hồ sơ cần số hóa trước.",
	"Tài liệu có thời hạn bảo quản vĩnh viễn được ưu tiên số hóa trong năm,",
	"tài liệu có thời hạn bảo quản dưới mười năm được số hóa khi có yêu cầu.",
	"Mỗi văn bản được quét với độ phân giải tối thiểu 200 dpi, tỷ lệ 100%,",
	"chế độ màu đối với văn bản có hình ảnh màu, chữ ký và con dấu đỏ.",
	"Tệp tin kết quả ở định dạng PDF, được ký số bằng chữ ký số của cơ quan",
	"và lưu vào hệ thống quản lý tài liệu điện tử cùng thông tin đầu vào.",
	"Phòng Hành chính - Tổng hợp phân công cán bộ kiểm tra chất lượng ảnh",
	"quét, đối chiếu số trang với bản giấy và ghi nhận kết quả vào sổ theo",
	"dõi trước khi bàn giao hồ sơ cho Lưu trữ cơ quan theo quy định.",
	"Kinh phí thực hiện được bố trí từ nguồn chi thường xuyên của đơn vị,",
	"việc thuê dịch vụ số hóa thực hiện theo quy định về đấu thầu hiện hành.",
	"Định kỳ hằng quý, các đơn vị báo cáo tiến độ về Văn phòng để tổng hợp,",
	"báo cáo lãnh đạo cơ quan và đề xuất điều chỉnh kế hoạch khi cần thiết.",
	"Hồ sơ đã số hóa vẫn được bảo quản bản giấy theo thời hạn đã xác định,",
	"không được tiêu hủy bản gốc khi chưa có quyết định của cấp có thẩm quyền.",
	"Trong quá trình thực hiện, nếu có vướng mắc, đề nghị các đơn vị phản",
	"ánh về Văn phòng để được hướng dẫn kịp thời./.",
}

// bodyLines gives n lines of body for page of l, starting at a place that
// depends on the page and the letter, so pages differ.
func bodyLines(l Letter, page, n int) []string {
	start := (page*7 + len(l.CodeNumber)*3 + int(l.Date.Month())) % len(stackBody)
	out := make([]string, n)
	for i := range out {
		out[i] = stackBody[(start+i)%len(stackBody)]
	}
	return out
}

// StackExpectation is what the station should make of a stack. Side
// numbers are 1-based positions in the batch.
type StackExpectation struct {
	Sheets     int   // sheets fed, counting a sheet fed twice twice
	Separators []int // both sides of every separator sheet, as capture's account has them
	Content    []int // sides with letter content, in every document
	BlankBacks []int // blank backs of letter pages (not those of separator sheets)
	Documents  []ExpectedDocument
}

// ExpectedDocument is one document of the stack.
type ExpectedDocument struct {
	Sheet      Sheet // what its separator sheet says; Sheet.Pages is the expected count
	Separator  int   // the side number of its separator sheet's front
	Content    []int // its sides with content, in order
	BlankBacks []int
	// Refused is how capture's refusal starts, "14 pages expected, 16
	// scanned", or "" for a document that must be filed.
	Refused string
}

// AcceptanceStack builds the acceptance test's batch: 40 sheets duplex (80
// sides), four documents each behind a separator sheet giving its page
// count, blank backs on every separator sheet and every one-sided page,
// and in the third document one two-sided sheet fed twice, so that
// document has two pages more than its sheet says and must be refused.
//
//	document  sheets            pages expected  scanned
//	1         9 one-sided        9               9
//	2         5 two-sided        10              10
//	3         4 two-sided + 6    14              16 (its second sheet fed twice)
//	4         3 two-sided + 8    14              14
//
// With the four separator sheets that is 4+9+5+11+11 = 40 sheets: 8
// separator sides, 49 content sides, 23 blank backs.
func AcceptanceStack() ([]StackSide, StackExpectation) {
	letters := LetterSet(4, 2020)
	type doc struct {
		twoSided, oneSided int
		refed              int // 1-based sheet of the document fed twice; 0 for none
	}
	docs := []doc{{0, 9, 0}, {5, 0, 0}, {4, 6, 2}, {3, 8, 0}}

	var sides []StackSide
	var exp StackExpectation
	seed := uint64(1)
	add := func(s StackSide) int {
		s.Seed = seed
		seed++
		sides = append(sides, s)
		return len(sides)
	}
	for d, spec := range docs {
		l := letters[d].Letter
		pages := 2*spec.twoSided + spec.oneSided
		sheet := Sheet{Pages: pages, Fields: map[string]string{
			"type_name":     l.TypeName,
			"code_number":   l.CodeNumber,
			"code_notation": l.CodeNotation,
			"issued_date":   l.Date.Format("2006-01-02"),
			"organ_name":    l.OrganName,
			"subject":       strings.Join(l.Subject, " "),
		}}
		ed := ExpectedDocument{Sheet: sheet}
		ed.Separator = add(StackSide{Kind: SideSeparator, Sheet: sheet})
		back := add(StackSide{Kind: SideBlank})
		exp.Separators = append(exp.Separators, ed.Separator, back)
		exp.Sheets++

		// The two-sided sheets come first; each sheet is the pair of
		// sides it shows, a blank back for a one-sided page.
		var sheets [][2]StackSide
		page := 1
		for i := range spec.twoSided + spec.oneSided {
			front := StackSide{Kind: SideLetter, Letter: l, Page: page, Pages: pages}
			page++
			b := StackSide{Kind: SideBlank}
			if i < spec.twoSided {
				b = StackSide{Kind: SideLetter, Letter: l, Page: page, Pages: pages}
				page++
			}
			sheets = append(sheets, [2]StackSide{front, b})
			if i+1 == spec.refed {
				sheets = append(sheets, [2]StackSide{front, b})
			}
		}
		for _, sh := range sheets {
			exp.Sheets++
			for _, s := range sh {
				n := add(s)
				if s.Kind == SideLetter {
					ed.Content = append(ed.Content, n)
				} else {
					ed.BlankBacks = append(ed.BlankBacks, n)
				}
			}
		}
		if len(ed.Content) != pages {
			ed.Refused = fmt.Sprintf("%d pages expected, %d scanned", pages, len(ed.Content))
		}
		exp.Content = append(exp.Content, ed.Content...)
		exp.BlankBacks = append(exp.BlankBacks, ed.BlankBacks...)
		exp.Documents = append(exp.Documents, ed)
	}
	return sides, exp
}

// WriteStackPDF writes pages as a scanner PDF: one page each, holding one
// JPEG (DCTDecode) image drawn over the whole page, the page sized from the
// image's pixels at dpi. quality is the JPEG quality, 1-100; zero means 85.
func WriteStackPDF(w io.Writer, pages []image.Image, dpi float64, quality int) error {
	if len(pages) == 0 {
		return errors.New("write scanner PDF: no pages")
	}
	if !(dpi >= 50 && dpi <= 1200) {
		return fmt.Errorf("write scanner PDF: resolution %g dpi is outside 50-1200", dpi)
	}
	if quality == 0 {
		quality = 85
	}
	cw := &pdfWriter{w: bufio.NewWriter(w)}
	// Objects: 1 catalog, 2 page tree, then page, content and image
	// for each page.
	offsets := make([]int64, 2+3*len(pages))
	obj := func(n int, body string) {
		offsets[n-1] = cw.n
		fmt.Fprintf(cw, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	cw.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 3+3*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", len(pages), strings.Join(kids, " ")))
	var jpg bytes.Buffer
	for i, img := range pages {
		jpg.Reset()
		if err := WriteJPEG(&jpg, img, dpi, quality); err != nil {
			return fmt.Errorf("write scanner PDF: page %d: %w", i+1, err)
		}
		b := img.Bounds()
		wPt, hPt := float64(b.Dx())*72/dpi, float64(b.Dy())*72/dpi
		space := "/DeviceRGB"
		if _, grey := img.(*image.Gray); grey {
			space = "/DeviceGray"
		}
		pageObj, contentObj, imageObj := 3+3*i, 4+3*i, 5+3*i
		obj(pageObj, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "+
			"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", wPt, hPt, imageObj, contentObj))
		content := fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", wPt, hPt)
		obj(contentObj, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		offsets[imageObj-1] = cw.n
		fmt.Fprintf(cw, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "+
			"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n", imageObj, b.Dx(), b.Dy(), space, jpg.Len())
		cw.Write(jpg.Bytes())
		cw.WriteString("\nendstream\nendobj\n")
	}
	xref := cw.n
	fmt.Fprintf(cw, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(cw, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(cw, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	if cw.err != nil {
		return fmt.Errorf("write scanner PDF: %w", cw.err)
	}
	if err := cw.w.Flush(); err != nil {
		return fmt.Errorf("write scanner PDF: %w", err)
	}
	return nil
}

// pdfWriter knows the offset of the next byte, for the PDF's
// cross-reference table, and keeps the first error so WriteStackPDF can
// check once.
type pdfWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *pdfWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *pdfWriter) WriteString(s string) { c.Write([]byte(s)) }

// WriteSlowly writes data to path the way a scanner writes over a network
// share: straight into the final name (no temporary name, no rename), in
// chunks of chunk bytes with pause between them, the file open throughout,
// and synced to disk at the end. A reader that takes the file before the
// last chunk sees a file that is there but not yet whole.
func WriteSlowly(path string, data []byte, chunk int, pause time.Duration) error {
	if chunk <= 0 {
		return fmt.Errorf("write %s slowly: chunk size %d is not above 0", path, chunk)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s slowly: %w", path, err)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := f.Write(data[:n]); err != nil {
			f.Close()
			return fmt.Errorf("write %s slowly: %w", path, err)
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(pause)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s slowly: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s slowly: %w", path, err)
	}
	return nil
}
