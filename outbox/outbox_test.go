package outbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"scanstation/outbox"
)

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func noTemps(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		for _, name := range listDir(t, dir) {
			if strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, ".") {
				t.Errorf("temporary file left behind: %s", filepath.Join(dir, name))
			}
		}
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func wantContent(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

func newBox(t *testing.T) *outbox.Box {
	t.Helper()
	root := t.TempDir()
	b := &outbox.Box{
		Outbox:   filepath.Join(root, "outbox"),
		Failed:   filepath.Join(root, "failed"),
		Archived: filepath.Join(root, "archive"),
	}
	for _, dir := range []string{b.Outbox, b.Failed, b.Archived} {
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	if err := outbox.WriteFileAtomic(dir, "a.pdf", []byte("first"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := outbox.WriteFileAtomic(dir, "a.pdf", []byte("second"), 0o640); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(dir, "a.pdf"), []byte("second"))
	wantMode(t, filepath.Join(dir, "a.pdf"), 0o640)
	if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"a.pdf"}) {
		t.Errorf("folder holds %v, want only a.pdf", got)
	}
}

func TestWriteFileAtomicRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "sub/a.pdf", "../a.pdf"} {
		if err := outbox.WriteFileAtomic(dir, name, []byte("x"), 0o640); err == nil {
			t.Errorf("WriteFileAtomic(%q) succeeded; want a refusal", name)
		}
	}
	noTemps(t, dir)
}

func TestWriteFileAtomicUnwritableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write into any folder")
	}
	dir := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := outbox.WriteFileAtomic(dir, "a.pdf", []byte("x"), 0o640); err == nil {
		t.Fatal("writing into a read-only folder succeeded")
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("read-only folder now holds %v", got)
	}
}

func TestDeliverTwiceSameBytes(t *testing.T) {
	b := newBox(t)
	pdf := []byte("%PDF-1.7 signed bytes")
	meta := &outbox.Sidecar{
		Source:            "/scans/in/Hồ sơ 001.tif",
		SourceSHA256:      "abc",
		Pages:             2,
		Languages:         []string{"vie", "eng"},
		MeanOCRConfidence: 88.5,
		Signer:            "CN=Văn thư",
		SigningTime:       time.Date(2025, 3, 4, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600)),
		Station:           "scan-01",
	}
	for range 2 {
		if err := b.Deliver("Hồ sơ 001", pdf, meta, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := listDir(t, b.Outbox), []string{"Hồ sơ 001.json", "Hồ sơ 001.pdf"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox holds %v, want exactly %v", got, want)
	}
	wantContent(t, filepath.Join(b.Outbox, "Hồ sơ 001.pdf"), pdf)
	wantMode(t, filepath.Join(b.Outbox, "Hồ sơ 001.pdf"), 0o640)
	wantMode(t, filepath.Join(b.Outbox, "Hồ sơ 001.json"), 0o640)

	data, err := os.ReadFile(filepath.Join(b.Outbox, "Hồ sơ 001.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"source", "source_sha256", "pages", "languages", "mean_ocr_confidence",
		"signer", "signing_time", "output_sha256", "station"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("sidecar lacks %q: %s", key, data)
		}
	}
	sum := sha256.Sum256(pdf)
	if want := hex.EncodeToString(sum[:]); fields["output_sha256"] != want {
		t.Errorf("output_sha256 = %v, want the PDF's checksum %s", fields["output_sha256"], want)
	}
	if meta.OutputSHA256 != "" {
		t.Error("Deliver changed the caller's sidecar")
	}
}

func TestDeliverDifferentBytes(t *testing.T) {
	b := newBox(t)
	if err := b.Deliver("doc", []byte("first document"), nil, nil); err != nil {
		t.Fatal(err)
	}
	err := b.Deliver("doc", []byte("another document"), nil, nil)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second delivery with other bytes: err = %v, want one matching fs.ErrExist", err)
	}
	wantContent(t, filepath.Join(b.Outbox, "doc.pdf"), []byte("first document"))
	if got := listDir(t, b.Outbox); !reflect.DeepEqual(got, []string{"doc.json", "doc.pdf"}) {
		t.Errorf("outbox holds %v", got)
	}
}

