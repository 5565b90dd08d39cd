// Package preview makes the page pictures the console shows: JPEGs made by
// the station from the scan's own pixels, downscaled, turned the way the page
// will read, with the certification mark drawn where it will be stamped, and
// kept in a cache folder so a page is decoded once however often it is
// looked at.
//
// The scan is read with package scan, so a preview is refused for exactly
// the reasons the station refuses the file (a damaged page, a page over the
// pixel limit), in the same words.
//
// A Source's path comes from the journal (the job's spooled file), never
// from a browser's request: the console maps a checked document id to it.
package preview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"scanstation/outbox"
	"scanstation/scan"
)

// The widths a preview is made at. Any other asked-for width is served at
// the next one up, so the cache holds at most three pictures a page and
// rotation: a hostile or careless client cannot fill it with one picture
// per pixel width.
const (
	Thumb  = 200  // a page in a list of pages
	Screen = 900  // the document page at 1366×768
	Zoom   = 1400 // reading small print
)

// Width is the preview width that serves a request for w pixels: the
// smallest of Thumb, Screen and Zoom at least w wide, else Zoom.
func Width(w int) int {
	switch {
	case w <= Thumb:
		return Thumb
	case w <= Screen:
		return Screen
	}
	return Zoom
}

const (
	// ContentType is what every preview is.
	ContentType = "image/jpeg"

	// version names how previews are drawn; changing the drawing changes
	// it, so pictures drawn the old way are never served again (they age
	// out of the cache).
	version = "2"

	defaultMaxBytes = 200 << 20
	defaultQuality  = 80
	suffix          = ".jpg"
)

// Cache makes previews and keeps them as files in Dir. The zero value with
// Dir set is ready to use; it may be used from several goroutines.
type Cache struct {
	Dir string

	// MaxBytes bounds the files in Dir; the least recently used go first
	// when a new preview takes the total over it. Zero means 200 MB (some
	// 1500 screen-size pages).
	MaxBytes int64

	// Workers is how many pages are decoded at once; zero means the
	// number of CPUs. A document page asks for all its thumbnails at
	// once, and each 300 dpi A4 page needs some 60 MB while it is decoded.
	Workers int

	// Scan is how scan files are read: set its Limits to the station's, so
	// a page the station would refuse is refused here too.
	Scan scan.Options

	// Quality is the JPEG quality, 1 to 100; zero means 80.
	Quality int

	once    sync.Once
	slots   chan struct{}
	mu      sync.Mutex
	flights map[string]*flight
	sweepMu sync.Mutex
	decoded atomic.Int64 // pages decoded, for tests: a cached preview decodes nothing
}

// Source is the scan file a preview is made from.
type Source struct {
	Path string
	// SHA256 is the file's digest in hex when the caller knows it (the
	// journal keeps it for every job); without it the file is known by its
	// path, size and modification time.
	SHA256 string
}

// Request says which preview is wanted.
type Request struct {
	Page  int // 1-based
	Width int // pixels, as shown; served at Width(Width)

	// Rotate turns the page clockwise by 0, 90, 180 or 270 degrees (or
	// -90 and the like) on top of the page's own /Rotate from a scanner
	// PDF (always 0 for image files): the turn an operator asked for.
	Rotate int

	// IgnorePageRotate makes Rotate the whole turn shown: for a page the
	// station will turn by what OCR found rather than by the scanner's
	// /Rotate.
	IgnorePageRotate bool

	// Mark, when set, is where the certification mark will be stamped,
	// drawn as a tinted box.
	Mark *Rect

	// Decoded is the page when the caller has just decoded it (to place
	// the mark), read from the same file with the cache's Scan limits: a
	// preview made now is drawn from it rather than decoded a second time.
	// It is no part of what the preview is, only of how it is made.
	Decoded *scan.Page
}

