package main

// A copy signed at B-LTA while the OCSP responder and CRL are away: the dev PKI serves its TSA
// on one port, and the address its certificates name for OCSP and CRL answers nothing until a
// second `dev-pki serve` listens there. With on_unavailable wait the copy is signed once, kept
// signed (B-T) in the state folder, and finished to B-LTA when the responder answers; with
// sign_without it is delivered at B-T and says why.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/certify/pades"
	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
	"scanstation/journal"
)

// tsaOnlyStation makes a dev station whose certificates name a loopback address where nothing
// listens (no OCSP, no CRL) and starts its dev PKI on another port, for the TSA. It returns
// the station's folder, the address the certificates name and the TSA's URL.
func tsaOnlyStation(t *testing.T) (dir, named, tsaURL string) {
	t.Helper()
	port := freeLoopbackPort(t)
	dir = devStation(t, port)
	tsaPort := freeLoopbackPort(t)
	startDevPKI(t, "--dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", tsaPort))
	return dir, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d/tsa", tsaPort)
}

// readJobs reads every job of the station's journal, as `scanstation status` does, while the
// daemon may run.
func readJobs(t *testing.T, dir string) []journal.Job {
	t.Helper()
	j, err := journal.Open(filepath.Join(dir, "state", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	jobs, err := j.History(context.Background(), journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestDaemonKeepsTheSignedCopyUntilOCSPAnswers(t *testing.T) {
	dir, named, tsaURL := tsaOnlyStation(t)
	cfg := filepath.Join(dir, "scanstation.yaml")
	d := startDaemonEnv(t, cfg, "SCANSTATION_TIMESTAMP_URL="+tsaURL, "SCANSTATION_SIGNING_LEVEL=B-LTA",
		"SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=wait", "SCANSTATION_TIMESTAMP_RETRY_EVERY=2s")
	outbox, failed := filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	writeImage(t, filepath.Join(dir, "inbox", "cho-ocsp.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")

	var waiting journal.Job
	waitFor(t, "the document signed and awaiting validation", 3*time.Minute, func() bool {
		jobs := readJobs(t, dir)
		if len(jobs) == 1 && jobs[0].State == journal.AwaitingValidation {
			waiting = jobs[0]
			return true
		}
		return false
	}, d.log)
	// Retried at least twice while the responder is away.
	waitFor(t, "two retries", 2*time.Minute, func() bool {
		return strings.Count(d.log.String(), "OCSP responder or CRL unreachable; the signed copy waits") >= 2
	}, d.log)
	if waiting.Level != "B-T" || !strings.Contains(waiting.TimestampNote, "waits for the validation data") || waiting.SignedAt.IsZero() {
		t.Errorf("the journal says level %q, note %q, signed at %s; want B-T, what it waits for, and when it was signed",
			waiting.Level, waiting.TimestampNote, waiting.SignedAt)
	}
	if got := glob(outbox, "*"); len(got) != 0 {
		t.Fatalf("delivered while the OCSP responder is away: %v", got)
	}
	if got := glob(failed, "*"); len(got) != 0 {
		t.Fatalf("an OCSP outage sent the document to failed/: %v", got)
	}
	if filepath.Dir(waiting.Work) != filepath.Join(dir, "state", "work") {
		t.Errorf("the signed copy waits in %s, not in the work folder", waiting.Work)
	}
	signedBT, err := os.ReadFile(waiting.Work)
	if err != nil {
		t.Fatalf("the signed copy is not in the work folder: %v", err)
	}
	if built := glob(filepath.Join(dir, "state", "work"), "*.built.pdf"); len(built) != 0 {
		t.Errorf("the unsigned copy is kept beside the signed one: %v", built)
	}
	report, err := pades.Verify(signedBT, pades.VerifyOptions{})
	if err != nil || len(report.Signatures) != 1 || report.Signatures[0].Level != "B-T" || !report.Signatures[0].CoversWholeFile {
		t.Fatalf("the copy awaiting validation is not one whole B-T signature: %+v %v", report, err)
	}
	out, code := scanstation(t, nil, "status", "--config", cfg)
	if code != 0 || !strings.Contains(out, "  signed, awaiting validation              1  ") {
		t.Errorf("status (exit %d) does not count the document as signed, awaiting validation:\n%s", code, out)
	}

	// The responder comes up at the address the certificates name.
	startDevPKI(t, "--dir", dir, "--listen", named)
	waitFor(t, "the document delivered once the OCSP responder answers", 2*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 1
	}, d.log)
	d.stop(t)

	pdf := filepath.Join(outbox, "cho-ocsp.pdf")
	delivered, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	// The signature kept while waiting is the one delivered: the token signed once.
	if !bytes.HasPrefix(delivered, signedBT) || len(delivered) == len(signedBT) {
		t.Error("the delivered copy is not the copy signed while waiting with the long-term updates appended")
	}
	if n := strings.Count(d.log.String(), "msg=\"signed, but not yet at the level configured"); n != 1 {
		t.Errorf("the station signed the document %d times before delivery, want once:\n%s", n, d.log)
	}
	if strings.Contains(d.log.String(), "msg=signed ") {
		t.Errorf("the station signed the document again after it waited:\n%s", d.log)
	}
	report, err = pades.Verify(delivered, pades.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sigs, docTimestamps int
	for _, s := range report.Signatures {
		if s.DocumentTimestamp {
			docTimestamps++
		} else {
			sigs++
		}
	}
	if sigs != 1 || docTimestamps != 1 {
		t.Errorf("the delivered copy has %d signatures and %d document timestamps, want 1 and 1", sigs, docTimestamps)
	}
	// pdfsig checks the signature and cannot check a document timestamp (it says so); it
	// still sees one after the signature, covering the whole file.
	if v := judge.PdfSig(t, pdf); len(v.Signatures) != 2 || !v.Signatures[0].Valid || v.Signatures[0].SubFilter != "ETSI.CAdES.detached" ||
		!v.Signatures[1].TotalDocumentSigned || !strings.Contains(v.Signatures[1].SignerName, "TSA") {
		t.Errorf("pdfsig wants a valid signature, then a timestamp covering the whole file:\n%s", v.Stdout)
	}
	side := readTimestampFields(t, filepath.Join(outbox, "cho-ocsp.json"))
	if side.Level != "B-LTA" || side.Note != "" {
		t.Errorf("sidecar: signature_level %q, timestamp_note %q; want B-LTA and no note", side.Level, side.Note)
	}
	out, code = scanstation(t, nil, "verify", "--trust", filepath.Join(dir, "dev-ca.pem"), pdf)
	if code != 0 || !strings.Contains(out, "document timestamp") {
		t.Errorf("scanstation verify on the copy finished after waiting (exit %d):\n%s", code, out)
	}
	jobs := readJobs(t, dir)
	if len(jobs) != 1 || jobs[0].State != journal.Archived || jobs[0].Level != "B-LTA" || jobs[0].TimestampNote != "" ||
		!jobs[0].SignedAt.Equal(waiting.SignedAt) {
		t.Errorf("the journal after delivery: %+v; want archived at B-LTA, no note, signed at %s as recorded while waiting", jobs, waiting.SignedAt)
	}
	if left := glob(filepath.Join(dir, "state", "work"), "*"); len(left) != 0 {
		t.Errorf("files left in the work folder: %v", left)
	}
}

func TestProcessDeliversAtTheLevelReachedWhenOCSPIsAway(t *testing.T) {
	dir, _, tsaURL := tsaOnlyStation(t)
	cfg := filepath.Join(dir, "scanstation.yaml")
	in := filepath.Join(t.TempDir(), "khong-ocsp.jpg")
	writeImage(t, in, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	out, code := scanstation(t, []string{"SCANSTATION_TIMESTAMP_URL=" + tsaURL, "SCANSTATION_SIGNING_LEVEL=B-LTA",
		"SCANSTATION_TIMESTAMP_ON_UNAVAILABLE=sign_without"}, "process", "--config", cfg, in)
	if code != 0 {
		t.Fatalf("process at B-LTA, OCSP away, sign_without (exit %d):\n%s", code, out)
	}
	side := readTimestampFields(t, filepath.Join(dir, "outbox", "khong-ocsp.json"))
	if side.Level != "B-T" || !strings.HasPrefix(side.Note, "delivered at PAdES B-T, not B-LTA: ") || !strings.Contains(side.Note, "revocation status") {
		t.Errorf("sidecar: signature_level %q, timestamp_note %q; want B-T and why", side.Level, side.Note)
	}
	jobs := readJobs(t, dir)
	if len(jobs) != 1 || jobs[0].Level != "B-T" || jobs[0].TimestampNote != side.Note {
		t.Errorf("the journal says %+v; want level B-T and the sidecar's note", jobs)
	}
}

// awaitValidationConfig is the awaitvalidation crash path's station: B-LTA, on_unavailable
// wait, its TSA served by the dev PKI on a port of its own, and nothing at the address its
// certificates name for OCSP and CRL (the default, 127.0.0.1:9478) until ocspComesBack starts
// it. The responder a station before this one started is stopped: it would hold the address.
func awaitValidationConfig(t *testing.T, dir, cfg string) {
	t.Helper()
	for d, srv := range ocspServers {
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
		delete(ocspServers, d)
	}
	tsaPort := freeLoopbackPort(t)
	startDevPKI(t, "--dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", tsaPort))
	replaceInConfig(t, cfg, `url: ""     # RFC 3161`, fmt.Sprintf(`url: "http://127.0.0.1:%d/tsa"     # RFC 3161`, tsaPort))
	replaceInConfig(t, cfg, `level: ""             # B-B, B-T`, `level: "B-LTA"             # B-B, B-T`)
	replaceInConfig(t, cfg, `on_unavailable: "sign_without"`, `on_unavailable: "wait"`)
	replaceInConfig(t, cfg, "retry_every: 1m0s", "retry_every: 1s")
}

// ocspServers are the OCSP responders of the awaitvalidation crash path, by station folder:
// one station's at a time, the address being the same for all.
var ocspServers = map[string]*devPKIServer{}

// ocspComesBack starts the dev PKI at the address the certificates name once the station has
// said that a signed copy waits for it.
func ocspComesBack(t *testing.T, s *crashStation, log string) {
	if ocspServers[s.dir] != nil || !strings.Contains(log, "the signed copy waits") {
		return
	}
	ocspServers[s.dir] = startDevPKI(t, "--dir", s.dir)
}
