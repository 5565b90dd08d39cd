package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/capture"
	"scanstation/capture/separator"
)

// TestSeparatorCommand prints a sheet as a clerk would, and reads what the
// station will read from it: poppler renders the PDF at 200 dpi and the QR
// code gives back the type, the fields and the page count.
func TestSeparatorCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sheet.pdf")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"separator", "--type", "CÔNG VĂN", "--pages", "12",
		"--meta", "code_number=2417", "--meta", "subject=Triển khai số hóa hồ sơ", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if cmd := exec.Command("pdftoppm", "-r", "200", "-png", "-singlefile", out, filepath.Join(dir, "page")); cmd.Run() != nil {
		t.Fatal("pdftoppm could not render the sheet")
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
	codes, err := separator.Codes(img)
	if err != nil || len(codes) != 1 {
		t.Fatalf("codes %q, error %v", codes, err)
	}
	s, err := capture.ParseSheet(codes[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.Pages != 12 || s.Fields["type_name"] != "Công văn" || s.Fields["code_number"] != "2417" || s.Fields["subject"] != "Triển khai số hóa hồ sơ" {
		t.Errorf("the sheet says %+v", s)
	}

	// A field the record does not have is refused, and nothing is written.
	bad := filepath.Join(dir, "bad.pdf")
	err = run(context.Background(), []string{"separator", "--meta", "colour=red", "--out", bad}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown field "colour"`) {
		t.Errorf("an unknown field gave %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a refused sheet left %s", bad)
	}
}
