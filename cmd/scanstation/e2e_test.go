package main

// End-to-end tests of the scanstation binary as an operator and a sysadmin use it: a station
// made by `init --dev-token` (SoftHSM2 through PKCS#11), real Tesseract, real folders, and the
// outside judges: veraPDF (PDF/A-2u), pdfsig and pyHanko (signature), qpdf (structure).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/config"
	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
	"scanstation/station"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scanstation-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "scanstation")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building scanstation:", err)
		os.Exit(1)
	}
	// The tests read what the station says in English, the language they are written in; the
	// default, Vietnamese, has its own tests (lang_test.go), which set it back. Set here, it
	// reaches the binaries the tests start and the commands run in this process alike.
	os.Setenv(config.EnvPrefix+"_STATION_LANGUAGE", "en")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// scanstation runs the binary and returns its combined output and exit status.
func scanstation(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("scanstation %v: %v", args, err)
	}
	return string(out), 0
}

// newStation makes a demo station with a dev token in a temporary folder.
func newStation(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	out, code := scanstation(t, nil, "init", "--dir", dir, "--dev-token")
	if code != 0 {
		t.Fatalf("init --dev-token failed (%d):\n%s", code, out)
	}
	cfg = filepath.Join(dir, "scanstation.yaml")
	if out, code := scanstation(t, nil, "config", "check", "--config", cfg); code != 0 {
		t.Fatalf("the config init wrote does not pass its own check:\n%s", out)
	}
	return dir, cfg
}

// wordy is a short test page's lines with two more lines of a letter: enough words for OCR to
// be sure which way up the page reads (ocr.ReviewOrientationBelow); a page it is unsure of waits
// for the clerk (TestUnsureOrientationGoesToReview).
func wordy(lines ...string) []string {
	return append(lines, "Kính gửi: Sở Nội vụ", "Về việc triển khai số hóa hồ sơ, tài liệu lưu trữ")
}

