package main

// End-to-end tests of RFC 3161 timestamps (PAdES B-T): a station made by `init --dev-token`
// given a loopback time-stamping authority through the environment, as a sysadmin would
// override timestamp.* in the service's unit.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
	"scanstation/internal/tsatest"
)

// timestampEnv points a station at tsa, with further timestamp.* overrides.
func timestampEnv(tsa *tsatest.TSA, more ...string) []string {
	return append([]string{"SCANSTATION_TIMESTAMP_URL=" + tsa.URL}, more...)
}

// timestampFields are the sidecar's timestamp fields, which readSidecar leaves out.
type timestampFields struct {
	Level string `json:"signature_level"`
	Note  string `json:"timestamp_note"`
}

func readTimestampFields(t *testing.T, path string) timestampFields {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f timestampFields
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// checkBT lets the outside judges rule on a timestamped output: pyHanko, trusting the dev
// CA and the TSA's CA, must see a sound, trusted timestamp token, and every judge of
// checkSignedPDFA must pass too (given both CAs, since an untrusted TSA makes pyHanko judge
// the whole signature invalid).
func checkBT(t *testing.T, dir string, tsa *tsatest.TSA, pdf string) {
	t.Helper()
	trust := t.TempDir()
	tsaCA := filepath.Join(trust, "tsa-ca.pem")
	if err := os.WriteFile(tsaCA, tsa.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	devCA := filepath.Join(dir, "dev-ca.pem")
	v := judge.PyHanko(t, pdf, judge.PyHankoOptions{Trust: []string{devCA, tsaCA}})
	if len(v.Signatures) == 0 {
		t.Errorf("pyHanko finds no signature in %s", pdf)
	}
	for _, s := range v.Signatures {
		switch ts := s.Timestamp; {
		case ts == nil:
			t.Errorf("pyHanko finds no signature timestamp token in %s:\n%s", pdf, v)
		case !ts.Intact || !ts.Valid:
			t.Errorf("pyHanko does not find the timestamp token of %s cryptographically sound:\n%s", pdf, v)
		case !ts.Trusted:
			t.Errorf("pyHanko does not trust the TSA certificate of %s:\n%s", pdf, v)
		}
		if !s.BottomLine {
			t.Errorf("pyHanko does not judge the signature of %s VALID:\n%s", pdf, v)
		}
	}

	// checkSignedPDFA reads DIR/dev-ca.pem: give it a folder whose file holds both CAs.
	dev, err := os.ReadFile(devCA)
	if err != nil {
		t.Fatal(err)
	}
	both := append(append(dev, '\n'), tsa.CAPEM...)
	if err := os.WriteFile(filepath.Join(trust, "dev-ca.pem"), both, 0o644); err != nil {
		t.Fatal(err)
	}
	checkSignedPDFA(t, trust, pdf)
}

func TestProcessWithTSAMakesPAdESBT(t *testing.T) {
	dir, cfg := newStation(t)
	tsa := tsatest.Start(t, tsatest.Options{})
	input := filepath.Join(dir, "cong-van-dau-thoi-gian.jpg")
	writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

	out, code := scanstation(t, timestampEnv(tsa), "process", "--config", cfg, input)
	if code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	if n := tsa.Requests(); n != 1 {
		t.Errorf("one document asked the TSA %d times, want once", n)
	}
	pdf := filepath.Join(dir, "outbox", "cong-van-dau-thoi-gian.pdf")
	checkBT(t, dir, tsa, pdf)
	side := readTimestampFields(t, filepath.Join(dir, "outbox", "cong-van-dau-thoi-gian.json"))
	if side.Level != "B-T" || side.Note != "" {
		t.Errorf("sidecar: signature_level %q, timestamp_note %q; want B-T and no note", side.Level, side.Note)
	}
}

func TestProcessSignsWithoutTimestampWhenTSAUnavailable(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  tsatest.Options
		env  []string
		why  string // in the note
	}{
		{"answers 500", tsatest.Options{Fail: http.StatusInternalServerError}, nil, "500"},
		{"hangs past the timeout", tsatest.Options{Hang: true}, []string{"SCANSTATION_TIMESTAMP_TIMEOUT=1s"}, "did not answer within 1s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, cfg := newStation(t)
			tsa := tsatest.Start(t, c.opt)
			input := filepath.Join(dir, "to-trinh.jpg")
			writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

			// on_unavailable is left at its default, sign_without.
			out, code := scanstation(t, timestampEnv(tsa, c.env...), "process", "--config", cfg, input)
			if code != 0 {
				t.Fatalf("process exits %d:\n%s", code, out)
			}
			if tsa.Requests() == 0 {
				t.Errorf("the station never asked the TSA")
			}
			side := readTimestampFields(t, filepath.Join(dir, "outbox", "to-trinh.json"))
			if side.Level != "B-B" {
				t.Errorf("sidecar: signature_level %q, want B-B", side.Level)
			}
			if !strings.Contains(side.Note, "could not be reached") || !strings.Contains(side.Note, tsa.URL) || !strings.Contains(side.Note, c.why) {
				t.Errorf("sidecar: timestamp_note %q does not say the TSA %s could not be reached (%s)", side.Note, tsa.URL, c.why)
			}
			if c.opt.Fail == 0 {
				return // the judges' part is the same for both
			}
			pdf := filepath.Join(dir, "outbox", "to-trinh.pdf")
			checkSignedPDFA(t, dir, pdf)
			v := judge.PyHanko(t, pdf, judge.PyHankoOptions{Trust: []string{filepath.Join(dir, "dev-ca.pem")}})
			for _, s := range v.Signatures {
				if s.Timestamp != nil {
					t.Errorf("pyHanko finds a timestamp in a B-B signature:\n%s", v)
				}
			}
			if v.DocumentTimestamps != 0 {
				t.Errorf("pyHanko finds %d document timestamps in a B-B file", v.DocumentTimestamps)
			}
		})
	}
}

