package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"scanstation/internal/samplescan"
)

// vietnamese is the environment of a station that speaks its default language; the other
// tests set English (TestMain).
var vietnamese = []string{"SCANSTATION_STATION_LANGUAGE=vi"}

// refuseThree gives process three scans it must refuse (an empty file, a JPEG cut in half, a
// text file named .tif) and returns the station's folder and process's output.
func refuseThree(t *testing.T, env []string) (dir, cfg, out string) {
	t.Helper()
	dir, cfg = newStation(t)
	good := filepath.Join(dir, "good.jpg")
	writeImage(t, good, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for name, content := range map[string][]byte{
		"trong.jpg":   nil,
		"half.jpg":    data[:len(data)/2],
		"ghi-chu.tif": []byte("Danh sách văn bản cần số hóa\nCông văn số 12/UBND\n"),
	} {
		if err := os.WriteFile(filepath.Join(in, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := scanstation(t, env, "process", "--config", cfg,
		filepath.Join(in, "trong.jpg"), filepath.Join(in, "half.jpg"), filepath.Join(in, "ghi-chu.tif"))
	if code != 1 {
		t.Fatalf("process of three bad scans exits %d, want 1:\n%s", code, out)
	}
	return dir, cfg, out
}

func reasonFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "failed", name+".error.txt"))
	if err != nil {
		matches, _ := filepath.Glob(filepath.Join(dir, "failed", "*"))
		t.Fatalf("no reason file for %s in failed/ (%v): %v", name, matches, err)
	}
	return string(data)
}

// A refused scan's reason file reads in Vietnamese, with its diacritics in NFC: the headings,
// the stage, the reason in the words of package scan and what to do. process says so too.
func TestRefusedScanReasonInVietnamese(t *testing.T) {
	dir, _, out := refuseThree(t, vietnamese)
	want := map[string][]string{
		"trong.jpg": {
			"Bước:      đọc tệp quét (decode)\n",
			"Lý do:     trong.jpg: tệp rỗng (0 byte); bản quét chưa được lưu đầy đủ, vui lòng quét lại văn bản\n",
			"Cách xử lý: Vui lòng kiểm tra tệp có mở được trên máy tính nối với máy quét không.",
		},
		"half.jpg": {
			"Bước:      đọc tệp quét (decode)\n",
			"Lý do:     half.jpg chưa hoàn chỉnh: tệp JPEG không có dấu kết thúc (EOI); máy quét chưa lưu xong tệp\n",
		},
		"ghi-chu.tif": {
			"Bước:      đọc tệp quét (decode)\n",
			"Lý do:     ghi-chu.tif: đây là tệp văn bản thuần (text), không phải ảnh quét; trạm chỉ nhận bản quét lưu dưới dạng JPEG, PNG, TIFF hoặc PDF\n",
		},
	}
	for name, phrases := range want {
		reason := reasonFile(t, dir, name)
		if !norm.NFC.IsNormalString(reason) {
			t.Errorf("the reason file of %s is not NFC:\n%s", name, reason)
		}
		for _, p := range append(phrases,
			"Trạm số hóa không xử lý được tệp này.\n\nTệp:       "+name+"\n",
			"\nThời điểm: ",
			"\nBản gốc được giữ lại trong thư mục này với tên: "+name+"\n") {
			if !strings.Contains(reason, p) {
				t.Errorf("the reason file of %s does not say %q:\n%s", name, p, reason)
			}
		}
		for _, english := range []string{"Reason:", "What to do", "the file is empty", "not a scan", "incomplete"} {
			if strings.Contains(reason, english) {
				t.Errorf("the reason file of %s has English (%q):\n%s", name, english, reason)
			}
		}
	}
	for _, p := range []string{
		"trong.jpg: KHÔNG XỬ LÝ ĐƯỢC: trong.jpg không xử lý được ở bước đọc tệp quét: trong.jpg: tệp rỗng (0 byte);",
		"  tệp và lý do nằm trong " + filepath.Join(dir, "failed") + "\n",
	} {
		if !strings.Contains(out, p) {
			t.Errorf("process does not say %q:\n%s", p, out)
		}
	}
}

// With station.language en the same refusals read in English, as before.
func TestRefusedScanReasonInEnglish(t *testing.T) {
	dir, _, out := refuseThree(t, []string{"SCANSTATION_STATION_LANGUAGE=en"})
	for name, p := range map[string]string{
		"trong.jpg":   "Reason:    trong.jpg: the file is empty (0 bytes); the scan was not saved completely, scan the document again\n",
		"half.jpg":    "Reason:    half.jpg is incomplete: ",
		"ghi-chu.tif": "Reason:    ghi-chu.tif: this is a text file, not a scanned image; the station accepts scans saved as JPEG, PNG, TIFF or PDF\n",
	} {
		reason := reasonFile(t, dir, name)
		for _, p := range []string{p, "The station could not process this file.\n", "Stage:     decode\n", "What to do next: Check that the file opens"} {
			if !strings.Contains(reason, p) {
				t.Errorf("the reason file of %s does not say %q:\n%s", name, p, reason)
			}
		}
	}
	if p := "trong.jpg: FAILED: trong.jpg failed at decode: trong.jpg: the file is empty (0 bytes)"; !strings.Contains(out, p) {
		t.Errorf("process does not say %q:\n%s", p, out)
	}
}

// status speaks Vietnamese: its labels, the stage and the reason of the last refusals.
func TestStatusInVietnamese(t *testing.T) {
	_, cfg, _ := refuseThree(t, vietnamese)
	out, code := scanstation(t, vietnamese, "status", "--config", cfg)
	if code != 0 {
		t.Fatalf("status exits %d:\n%s", code, out)
	}
	for _, p := range []string{
		"Chưa xong", "số văn bản", "  đã nhận ", "  tổng cộng ",
		"Đã xong hôm nay (",
		"thiết bị ký số (token): không rõ (trạm có đang chạy không?)\n",
		"Lỗi gần đây (mới nhất trước; tệp và lý do nằm trong ",
		"đọc tệp quét  ghi-chu.tif: đây là tệp văn bản thuần (text), không phải ảnh quét;",
	} {
		if !strings.Contains(out, p) {
			t.Errorf("status does not say %q:\n%s", p, out)
		}
	}
	failed := false
	for _, l := range strings.Split(out, "\n") {
		failed = failed || strings.HasPrefix(l, "  không xử lý được (trong thư mục failed) ") && strings.HasSuffix(l, " 3")
	}
	if !failed {
		t.Errorf("status does not count the three refused today:\n%s", out)
	}
	if !norm.NFC.IsNormalString(out) {
		t.Errorf("status is not NFC:\n%s", out)
	}
}

// The clerk's refusal at the command line is said, and written into the reason file, in
// Vietnamese: approve lists the document, reject records it, and the next process moves it to
// failed/ with the clerk's words under the heading of the approval stage.
func TestRejectInVietnamese(t *testing.T) {
	dir, cfg := newStation(t)
	replaceInConfig(t, cfg, `approval: "none"`, `approval: "required"`)
	in := filepath.Join(t.TempDir(), "to-trinh.jpg")
	writeImage(t, in, samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("TỜ TRÌNH")}, "jpeg")
	out, _ := scanstation(t, vietnamese, "process", "--config", cfg, in)
	if want := "to-trinh.jpg: CHƯA CHUYỂN ĐI: to-trinh.jpg đang chờ văn thư duyệt: scanstation approve 1 --by TÊN\n"; !strings.Contains(out, want) {
		t.Fatalf("process does not say %q:\n%s", want, out)
	}
	out, code := scanstation(t, vietnamese, "approve", "--config", cfg)
	if code != 0 || !strings.Contains(out, "1 văn bản đang chờ duyệt (bản xem trước trong ") || !strings.Contains(out, "  1  to-trinh.jpg  1 trang  quét lúc ") {
		t.Errorf("approve lists (%d):\n%s", code, out)
	}
	out, code = scanstation(t, vietnamese, "reject", "--config", cfg, "1", "--by", "Chị Lan", "--reason", "trang 1 bị mờ")
	if code != 0 || !strings.Contains(out, "1: to-trinh.jpg đã bị từ chối; trạm chuyển văn bản vào "+filepath.Join(dir, "failed")+" kèm lý do\n") {
		t.Errorf("reject says (%d):\n%s", code, out)
	}
	out, code = scanstation(t, vietnamese, "approve", "--config", cfg, "1", "--by", "Chị Lan")
	if code == 0 || !strings.Contains(out, "1: to-trinh.jpg KHÔNG được duyệt: văn bản đã bị từ chối trước đó (văn thư Chị Lan từ chối: trang 1 bị mờ)\n") {
		t.Errorf("approve after the refusal says (%d):\n%s", code, out)
	}
	if out, _ = scanstation(t, vietnamese, "process", "--config", cfg, in); !strings.Contains(out, "to-trinh.jpg: KHÔNG XỬ LÝ ĐƯỢC: ") {
		t.Errorf("the refused document is not moved to failed/:\n%s", out)
	}
	reason := reasonFile(t, dir, "to-trinh.jpg")
	for _, p := range []string{
		"Bước:      văn thư duyệt (approval)\n",
		"Lý do:     văn thư Chị Lan từ chối: trang 1 bị mờ\n",
		"Cách xử lý: Văn thư đã từ chối ký số bản sao này. Vui lòng khắc phục theo lý do nêu trên, rồi quét lại vào thư mục quét.\n",
	} {
		if !strings.Contains(reason, p) {
			t.Errorf("the reason file does not say %q:\n%s", p, reason)
		}
	}
}