func writeImage(t *testing.T, path string, opt samplescan.Options, format string) {
	t.Helper()
	img, err := samplescan.Render(opt)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	dpi := opt.DPI
	if dpi == 0 {
		dpi = 300
	}
	switch format {
	case "jpeg":
		err = samplescan.WriteJPEG(&buf, img, dpi, 85)
	case "png":
		err = samplescan.WritePNG(&buf, img, dpi)
	case "tiff":
		err = samplescan.WriteTIFF(&buf, []image.Image{img, img}, dpi)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tool runs an outside tool that makes or reads a test's files (pdftotext, img2pdf, qpdf
// --encrypt...) through judge.Run: its stdout, never its stderr, and it must exit 0. A tool
// that is missing fails the test.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, ok := judge.Run(t, name, args...)
	if !ok {
		t.Fatalf("%s %v fails:\n%s", name, args, out)
	}
	return out
}

// checkSignedPDFA lets the outside judges rule on one output file, trusting DIR/dev-ca.pem.
func checkSignedPDFA(t *testing.T, dir, pdf string) {
	t.Helper()
	if rep := judge.PDFA(t, pdf); !rep.Compliant {
		t.Errorf("veraPDF: %s is not PDF/A-2u compliant:\n%s", pdf, rep.Summary())
	}
	// pdfsig exits non-zero for untrusted test certificates: its report, not its exit code.
	if v := judge.PdfSig(t, pdf); !v.AllValidWhole() {
		t.Errorf("pdfsig does not find a valid signature over the whole of %s:\n%s", pdf, v.Stdout)
	}
	v := judge.PyHanko(t, pdf, judge.PyHankoOptions{Trust: []string{filepath.Join(dir, "dev-ca.pem")}})
	if len(v.Signatures) == 0 {
		t.Errorf("pyHanko finds no signature in %s", pdf)
	}
	for i, s := range v.Signatures {
		// "cryptographically sound", "judged VALID"; the last one "covers the entire file".
		if !s.Intact || !s.Valid || !s.BottomLine || (i == len(v.Signatures)-1 && s.Coverage != "ENTIRE_FILE") {
			t.Errorf("pyHanko does not judge the signature of %s valid:\n%s", pdf, v)
		}
	}
	if q := judge.QPDFCheck(t, pdf); !q.Clean() {
		t.Errorf("qpdf --check finds %s not clean (exit %d):\n%s", pdf, q.ExitCode, q.Stdout)
	}
	// Signed B-B: nothing in the file proves the certificate's status, so the strict verdict
	// is INDETERMINATE (a B-LT copy passes: TestProcessSignsLongTermB_LTA).
	if why := verifiesButForTrust(t, pdf, filepath.Join(dir, "dev-ca.pem")); why != "" {
		t.Error(why)
	}
}

// verifiesButForTrust runs scanstation verify --json on pdf and returns "" when nothing is
// wrong with it: every signature TOTAL-PASSED or INDETERMINATE only for want of a trust anchor
// (none given) or of revocation data (a B-B or B-T copy carries none), and the copy keeps the
// station's promises (mark, record, PDF/A); else what is wrong.
func verifiesButForTrust(t *testing.T, pdf string, trust ...string) string {
	t.Helper()
	args := []string{"verify", "--json"}
	for _, f := range trust {
		args = append(args, "--trust", f)
	}
	out, code := scanstation(t, nil, append(args, pdf)...)
	var reports []struct {
		Indication string   `json:"indication"`
		Copy       []string `json:"copy_problems"`
		Signatures []struct {
			Field         string `json:"field"`
			Indication    string `json:"indication"`
			SubIndication string `json:"sub_indication"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 {
		return fmt.Sprintf("scanstation verify --json %s (exit %d) gave no report: %v\n%s", pdf, code, err, out)
	}
	r := reports[0]
	if code == 1 || r.Indication == "TOTAL_FAILED" || len(r.Copy) > 0 || len(r.Signatures) == 0 {
		return fmt.Sprintf("scanstation verify fails %s (exit %d):\n%s", pdf, code, out)
	}
	for _, s := range r.Signatures {
		if s.Indication != "TOTAL_PASSED" && !(s.Indication == "INDETERMINATE" &&
			(s.SubIndication == "NO_CERTIFICATE_CHAIN_FOUND" || s.SubIndication == "CERTIFICATE_CHAIN_GENERAL_FAILURE")) {
			return fmt.Sprintf("scanstation verify: signature %s of %s is %s (%s):\n%s", s.Field, pdf, s.Indication, s.SubIndication, out)
		}
	}
	return ""
}

type sidecar struct {
	Source            string    `json:"source"`
	SourceSHA256      string    `json:"source_sha256"`
	Pages             int       `json:"pages"`
	Languages         []string  `json:"languages"`
	MeanOCRConfidence float64   `json:"mean_ocr_confidence"`
	Signer            string    `json:"signer"`
	SigningTime       time.Time `json:"signing_time"`
	OutputSHA256      string    `json:"output_sha256"`
	Batch             *struct {
		Document int   `json:"document"`
		Pages    []int `json:"pages"`
	} `json:"batch"`
}

func readSidecar(t *testing.T, path string) sidecar {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s sidecar
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func TestProcessMakesSignedSearchablePDFA(t *testing.T) {
	dir, cfg := newStation(t)
	input := filepath.Join(dir, "cong-van-2417.jpg")
	writeImage(t, input, samplescan.Options{}, "jpeg")

	out, code := scanstation(t, nil, "process", "--config", cfg, input)
	if code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	if !strings.Contains(out, "page 1 of 1") {
		t.Errorf("no progress line per page:\n%s", out)
	}
	pdf := filepath.Join(dir, "outbox", "cong-van-2417.pdf")
	checkSignedPDFA(t, dir, pdf)

	side := readSidecar(t, filepath.Join(dir, "outbox", "cong-van-2417.json"))
	if side.Source != "cong-van-2417.jpg" || side.Pages != 1 || side.SourceSHA256 == "" || side.OutputSHA256 == "" ||
		side.Signer == "" || side.SigningTime.IsZero() || side.MeanOCRConfidence < 50 {
		t.Errorf("sidecar incomplete: %+v", side)
	}

	text := tool(t, "pdftotext", pdf, "-")
	text = norm.NFC.String(text)
	for _, want := range []string{"Độc lập", "Kính gửi", "2417/UBND-VP", "Vũng Tàu"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not give back %q; got:\n%s", want, text)
		}
	}

	// The JPEG is the record: embedded byte for byte.
	extracted := t.TempDir()
	tool(t, "pdfimages", "-j", pdf, filepath.Join(extracted, "img"))
	got, err := os.ReadFile(filepath.Join(extracted, "img-000.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(input)
	if !bytes.Equal(got, want) {
		t.Errorf("the embedded JPEG differs from the scan (%d vs %d bytes)", len(got), len(want))
	}
	// process leaves the given file where it is.
	if _, err := os.Stat(input); err != nil {
		t.Errorf("process moved or removed its input: %v", err)
	}
}

func TestProcessReportsBadInputInPlainWords(t *testing.T) {
	dir, cfg := newStation(t)
	good := filepath.Join(dir, "good.jpg")
	writeImage(t, good, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	data, _ := os.ReadFile(good)
	bad := filepath.Join(dir, "half.jpg")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := scanstation(t, nil, "process", "--config", cfg, bad)
	if code == 0 {
		t.Fatalf("process of a truncated JPEG exits 0:\n%s", out)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "half.jpg.error.txt"))
	if err != nil {
		matches, _ := filepath.Glob(filepath.Join(dir, "failed", "*"))
		t.Fatalf("no reason file in failed/ (%v): %v\n%s", matches, err, out)
	}
	if !strings.Contains(string(reason), "half.jpg") || !strings.Contains(string(reason), "incomplete") {
		t.Errorf("the reason file does not name the file and say it is incomplete:\n%s", reason)
	}
	if strings.Contains(string(reason), "spool") {
		t.Errorf("the reason names the station's internal spool path instead of the operator's file:\n%s", reason)
	}
}

// daemon is a running `scanstation run`.
type daemon struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// syncBuffer is the daemon's log, written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fastWatch makes the daemon take files quickly in tests; the environment overrides the file.
// A truncated test file waits the incomplete grace before it is taken and refused: 5s, not 2m.
var fastWatch = []string{"SCANSTATION_WATCH_SETTLE=700ms", "SCANSTATION_WATCH_RESCAN=2s", "SCANSTATION_WATCH_INCOMPLETE_GRACE=5s", "SCANSTATION_HTTP_LISTEN=127.0.0.1:0"}

func startDaemon(t *testing.T, cfg string) *daemon {
	t.Helper()
	return startDaemonEnv(t, cfg)
}

// startDaemonEnv is startDaemon with more environment.
func startDaemonEnv(t *testing.T, cfg string, env ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, "run", "--config", cfg), log: &syncBuffer{}}
	d.cmd.Env = append(append(os.Environ(), fastWatch...), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	// A signal before the daemon installed its handler would kill it outright.
	waitFor(t, "the daemon to be running", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)
	d.cmd.Process.Signal(os.Interrupt)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("daemon did not stop cleanly: %v\n%s", err, d.log)
	}
}

func (d *daemon) kill() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// waitFor polls until cond holds or the deadline passes (a generous bound, not a timing test).
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v; daemon log:\n%s", what, limit, log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func glob(dir, pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	return slices.DeleteFunc(m, func(p string) bool { return filepath.Base(p) == station.MarkerName })
}

func TestDaemonTakesTIFFAndScannerPDFAndRejectsTruncatedImage(t *testing.T) {
	dir, cfg := newStation(t)
	inbox := filepath.Join(dir, "inbox")
	d := startDaemon(t, cfg)

	staging := t.TempDir()
	tiff := filepath.Join(staging, "ho-so.tif")
	writeImage(t, tiff, samplescan.Options{DPI: 200, Paper: "A5"}, "tiff")
	jpeg := filepath.Join(staging, "page.jpg")
	writeImage(t, jpeg, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	scannerPDF := filepath.Join(staging, "may-quet.pdf")
	tool(t, "img2pdf", "-o", scannerPDF, jpeg)
	data, _ := os.ReadFile(jpeg)
	truncated := filepath.Join(staging, "bi-cat.jpg")
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{tiff, scannerPDF, truncated} {
		// Copied in as a scanner would: written in place, not renamed.
		b, _ := os.ReadFile(f)
		if err := os.WriteFile(filepath.Join(inbox, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "two documents in the outbox and one in failed/", 5*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 2 && len(glob(filepath.Join(dir, "failed"), "*.error.txt")) == 1
	}, d.log)
	d.stop(t)

	for _, name := range []string{"ho-so", "may-quet"} {
		pdf := filepath.Join(outbox, name+".pdf")
		checkSignedPDFA(t, dir, pdf)
		side := readSidecar(t, filepath.Join(outbox, name+".json"))
		wantPages := map[string]int{"ho-so": 2, "may-quet": 1}[name]
		if side.Pages != wantPages {
			t.Errorf("%s: %d pages, want %d", name, side.Pages, wantPages)
		}
	}
	reason, _ := os.ReadFile(filepath.Join(dir, "failed", "bi-cat.jpg.error.txt"))
	if !strings.Contains(string(reason), "bi-cat.jpg") || !strings.Contains(string(reason), "incomplete") {
		t.Errorf("reason file does not say which file and why in plain words:\n%s", reason)
	}
	if _, err := os.Stat(filepath.Join(dir, "failed", "bi-cat.jpg")); err != nil {
		t.Errorf("the truncated input is not kept in failed/: %v", err)
	}
	for _, name := range []string{"ho-so.tif", "may-quet.pdf"} {
		if _, err := os.Stat(filepath.Join(dir, "archive", name)); err != nil {
			t.Errorf("original %s not archived: %v", name, err)
		}
	}
	if left := glob(inbox, "*"); len(left) != 0 {
		t.Errorf("inputs left in the inbox: %v", left)
	}
}

// TestCrashRecoveryEveryInputExactlyOnce kills the daemon with SIGKILL at random moments and
// restarts it; at the end every input is in the outbox exactly once, nothing is left half-written.
func TestCrashRecoveryEveryInputExactlyOnce(t *testing.T) {
	dir, cfg := newStation(t)
	freezeDevTokenStore(t, dir)
	inbox := filepath.Join(dir, "inbox")
	const inputs = 10
	hashes := map[string]string{}
	for i := range inputs {
		lines := append(samplescan.Text(samplescan.Options{})[:4], fmt.Sprintf("Số: %d/UBND-VP", 100+i), "Kính gửi: Sở Nội vụ")
		path := filepath.Join(inbox, fmt.Sprintf("van-ban-%d.jpg", i))
		writeImage(t, path, samplescan.Options{DPI: 200, Paper: "A5", Lines: lines}, "jpeg")
		_, sum := digest(t, path)
		hashes[sum] = filepath.Base(path)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for range 5 {
		d := startDaemon(t, cfg)
		time.Sleep(time.Duration(500+rng.IntN(3000)) * time.Millisecond)
		d.kill()
		kills++
	}
	d := startDaemon(t, cfg)
	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "every input delivered", 6*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == inputs && len(glob(filepath.Join(dir, "archive"), "*")) == inputs
	}, d.log)
	d.stop(t)
	t.Logf("%d inputs, %d kills", inputs, kills)

	seen := map[string]int{}
	for _, js := range glob(outbox, "*.json") {
		side := readSidecar(t, js)
		seen[side.SourceSHA256]++
		pdf := strings.TrimSuffix(js, ".json") + ".pdf"
		if _, sum := digest(t, pdf); sum != side.OutputSHA256 {
			t.Errorf("%s does not match the SHA-256 in its sidecar", pdf)
		}
		if why := verifiesButForTrust(t, pdf); why != "" {
			t.Error(why)
		}
	}
	for sum, name := range hashes {
		if seen[sum] != 1 {
			t.Errorf("%s is in the outbox %d times, want exactly once", name, seen[sum])
		}
	}
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Errorf("inputs failed: %v", f)
	}
	for _, d := range []string{"outbox", "archive", "inbox", "failed"} {
		entries, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".") && e.Name() != station.MarkerName {
				t.Errorf("temporary file left behind: %s/%s", d, e.Name())
			}
		}
	}
}

func digest(t *testing.T, path string) (int64, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return int64(len(data)), hex.EncodeToString(sum[:])
}

// TestNoEventsRescansAlone runs the daemon with inotify switched off, as on a network share
// that sends no events: the periodic rescan alone finds the scan.
func TestNoEventsRescansAlone(t *testing.T) {
	dir, cfg := newStation(t)
	d := startDaemonEnv(t, cfg, "SCANSTATION_WATCH_EVENTS=false")
	writeImage(t, filepath.Join(dir, "inbox", "chia-se-mang.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the scan found by rescans alone", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 1
	}, d.log)
	d.stop(t)
}
