package main

// Taking files whole: a scan is certified as exactly the bytes the scanner wrote, whatever the
// way it writes them, or refused once, whole, with a reason. Real writers (a libtiff-style
// multi-page TIFF through one open file, a JPEG saved in chunks), the real daemon.

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// page renders a sample A5 page at 200 dpi with its own lines, so each document is distinct.
func page(t *testing.T, lines ...string) image.Image {
	t.Helper()
	img, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: append(samplescan.Text(samplescan.Options{})[:4], lines...)})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pagewiseTIFF is the 2-page TIFF the libtiff way, and the file as it is between its pages.
func pagewiseTIFF(t *testing.T, pages ...image.Image) (whole, first []byte) {
	t.Helper()
	var f memFile
	err := samplescan.WriteTIFFPagewise(&f, pages, 200, func(int) { first = append([]byte{}, f.b...) })
	if err != nil {
		t.Fatal(err)
	}
	return f.b, first
}

type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := int(m.pos) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, _ int) (int64, error) { m.pos = off; return off, nil }

// TestSlowWritersAreTakenWhole: three scanners write at once while the daemon watches with a
// settle time of 1 s. A 2-page TIFF written the libtiff way through one open file, pausing 4 s
// for the next sheet (between the pages it is a valid 1-page TIFF); a JPEG saved in six chunks
// 2 s apart, the file opened and closed for each; and a TIFF whose writer stops half-way
// through page 2. The first two come out as one signed copy each, with every page, hashed
// over the whole file; the third is refused once, whole, naming what is missing.
func TestSlowWritersAreTakenWhole(t *testing.T) {
	dir, cfg := newStation(t)
	inbox := filepath.Join(dir, "inbox")
	d := startDaemonEnv(t, cfg, "SCANSTATION_WATCH_SETTLE=1s", "SCANSTATION_WATCH_INCOMPLETE_GRACE=8s")
	waitFor(t, "the daemon to be running", time.Minute, func() bool { return strings.Contains(d.log.String(), "station running") }, d.log)

	tiffPages := []image.Image{page(t, "Số: 11/UBND-VP", "Trang một"), page(t, "Số: 11/UBND-VP", "Trang hai")}
	var jpg bytes.Buffer
	if err := samplescan.WriteJPEG(&jpg, page(t, "Số: 12/UBND-VP", "Kính gửi: Sở Nội vụ"), 200, 85); err != nil {
		t.Fatal(err)
	}
	// The libtiff way, stopped half-way through page 2's pixels: page 1 is a valid TIFF, the
	// rest is linked to nothing.
	all, first := pagewiseTIFF(t, page(t, "Số: 13/UBND-VP"), page(t, "Số: 13/UBND-VP", "Trang hai"))
	broken := all[:len(first)+(len(all)-len(first))/2]

	var wg sync.WaitGroup
	var writeErr error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if writeErr == nil {
			writeErr = err
		}
	}
	wg.Add(3)
	go func() { // the libtiff way, one open file, a pause for the next sheet
		defer wg.Done()
		f, err := os.Create(filepath.Join(inbox, "ho-so.tif"))
		if err != nil {
			fail(err)
			return
		}
		defer f.Close()
		if err := samplescan.WriteTIFFPagewise(f, tiffPages, 200, func(int) { time.Sleep(4 * time.Second) }); err != nil {
			fail(err)
		}
	}()
	go func() { // six chunks 2 s apart, the file opened and closed for each
		defer wg.Done()
		data := jpg.Bytes()
		for i := range 6 {
			f, err := os.OpenFile(filepath.Join(inbox, "slow.jpg"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				fail(err)
				return
			}
			if _, err := f.Write(data[i*len(data)/6 : (i+1)*len(data)/6]); err != nil {
				fail(err)
			}
			f.Close()
			if i < 5 {
				time.Sleep(2 * time.Second)
			}
		}
	}()
	go func() { // a scanner that stops in the middle of page 2's pixels and closes the file
		defer wg.Done()
		if err := os.WriteFile(filepath.Join(inbox, "dang-do.tif"), broken, 0o644); err != nil {
			fail(err)
		}
	}()
	wg.Wait()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	finalTIFF, _ := pagewiseTIFF(t, tiffPages...)
	finalJPEG := jpg.Bytes()

	outbox, failed := filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	waitFor(t, "two signed copies and one refusal", 5*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 2 && len(glob(failed, "*.error.txt")) >= 1
	}, d.log)
	time.Sleep(3 * time.Second) // anything more (pieces of a file) would show up now
	d.stop(t)

	want := map[string]struct {
		data  []byte
		pages int
	}{"ho-so": {finalTIFF, 2}, "slow": {finalJPEG, 1}}
	for name, w := range want {
		side := readSidecar(t, filepath.Join(outbox, name+".json"))
		if side.Pages != w.pages {
			t.Errorf("%s: the signed copy has %d pages, want %d", name, side.Pages, w.pages)
		}
		if side.SourceSHA256 != sha256Hex(w.data) {
			t.Errorf("%s: the record's source_sha256 is not the hash of the whole file the scanner wrote", name)
		}
		archived := glob(filepath.Join(dir, "archive"), name+".*")
		if len(archived) != 1 || !bytes.Equal(mustReadFile(t, archived[0]), w.data) {
			t.Errorf("%s: archive/ holds %v, want the one whole original", name, archived)
		}
	}
	checkSignedPDFA(t, dir, filepath.Join(outbox, "ho-so.pdf"))
	if got := glob(outbox, "*.pdf"); len(got) != 2 {
		t.Errorf("outbox has %v, want ho-so.pdf and slow.pdf only", got)
	}
	entries := glob(failed, "*")
	if len(entries) != 2 || !bytes.Equal(mustReadFile(t, filepath.Join(failed, "dang-do.tif")), broken) {
		t.Errorf("failed/ holds %v, want dang-do.tif whole and its reason, nothing else", entries)
	}
	reason := string(mustReadFile(t, filepath.Join(failed, "dang-do.tif.error.txt")))
	if !strings.Contains(reason, "dang-do.tif") || !strings.Contains(reason, "incomplete") || !strings.Contains(reason, "1 whole page before it") {
		t.Errorf("the refusal does not name the file, say it is incomplete and name the pages found:\n%s", reason)
	}
}

