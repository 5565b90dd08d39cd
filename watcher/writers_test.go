package watcher_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
	"scanstation/watcher"
)

func picture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 120, 90))
	for y := range 90 {
		for x := range 120 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 90, 255})
		}
	}
	return img
}

// A scanner writing a multi-page TIFF the libtiff way keeps the file open and pauses for the
// next sheet far longer than the settle time; between the pages the file is a valid 1-page
// TIFF. It must not be taken until the writer has closed it.
func TestTIFFWrittenPageByPageThroughOneOpenFileIsTakenWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, watcher.Options{Dirs: []string{dir}})
	p := filepath.Join(dir, "scan.tif")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	err = samplescan.WriteTIFFPagewise(f, []image.Image{picture(), picture()}, 200, func(int) {
		time.Sleep(quiet) // the next sheet: many settle periods and rescans
		if n := s.count(p); n != 0 {
			t.Errorf("the TIFF was taken %d times between its pages, while the scanner still had it open", n)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(p)
	s.waitCount(t, p, 1)
	s.settleThenCount(t, p, 1)
	for _, r := range s.all() {
		if r.size != info.Size() {
			t.Errorf("reported with %d bytes, want the whole file's %d", r.size, info.Size())
		}
	}
}

// A JPEG saved in chunks, the file opened and closed for each, pausing longer than the settle
// time: no lease can tell, the missing end marker does. Taken once, whole.
func TestJPEGWrittenInChunksIsTakenOnceWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, watcher.Options{Dirs: []string{dir}})
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, picture(), nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "slow.jpg")
	data := jpg.Bytes()
	const chunks = 6
	for i := range chunks {
		part := data[i*len(data)/chunks : (i+1)*len(data)/chunks]
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(part); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if i < chunks-1 {
			time.Sleep(3 * testSettle)
		}
	}
	s.waitCount(t, p, 1)
	s.settleThenCount(t, p, 1)
	for _, r := range s.all() {
		if r.size != int64(len(data)) {
			t.Errorf("reported with %d bytes, want the whole %d", r.size, len(data))
		}
	}
	if !strings.Contains(s.log.String(), "waiting for a file to be saved whole") {
		t.Errorf("the log does not say the watcher waited for the file:\n%s", s.log.String())
	}
}

// A file that stops half-way is taken once it has not changed for the grace, so the station
// can refuse it with the reason; until then it waits.
func TestUnfinishedFileIsTakenAfterTheGrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const grace = 3 * time.Second
	s := start(t, watcher.Options{Dirs: []string{dir}, IncompleteGrace: grace})
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, picture(), nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "half.jpg")
	writeFile(t, p, string(jpg.Bytes()[:jpg.Len()/2]))
	written := time.Now()
	time.Sleep(4 * testSettle)
	if n := s.count(p); n != 0 && time.Since(written) < grace {
		t.Fatalf("the unfinished file was taken %d times within the grace", n)
	}
	s.waitCount(t, p, 1)
	s.settleThenCount(t, p, 1)
	if !strings.Contains(s.log.String(), "stayed unfinished") {
		t.Errorf("the log does not say why the unfinished file was taken:\n%s", s.log.String())
	}
}

// Without events, a file taken away and put back between two rescans (moved, so with the same
// size, time and inode) is a new arrival all the same.
func TestNoEventsSeesAFileMovedAwayAndBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "scan.jpg")
	writeFile(t, p, "scan")
	s := start(t, watcher.Options{Dirs: []string{dir}, NoEvents: true})
	s.waitCount(t, p, 1)

	away := filepath.Join(t.TempDir(), "scan.jpg")
	if err := os.Rename(p, away); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, p); err != nil {
		t.Fatal(err)
	}
	s.waitCount(t, p, 2)
	s.settleThenCount(t, p, 2)
}
