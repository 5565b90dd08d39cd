package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/internal/samplescan"
)

// TestValidateVeraPDFDecidesByTheReport runs a station with validate.verapdf set to wrapper
// scripts around veraPDF: a warning on stderr that reads like the old text verdict's "FAIL "
// does not refuse a compliant copy, and a copy veraPDF finds not compliant goes to failed/
// with the rules it fails, and never to the outbox.
func TestValidateVeraPDFDecidesByTheReport(t *testing.T) {
	verapdf, err := exec.LookPath("verapdf")
	if err != nil {
		t.Fatalf("verapdf is not installed; scripts/setup.sh installs it (a judge that is missing fails the test)")
	}
	dir, cfg := newStation(t)
	scripts := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(scripts, name)
		if err := os.WriteFile(path, []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ran := filepath.Join(scripts, "noisy-ran")
	noisy := script("noisy-verapdf", `touch "`+ran+`"
echo "WARNING: FAIL to read the font cache; PASS on to defaults" >&2
"`+verapdf+`" "$@"
status=$?
echo "FAIL : made-up warning after the run" >&2
exit $status`)

	input := filepath.Join(dir, "cong-van-kiem-tra.jpg")
	writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	out, code := scanstation(t, []string{"SCANSTATION_VALIDATE_VERAPDF=" + noisy}, "process", "--config", cfg, input)
	if code != 0 {
		t.Fatalf("process with a veraPDF that warns on stderr exits %d:\n%s", code, out)
	}
	if _, err := os.Stat(ran); err != nil {
		t.Fatalf("the station did not run validate.verapdf: %v", err)
	}
	checkSignedPDFA(t, dir, filepath.Join(dir, "outbox", "cong-van-kiem-tra.pdf"))

	// The wrapper has veraPDF judge a plain PDF in place of the signed copy (its last argument).
	plain := filepath.Join(scripts, "plain.pdf")
	if err := os.WriteFile(plain, vectorPDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	swapped := script("swapped-verapdf", `"`+verapdf+`" "${@:1:$#-1}" "`+plain+`"`)
	input = filepath.Join(dir, "khong-dat.jpg")
	writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN", "Số: 77/UBND-VP")}, "jpeg")
	out, code = scanstation(t, []string{"SCANSTATION_VALIDATE_VERAPDF=" + swapped}, "process", "--config", cfg, input)
	if code == 0 {
		t.Errorf("process of a copy veraPDF refuses exits 0:\n%s", out)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "khong-dat.jpg.error.txt"))
	if err != nil {
		t.Fatalf("no reason in failed/: %v\n%s", err, out)
	}
	// 6.6.2.1: the catalog has no XMP metadata, which every PDF/A must have.
	if !strings.Contains(string(reason), "not PDF/A-2u compliant") || !strings.Contains(string(reason), "6.6.2.1-1") {
		t.Errorf("the reason does not name the rules veraPDF finds broken:\n%s", reason)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox", "khong-dat.pdf")); err == nil {
		t.Errorf("a copy veraPDF refuses is in the outbox")
	}
}
