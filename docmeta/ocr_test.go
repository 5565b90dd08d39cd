package docmeta

import (
	"bytes"
	"strings"
	"testing"

	"scanstation/internal/samplescan"
	"scanstation/ocr"
)

// TestExtractRealOCR reads two generated letters with Tesseract (vie+eng): a
// Công văn at 300 dpi and a Quyết định with the year in its number at 200
// dpi, grey and turned 0.4°.
func TestExtractRealOCR(t *testing.T) {
	e, err := ocr.NewEngine(ocr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	set := samplescan.LetterSet(12, 1)
	for _, s := range []samplescan.LetterSample{set[0], set[3]} {
		s.Options.Gray = s.Options.DPI == 200
		s.Options.Skew = 0.4
		t.Run(s.Name, func(t *testing.T) {
			img, err := samplescan.RenderLetter(s.Letter, s.Options)
			if err != nil {
				t.Fatal(err)
			}
			dpi := s.Options.DPI
			if dpi == 0 {
				dpi = 300
			}
			var buf bytes.Buffer
			if err := samplescan.WriteJPEG(&buf, img, dpi, 90); err != nil {
				t.Fatal(err)
			}
			res, err := e.Recognize(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			m := Extract(res, img.Bounds().Dx(), img.Bounds().Dy())
			l := s.Letter
			checkFields(t, m, map[string]string{
				"code_number":   l.CodeNumber,
				"code_notation": l.CodeNotation,
				"issued_date":   l.Date.Format("2006-01-02"),
				"place":         l.Place,
				"type_name":     l.TypeName,
				"organ_name":    l.OrganName,
			})
			if p := m.Validate(); len(p) > 0 {
				t.Errorf("extracted values fail validation: %v", p)
			}
			t.Logf("%+v", m)
		})
	}
}

// TestExtractRealOCRDefaultPage reads the demo page (samplescan's default
// document, as scripts/gensamples renders it): the organ block is centred
// above the motto, so it lies right of the motto's left edge, and the V/v
// line runs on past the middle of the page. Debian's fast vie model reads
// the bold capitals without tone marks ("TINH BA RỊA - VUNG TAU").
func TestExtractRealOCRDefaultPage(t *testing.T) {
	e, err := ocr.NewEngine(ocr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	img, err := samplescan.Render(samplescan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := samplescan.WriteJPEG(&buf, img, 300, 90); err != nil {
		t.Fatal(err)
	}
	res, err := e.Recognize(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := Extract(res, img.Bounds().Dx(), img.Bounds().Dy())
	t.Logf("%+v", m)
	checkFields(t, m, map[string]string{
		"code_number":   "2417",
		"code_notation": "UBND-VP",
		"issued_date":   "2020-06-05",
		"place":         "Bà Rịa - Vũng Tàu",
		"type_name":     "Công văn",
		"subject":       "triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan",
	})
	if !m.OrganName.Known() || !strings.HasPrefix(fold(m.OrganName.Value), "uy ban nhan dan") {
		t.Errorf("organ_name = %q, want the Ủy ban nhân dân of the province", m.OrganName.Value)
	}
}
