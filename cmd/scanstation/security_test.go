package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// TestPINNeverAppearsAndFilesAreClosed runs a station with the PIN from a file and from the
// environment, right and wrong, and searches everything it printed for the PIN; it checks the
// modes of what it writes and that a PIN file others can read is refused.
func TestPINNeverAppearsAndFilesAreClosed(t *testing.T) {
	dir, cfg := newStation(t)
	pinFile := filepath.Join(dir, "token.pin")
	pinBytes, err := os.ReadFile(pinFile)
	if err != nil {
		t.Fatal(err)
	}
	pin := strings.TrimSpace(string(pinBytes))
	var printed strings.Builder

	// The PIN from its file: a normal run.
	input := filepath.Join(dir, "bao-mat.jpg")
	writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	out, code := scanstation(t, nil, "process", "--config", cfg, input)
	printed.WriteString(out)
	if code != 0 {
		t.Fatalf("process: %s", out)
	}

	// The PIN from the environment, and no PIN file: accepted by config check and used.
	noFile := strings.Replace(mustReadString(t, cfg), `pin_file: "`+pinFile+`"`, `pin_file: ""`, 1)
	envCfg := filepath.Join(dir, "env.yaml")
	if err := os.WriteFile(envCfg, []byte(noFile), 0o600); err != nil {
		t.Fatal(err)
	}
	input2 := filepath.Join(dir, "bao-mat-2.jpg")
	writeImage(t, input2, samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("Số: 2/VP")}, "jpeg")
	out, code = scanstation(t, []string{"SCANSTATION_PIN=" + pin}, "process", "--config", envCfg, input2)
	printed.WriteString(out)
	if code != 0 {
		t.Fatalf("process with the PIN from the environment: %s", out)
	}

	// A wrong PIN in the environment: the daemon says so plainly, and not the PIN.
	wrong := "99" + pin
	d := startDaemonEnv(t, envCfg, "SCANSTATION_PIN="+wrong)
	writeImage(t, filepath.Join(dir, "inbox", "sai-pin.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("Số: 3/VP")}, "jpeg")
	waitFor(t, "the station to say the PIN was refused", 3*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "refused the PIN")
	}, d.log)
	d.stop(t)
	printed.WriteString(d.log.String())
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Errorf("a wrong PIN sent the document to failed/ instead of keeping it: %v", f)
	}

	for _, secret := range []string{pin, wrong} {
		if strings.Contains(printed.String(), secret) {
			t.Errorf("the PIN appears in what the station printed")
		}
	}

	// A PIN file that others can read is refused, naming the fix.
	if err := os.Chmod(pinFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = scanstation(t, nil, "config", "check", "--config", cfg)
	if code == 0 || !strings.Contains(out, "chmod 600") || strings.Contains(out, pin) {
		t.Errorf("config check accepts a PIN file others can read (%d):\n%s", code, out)
	}
	out, code = scanstation(t, nil, "process", "--config", cfg, input)
	if code == 0 {
		t.Errorf("process runs with a PIN file others can read:\n%s", out)
	}

	// What the station writes is closed to others.
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, "outbox", "bao-mat.pdf"):  0o640,
		filepath.Join(dir, "outbox", "bao-mat.json"): 0o640,
		filepath.Join(dir, "state"):                  0o700,
		filepath.Join(dir, "state", "journal.db"):    0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
}

func mustReadString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
