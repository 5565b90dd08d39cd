package main

// Copies that stay verifiable: the station signs at PAdES B-LTA with the dev PKI's TSA, OCSP
// responder and CRL (`scanstation dev-pki serve`), judged by EU DSS offline with only the dev
// CA trusted, veraPDF, and scanstation verify.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
)

func TestProcessSignsLongTermB_LTA(t *testing.T) {
	port := freeLoopbackPort(t)
	dir := devStation(t, port)
	startDevPKI(t, "--dir", dir)
	cfg := filepath.Join(dir, "scanstation.yaml")
	env := []string{fmt.Sprintf("SCANSTATION_TIMESTAMP_URL=http://127.0.0.1:%d/tsa", port), "SCANSTATION_SIGNING_LEVEL=B-LTA",
		"SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=wait"}
	in := filepath.Join(t.TempDir(), "cong-van.jpg")
	writeImage(t, in, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	out, code := scanstation(t, env, "process", "--config", cfg, in)
	if code != 0 {
		t.Fatalf("process at B-LTA (exit %d):\n%s", code, out)
	}
	pdf := filepath.Join(dir, "outbox", "cong-van.pdf")
	side, err := os.ReadFile(filepath.Join(dir, "outbox", "cong-van.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(side), `"signature_level": "B-LTA"`) || strings.Contains(string(side), "timestamp_note") {
		t.Errorf("the sidecar does not say B-LTA, or says it fell short:\n%s", side)
	}
	if v := judge.PDFA(t, pdf); !v.Compliant {
		t.Errorf("the B-LTA copy is not PDF/A-2u for veraPDF: %v", v.Failures)
	}
	ca := filepath.Join(dir, "dev-ca.pem")
	v := judge.DSS(t, pdf, ca)
	if len(v.Signatures) != 1 || v.Signatures[0].Format != "PAdES-BASELINE-LTA" || v.Signatures[0].Indication != "TOTAL_PASSED" {
		t.Errorf("EU DSS, offline with only the dev CA trusted, want PAdES-BASELINE-LTA TOTAL_PASSED:\n%s", v)
	}
	out, code = scanstation(t, nil, "verify", "--trust", ca, pdf)
	if code != 0 || !strings.Contains(out, "document timestamp") || !strings.Contains(out, "result: TOTAL-PASSED") {
		t.Errorf("scanstation verify on the B-LTA copy (exit %d):\n%s", code, out)
	}
}