// journal rebuild reads a Vietnamese reason file back: the stage by its journal name, the
// reason in the words the operator read.
func TestJournalRebuildReadsVietnameseReasons(t *testing.T) {
	dir, cfg, _ := refuseThree(t, vietnamese)
	state := filepath.Join(dir, "state")
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(state, "journal.db"+s))
	}
	if out, code := scanstation(t, vietnamese, "journal", "rebuild", "--config", cfg); code != 0 || !strings.Contains(out, "3 failed") {
		t.Fatalf("journal rebuild exits %d:\n%s", code, out)
	}
	out, code := scanstation(t, vietnamese, "history", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("history exits %d:\n%s", code, out)
	}
	var rows []historyLine
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("history --format json: %v\n%s", err, out)
	}
	found := false
	for _, r := range rows {
		if r.SourceName == "trong.jpg" {
			found = true
			if r.FailedStage != "decode" || r.Reason != "trong.jpg: tệp rỗng (0 byte); bản quét chưa được lưu đầy đủ, vui lòng quét lại văn bản" {
				t.Errorf("after the rebuild trong.jpg failed at %q: %q", r.FailedStage, r.Reason)
			}
		}
	}
	if !found {
		t.Errorf("history after the rebuild has no trong.jpg:\n%s", out)
	}
}
