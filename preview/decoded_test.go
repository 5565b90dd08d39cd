package preview

import (
	"bytes"
	"context"
	"image"
	"path/filepath"
	"testing"

	"scanstation/internal/samplescan"
	"scanstation/scan"
)

// TestDecodedPageIsNotDecodedAgain: a page the caller decoded (to place the mark) is drawn
// from as it is, and the picture is the one the cache would have drawn from the file; a
// decoded page of another number is not taken for it.
func TestDecodedPageIsNotDecodedAgain(t *testing.T) {
	dir := t.TempDir()
	first, err := samplescan.Render(samplescan.Options{DPI: 100})
	if err != nil {
		t.Fatal(err)
	}
	second, err := samplescan.Render(samplescan.Options{DPI: 100, UpsideDown: true})
	if err != nil {
		t.Fatal(err)
	}
	path := writeTIFF(t, dir, []image.Image{first, second}, 100)
	doc, err := scan.Open(path, scan.Options{PixelsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	p2, err := doc.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Path: path}
	mark := Rect{X: 300, Y: 700, W: 120, H: 50}

	given := &Cache{Dir: filepath.Join(dir, "given")}
	got, err := given.Page(context.Background(), src, Request{Page: 2, Width: Screen, Mark: &mark, Decoded: p2})
	if err != nil {
		t.Fatal(err)
	}
	if n := given.decoded.Load(); n != 0 {
		t.Errorf("the page given was decoded again (%d decodes)", n)
	}
	fresh := &Cache{Dir: filepath.Join(dir, "fresh")}
	want, err := fresh.Page(context.Background(), src, Request{Page: 2, Width: Screen, Mark: &mark})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, want.Data) || got.ETag != want.ETag {
		t.Error("the preview drawn from the page given differs from the one drawn from the file")
	}

	other := &Cache{Dir: filepath.Join(dir, "other")}
	p1, err := other.Page(context.Background(), src, Request{Page: 1, Width: Screen, Decoded: p2})
	if err != nil {
		t.Fatal(err)
	}
	if other.decoded.Load() != 1 {
		t.Error("page 2, given for page 1, was drawn as page 1")
	}
	if bytes.Equal(p1.Data, got.Data) {
		t.Error("page 1 shows page 2")
	}
}
