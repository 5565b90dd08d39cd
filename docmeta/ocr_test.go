package docmeta

import (
	"bytes"
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
