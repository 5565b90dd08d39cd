package separator

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/capture"
	"scanstation/certify/pdfa"
	"scanstation/internal/scansim"
)

func testSheet() capture.Sheet {
	return capture.Sheet{Pages: 12, Fields: map[string]string{
		"type_name": "Công văn", "code_number": "2417", "code_notation": "UBND-VP",
		"issued_date": "2020-06-05", "organ_name": "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu",
		"subject": "Triển khai số hóa hồ sơ, tài liệu lưu trữ của các cơ quan, tổ chức thuộc phạm vi quản lý",
	}}
}

// TestSheetReadsBack renders a sheet in a few of the conditions
// scripts/sepbench measures in full, and reads its fields back.
func TestSheetReadsBack(t *testing.T) {
	want := testSheet()
	for _, c := range []scansim.Condition{
		{DPI: 200}, {DPI: 300, Skew: 5}, {DPI: 200, Skew: -5, JPEG: 60}, {DPI: 300, JPEG: 60, Grey: true},
	} {
		page, err := Render(want, c.DPI)
		if err != nil {
			t.Fatal(err)
		}
		img, err := scansim.Scan(page, c, 1)
		if err != nil {
			t.Fatal(err)
		}
		codes, err := Codes(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 1 {
			t.Fatalf("%v: %d codes read, want 1", c, len(codes))
		}
		got, err := capture.ParseSheet(codes[0])
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if got.Pages != 12 || got.Fields["subject"] != want.Fields["subject"] || got.Fields["organ_name"] != want.Fields["organ_name"] {
			t.Errorf("%v: read back %+v", c, got)
		}
	}
}

// TestNoisyScansRead reads sheets in the two ways a noisy scan defeats
// ZXing's own detector: a 200 dpi scan kept lossless, where the finder
// patterns' rings come out thick enough that ZXing takes the 105-module
// code for a 101-module one (read's neighbouring sizes find it at full
// resolution), and a 300 dpi JPEG scan of a code whose data holds a
// pattern that ZXing's finder takes for the bottom-left corner (the reader
// before this one missed it in every look).
func TestNoisyScansRead(t *testing.T) {
	wide := capture.Sheet{Pages: 3, Fields: map[string]string{
		"type_name": "Kế hoạch", "code_number": "2929", "code_notation": "UBND-VP", "issued_date": "2026-07-11",
		"organ_name": "Sở Nội vụ tỉnh Đồng Nai",
		"subject": "hồ án đổi các số hiện hồ tăng cơ chức gia tổ vi triển án sơ tài chức của các công kế sơ tổ năm số " +
			"liệu cường hóa hiện triển hóa sơ tăng hoạch tổ của công lưu tổ cường liệu lưu đổi gia phạm cường đề vi " +
			"công chuyển trữ sơ án văn thực việc hồ lưu",
	}}
	corner := capture.Sheet{Pages: 67, Fields: map[string]string{
		"type_name": "Quyết định", "code_number": "9705", "code_notation": "UBND-VP", "issued_date": "2026-01-02",
		"organ_name": "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu", "subject": "hiện hoạch quan sơ các",
	}}
	for _, c := range []struct {
		sheet capture.Sheet
		cond  scansim.Condition
		seed  uint64
	}{
		{wide, scansim.Condition{DPI: 200}, 1077},
		{wide, scansim.Condition{DPI: 200, Grey: true}, 1078},
		{corner, scansim.Condition{DPI: 300, JPEG: 60}, 1 ^ 23014},
	} {
		want, err := c.sheet.Payload()
		if err != nil {
			t.Fatal(err)
		}
		page, err := Render(c.sheet, c.cond.DPI)
		if err != nil {
			t.Fatal(err)
		}
		img, err := scansim.Scan(page, c.cond, c.seed)
		if err != nil {
			t.Fatal(err)
		}
		codes, err := Codes(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 1 || codes[0] != want {
			t.Errorf("%v, noise seed %d: read %q, want the printed payload", c.cond, c.seed, codes)
		}
		// Each look on its own, as the page may need either.
		g := grey(img)
		for _, look := range []*image.Gray{g, shrink(g)} {
			if text, err := decode(look); err != nil || text != want {
				t.Errorf("%v, noise seed %d, at %d pixels wide: read %q, error %v", c.cond, c.seed, look.Rect.Dx(), text, err)
			}
		}
	}
}

// TestPageWithoutCode: a letter gives no code, and no error.
func TestPageWithoutCode(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 800, 1100))
	for i := range img.Pix {
		img.Pix[i] = 240
	}
	codes, err := Codes(img)
	if err != nil || len(codes) != 0 {
		t.Fatalf("codes %q, error %v on a blank page", codes, err)
	}
}

// TestWritePDF writes the sheet as PDF/A, checks it with veraPDF, and reads
// the code back from poppler's rendering of the file, as a clerk's printer
// would see it.
func TestWritePDF(t *testing.T) {
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sheet.pdf")
	var buf bytes.Buffer
	if err := WritePDF(&buf, testSheet(), icc, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("verapdf", "--flavour", "2u", "--format", "xml", path).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("verapdf: %v", err)
	}
	rep, err := pdfa.ParseVeraPDFReport(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Compliant {
		t.Fatalf("the sheet is not PDF/A-2u:\n%s", rep.Summary())
	}
	if out, err := exec.Command("pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 1650 || b.Dx() > 1660 {
		t.Errorf("the page is %d pixels wide at 200 dpi, want A4's 1654", b.Dx())
	}
	codes, err := Codes(img)
	if err != nil || len(codes) != 1 || !strings.HasPrefix(codes[0], capture.SheetPrefix) {
		t.Fatalf("codes %q, error %v", codes, err)
	}
	if out, err := exec.Command("pdftotext", path, "-").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Logf("the sheet has text: %q", out)
	}
}
