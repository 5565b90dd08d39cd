package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// report and history speak Vietnamese: headings, column labels, stages and states in words,
// durations, with the counts right under their (wider) labels; their CSV keeps its English
// column names and the journal's words, for spreadsheets and programs.
func TestReportAndHistoryInVietnamese(t *testing.T) {
	dir, cfg, _ := refuseThree(t, vietnamese)
	if out, code := scanstation(t, vietnamese, "process", "--config", cfg, filepath.Join(dir, "good.jpg")); code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	now := time.Now().In(vietnam(t))
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	month := first.Format("2006-01")
	run := func(args ...string) string {
		t.Helper()
		out, code := scanstation(t, vietnamese, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("%v exits %d:\n%s", args, code, out)
		}
		if !norm.NFC.IsNormalString(out) {
			t.Errorf("%v is not NFC:\n%s", args, out)
		}
		return out
	}
	says := func(what, out string, phrases ...string) {
		t.Helper()
		for _, p := range phrases {
			if !strings.Contains(out, p) {
				t.Errorf("%s does not say %q:\n%s", what, p, out)
			}
		}
	}
	saysNot := func(what, out string, english ...string) {
		t.Helper()
		for _, e := range english {
			if strings.Contains(out, e) {
				t.Errorf("%s has English (%q):\n%s", what, e, out)
			}
		}
	}

	// Three refused at decode and one signed, all given to process: one row and the total.
	out := run("report", "--month", month)
	says("report", out,
		"Văn bản nhận từ ngày "+first.Format("02.01.2006")+" đến ngày "+first.AddDate(0, 1, -1).Format("02.01.2006")+
			" (Asia/Ho_Chi_Minh), theo thư mục nhận\n\n",
		"thư mục nhận                               đã nhận  đã số hóa   số trang   đã ký số  bị từ chối  thời gian trung bình từ khi quét đến khi ký số\n",
		"(đưa vào bằng lệnh scanstation process)          4          1          1          1           3  ",
		"\ntổng cộng                                        4          1          1          1           3  ",
		"\n\nVăn bản bị từ chối, theo bước xử lý đã từ chối\n\n",
		"thư mục nhận                             đọc tệp quét\n",
		"(đưa vào bằng lệnh scanstation process)             3\n",
		"tổng cộng                                           3\n")
	if !regexp.MustCompile(`\n(tổng cộng +)(\d+ +){5}\d+ (giây|phút(?: \d\d giây)?)\n`).MatchString(out) {
		t.Errorf("report's mean time to signature is not in Vietnamese words:\n%s", out)
	}
	saysNot("report", out, "hot-folder", "received", "total", "decode", "refused", " s\n")

	out = run("report", "--month", month, "--format", "csv")
	says("report --format csv", out,
		"month,hot_folder,received,digitised,pages,signed,refused,refused_receive,refused_duplicate,refused_decode,",
		"\n"+month+",total,4,1,1,1,3,0,0,3,0,")

	out = run("history")
	says("history", out,
		"số  thời điểm nhận    tệp          số trang  trạng thái        bản sao điện tử hoặc lý do   ",
		"  good.jpg     1         đã lưu trữ        good.pdf   ",
		"  trong.jpg    0         không xử lý được  đọc tệp quét: trong.jpg: tệp rỗng (0 byte); bản quét chưa được lưu đầy đủ, vui …  ",
		"người ký số", "người vận hành\n")
	saysNot("history", out, "received", "archived", "failed", "decode", "outbox")
	says("history --limit 2", run("history", "--limit", "2"), "(2 văn bản mới nhất; --limit 0 để xem tất cả)\n")
	if out := run("history", "--search", "không có tệp này"); out != "Không có văn bản nào phù hợp.\n" {
		t.Errorf("history of nothing says %q", out)
	}
	out = run("history", "--format", "csv")
	says("history --format csv", out, "id,received,source_name,pages,state,outbox_name,failed_stage,reason,signer,operator,hot_folder\n",
		",good.jpg,1,archived,good.pdf,", ",trong.jpg,0,failed,,decode,")
}
