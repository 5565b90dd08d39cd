package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
	"scanstation/journal"
)

// TestStatusHistoryReportAfterProcessing runs status, history and report as a clerk would, on a
// station that signed two scans from two operators and refused a truncated one, then with the
// daemon running.
func TestStatusHistoryReportAfterProcessing(t *testing.T) {
	dir, cfg := newStation(t)
	inbox := filepath.Join(dir, "inbox")
	for _, sub := range []string{"lan", "minh"} {
		if err := os.MkdirAll(filepath.Join(inbox, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	first := filepath.Join(inbox, "lan", "cong-van-1.jpg")
	second := filepath.Join(inbox, "minh", "tờ-trình-2.jpg")
	writeImage(t, first, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	writeImage(t, second, samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("TỜ TRÌNH", "Về việc số hóa hồ sơ")}, "jpeg")
	data, _ := os.ReadFile(first)
	half := filepath.Join(inbox, "lan", "half.jpg")
	if err := os.WriteFile(half, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{first, second} { // one at a time: the journal's order is known
		if out, code := scanstation(t, nil, "process", "--config", cfg, in); code != 0 {
			t.Fatalf("process exits %d:\n%s", code, out)
		}
	}
	if out, code := scanstation(t, nil, "process", "--config", cfg, half); code == 0 {
		t.Fatalf("process of a truncated JPEG exits 0:\n%s", out)
	}

	// status: nothing waits, two done and one failed today, the token unknown without the daemon.
	out, code := scanstation(t, nil, "status", "--config", cfg)
	if code != 0 {
		t.Fatalf("status exits %d:\n%s", code, out)
	}
	for _, want := range []string{
		"  all                                      0\n",
		"  archived (signed and delivered)          2\n",
		"  failed (in the failed folder)            1\n",
		"token: unknown (is the station running?)",
		"half.jpg  decode",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	out, code = scanstation(t, nil, "status", "--config", cfg, "--format", "json")
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("status --format json exits %d (%v):\n%s", code, err, out)
	}
	if st.Unfinished != 0 || st.FinishedToday.Archived != 2 || st.FinishedToday.Failed != 1 || st.Token.State != "unknown" ||
		len(st.LastErrors) != 1 || st.LastErrors[0].Source != "half.jpg" || st.LastErrors[0].Stage != "decode" ||
		!strings.Contains(st.LastErrors[0].Reason, "incomplete") || len(st.Queue) != 8 {
		t.Errorf("status --format json: %+v", st)
	}

	// history: newest first, filters, CSV that a spreadsheet reads back.
	out, code = scanstation(t, nil, "history", "--config", cfg, "--format", "csv")
	if code != 0 {
		t.Fatalf("history exits %d:\n%s", code, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("history --format csv: %v\n%s", err, out)
	}
	if len(rows) != 4 || rows[0][0] != "id" || rows[1][2] != "half.jpg" || rows[2][2] != "tờ-trình-2.jpg" || rows[3][2] != "cong-van-1.jpg" {
		t.Fatalf("history is not the three documents newest first:\n%s", out)
	}
	if got := rows[3]; got[3] != "1" || got[4] != "archived" || got[5] != "cong-van-1.pdf" || got[8] == "" || got[9] != "lan" || got[10] != inbox {
		t.Errorf("history row of cong-van-1.jpg: %q", got)
	}
	if got := rows[1]; got[4] != "failed" || got[6] != "decode" || !strings.Contains(got[7], "incomplete") {
		t.Errorf("history row of half.jpg: %q", got)
	}
	if _, err := time.Parse(time.RFC3339, rows[1][1]); err != nil || !strings.HasSuffix(rows[1][1], "+07:00") {
		t.Errorf("received time %q is not RFC 3339 in Vietnam time", rows[1][1])
	}
	today := time.Now().In(vietnam(t)).Format(time.DateOnly)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--state", "failed"}, []string{"half.jpg"}},
		{[]string{"--state", "archived", "--operator", "Minh"}, []string{"tờ-trình-2.jpg"}},
		{[]string{"--search", "cong-van", "--hot-folder", inbox}, []string{"cong-van-1.jpg"}},
		{[]string{"--since", today, "--until", today, "--limit", "2"}, []string{"half.jpg", "tờ-trình-2.jpg"}},
		{[]string{"--until", "2020-01-01"}, []string{}},
		{[]string{"--hot-folder", filepath.Join(dir, "elsewhere")}, []string{}},
	} {
		out, code := scanstation(t, nil, append([]string{"history", "--config", cfg, "--format", "json"}, c.args...)...)
		var lines []historyLine
		if err := json.Unmarshal([]byte(out), &lines); code != 0 || err != nil {
			t.Fatalf("history %v exits %d (%v):\n%s", c.args, code, err, out)
		}
		got := []string{}
		for _, l := range lines {
			got = append(got, l.SourceName)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("history %v: %q, want %q", c.args, got, c.want)
		}
	}
	out, _ = scanstation(t, nil, "history", "--config", cfg)
	if !strings.Contains(out, "cong-van-1.pdf") || !strings.Contains(out, "decode: ") || !strings.Contains(out, "outbox file or reason") {
		t.Errorf("history table lacks the outbox name or the reason:\n%s", out)
	}
	if out, code := scanstation(t, nil, "history", "--config", cfg, "--state", "lost"); code == 0 || !strings.Contains(out, "not a state") {
		t.Errorf("history --state lost exits %d:\n%s", code, out)
	}

	// report: this month's figures for the inbox.
	month := time.Now().In(vietnam(t)).Format("2006-01")
	out, code = scanstation(t, nil, "report", "--config", cfg, "--month", month, "--format", "csv")
	if code != 0 {
		t.Fatalf("report exits %d:\n%s", code, out)
	}
	rows, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("report --format csv is not a header, the inbox and the total (%v):\n%s", err, out)
	}
	col := make(map[string]int)
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, row := range rows[1:] {
		for name, want := range map[string]string{"month": month, "received": "3", "digitised": "2", "pages": "2", "signed": "2",
			"refused": "1", "refused_decode": "1", "refused_quality": "0", "refused_other": "0"} {
			if got := row[col[name]]; got != want {
				t.Errorf("report %s row: %s = %q, want %q\n%s", row[1], name, got, want, out)
			}
		}
		if row[col["mean_seconds_to_signature"]] == "" {
			t.Errorf("report %s row has no mean time to signature:\n%s", row[1], out)
		}
	}
	if rows[1][1] != inbox || rows[2][1] != "total" {
		t.Errorf("report rows are %q and %q, want the inbox and total", rows[1][1], rows[2][1])
	}
	out, _ = scanstation(t, nil, "report", "--config", cfg, "--month", month)
	if !strings.Contains(out, "total") || !strings.Contains(out, "decode") {
		t.Errorf("report table:\n%s", out)
	}
	if out, code := scanstation(t, nil, "report", "--config", cfg, "--month", "2026-13"); code == 0 || !strings.Contains(out, "2026-11") {
		t.Errorf("report --month 2026-13 exits %d:\n%s", code, out)
	}

	// With the daemon running, status has the token's state from the daemon.
	for _, sub := range []string{"lan", "minh"} {
		os.RemoveAll(filepath.Join(inbox, sub)) // process left the inputs; the daemon would take them again
	}
	d := startDaemon(t, cfg)
	waitFor(t, "state/status.json", time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(dir, "state", "status.json"))
		return err == nil
	}, d.log)
	out, _ = scanstation(t, nil, "status", "--config", cfg)
	if strings.Contains(out, "token: unknown") || !strings.Contains(out, "token: ") || !strings.Contains(out, "station: running") {
		t.Errorf("status with the daemon running does not give the token's state:\n%s", out)
	}
	d.stop(t)
}

// writeConfig writes a configuration that names only a state folder, enough for the commands
// that read the journal.
func writeConfig(t *testing.T) (cfg, state string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "scanstation.yaml")
	if err := os.WriteFile(cfg, []byte("station:\n  name: Văn thư\nfolders:\n  state: ./state\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(dir, "state")
}

func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func TestStatusReadsTheDaemonsStatusFile(t *testing.T) {
	cfg, state := writeConfig(t)
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(updated time.Time, token string) {
		data := `{"updated": "` + updated.Format(time.RFC3339Nano) + `", "pid": 1, "token": "` + token + `", "ready": false, "why": "signing stopped: wrong PIN", "queue": {}}`
		if err := os.WriteFile(filepath.Join(state, "status.json"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		setup func()
		want  []string
	}{
		{"no file", func() {}, []string{"token: unknown (is the station running?)"}},
		{"fresh", func() { write(time.Now().Add(-3*time.Second), "wrong PIN") },
			[]string{"token: wrong PIN\n", "station: running, NOT taking files: signing stopped: wrong PIN"}},
		{"stale", func() { write(time.Now().Add(-10*time.Minute), "ready") },
			[]string{`token: unknown (the station last said "ready" 10 min ago; is the station running?)`}},
		{"garbage", func() { os.WriteFile(filepath.Join(state, "status.json"), []byte("{"), 0o600) },
			[]string{"token: unknown (the station's status file cannot be read"}},
	}
	for _, c := range cases {
		c.setup()
		out, err := runCommand(t, "status", "--config", cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: status does not say %q:\n%s", c.name, want, out)
			}
		}
	}
	// Without a journal the commands say so and create none: run as root, a new journal
	// would keep the station's own user out.
	if _, err := os.Stat(filepath.Join(state, "journal.db")); !os.IsNotExist(err) {
		t.Errorf("status created a journal: %v", err)
	}
	for _, args := range [][]string{{"history"}, {"status"}} {
		out, err := runCommand(t, append(args, "--config", cfg)...)
		if err != nil || !strings.Contains(out, "No document has been received yet") {
			t.Errorf("%v without a journal: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "journal.db")); !os.IsNotExist(err) {
		t.Errorf("history or status created a journal: %v", err)
	}
}

func TestPlainWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                    "0 s",
		45 * time.Second:                "45 s",
		12 * time.Minute:                "12 min",
		18*time.Minute + 45*time.Second: "18 min 45 s",
		3*time.Hour + 5*time.Minute:     "3 h 05 min",
		52 * time.Hour:                  "2 d 4 h",
	} {
		if got := waitWords(d); got != want {
			t.Errorf("waitWords(%v) = %q, want %q", d, got, want)
		}
	}
	loc := vietnam(t)
	for _, s := range []string{"2026-11-30", "30.11.2026", "30/11/2026"} {
		got, err := parseDay(s, loc)
		if err != nil || !got.Equal(time.Date(2026, 11, 29, 17, 0, 0, 0, time.UTC)) {
			t.Errorf("parseDay(%q) = %v, %v; want the start of 30 November in Vietnam", s, got, err)
		}
	}
	if _, err := parseDay("11/30/2026", loc); err == nil {
		t.Error("parseDay takes a month-first day")
	}
	for _, s := range []string{"awaiting approval", "Awaiting-Approval", "awaiting_approval"} {
		if st, err := parseState(s); err != nil || st != journal.AwaitingApproval {
			t.Errorf("parseState(%q) = %q, %v", s, st, err)
		}
	}
	for _, s := range []string{"awaiting validation", "awaiting_validation", stateWords(journal.AwaitingValidation)} {
		if st, err := parseState(s); err != nil || st != journal.AwaitingValidation {
			t.Errorf("parseState(%q) = %q, %v", s, st, err)
		}
	}
}
