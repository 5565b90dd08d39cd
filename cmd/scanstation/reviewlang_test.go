package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/console"
	"scanstation/internal/samplescan"
	"scanstation/lang"
	"scanstation/station"
	"scanstation/users"
)

// A sidecar whose values Appendix VI refuses gets a reason file in Vietnamese: the file as the
// operator saved it, each field by its key in the file and what is wrong with it.
func TestMetadataRefusalInVietnamese(t *testing.T) {
	dir, cfg := newStation(t)
	in := t.TempDir()
	scan := filepath.Join(in, "cong-van.jpg")
	writeImage(t, scan, samplescan.Options{DPI: 200}, "jpeg")
	if err := os.WriteFile(filepath.Join(in, "cong-van.yaml"), []byte("code_number: 24a\nissued_date: 2020-02-30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := scanstation(t, vietnamese, "process", "--config", cfg, scan)
	if code != 1 {
		t.Fatalf("process of a scan with a bad sidecar exits %d, want 1:\n%s", code, out)
	}
	reason := reasonFile(t, dir, "cong-van.jpg")
	for _, p := range []string{
		"Bước:      thông tin văn bản (metadata)\n",
		`Lý do:     cong-van.jpg: tệp thông tin văn bản cong-van.yaml không được chấp nhận: code_number: "24a" không phải là số (chỉ gồm chữ số); issued_date: "2020-02-30" không phải là ngày có thật theo dạng yyyy-mm-dd` + "\n",
	} {
		if !strings.Contains(reason, p) {
			t.Errorf("the reason file does not say %q:\n%s", p, reason)
		}
	}
	for _, english := range []string{"is not a number", "not a real date", "sidecar"} {
		if strings.Contains(reason, english) {
			t.Errorf("the reason file has English (%q):\n%s", english, reason)
		}
	}
}

// A copy delivered with a quality warning carries it in the sidecar in Vietnamese.
func TestSidecarWarningsInVietnamese(t *testing.T) {
	dir, cfg := newStation(t)
	replaceInConfig(t, cfg, `on_fail: "reject"`, `on_fail: "warn"`)
	scan := filepath.Join(t.TempDir(), "bao-cao.jpg")
	writeImage(t, scan, samplescan.Options{DPI: 150}, "jpeg")
	if out, code := scanstation(t, vietnamese, "process", "--config", cfg, scan); code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "outbox", "bao-cao.json"))
	if err != nil {
		t.Fatal(err)
	}
	var side struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(data, &side); err != nil {
		t.Fatal(err)
	}
	words := strings.Join(side.Warnings, "\n")
	if !strings.Contains(words, "trang 1 được quét ở 150 dpi; yêu cầu tối thiểu") || strings.Contains(words, "is scanned at") || strings.Contains(words, `"kind"`) {
		t.Errorf("the sidecar's warnings are not the Vietnamese words: %q", side.Warnings)
	}
}

// A page OCR is unsure of the way up of is named in Vietnamese in approve's list and on the
// console; a value the form refuses is told in Vietnamese; once the page is read again the
// doubt is gone, found by its kind and page, not by its words.
func TestOrientationDoubtInVietnamese(t *testing.T) {
	dir, path := newStation(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Station.Language = "vi"
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.DiscardHandler), Command: "desk test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		st.Close()
	}()
	desk := station.NewDesk(st, nil)
	lan := console.User{Name: "Chị Lan", Role: users.Clerk}

	writeImage(t, filepath.Join(dir, "inbox", "mot-dong.jpg"), samplescan.Options{DPI: 200, Lines: []string{"Kính gửi: Sở Nội vụ tỉnh Bắc Ninh"}}, "jpeg")
	var id int64
	waitFor(t, "the scan to wait for review", 3*time.Minute, func() bool {
		q, err := desk.Queue(ctx)
		if err == nil && len(q.Review) == 1 {
			id = q.Review[0].ID
		}
		return id != 0
	}, &strings.Builder{})

	const doubt = "trang 1: trạm không chắc chiều đọc đúng của trang (hướng "
	doc, err := desk.Document(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(doc.Warnings, "\n"); !strings.Contains(w, doubt) || !strings.Contains(w, "văn thư kiểm tra trang trước khi ký số") {
		t.Errorf("the console's warnings do not name the unsure page in Vietnamese: %q", doc.Warnings)
	}
	out, _ := scanstation(t, vietnamese, "approve", "--config", path)
	if !strings.Contains(out, "mot-dong.jpg") || !strings.Contains(out, "      "+doubt) {
		t.Errorf("approve's list does not name the unsure page in Vietnamese:\n%s", out)
	}

	err = desk.Correct(ctx, id, map[string]string{"code_number": "24a"}, lan)
	var fe *console.FieldError
	if !errors.As(err, &fe) || fe.Field != "code_number" {
		t.Fatalf("a number of letters: %v, want a FieldError of code_number", err)
	}
	if got := lang.Printer(lang.Vietnamese).Sprintf(fe.Message, fe.Args...); got != `"24a" không phải là số (chỉ gồm chữ số)` {
		t.Errorf("the form's problem in Vietnamese is %q", got)
	}

	if err := desk.Reocr(ctx, id, 1, lan); err != nil {
		t.Fatal(err)
	}
	if doc, err = desk.Document(ctx, id); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(doc.Warnings, "\n"); strings.Contains(w, "trang 1: trạm không chắc") {
		t.Errorf("the page was read again by the clerk, yet its doubt stays: %q", doc.Warnings)
	}
}
