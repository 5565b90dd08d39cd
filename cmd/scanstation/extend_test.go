package main

// Renewal of B-LTA copies as a sysadmin runs it: two copies made by the station with the dev
// PKI (`dev-pki serve`), one stamped by a TSA whose certificate ends in 30 days, one by the
// usual five-year TSA; `scanstation extend` renews the first and leaves the second alone, and
// a renewal whose TSA is away leaves the file as it was. Judged by EU DSS (offline, only the
// dev CA trusted) and veraPDF.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
)

func TestExtendRenewsWhatIsDue(t *testing.T) {
	port := freeLoopbackPort(t)
	dir := devStation(t, port)
	cfg := filepath.Join(dir, "scanstation.yaml")
	tsaEnv := fmt.Sprintf("SCANSTATION_TIMESTAMP_URL=http://127.0.0.1:%d/tsa", port)
	env := []string{tsaEnv, "SCANSTATION_SIGNING_LEVEL=B-LTA", "SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=wait"}
	kept := filepath.Join(dir, "kept", "2026")
	if err := os.MkdirAll(kept, 0o755); err != nil {
		t.Fatal(err)
	}
	// process makes a B-LTA copy stamped by the TSA serve has now, and keeps it in kept.
	process := func(name string) string {
		t.Helper()
		srv := startDevPKI(t, "--dir", dir)
		in := filepath.Join(t.TempDir(), name+".jpg")
		writeImage(t, in, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
		if out, code := scanstation(t, env, "process", "--config", cfg, in); code != 0 {
			t.Fatalf("process %s at B-LTA (exit %d):\n%s", name, code, out)
		}
		stopDevPKI(t, srv)
		path := filepath.Join(kept, name+".pdf")
		if err := os.Rename(filepath.Join(dir, "outbox", name+".pdf"), path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	issueTSA := func(args ...string) {
		t.Helper()
		out, code := scanstation(t, nil, append([]string{"dev-pki", "issue-tsa", "--dir", dir}, args...)...)
		if code != 0 || !strings.Contains(out, "restart dev-pki serve") {
			t.Fatalf("dev-pki issue-tsa %v (exit %d):\n%s", args, code, out)
		}
	}
	lasting := process("lasting")
	issueTSA("--not-after", "+30d")
	short := process("short")
	issueTSA() // a new five-year TSA stamps the renewals
	srv := startDevPKI(t, "--dir", dir)
	defer stopDevPKI(t, srv)
	sheet := filepath.Join(kept, "separator.pdf")
	if out, code := scanstation(t, nil, "separator", "--out", sheet); code != 0 {
		t.Fatalf("separator (exit %d):\n%s", code, out)
	}
	before := map[string][]byte{}
	for _, p := range []string{lasting, short, sheet} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = data
	}
	unchanged := func(when string, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if data, err := os.ReadFile(p); err != nil || !bytes.Equal(data, before[p]) {
				t.Errorf("%s: %s changed (%v)", when, filepath.Base(p), err)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(kept, ".*")); len(left) > 0 {
			t.Errorf("%s: left behind %v", when, left)
		}
	}
	line := func(out, path string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, path+": ") {
				return l
			}
		}
		return ""
	}

	// A dry run says what is due and changes nothing.
	out, code := scanstation(t, []string{tsaEnv}, "extend", "--config", cfg, "--dry-run", filepath.Join(dir, "kept"))
	if code != 0 || !strings.Contains(line(out, short), "due for renewal") || !strings.Contains(line(out, short), "within the 180-day window") ||
		!strings.Contains(line(out, lasting), "skipped") || !strings.Contains(line(out, lasting), "outside the 180-day window") ||
		!strings.Contains(line(out, sheet), "not a PAdES copy") {
		t.Errorf("extend --dry-run (exit %d):\n%s", code, out)
	}
	out, code = scanstation(t, []string{tsaEnv}, "extend", "--config", cfg, "--dry-run", "--before", "2000d", lasting)
	if code != 0 || !strings.Contains(line(out, lasting), "due for renewal") {
		t.Errorf("extend --dry-run --before 2000d (exit %d):\n%s", code, out)
	}
	unchanged("after the dry runs", lasting, short, sheet)

	// The TSA is away (OCSP still answers): the file stays as it was, the reason is said.
	dead := fmt.Sprintf("SCANSTATION_TIMESTAMP_URL=http://127.0.0.1:%d/tsa", freeLoopbackPort(t))
	out, code = scanstation(t, []string{dead}, "extend", "--config", cfg, short)
	if code != 1 || !strings.Contains(line(out, short), "FAILED") || !strings.Contains(line(out, short), "cannot be reached") ||
		!strings.Contains(line(out, short), "the file is unchanged") {
		t.Errorf("extend with the TSA away (exit %d):\n%s", code, out)
	}
	t.Logf("extend with the TSA away:\n%s", out)
	unchanged("after a renewal whose TSA was away", short)

	out, code = scanstation(t, []string{tsaEnv}, "extend", "--config", cfg, filepath.Join(dir, "kept"))
	if code != 0 || !strings.Contains(line(out, short), "renewed") || !strings.Contains(line(out, lasting), "skipped") ||
		!strings.Contains(out, "1 renewed") {
		t.Fatalf("extend (exit %d):\n%s", code, out)
	}
	t.Logf("extend:\n%s", out)
	unchanged("after the renewal", lasting, sheet)
	renewed, err := os.ReadFile(short)
	if err != nil {
		t.Fatal(err)
	}
	if len(renewed) <= len(before[short]) || !bytes.HasPrefix(renewed, before[short]) {
		t.Fatalf("the renewed copy is %d bytes (was %d) and does not keep the old bytes as they were", len(renewed), len(before[short]))
	}
	if n := bytes.Count(renewed, []byte("/ETSI.RFC3161")); n != 2 {
		t.Errorf("the renewed copy has %d document timestamps, want 2", n)
	}
	if v := judge.PDFA(t, short); !v.Compliant {
		t.Errorf("the renewed copy is not PDF/A-2u for veraPDF: %v", v.Failures)
	}
	v := judge.DSS(t, short, filepath.Join(dir, "dev-ca.pem"))
	if len(v.Signatures) != 1 || v.Signatures[0].Format != "PAdES-BASELINE-LTA" || v.Signatures[0].Indication != "TOTAL_PASSED" {
		t.Errorf("EU DSS on the renewed copy, offline with only the dev CA trusted, want PAdES-BASELINE-LTA TOTAL_PASSED:\n%s", v)
	}

	// Its last timestamp is now the five-year TSA's: nothing is due any more.
	out, code = scanstation(t, []string{tsaEnv}, "extend", "--config", cfg, short)
	if code != 0 || !strings.Contains(line(out, short), "skipped") {
		t.Errorf("extend on the renewed copy (exit %d):\n%s", code, out)
	}
}

func stopDevPKI(t *testing.T, s *devPKIServer) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("dev-pki serve did not stop cleanly: %v\n%s", err, s.stderr)
	}
}

// TestRenewOnScheduleLoopsUntilStopped: the daemon's renewal looks at renew.folders at once,
// again every renew.every, and stops with the station.
func TestRenewOnScheduleLoopsUntilStopped(t *testing.T) {
	folder := t.TempDir()
	if out, code := scanstation(t, nil, "separator", "--out", filepath.Join(folder, "sheet.pdf")); code != 0 {
		t.Fatalf("separator (exit %d):\n%s", code, out)
	}
	cfg := config.Default(t.TempDir())
	cfg.Renew.Folders = []string{folder}
	cfg.Renew.Every = 50 * time.Millisecond
	var logged syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		renewOnSchedule(ctx, cfg, slog.New(slog.NewTextHandler(&logged, nil)))
	}()
	waitFor(t, "three renewal passes", 10*time.Second, func() bool {
		return strings.Count(logged.String(), "renewal pass") >= 3
	}, &logged)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the renewal did not stop with its context")
	}
	if !strings.Contains(logged.String(), "renewed=0") || strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("the passes over a folder with an unsigned PDF:\n%s", logged.String())
	}
}
