package main

// Reliability soaks, with their figures logged for docs/reliability.md: kill -9 at random
// moments, a full disk, and memory with hundreds of files waiting.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// distinctScans writes n small scans that differ in a few pixels (so their SHA-256 differ)
// from one rendered page, which is much cheaper than rendering n pages.
func distinctScans(t *testing.T, dir string, n int, lines []string) map[string]string {
	t.Helper()
	page, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	base := image.NewRGBA(page.Bounds())
	draw.Draw(base, base.Bounds(), page, image.Point{}, draw.Src)
	hashes := map[string]string{}
	for i := range n {
		img := image.NewRGBA(base.Bounds())
		copy(img.Pix, base.Pix)
		// A row of light dots near the bottom edge encodes i: invisible to OCR, unique bytes.
		for bit := range 16 {
			if i&(1<<bit) != 0 {
				img.Set(20+bit*6, base.Bounds().Dy()-20, color.RGBA{200, 200, 200, 255})
			}
		}
		var buf bytes.Buffer
		if err := samplescan.WriteJPEG(&buf, img, 200, 80); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("van-ban-%03d.jpg", i)
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		_, sum := digest(t, filepath.Join(dir, name))
		hashes[sum] = name
	}
	return hashes
}

// checkExactlyOnce asserts every input is in the outbox exactly once, verifies, and that no
// temporary file is left anywhere.
func checkExactlyOnce(t *testing.T, dir string, hashes map[string]string) {
	t.Helper()
	outbox := filepath.Join(dir, "outbox")
	seen := map[string]int{}
	for _, js := range glob(outbox, "*.json") {
		side := readSidecar(t, js)
		seen[side.SourceSHA256]++
		pdf := strings.TrimSuffix(js, ".json") + ".pdf"
		if _, sum := digest(t, pdf); sum != side.OutputSHA256 {
			t.Errorf("%s does not match the SHA-256 in its sidecar: corrupt output", pdf)
		}
	}
	lost := 0
	for sum, name := range hashes {
		if seen[sum] != 1 {
			t.Errorf("%s is in the outbox %d times, want exactly once", name, seen[sum])
			if seen[sum] == 0 {
				lost++
			}
		}
	}
	t.Logf("inputs %d, in the outbox %d, lost %d", len(hashes), len(glob(outbox, "*.json")), lost)
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Errorf("inputs failed: %v", f)
	}
	for _, d := range []string{"outbox", "archive", "inbox", "failed", "review", "state/spool", "state/work"} {
		entries, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("temporary file left behind: %s/%s", d, e.Name())
			}
		}
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "state", "work")); len(left) != 0 {
		t.Errorf("work files left behind: %d", len(left))
	}
}

// freezeDevTokenStore makes the SoftHSM2 dev token's own files immutable for a test that kills
// the daemon at random moments. SoftHSM2 rewrites token.object (and its generation file) at
// every login, in place: a SIGKILL that lands inside that write leaves a truncated file, and the
// token is gone ("no token is inserted"). Seen under load in a crash soak. That is the test
// token's storage, not the station: an agency's token is hardware. Login and signing work with
// the files frozen (chattr +i also binds root).
func freezeDevTokenStore(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "softhsm", "tokens", "*", "token.object"))
	gens, _ := filepath.Glob(filepath.Join(dir, "softhsm", "tokens", "*", "generation"))
	files = append(files, gens...)
	if len(files) == 0 {
		t.Fatalf("no SoftHSM2 token files under %s/softhsm", dir)
	}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		// A filesystem without the attribute (tmpfs): the soak runs as before.
		t.Logf("cannot freeze the dev token's files (%v: %s); a kill inside SoftHSM2's write can lose the token", err, bytes.TrimSpace(out))
		return
	}
	t.Cleanup(func() { exec.Command("chattr", append([]string{"-i"}, files...)...).Run() })
}