// Rect is a rectangle on a page in PDF points, in the page's default user
// space: X and Y of its lower left corner from the page's lower left
// corner, before any /Rotate, as certify/mark.Placement.Rect gives it.
type Rect struct {
	X, Y, W, H float64
}

// Corners makes a Rect from lower left and upper right corners, the form
// of a PDF rectangle and of mark.Placement.Rect.
func Corners(r [4]float64) Rect {
	return Rect{X: min(r[0], r[2]), Y: min(r[1], r[3]), W: math.Abs(r[2] - r[0]), H: math.Abs(r[3] - r[1])}
}

// Preview is one picture of a page.
type Preview struct {
	Data          []byte // a JPEG
	Width, Height int    // pixels, as shown (after turning)

	// ETag changes whenever the picture would: the quoted cache key, for
	// HTTP caching.
	ETag string
}

// Page returns the preview req asks for of src, from the cache when it is
// there. Concurrent requests for the same preview wait for one decode. The
// decode goes on when ctx ends (its result is cached for the next asker);
// only the wait stops.
func (c *Cache) Page(ctx context.Context, src Source, req Request) (*Preview, error) {
	c.once.Do(c.init)
	if req.Page < 1 {
		return nil, fmt.Errorf("preview of %s: there is no page %d; pages are numbered from 1", src.Path, req.Page)
	}
	rotate, ok := quarterTurns(req.Rotate)
	if !ok {
		return nil, fmt.Errorf("preview of %s, page %d: a page turns by 0, 90, 180 or 270 degrees, not %d", src.Path, req.Page, req.Rotate)
	}
	req.Rotate = rotate
	req.Width = Width(req.Width)
	if m := req.Mark; m != nil && !(m.W > 0 && m.H > 0 && isFinite(m.X, m.Y, m.W, m.H)) {
		return nil, fmt.Errorf("preview of %s, page %d: the mark's rectangle %+v is empty", src.Path, req.Page, *m)
	}
	id, err := identity(src)
	if err != nil {
		return nil, fmt.Errorf("preview of %s, page %d: %w", src.Path, req.Page, err)
	}
	key := cacheKey(id, req)
	if p, err := c.cached(key); err == nil {
		return p, nil
	}

	c.mu.Lock()
	f, ok := c.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[key] = f
		go c.fly(key, f, src, req)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.p, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("preview of %s, page %d: %w", src.Path, req.Page, ctx.Err())
	}
}

// flight is one preview being made, which every asker waits for.
type flight struct {
	done chan struct{}
	p    *Preview
	err  error
}

func (c *Cache) init() {
	n := c.Workers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	c.slots = make(chan struct{}, n)
	c.flights = make(map[string]*flight)
}

func (c *Cache) fly(key string, f *flight, src Source, req Request) {
	defer func() {
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
	}()
	c.slots <- struct{}{}
	defer func() { <-c.slots }()
	// Another flight may have written it between the miss and this slot.
	if p, err := c.cached(key); err == nil {
		f.p = p
		return
	}
	p, err := c.render(src, req)
	if err != nil {
		f.err = fmt.Errorf("preview of %s, page %d: %w", src.Path, req.Page, err)
		return
	}
	p.ETag = `"` + key + `"`
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		f.err = fmt.Errorf("preview cache: %w", err)
		return
	}
	if err := outbox.WriteFileAtomic(c.Dir, key+suffix, p.Data, 0o600); err != nil {
		f.err = fmt.Errorf("preview cache: %w", err)
		return
	}
	f.p = p
	// The preview is good whatever the sweep finds: a file that could not be
	// removed leaves the folder over its bound until the next write's sweep
	// tries again, which is no reason to refuse the page to the clerk.
	_ = c.sweep()
}

