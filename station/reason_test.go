package station

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/certify/quality"
	"scanstation/journal"
	"scanstation/lang"
)

// A scan refused by the quality rules gets its reason file in Vietnamese, built from the
// findings' formats, and journal rebuild reads the stage, reason and time back from it.
func TestVietnameseReasonFileReadsBack(t *testing.T) {
	s, cfg := bareStation(t)
	cfg.Station.Language = "vi"
	ctx := context.Background()
	path := filepath.Join(cfg.HotFolders[0].Path, "to-trinh.jpg")
	if err := os.WriteFile(path, []byte("a scan"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := fileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	job := &journal.Job{Source: path, SourceName: "to-trinh.jpg", State: journal.Spooled}
	f.recordIn(job)
	if err := s.journal.Add(ctx, job); err != nil {
		t.Fatal(err)
	}
	// A grey page at 150 dpi, as recognise judges it.
	verdict := quality.Check([]quality.PageFacts{{Number: 1, Width: 874, Height: 1240, DPIX: 150, DPIY: 150, DPIKnown: true,
		ColorDepth: 8, Ink: 0.1, Words: 40}}, rules(s.profile(job)))
	var failures []any
	for _, f := range verdict.Findings {
		failures = append(failures, lang.Text{Format: f.Format, Args: f.Args})
	}
	if len(failures) != 2 {
		t.Fatalf("findings: %+v", verdict.Findings)
	}
	list := lang.Text{Format: "  %s\n  %s", Args: failures}
	err = &stageError{"quality", refuse("%s does not meet the scanning rules:\n%s", job.SourceName, list)}
	job.FailedStage, job.Reason = "quality", plainReason(s.printer(), err, job.SourceName)
	out := s.fail(ctx, job, false, Outcome{})
	if out.Failed == "" {
		t.Fatalf("not moved to failed/: %+v", out)
	}
	data, err := os.ReadFile(out.Failed + ".error.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bước:      kiểm tra chất lượng bản quét (quality)\n", "Lý do:     to-trinh.jpg không đạt yêu cầu quét:\n",
		"\n  trang 1 được quét thang xám hoặc 256 màu (8 bit); Nghị định yêu cầu quét màu (24 bit): vui lòng đặt máy quét ở chế độ màu và quét lại\n",
		"\n  trang 1 được quét ở 150 dpi; yêu cầu tối thiểu 200 dpi: vui lòng đặt máy quét từ 200 dpi trở lên và quét lại\n",
		"Cách xử lý: Vui lòng quét lại bản giấy theo yêu cầu nêu trên (màu, không thấp hơn số dpi quy định, tỷ lệ 100%)"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the reason file does not say %q:\n%s", want, data)
		}
	}
	var back journal.Job
	readReason(&back, out.Failed+".error.txt")
	if back.FailedStage != "quality" || back.Reason != "to-trinh.jpg không đạt yêu cầu quét:" || back.Created.IsZero() {
		t.Errorf("read back stage %q, reason %q, time %v", back.FailedStage, back.Reason, back.Created)
	}
}
