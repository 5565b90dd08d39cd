package docmeta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadSuppliedYAML(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.pdf")
	write(t, scan, "%PDF")
	if _, ok, err := ReadSupplied(scan); ok || err != nil {
		t.Fatalf("no sidecar: ok %v err %v", ok, err)
	}
	// Unquoted numbers and dates are taken as written.
	write(t, filepath.Join(dir, "scan.yaml"), "code_number: 0245\ncode_notation: BC-SNV\nissued_date: 2020-06-05\n"+
		"subject: Kết quả công tác văn thư\nplace:\n")
	m, ok, err := ReadSupplied(scan)
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	checkSupplied(t, m, map[string]string{"code_number": "0245", "code_notation": "BC-SNV",
		"issued_date": "2020-06-05", "subject": "Kết quả công tác văn thư", "place": ""})
}

func TestReadSuppliedJSON(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.jpg")
	write(t, filepath.Join(dir, "scan.json"), `{"code_number": 12, "issued_date": "05/06/2020", "organ_id": "000.00.00.H41"}`)
	m, ok, err := ReadSupplied(scan)
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	checkSupplied(t, m, map[string]string{"code_number": "12", "issued_date": "2020-06-05", "organ_id": "000.00.00.H41"})
}

func TestReadSuppliedRefuses(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string // in the error
	}{
		{"scan.yaml", "number: 12\n", []string{"scan.yaml", `unknown field "number"`}},
		{"scan.yaml", "organ_id: 000.00.00.H4\n", []string{"scan.yaml", "organ_id", "DDD.DD.DD.Xnn"}},
		{"scan.yaml", "issued_date: 2020-02-30\n", []string{"issued_date", "not a real date"}},
		{"scan.yaml", "subject: [a, b]\n", []string{"subject", "not a list"}},
		{"scan.yaml", "code_notation: " + strings.Repeat("A", 31) + "\n", []string{"code_notation", "31 characters"}},
		{"scan.json", `{"code_number": true}`, []string{"scan.json", "code_number", "want text"}},
		{"scan.json", `{"code_number": "12/UBND"}`, []string{"code_number", "not a number"}},
	} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, c.name), c.text)
		_, ok, err := ReadSupplied(filepath.Join(dir, "scan.tif"))
		if err == nil || ok {
			t.Errorf("%s %q: ok %v err %v, want refused", c.name, c.text, ok, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q: error %q does not say %q", c.name, c.text, err, w)
			}
		}
	}

	dir := t.TempDir()
	write(t, filepath.Join(dir, "scan.yaml"), "code_number: 1\n")
	write(t, filepath.Join(dir, "scan.json"), `{"code_number": "2"}`)
	if _, _, err := ReadSupplied(filepath.Join(dir, "scan.pdf")); err == nil || !strings.Contains(err.Error(), "2 sidecars") {
		t.Errorf("two sidecars: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults{
		OrganID: "000.00.00.H41", OrganName: "SỞ NỘI VỤ", TypeName: "Báo cáo",
		FolderPattern: `^(?P<type_name>[^_]+)_(?P<issued_date>\d{4}-\d{2}-\d{2})$`,
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	m, err := d.For("/srv/scan/inbox/Thông báo_2020-06-05/scan.pdf")
	if err != nil {
		t.Fatal(err)
	}
	checkSource(t, m.TypeName, "Thông báo", SourceFolderName)
	checkSource(t, m.IssuedDate, "2020-06-05", SourceFolderName)
	checkSource(t, m.OrganID, "000.00.00.H41", SourceHotFolder)
	checkSource(t, m.OrganName, "SỞ NỘI VỤ", SourceHotFolder)

	m, err = d.For("/srv/scan/inbox/lan/scan.pdf") // does not match
	if err != nil {
		t.Fatal(err)
	}
	checkSource(t, m.TypeName, "Báo cáo", SourceHotFolder)
	if m.IssuedDate.Known() {
		t.Error("a date from a folder name that does not match")
	}

	if _, err := d.For("/srv/scan/inbox/Báo cáo_2020-13-01/scan.pdf"); err == nil || !strings.Contains(err.Error(), "issued_date") {
		t.Errorf("bad date in the folder name: %v", err)
	}
	for _, bad := range []Defaults{
		{FolderPattern: `(?P<number>\d+)`},
		{FolderPattern: `(\d+)`},
		{FolderPattern: `(?P<code_number>\d+`},
		{OrganID: "H41"},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v passed Check", bad)
		}
	}
}

func checkSupplied(t *testing.T, m Metadata, want map[string]string) {
	t.Helper()
	for name, v := range want {
		f, _ := m.Get(name)
		source := SourceSidecar
		if v == "" {
			source = ""
		}
		checkSource(t, *f, v, source)
	}
}

func checkSource(t *testing.T, f Field, value, source string) {
	t.Helper()
	if f.Value != value || f.Source != source {
		t.Errorf("got %q from %q, want %q from %q", f.Value, f.Source, value, source)
	}
	if source != "" && source != SourceExtracted && f.Confidence != 1 {
		t.Errorf("%q: supplied value with confidence %.2f", value, f.Confidence)
	}
}