func TestDeliverDoesNotTouchForeignPDF(t *testing.T) {
	b := newBox(t)
	if err := os.WriteFile(filepath.Join(b.Outbox, "doc.pdf"), []byte("put here by someone"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver("doc", []byte("ours"), nil, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want one matching fs.ErrExist", err)
	}
	wantContent(t, filepath.Join(b.Outbox, "doc.pdf"), []byte("put here by someone"))
	if got := listDir(t, b.Outbox); !reflect.DeepEqual(got, []string{"doc.pdf"}) {
		t.Errorf("outbox holds %v, want the foreign doc.pdf alone", got)
	}
}

func TestDeliverDoesNotTouchForeignSidecar(t *testing.T) {
	b := newBox(t)
	if err := os.WriteFile(filepath.Join(b.Outbox, "doc.json"), []byte(`{"output_sha256":"00"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver("doc", []byte("ours"), nil, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want one matching fs.ErrExist", err)
	}
	if got := listDir(t, b.Outbox); !reflect.DeepEqual(got, []string{"doc.json"}) {
		t.Errorf("outbox holds %v; nothing should have been added", got)
	}
}

// A run that died between the PDF and the sidecar, restarted with the
// signing time read back from the journal in UTC.
func TestDeliverFinishesOwnDelivery(t *testing.T) {
	b := newBox(t)
	pdf := []byte("%PDF signed")
	local := time.Date(2025, 3, 4, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600))
	if err := outbox.WriteFileAtomic(b.Outbox, "doc.pdf", pdf, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{SigningTime: local}, nil); err != nil {
		t.Fatalf("finishing a half-done delivery: %v", err)
	}
	before, err := os.ReadFile(filepath.Join(b.Outbox, "doc.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{SigningTime: local.UTC()}, nil); err != nil {
		t.Fatalf("repeating a finished delivery: %v", err)
	}
	wantContent(t, filepath.Join(b.Outbox, "doc.json"), before)
	noTemps(t, b.Outbox)
}

func TestDeliverChecksumMismatch(t *testing.T) {
	b := newBox(t)
	if err := b.Deliver("doc", []byte("pdf"), &outbox.Sidecar{OutputSHA256: "0123"}, nil); err == nil {
		t.Fatal("a sidecar with the wrong checksum was delivered")
	}
	if got := listDir(t, b.Outbox); len(got) != 0 {
		t.Errorf("outbox holds %v after a refused delivery", got)
	}
}

func TestFreeName(t *testing.T) {
	b := newBox(t)
	touch := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(b.Outbox, name), nil, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.FreeName("doc"); got != "doc" {
		t.Errorf("empty outbox: FreeName = %q, want doc", got)
	}
	touch("doc.pdf")
	if got := b.FreeName("doc"); got != "doc-1" {
		t.Errorf("doc.pdf taken: FreeName = %q, want doc-1", got)
	}
	touch("doc-1.json") // a sidecar alone still claims the name
	if got := b.FreeName("doc"); got != "doc-2" {
		t.Errorf("doc.pdf and doc-1.json taken: FreeName = %q, want doc-2", got)
	}
}

func TestFail(t *testing.T) {
	b := newBox(t)
	spool := t.TempDir()
	src := filepath.Join(spool, "7.tif")
	original := []byte("II*\x00 a broken tiff")
	if err := os.WriteFile(src, original, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reason file alone claims its name, so the pair stays together.
	if err := os.WriteFile(filepath.Join(b.Failed, "Hồ sơ 7.tif.error.txt"), []byte("older"), 0o640); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2025, 3, 4, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600))
	dst, err := b.Fail(src, "Hồ sơ 7.tif", outbox.Failure{
		File:   "/scans/in/Hồ sơ 7.tif",
		Stage:  "reading the scan",
		Reason: "the file ends early; the scanner may not have finished writing it",
		Advice: "Scan the document again.",
		When:   when,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(b.Failed, "Hồ sơ 7-1.tif"); dst != want {
		t.Errorf("Fail returned %s, want %s", dst, want)
	}
	wantContent(t, dst, original)
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the original is still in the spool: %v", err)
	}
	text, err := os.ReadFile(dst + ".error.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/scans/in/Hồ sơ 7.tif", "reading the scan", "the file ends early",
		"Scan the document again.", "2025-03-04 09:30:00 +07:00", "Hồ sơ 7-1.tif"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("reason file lacks %q:\n%s", want, text)
		}
	}
	wantMode(t, dst+".error.txt", 0o640)
	wantContent(t, filepath.Join(b.Failed, "Hồ sơ 7.tif.error.txt"), []byte("older"))
	noTemps(t, b.Failed, spool)
}

func TestFailGivesAdvice(t *testing.T) {
	b := newBox(t)
	src := filepath.Join(t.TempDir(), "a.jpg")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst, err := b.Fail(src, "a.jpg", outbox.Failure{Stage: "OCR", Reason: "no text found"})
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(dst + ".error.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "What to do next: Check") || !strings.Contains(string(text), src) {
		t.Errorf("reason file without advice or file name:\n%s", text)
	}
}

func TestArchive(t *testing.T) {
	b := newBox(t)
	spool := t.TempDir()
	for i, content := range []string{"first", "second"} {
		src := filepath.Join(spool, "job.tif")
		if err := os.WriteFile(src, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		dst, err := b.Archive(src, "scan.tif")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"scan.tif", "scan-1.tif"}[i]
		if dst != filepath.Join(b.Archived, want) {
			t.Errorf("archive %d went to %s, want %s", i, dst, want)
		}
		wantContent(t, dst, []byte(content))
	}
	wantContent(t, filepath.Join(b.Archived, "scan.tif"), []byte("first"))
	if got := listDir(t, spool); len(got) != 0 {
		t.Errorf("spool still holds %v", got)
	}
}

func TestMoveRefusesFolders(t *testing.T) {
	src := t.TempDir()
	if _, err := outbox.Move(src, t.TempDir(), "x"); err == nil {
		t.Error("Move took a folder")
	}
}

func TestMoveAcrossFilesystems(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "scanstation-test-")
	if err != nil {
		t.Skipf("no /dev/shm to move from: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	here := t.TempDir()
	var a, b syscall.Stat_t
	if syscall.Stat(other, &a) != nil || syscall.Stat(here, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm and the temp folder are on the same filesystem")
	}

	data := bytes.Repeat([]byte("scan bytes "), 100000)
	mtime := time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC)
	for _, dirs := range [][2]string{{other, here}, {here, other}} {
		src := filepath.Join(dirs[0], "in.tif")
		if err := os.WriteFile(src, data, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(src, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		// Taken on the far side: the copy must not replace it.
		if err := os.WriteFile(filepath.Join(dirs[1], "out.tif"), []byte("keep me"), 0o640); err != nil {
			t.Fatal(err)
		}
		dst, err := outbox.Move(src, dirs[1], "out.tif")
		if err != nil {
			t.Fatal(err)
		}
		if dst != filepath.Join(dirs[1], "out-1.tif") {
			t.Errorf("moved to %s, want out-1.tif", dst)
		}
		wantContent(t, dst, data)
		wantContent(t, filepath.Join(dirs[1], "out.tif"), []byte("keep me"))
		wantMode(t, dst, 0o640)
		if fi, err := os.Stat(dst); err == nil && !fi.ModTime().Equal(mtime) {
			t.Errorf("moved file has time %v, want the original's %v", fi.ModTime(), mtime)
		}
		if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("original still there after the move: %v", err)
		}
		noTemps(t, dirs[0], dirs[1])
		if slices.Contains(listDir(t, dirs[1]), "in.tif") {
			t.Error("the source name appeared on the far side")
		}
		os.Remove(dst)
		os.Remove(filepath.Join(dirs[1], "out.tif"))
	}
}

func BenchmarkDeliver(b *testing.B) {
	box := &outbox.Box{Outbox: b.TempDir()}
	pdf := bytes.Repeat([]byte{0x42}, 2<<20)
	for b.Loop() {
		if err := box.Deliver(box.FreeName("doc"), pdf, &outbox.Sidecar{Pages: 3}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeliverWritesEnvelopeLastAndRecognisesItsOwn(t *testing.T) {
	b := newBox(t)
	pdf, env := []byte("%PDF-1.7 signed"), []byte("<edXML>package</edXML>")
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, env); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(b.Outbox, "doc.edxml"))
	if err != nil || !bytes.Equal(got, env) {
		t.Fatalf("doc.edxml = %q, %v; want the envelope", got, err)
	}
	// A restart delivering the same again finds its own files.
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, env); err != nil {
		t.Fatalf("second delivery of the same package: %v", err)
	}
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, []byte("<edXML>other</edXML>")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a different envelope under the same name: %v, want fs.ErrExist", err)
	}
	if name := b.FreeName("doc"); name != "doc-1" {
		t.Errorf("FreeName = %q, want doc-1", name)
	}
}

func TestRemoveLeftovers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".scanstation-123.tmp", ".scanstation-abc.tmp", "keep.pdf", ".other.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := outbox.RemoveLeftovers(dir)
	if err != nil || n != 2 {
		t.Fatalf("RemoveLeftovers = %d, %v; want 2, nil", n, err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 2 || left[0] != ".other.tmp" || left[1] != "keep.pdf" {
		t.Errorf("left %v, want only the files that are not ours", left)
	}
}

// A restart whose journal missed its delivery, after a sender took the package on, finds the
// PDF in the sender's folder and writes nothing: not again into the outbox (pushed twice), and
// no refusal for a sidecar left without its PDF half-way through the sender's move.
func TestDeliverRecognisesAPackageTheSenderTook(t *testing.T) {
	pdf, env := []byte("%PDF-1.7 signed"), []byte("<edXML>package</edXML>")
	for _, tc := range []struct {
		name  string
		moved []string // the files the sender moved before the restart
	}{
		{"all moved", []string{".pdf", ".json", ".edxml"}},
		{"PDF moved", []string{".pdf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t)
			sent := filepath.Join(b.Outbox, "sent")
			b.Pushed = []string{sent, filepath.Join(b.Outbox, "rejected")}
			if err := os.Mkdir(sent, 0o750); err != nil {
				t.Fatal(err)
			}
			// An older document already took the name in sent/.
			if err := os.WriteFile(filepath.Join(sent, "doc.pdf"), []byte("%PDF-1.7 other"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, env); err != nil {
				t.Fatal(err)
			}
			for _, ext := range tc.moved {
				if err := os.Rename(filepath.Join(b.Outbox, "doc"+ext), filepath.Join(sent, "doc-1"+ext)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, env); err != nil {
				t.Fatalf("the delivery again: %v", err)
			}
			if exists(filepath.Join(b.Outbox, "doc.pdf")) {
				t.Error("the PDF the sender took was written into the outbox again")
			}
			noTemps(t, b.Outbox)
		})
	}
	// Other bytes under the name in sent/ are another document: this one is delivered.
	b := newBox(t)
	sent := filepath.Join(b.Outbox, "sent")
	b.Pushed = []string{sent}
	if err := os.Mkdir(sent, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sent, "doc.pdf"), []byte("%PDF-1.7 other"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver("doc", pdf, &outbox.Sidecar{Pages: 1}, env); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(b.Outbox, "doc.pdf"), pdf)
}