// identity names the file's content: its digest when known, else its path,
// size and modification time (a rescanned file written over the old one
// differs in at least one).
func identity(src Source) (string, error) {
	fi, err := os.Stat(src.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errors.New("the scan file is not there (it may have been moved on after signing)")
		}
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("this is not a regular file")
	}
	if src.SHA256 != "" {
		return "sha256:" + strings.ToLower(src.SHA256), nil
	}
	abs, err := filepath.Abs(src.Path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("file:%s:%d:%d", abs, fi.Size(), fi.ModTime().UnixNano()), nil
}

func cacheKey(id string, req Request) string {
	var mark string
	if m := req.Mark; m != nil {
		mark = fmt.Sprintf("%.2f,%.2f,%.2f,%.2f", m.X, m.Y, m.W, m.H)
	}
	s := fmt.Sprintf("preview %s\n%s\npage %d width %d rotate %d ignore %t mark %s",
		version, id, req.Page, req.Width, req.Rotate, req.IgnorePageRotate, mark)
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// cached reads a preview from the cache folder.
func (c *Cache) cached(key string) (*Preview, error) {
	path := filepath.Join(c.Dir, key+suffix)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		// A cache file damaged on disk is made again.
		os.Remove(path)
		return nil, err
	}
	// The modification time is the last use, which eviction goes by; it
	// is refreshed at most once a minute, not written on every look.
	if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > time.Minute {
		now := time.Now()
		os.Chtimes(path, now, now)
	}
	return &Preview{Data: data, Width: cfg.Width, Height: cfg.Height, ETag: `"` + key + `"`}, nil
}