// TestCrashSoak drops 200 scans and kills the daemon with SIGKILL at random moments at least
// 50 times, restarting it each time; every input must end in the outbox exactly once.
func TestCrashSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	dir, cfg := newStation(t)
	freezeDevTokenStore(t, dir)
	const inputs, kills = 200, 50
	hashes := distinctScans(t, filepath.Join(dir, "inbox"), inputs, wordy("CÔNG VĂN", "Số: 7/UBND-VP"))

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("random seed %d", seed)
	outbox := filepath.Join(dir, "outbox")
	started := time.Now()
	for i := range kills {
		d := startDaemon(t, cfg)
		// Kill early in a run (start-up, resuming) as often as late (mid-write).
		time.Sleep(time.Duration(200+rng.IntN(2500)) * time.Millisecond)
		d.kill()
		if i%10 == 9 {
			t.Logf("after %d kills: %d delivered", i+1, len(glob(outbox, "*.json")))
		}
	}
	d := startDaemon(t, cfg)
	// Every input accounted for: delivered and archived, or failed (which checkExactlyOnce
	// then reports).
	waitFor(t, "every input delivered or failed", 10*time.Minute, func() bool {
		done := len(glob(filepath.Join(dir, "archive"), "*")) + len(glob(filepath.Join(dir, "failed"), "*.error.txt"))
		return len(glob(outbox, "*.json")) >= inputs-len(glob(filepath.Join(dir, "failed"), "*.error.txt")) && done >= inputs
	}, d.log)
	d.stop(t)
	t.Logf("crash soak: %d inputs, %d kills with SIGKILL, %v in all", inputs, kills, time.Since(started).Round(time.Second))
	checkExactlyOnce(t, dir, hashes)
	for _, pdf := range glob(outbox, "*.pdf")[:5] {
		if why := verifiesButForTrust(t, pdf); why != "" {
			t.Error(why)
		}
	}
}

// TestFullDiskPausesAndResumes puts the outbox on a tiny tmpfs that is full: the station
// must say so, write no partial output, and deliver by itself once space is freed.
func TestFullDiskPausesAndResumes(t *testing.T) {
	dir, cfg := newStation(t)
	outbox := filepath.Join(dir, "outbox")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "scanstation-test", outbox).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root and mount rights): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", outbox).Run() })
	filler := filepath.Join(outbox, "filler.bin")
	// Fill all but a few KB: too little for a signed PDF, and enough for nothing else.
	fill := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=4k")
	fill.Run() // ends with "No space left on device", as it should
	d := startDaemon(t, cfg)
	writeImage(t, filepath.Join(dir, "inbox", "day-du.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the station to say the disk is full", 3*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "the disk is full")
	}, d.log)
	time.Sleep(3 * time.Second)
	entries, _ := os.ReadDir(outbox)
	for _, e := range entries {
		if e.Name() != "filler.bin" {
			t.Errorf("partial output in a full outbox: %s", e.Name())
		}
	}
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Fatalf("a full disk sent the document to failed/: %v", f)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery once space is back", 3*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 1
	}, d.log)
	d.stop(t)
	if n := strings.Count(d.log.String(), "the disk is full"); n != 1 {
		t.Errorf("said the disk is full %d times, want once", n)
	}
	if !strings.Contains(d.log.String(), "disk space again") {
		t.Errorf("did not say it resumed:\n%s", d.log)
	}
	checkSignedPDFA(t, dir, filepath.Join(outbox, "day-du.pdf"))
}

// TestMemoryWith500FilesWaiting drops 500 scans at once on a station with two OCR workers and
// samples the resident memory of the daemon and its children until all are delivered.
func TestMemoryWith500FilesWaiting(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	const inputs, capMB = 500, 1024
	dir, cfg := newStation(t)
	staging := t.TempDir()
	hashes := distinctScans(t, staging, inputs, wordy("THÔNG BÁO", "Số: 9/TB-VP"))
	inbox := filepath.Join(dir, "inbox")
	for _, name := range hashes {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	d := startDaemonEnv(t, cfg, "SCANSTATION_OCR_WORKERS=2")
	outbox := filepath.Join(dir, "outbox")
	peak, samples := 0, 0
	var first, last int
	started := time.Now()
	for len(glob(outbox, "*.json")) < inputs {
		if time.Since(started) > 15*time.Minute {
			t.Fatalf("only %d of %d delivered after 15 minutes", len(glob(outbox, "*.json")), inputs)
		}
		rss := treeRSSKB(d.cmd.Process.Pid)
		if rss > peak {
			peak = rss
		}
		if samples == 20 {
			first = rss
		}
		last = rss
		samples++
		time.Sleep(500 * time.Millisecond)
	}
	d.stop(t)
	t.Logf("memory: %d inputs, 2 OCR workers, %v; resident memory of daemon and children: peak %d MB, after 10 s %d MB, at the end %d MB (%d samples)",
		inputs, time.Since(started).Round(time.Second), peak/1024, first/1024, last/1024, samples)
	if peak/1024 > capMB {
		t.Errorf("peak resident memory %d MB is over the %d MB cap", peak/1024, capMB)
	}
	checkExactlyOnce(t, dir, hashes)
}

// treeRSSKB is the resident memory of pid and its children, in KB, from /proc.
func treeRSSKB(pid int) int {
	total := 0
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			if f := strings.Fields(line); len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				total += kb
			}
		}
	}
	// Children hang off the thread that started them (the OCR workers' is not the main one).
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		children, _ := os.ReadFile(task)
		for _, c := range strings.Fields(string(children)) {
			if cp, err := strconv.Atoi(c); err == nil {
				total += treeRSSKB(cp)
			}
		}
	}
	return total
}
