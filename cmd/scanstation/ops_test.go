package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// TestMetricsHealthAndSystemdNotify runs the daemon as systemd would (NOTIFY_SOCKET, a
// watchdog) and reads its loopback endpoint after a document went through.
func TestMetricsHealthAndSystemdNotify(t *testing.T) {
	dir, cfg := newStation(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	notes := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			notes <- string(buf[:n])
		}
	}()

	d := startDaemonEnv(t, cfg, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=1000000")
	writeImage(t, filepath.Join(dir, "inbox", "chi-so.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the document delivered", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 1
	}, d.log)

	addr := regexp.MustCompile(`address=http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.log.String())
	if addr == nil {
		t.Fatalf("the daemon did not say where its endpoint listens:\n%s", d.log)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr[1] + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	// The gauges are refreshed every 5 s.
	var metrics string
	waitFor(t, "the token gauge to say ready", time.Minute, func() bool {
		_, metrics = get("/metrics")
		return strings.Contains(metrics, `scanstation_token_state{state="ready"} 1`)
	}, d.log)
	for _, want := range []string{
		`scanstation_documents_total{result="ok",stage="deliver"} 1`,
		`scanstation_pages_total{result="ok",stage="ocr"} 1`,
		`scanstation_stage_seconds_count{stage="sign"} 1`,
		`scanstation_ocr_confidence_count 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	d.stop(t)

	var got []string
	for len(notes) > 0 {
		got = append(got, <-notes)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1"} {
		if !strings.Contains(all, want) {
			t.Errorf("systemd was not told %s; it got %q", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "status.json")); err != nil {
		t.Errorf("the daemon publishes no status.json: %v", err)
	}
}

// TestReloadOnHangup adds a hot-folder with SIGHUP, then refuses a broken configuration and
// keeps the one in force.
func TestReloadOnHangup(t *testing.T) {
	dir, cfg := newStation(t)
	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to be running", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)

	second := filepath.Join(dir, "inbox-ban-do")
	if err := os.Mkdir(second, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := mustReadString(t, cfg)
	i := strings.Index(yaml, "\nfolders:")
	added := yaml[:i] + "\n  - path: \"" + second + "\"\n    min_dpi: 200\n" + yaml[i:]
	if err := os.WriteFile(cfg, []byte(added), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, code := scanstation(t, nil, "config", "check", "--config", cfg); code != 0 {
		t.Fatalf("the edited config has problems:\n%s", out)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the new hot-folder watched", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "configuration reloaded")
	}, d.log)
	writeImage(t, filepath.Join(second, "ban-do.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the scan in the new hot-folder delivered", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 1
	}, d.log)

	broken := strings.Replace(added, `min_dpi: 200`, `min_dpi: 5`, 1)
	if err := os.WriteFile(cfg, []byte(broken), 0o640); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the broken config refused", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "the old one stays in force")
	}, d.log)
	if !strings.Contains(d.log.String(), "min_dpi") {
		t.Errorf("the refusal does not name the key:\n%s", d.log)
	}
	writeImage(t, filepath.Join(dir, "inbox", "sau.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("Số: 4/VP")}, "jpeg")
	waitFor(t, "a scan delivered under the configuration still in force", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 2
	}, d.log)
	d.stop(t)
}