// TestDaemonWaitsForTSA runs a station with on_unavailable=wait against a TSA that fails:
// the document is kept, retried, and delivered as B-T once the TSA is back.
func TestDaemonWaitsForTSA(t *testing.T) {
	dir, cfg := newStation(t)
	tsa := tsatest.Start(t, tsatest.Options{Fail: http.StatusServiceUnavailable})
	d := startDaemonEnv(t, cfg, timestampEnv(tsa,
		"SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=wait", "SCANSTATION_TIMESTAMP_RETRY_EVERY=2s")...)
	outbox, failed := filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	writeImage(t, filepath.Join(dir, "inbox", "cho-dau-thoi-gian.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

	// Three attempts: the station kept the document and came back to it twice.
	waitFor(t, "three attempts at the TSA", 3*time.Minute, func() bool { return tsa.Requests() >= 3 }, d.log)
	if got := glob(outbox, "*"); len(got) != 0 {
		t.Fatalf("delivered while the TSA fails: %v", got)
	}
	if got := glob(failed, "*"); len(got) != 0 {
		t.Fatalf("a TSA outage sent the document to failed/: %v", got)
	}
	if !strings.Contains(d.log.String(), "time-stamping authority, OCSP responder or CRL unreachable") {
		t.Errorf("the log does not say the station waits for the TSA:\n%s", d.log)
	}

	tsa.Set(tsatest.Options{})
	waitFor(t, "the document delivered after the TSA is back", 2*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 1
	}, d.log)
	d.stop(t)

	pdf := filepath.Join(outbox, "cho-dau-thoi-gian.pdf")
	checkBT(t, dir, tsa, pdf)
	side := readTimestampFields(t, filepath.Join(outbox, "cho-dau-thoi-gian.json"))
	if side.Level != "B-T" || side.Note != "" {
		t.Errorf("sidecar: signature_level %q, timestamp_note %q; want B-T and no note", side.Level, side.Note)
	}
	if got := glob(failed, "*"); len(got) != 0 {
		t.Errorf("inputs in failed/: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "archive", "cho-dau-thoi-gian.jpg")); err != nil {
		t.Errorf("the original is not archived: %v", err)
	}
}
