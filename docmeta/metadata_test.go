package docmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/lang"
)

func TestMergeSuppliedWins(t *testing.T) {
	ex := Metadata{
		CodeNumber:   extracted("2417", 0.9),
		CodeNotation: extracted("UBND-VP", 0.9),
		TypeName:     extracted("Công văn", 0.8),
	}
	hot := Metadata{OrganID: Field{Value: "000.00.00.H41", Confidence: 1, Source: SourceHotFolder}, TypeName: Field{Value: "Báo cáo", Confidence: 1, Source: SourceHotFolder}}
	side := Metadata{CodeNumber: Field{Value: "2418", Confidence: 1, Source: SourceSidecar}, PageAmount: 3, Language: "vi"}
	m := Merge(ex, hot, side)
	for _, c := range []struct {
		f             Field
		value, source string
	}{
		{m.CodeNumber, "2418", SourceSidecar},
		{m.CodeNotation, "UBND-VP", SourceExtracted},
		{m.TypeName, "Báo cáo", SourceHotFolder},
		{m.OrganID, "000.00.00.H41", SourceHotFolder},
	} {
		if c.f.Value != c.value || c.f.Source != c.source {
			t.Errorf("got %q from %s, want %q from %s", c.f.Value, c.f.Source, c.value, c.source)
		}
	}
	if m.PageAmount != 3 || m.Language != "vi" {
		t.Errorf("PageAmount %d Language %q", m.PageAmount, m.Language)
	}
	if ex.CodeNumber.Value != "2417" {
		t.Error("Merge changed its argument")
	}
}

func TestValidate(t *testing.T) {
	good := Metadata{
		OrganID:      Field{Value: "000.00.00.H41"},
		CodeNumber:   Field{Value: "12"},
		CodeNotation: Field{Value: "2020/QĐ-UBND"},
		IssuedDate:   Field{Value: "2020-02-29"},
		Subject:      Field{Value: strings.Repeat("ư", 500)},
	}
	if p := good.Validate(); len(p) != 0 {
		t.Errorf("good metadata: %v", p)
	}
	bad := Metadata{
		OrganID:      Field{Value: "000.00.00.h41", Source: SourceSidecar},
		CodeNumber:   Field{Value: "12a"},
		CodeNotation: Field{Value: "QĐ UBND"},
		IssuedDate:   Field{Value: "2021-02-29"},
		Subject:      Field{Value: strings.Repeat("ư", 501)},
		OrganName:    Field{Value: " SỞ NỘI VỤ"},
	}
	problems := bad.Validate()
	got := map[string]string{}
	for _, p := range problems {
		got[p.Field] = p.Reason
	}
	for field, reason := range map[string]string{
		"organ_id":      "DDD.DD.DD.Xnn",
		"code_number":   "not a number",
		"code_notation": "space",
		"issued_date":   "not a real date",
		"subject":       "501 characters, more than the 500",
		"organ_name":    "leading or trailing space",
	} {
		if !strings.Contains(got[field], reason) {
			t.Errorf("%s: reason %q, want it to say %q", field, got[field], reason)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6: %v", len(problems), problems)
	}
	if problems[0].Source != SourceSidecar {
		t.Errorf("problem source %q", problems[0].Source)
	}
	if n := len([]rune(bad.Subject.Value)); n != 501 {
		t.Errorf("Validate changed the subject to %d characters", n)
	}
}

func TestMarshalJSON(t *testing.T) {
	m := Metadata{CodeNumber: Field{Value: "12", Confidence: 0.9, Source: SourceExtracted}, PageAmount: 2, Language: "vi"}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"code_number":{"value":"12","confidence":0.9,"source":"extracted"},"language":"vi","page_amount":2}`
	if string(data) != want {
		t.Errorf("got  %s\nwant %s", data, want)
	}
}

func TestMetadataJSONRoundTrip(t *testing.T) {
	want := Metadata{
		CodeNumber: Field{Value: "2417", Confidence: 0.92, Source: SourceExtracted},
		Subject:    Field{Value: "Triển khai số hóa", Confidence: 1, Source: SourceSidecar},
		Language:   "vi",
		PageAmount: 3,
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got Metadata
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("round trip through %s gives %+v, want %+v", data, got, want)
	}
}

// A problem keeps its reason as format and arguments that print, in English, as its Reason and,
// through the station's catalogue, in Vietnamese; a refused sidecar's error carries them.
func TestProblemInLanguages(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "cong-van.pdf")
	if err := os.WriteFile(filepath.Join(dir, "cong-van.yaml"), []byte("code_number: 24a\nissued_date: 2020-02-30\nsubject: "+strings.Repeat("á", 501)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadSupplied(scan)
	var problems Problems
	if !errors.As(err, &problems) || len(problems) != 3 {
		t.Fatalf("ReadSupplied: %v, want three Problems", err)
	}
	vi := lang.Printer(lang.Vietnamese)
	want := map[string]string{
		"code_number": `"24a" không phải là số (chỉ gồm chữ số)`,
		"issued_date": `"2020-02-30" không phải là ngày có thật theo dạng yyyy-mm-dd`,
		"subject":     "dài 501 ký tự, quá 500 ký tự Phụ lục VI cho phép",
	}
	for _, p := range problems {
		if en := fmt.Sprintf(p.Format, p.Args...); en != p.Reason {
			t.Errorf("%s: its format prints %q, its Reason is %q", p.Field, en, p.Reason)
		}
		if got := (lang.Text{Format: p.Format, Args: p.Args}).In(vi); got != want[p.Field] {
			t.Errorf("%s in Vietnamese: %q, want %q", p.Field, got, want[p.Field])
		}
	}
	if !strings.Contains(err.Error(), `code_number: "24a" is not a number (digits only); issued_date: "2020-02-30" is not a real date as yyyy-mm-dd`) {
		t.Errorf("the error in English: %v", err)
	}
}