// TestJobIsBoundToTheFileNotItsName: while documents wait for the clerk, (1) the spooled
// original of one changes after it was taken (its scanner went on writing page 2 into the file
// it had open): it is read again and comes out as one signed 2-page copy, never the 1-page
// prefix; (2) a different scan saved under the name of one still waiting is a new input of its
// own, not attached to the old job.
func TestJobIsBoundToTheFileNotItsName(t *testing.T) {
	dir, cfg := newStation(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), `approval: "none"`, `approval: "required"`, 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	inbox, review := filepath.Join(dir, "inbox"), filepath.Join(dir, "review")
	d := startDaemon(t, cfg)

	full, prefix := pagewiseTIFF(t, page(t, "Số: 21/UBND-VP", "Trang một"), page(t, "Số: 21/UBND-VP", "Trang hai"))
	if err := os.WriteFile(filepath.Join(inbox, "scan.tif"), prefix, 0o644); err != nil {
		t.Fatal(err)
	}
	writeImage(t, filepath.Join(inbox, "scan.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN CŨ", "Số: 22/UBND-VP")}, "jpeg")
	oldJPEG := mustReadFile(t, filepath.Join(inbox, "scan.jpg"))
	waitFor(t, "two copies in review/", 3*time.Minute, func() bool { return len(glob(review, "*.pdf")) == 2 }, d.log)

	// (2) A new scan under the old name while the first waits.
	writeImage(t, filepath.Join(inbox, "scan.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN MỚI", "Số: 23/UBND-VP")}, "jpeg")
	newJPEG := mustReadFile(t, filepath.Join(inbox, "scan.jpg"))
	waitFor(t, "the new scan.jpg waiting as a job of its own", 3*time.Minute, func() bool { return len(glob(review, "*.pdf")) == 3 }, d.log)

	// (1) The scanner goes on writing into the file the station spooled.
	spooled := glob(filepath.Join(dir, "state", "spool"), "*-scan.tif")
	if len(spooled) != 1 {
		t.Fatalf("spool holds %v, want one scan.tif", spooled)
	}
	f, err := os.OpenFile(spooled[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(full, 0); err != nil { // the same first page, then page 2 and the link to it
		t.Fatal(err)
	}
	f.Close()

	approveAll := func() {
		list, code := scanstation(t, nil, "approve", "--config", cfg)
		if code != 0 {
			t.Fatalf("approve: %s", list)
		}
		for _, line := range strings.Split(list, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && strings.Contains(line, "page(s)") {
				if _, err := strconv.Atoi(f[0]); err == nil {
					if out, code := scanstation(t, nil, "approve", "--config", cfg, f[0], "--by", "Trần Văn Bình"); code != 0 {
						t.Fatalf("approve %s: %s", f[0], out)
					}
				}
			}
		}
	}
	approveAll()
	changed := "inbox/scan.tif changed after it was taken (2 pages now, was 1); it is read again"
	waitFor(t, "the changed scan.tif read again and waiting for approval again", 3*time.Minute, func() bool {
		log := d.log.String()
		at := strings.Index(log, changed)
		return at >= 0 && strings.Contains(log[at:], `msg="awaiting approval"`)
	}, d.log)
	approveAll()
	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "three signed copies", 3*time.Minute, func() bool { return len(glob(outbox, "*.json")) == 3 }, d.log)
	d.stop(t)

	bySum := map[string]sidecar{}
	for _, js := range glob(outbox, "*.json") {
		side := readSidecar(t, js)
		bySum[side.SourceSHA256] = side
	}
	if side, ok := bySum[sha256Hex(full)]; !ok || side.Pages != 2 {
		t.Errorf("no signed 2-page copy of the whole scan.tif (got %+v)", bySum)
	}
	if _, ok := bySum[sha256Hex(prefix)]; ok {
		t.Error("the 1-page prefix of scan.tif was certified")
	}
	for what, b := range map[string][]byte{"old": oldJPEG, "new": newJPEG} {
		if _, ok := bySum[sha256Hex(b)]; !ok {
			t.Errorf("the %s scan.jpg has no signed copy of its own", what)
		}
	}
	if got := glob(filepath.Join(dir, "failed"), "*"); len(got) != 0 {
		t.Errorf("failed/ holds %v, want nothing", got)
	}
	archived := glob(filepath.Join(dir, "archive"), "scan*.tif")
	if len(archived) != 1 || !bytes.Equal(mustReadFile(t, archived[0]), full) {
		t.Errorf("archive/ holds %v, want the whole 2-page scan.tif", archived)
	}
}