// sweep removes the least recently used previews while the folder holds
// more than MaxBytes, and temporary files a crash left behind.
func (c *Cache) sweep() error {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	limit := c.MaxBytes
	if limit <= 0 {
		limit = defaultMaxBytes
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return err
	}
	type file struct {
		name string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue // removed meanwhile, or not ours
		}
		switch {
		case strings.HasSuffix(e.Name(), suffix):
			files = append(files, file{e.Name(), fi.Size(), fi.ModTime()})
			total += fi.Size()
		case strings.HasSuffix(e.Name(), ".tmp") && time.Since(fi.ModTime()) > time.Hour:
			os.Remove(filepath.Join(c.Dir, e.Name()))
		}
	}
	if total <= limit {
		return nil
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= limit {
			break
		}
		if err := os.Remove(filepath.Join(c.Dir, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		total -= f.size
	}
	return nil
}

// render decodes the page and draws its preview.
func (c *Cache) render(src Source, req Request) (*Preview, error) {
	page := req.Decoded
	if page == nil || page.Number != req.Page || len(page.OCRImage) == 0 {
		var err error
		if page, err = c.decode(src, req.Page); err != nil {
			return nil, err
		}
	}

	rotate := req.Rotate
	if !req.IgnorePageRotate {
		rotate = (rotate + page.Rotate) % 360
	}
	shownW := page.Width
	if rotate%180 != 0 {
		shownW = page.Height
	}
	scale := min(1, float64(req.Width)/float64(shownW))
	w := max(1, int(math.Round(float64(page.Width)*scale)))
	h := max(1, int(math.Round(float64(page.Height)*scale)))

	img, err := shrinkPage(page, w, h)
	if err != nil {
		return nil, err
	}
	if req.Mark != nil {
		widthPt, heightPt := float64(page.Width)/page.DPIX*72, float64(page.Height)/page.DPIY*72
		drawMark(img, MarkPixels(*req.Mark, widthPt, heightPt, 0, w, h))
	}
	img = turn(img, rotate)
	quality := c.Quality
	if quality <= 0 || quality > 100 {
		quality = defaultQuality
	}
	data, err := encodeJPEG(img, quality)
	if err != nil {
		return nil, fmt.Errorf("encoding the preview: %w", err)
	}
	return &Preview{Data: data, Width: img.Rect.Dx(), Height: img.Rect.Dy()}, nil
}

// decode reads page (from 1) of src.
func (c *Cache) decode(src Source, page int) (*scan.Page, error) {
	// A preview is drawn from the page's pixels; the samples a PDF would embed are not made.
	opt := c.Scan
	opt.PixelsOnly = true
	doc, err := scan.Open(src.Path, opt)
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	if page > doc.NumPages {
		pages := fmt.Sprintf("%d pages", doc.NumPages)
		if doc.NumPages == 1 {
			pages = "one page"
		}
		return nil, fmt.Errorf("the scan has %s, so there is no page %d", pages, page)
	}
	p, err := doc.Page(page - 1)
	if err != nil {
		return nil, err
	}
	c.decoded.Add(1)
	return p, nil
}

// MarkPixels is where a rectangle on the page (points, the page's default
// user space, as Rect says) falls on a preview of it: widthPt × heightPt is
// the page's size in points before any turn, rotate the clockwise turn the
// preview shows, and w × h the preview's size in pixels as shown. The
// result is clipped to the preview.
func MarkPixels(r Rect, widthPt, heightPt float64, rotate, w, h int) image.Rectangle {
	rotate, _ = quarterTurns(rotate)
	uw, uh := w, h // the preview before its turn
	if rotate%180 != 0 {
		uw, uh = h, w
	}
	sx, sy := float64(uw)/widthPt, float64(uh)/heightPt
	// PDF's y grows upwards, a picture's downwards.
	x0, x1 := int(math.Round(r.X*sx)), int(math.Round((r.X+r.W)*sx))
	y0, y1 := int(math.Round((heightPt-r.Y-r.H)*sy)), int(math.Round((heightPt-r.Y)*sy))
	var out image.Rectangle
	switch rotate {
	case 90:
		out = image.Rect(uh-y1, x0, uh-y0, x1)
	case 180:
		out = image.Rect(uw-x1, uh-y1, uw-x0, uh-y0)
	case 270:
		out = image.Rect(y0, uw-x1, y1, uw-x0)
	default:
		out = image.Rect(x0, y0, x1, y1)
	}
	return out.Intersect(image.Rect(0, 0, w, h))
}

// The mark's box: a red like a seal's ink, translucent so the page under it
// stays readable (the operator checks that the mark covers no text), with
// a firmer outline.
var (
	markFill    = color.NRGBA{R: 200, G: 20, B: 20, A: 56}
	markOutline = color.NRGBA{R: 200, G: 20, B: 20, A: 220}
)

func drawMark(img *image.RGBA, r image.Rectangle) {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	line := max(1, min(img.Rect.Dx(), img.Rect.Dy())/300) // 2 px on a screen preview
	inner := r.Inset(line)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := markFill
			if !(image.Pt(x, y).In(inner)) {
				c = markOutline
			}
			i := img.PixOffset(x, y)
			p := img.Pix[i : i+3]
			a := uint32(c.A)
			p[0] = uint8((uint32(p[0])*(255-a) + uint32(c.R)*a + 127) / 255)
			p[1] = uint8((uint32(p[1])*(255-a) + uint32(c.G)*a + 127) / 255)
			p[2] = uint8((uint32(p[2])*(255-a) + uint32(c.B)*a + 127) / 255)
		}
	}
}

// turn returns img turned clockwise by rotate degrees (0, 90, 180 or 270).
func turn(img *image.RGBA, rotate int) *image.RGBA {
	if rotate == 0 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if rotate != 180 {
		out = image.NewRGBA(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			var o int
			switch rotate {
			case 90:
				o = out.PixOffset(h-1-y, x)
			case 180:
				o = out.PixOffset(w-1-x, h-1-y)
			case 270:
				o = out.PixOffset(y, w-1-x)
			}
			copy(out.Pix[o:o+4], row[4*x:4*x+4])
		}
	}
	return out
}

func quarterTurns(deg int) (int, bool) {
	if deg%90 != 0 {
		return 0, false
	}
	return ((deg % 360) + 360) % 360, true
}

func isFinite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
