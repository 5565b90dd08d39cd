package main

// Capture of a real paper stack: a duplex batch divided by separator sheets into documents,
// every side accounted for, written into the inbox by a slow writer, with the real daemon,
// Tesseract, SoftHSM and the judges.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
	"scanstation/outbox"
	"scanstation/station"
)

// batchStation is a dev station whose hot-folder divides batches as the settings say.
func batchStation(t *testing.T, settings map[string]string) (dir, cfg string) {
	t.Helper()
	dir, cfg = newStation(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(data)
	defaults := map[string]string{"separate": `"none"`, "duplex": `false`, "blank_backs": `"keep"`, "separate_every": "0"}
	for key, value := range settings {
		old := key + ": " + defaults[key]
		if !strings.Contains(yaml, old) {
			t.Fatalf("the config init wrote has no %q to set:\n%s", old, yaml)
		}
		yaml = strings.Replace(yaml, old, key+": "+value, 1)
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, code := scanstation(t, nil, "config", "check", "--config", cfg); code != 0 {
		t.Fatalf("config check refuses the batch settings:\n%s", out)
	}
	return dir, cfg
}

// TestBatchOfFortySheets is the capture acceptance: 40 sheets fed duplex, four separator
// sheets each before its document with its page count, blank backs, and one sheet of the
// third document fed twice, written into the inbox slowly as one scanner PDF. Three signed
// documents come out with exactly their pages, the fourth is refused with the page-count
// reason, the archive keeps the original with a record of all 80 sides, and failed/ holds
// nothing else.
func TestBatchOfFortySheets(t *testing.T) {
	dir, cfg := batchStation(t, map[string]string{"separate": `"separator_sheet"`, "duplex": "true", "blank_backs": `"drop"`})
	sides, want := samplescan.AcceptanceStack()
	pages, err := samplescan.RenderStack(sides, samplescan.StackOptions{DPI: 200, Separator: func(s samplescan.Sheet, dpi float64) (*image.Gray, error) {
		return separator.Render(capture.Sheet(s), dpi)
	}})
	if err != nil {
		t.Fatal(err)
	}
	var pdf bytes.Buffer
	if err := samplescan.WriteStackPDF(&pdf, pages, 200, 85); err != nil {
		t.Fatal(err)
	}
	pages = nil

	d := startDaemonEnv(t, cfg, "SCANSTATION_WATCH_SETTLE=1s", "SCANSTATION_WATCH_INCOMPLETE_GRACE=20s")
	waitFor(t, "the daemon to be running", time.Minute, func() bool { return strings.Contains(d.log.String(), "station running") }, d.log)
	// A scanner writing over a share: straight into the final name, a tenth at a time, 1.5 s
	// apart, longer than the settle time between pieces.
	inbox := filepath.Join(dir, "inbox")
	if err := samplescan.WriteSlowly(filepath.Join(inbox, "lo-sang.pdf"), pdf.Bytes(), pdf.Len()/10+1, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	archive, outboxDir, failed := filepath.Join(dir, "archive"), filepath.Join(dir, "outbox"), filepath.Join(dir, "failed")
	waitFor(t, "the batch to be archived", 15*time.Minute, func() bool {
		return len(glob(archive, "*.batch.json")) == 1
	}, d.log)
	d.stop(t)

	// The outbox: three signed documents, each with exactly its content pages.
	sidecars := glob(outboxDir, "*.json")
	if len(sidecars) != 3 {
		t.Fatalf("outbox has %d sidecars, want 3: %v\n%s", len(sidecars), sidecars, d.log)
	}
	delivered := map[int]bool{}
	for _, path := range sidecars {
		var side outbox.Sidecar
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &side); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if side.Batch == nil || side.Source != "lo-sang.pdf" {
			t.Fatalf("%s names no batch (source %q): %s", path, side.Source, data)
		}
		n := side.Batch.Document
		if n < 1 || n > len(want.Documents) || delivered[n] {
			t.Fatalf("%s: document %d delivered twice or unknown", path, n)
		}
		delivered[n] = true
		doc := want.Documents[n-1]
		if doc.Refused != "" {
			t.Errorf("document %d (%s) was signed; it must be refused: %s", n, doc.Refused, path)
		}
		if !slices.Equal(side.Batch.Pages, doc.Content) || side.Pages != len(doc.Content) {
			t.Errorf("document %d holds batch pages %v (%d pages), want %v", n, side.Batch.Pages, side.Pages, doc.Content)
		}
		signed := strings.TrimSuffix(path, ".json") + ".pdf"
		if got := len(judge.QPDFJSON(t, signed, "--json-key=pages")["pages"].([]any)); got != len(doc.Content) {
			t.Errorf("%s has %d pages, want %d", signed, got, len(doc.Content))
		}
		if v := judge.PdfSig(t, signed); !v.AllValidWhole() {
			t.Errorf("pdfsig does not find %s validly signed:\n%s", signed, v.Stdout)
		}
		// The separator sheet's record fields pre-fill the document's record.
		if !strings.Contains(string(side.Metadata), doc.Sheet.Fields["code_notation"]) {
			t.Errorf("document %d's record lacks its sheet's notation %q: %s", n, doc.Sheet.Fields["code_notation"], side.Metadata)
		}
	}

	// failed/: the refused document, as a PDF of its pages with its reason, and nothing else.
	entries, err := os.ReadDir(failed)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != station.MarkerName {
			names = append(names, e.Name())
		}
	}
	if len(names) != 2 || !slices.Contains(names, "lo-sang-3.pdf") || !slices.Contains(names, "lo-sang-3.pdf.error.txt") {
		t.Fatalf("failed/ holds %v, want the refused document 3 and its reason", names)
	}
	reason, err := os.ReadFile(filepath.Join(failed, "lo-sang-3.pdf.error.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reason), want.Documents[2].Refused) || !strings.Contains(string(reason), "fed twice") {
		t.Errorf("the reason does not say %q:\n%s", want.Documents[2].Refused, reason)
	}

	// The archive: the original, whole, and the record of every side.
	if got, err := os.ReadFile(filepath.Join(archive, "lo-sang.pdf")); err != nil || !bytes.Equal(got, pdf.Bytes()) {
		t.Fatalf("the archive does not hold the batch as written (%v)", err)
	}
	var record station.BatchRecord
	data, err := os.ReadFile(filepath.Join(archive, "lo-sang.pdf.batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &record); err != nil {
		t.Fatal(err)
	}
	if len(record.Pages) != 80 || record.Sides != 80 {
		t.Fatalf("the batch record accounts for %d sides (sides %d), want 80", len(record.Pages), record.Sides)
	}
	fates := map[capture.Fate][]int{}
	for i, a := range record.Pages {
		if a.Page != i+1 {
			t.Fatalf("side %d of the record is numbered %d", i+1, a.Page)
		}
		fates[a.Fate] = append(fates[a.Fate], a.Page)
	}
	if !slices.Equal(fates[capture.Separator], want.Separators) {
		t.Errorf("separator sides %v, want %v", fates[capture.Separator], want.Separators)
	}
	if !slices.Equal(fates[capture.BlankDrop], want.BlankBacks) {
		t.Errorf("blank backs dropped %v, want %v", fates[capture.BlankDrop], want.BlankBacks)
	}
	if !slices.Equal(fates[capture.InDocument], want.Content) {
		t.Errorf("content sides %v, want %v", fates[capture.InDocument], want.Content)
	}
	if len(record.Outcomes) != 4 {
		t.Fatalf("the record has %d outcomes, want 4", len(record.Outcomes))
	}
	for i, o := range record.Outcomes {
		refused := want.Documents[i].Refused != ""
		if refused != (o.State == "failed") || !refused && o.Outbox == "" {
			t.Errorf("document %d: %+v", i+1, o)
		}
	}
}

// TestSidecarPageCount: a scan whose sidecar gives the paper's page count is refused when it
// holds another number of pages with content, in plain words, and certified when it matches.
func TestSidecarPageCount(t *testing.T) {
	dir, cfg := newStation(t)
	in := t.TempDir()
	for name, pages := range map[string]string{"thieu-trang.tiff": "3", "du-trang.tiff": "2"} {
		writeImage(t, filepath.Join(in, name), samplescan.Options{DPI: 200}, "tiff") // two pages
		if err := os.WriteFile(filepath.Join(in, strings.TrimSuffix(name, ".tiff")+".yaml"), []byte("pages: "+pages+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := scanstation(t, nil, "process", "--config", cfg, filepath.Join(in, "thieu-trang.tiff"), filepath.Join(in, "du-trang.tiff"))
	if code != 1 {
		t.Fatalf("process exited %d, want 1 (one refused):\n%s", code, out)
	}
	if !strings.Contains(out, "3 pages expected, 2 scanned: a sheet may have been double-fed") {
		t.Errorf("the short scan's refusal does not name the difference:\n%s", out)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "thieu-trang.tiff.error.txt"))
	if err != nil || !strings.Contains(string(reason), "3 pages expected, 2 scanned") {
		t.Errorf("failed/ has no reason naming the difference (%v):\n%s", err, reason)
	}
	if len(glob(filepath.Join(dir, "outbox"), "du-trang*.pdf")) != 1 {
		t.Errorf("the scan whose count matches was not delivered:\n%s", out)
	}
}

// TestUnsureOrientationGoesToReview: a page OCR cannot tell the way up of (one short line) is
// not signed unseen, though the hot-folder needs no approval: it waits for the clerk, with the
// page named in its warnings.
func TestUnsureOrientationGoesToReview(t *testing.T) {
	dir, cfg := newStation(t)
	in := filepath.Join(t.TempDir(), "mot-dong.jpg")
	writeImage(t, in, samplescan.Options{DPI: 200, Lines: []string{"Kính gửi: Sở Nội vụ tỉnh Bắc Ninh"}}, "jpeg")
	out, code := scanstation(t, nil, "process", "--config", cfg, in)
	if code == 0 || !strings.Contains(out, "waits for approval") {
		t.Fatalf("a page of one line was not held for review (exit %d):\n%s", code, out)
	}
	if got := glob(filepath.Join(dir, "outbox"), "*.pdf"); len(got) != 0 {
		t.Errorf("the outbox has %v: signed unseen", got)
	}
	out, _ = scanstation(t, nil, "approve", "--config", cfg)
	if !strings.Contains(out, "mot-dong.jpg") || !strings.Contains(out, "page 1: the station is not sure which way up it reads") {
		t.Errorf("the clerk's list does not show the document waiting for review, and why:\n%s", out)
	}
}

// TestBatchByBlankSheetAndEveryN: the other ways a batch divides, through `process`: a blank
// sheet between two letters makes two documents and is in neither; every 1 page makes one
// document of each page.
func TestBatchByBlankSheetAndEveryN(t *testing.T) {
	letter := func(n int) image.Image {
		img, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN", fmt.Sprintf("Số: %d/UBND-VP", n))})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	blank, err := samplescan.Render(samplescan.Options{DPI: 200, Paper: "A5", Lines: []string{""}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		settings map[string]string
		pages    []image.Image
		want     []string // the documents delivered
	}{
		{"blank-sheet", map[string]string{"separate": `"blank_sheet"`}, []image.Image{letter(31), blank, letter(32)}, []string{"lo-1.pdf", "lo-2.pdf"}},
		{"every", map[string]string{"separate": `"every"`, "separate_every": "1"}, []image.Image{letter(33), letter(34)}, []string{"lo-1.pdf", "lo-2.pdf"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, cfg := batchStation(t, c.settings)
			in := filepath.Join(t.TempDir(), "lo.tif")
			var b bytes.Buffer
			if err := samplescan.WriteTIFF(&b, c.pages, 200); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := scanstation(t, nil, "process", "--config", cfg, in)
			if code != 0 || !strings.Contains(out, fmt.Sprintf("divided into %d documents", len(c.want))) {
				t.Fatalf("process (exit %d):\n%s", code, out)
			}
			for _, name := range c.want {
				if len(glob(filepath.Join(dir, "outbox"), name)) != 1 {
					t.Errorf("%s is not in the outbox:\n%s", name, out)
				}
			}
			var record station.BatchRecord
			data, err := os.ReadFile(filepath.Join(dir, "archive", "lo.tif.batch.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &record); err != nil {
				t.Fatal(err)
			}
			if len(record.Pages) != len(c.pages) || len(record.Outcomes) != len(c.want) {
				t.Errorf("the batch record has %d sides and %d outcomes, want %d and %d:\n%s", len(record.Pages), len(record.Outcomes), len(c.pages), len(c.want), data)
			}
		})
	}
}
