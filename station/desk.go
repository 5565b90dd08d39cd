package station

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/message"

	"scanstation/certify"
	"scanstation/console"
	"scanstation/docmeta"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/ocr"
	"scanstation/outbox"
	"scanstation/preview"
	"scanstation/scan"
	"scanstation/verify"
)

// Desk is the station as the console sees it (console.Desk): what waits, a document's pages
// and record, previews, the review edits (review.go), the refused inputs and the month's
// figures. The console never opens a file itself: it names documents by journal id and
// refused inputs by a name Failed listed.
type Desk struct {
	s        *Station
	previews *preview.Cache

	marksMu  sync.Mutex
	marks    map[markKey]*preview.Rect // where the mark goes on page 1, by job and turn
	archived map[int64]string          // where a delivered document's original was found in the archive
}

type markKey struct {
	job         int64
	index, turn int
}

// NewDesk is the console's desk on s. Previews are made by previews, or, when nil, kept in
// the state folder's previews/.
func NewDesk(s *Station, previews *preview.Cache) *Desk {
	if previews == nil {
		previews = &preview.Cache{Dir: filepath.Join(s.config().Folders.State, "previews"), Scan: s.scanOptions(), Workers: 1}
	}
	return &Desk{s: s, previews: previews, marks: map[markKey]*preview.Rect{}, archived: map[int64]string{}}
}

var _ console.Desk = (*Desk)(nil)

// job reads job id, with the console's not-found.
func (d *Desk) job(ctx context.Context, id int64) (*journal.Job, error) {
	job, err := d.s.journal.Get(ctx, id)
	if errors.Is(err, journal.ErrNotFound) {
		return nil, fmt.Errorf("document %d: %w", id, console.ErrNotFound)
	}
	return job, err
}

// Queue is the station now: documents by state (unfinished ones, and those finished today),
// the token, the last errors and the documents waiting for review, oldest first.
func (d *Desk) Queue(ctx context.Context) (console.QueueView, error) {
	s := d.s
	v := console.QueueView{Counts: map[string]int{}}
	lines, err := s.journal.Queue(ctx)
	if err != nil {
		return v, err
	}
	for _, l := range lines {
		v.Counts[string(l.State)] = l.Count
	}
	now := time.Now().In(s.zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.zone)
	archived, failed, err := s.journal.FinishedSince(ctx, today)
	if err != nil {
		return v, err
	}
	v.Counts[string(journal.Archived)], v.Counts[string(journal.Failed)] = archived, failed
	v.Token = tokenView(s.TokenState())

	s.stopMu.Lock()
	stopped := s.stopReason
	s.stopMu.Unlock()
	if stopped != "" {
		v.Errors = append(v.Errors, console.ErrorView{At: now, Reason: s.printer().Sprintf("signing stopped: %s", stopped)})
	}
	s.waits.mu.Lock()
	for _, w := range s.waits.now {
		r := w.What
		if w.Err != "" {
			r += ": " + w.Err
		}
		v.Errors = append(v.Errors, console.ErrorView{At: w.Since, Reason: r})
	}
	s.waits.mu.Unlock()
	last, err := s.journal.LastFailed(ctx, 5)
	if err != nil {
		return v, err
	}
	for _, j := range last {
		v.Errors = append(v.Errors, console.ErrorView{At: j.Updated, Document: j.ID, Name: j.SourceName, Reason: j.Reason})
	}
	slices.SortStableFunc(v.Errors, func(a, b console.ErrorView) int { return b.At.Compare(a.At) })

	waiting, err := s.journal.InState(ctx, journal.AwaitingApproval)
	if err != nil {
		return v, err
	}
	for _, j := range waiting {
		if j.Reason != "" {
			continue // refused: on its way to failed/
		}
		v.Review = append(v.Review, console.DocumentItem{ID: j.ID, Name: j.SourceName, State: string(j.State),
			HotFolder: folderName(j.HotFolder), Pages: j.Pages, Updated: j.Updated.In(s.zone)})
	}
	// The console prints times in the zone it is given: the office's, as on the document page.
	for i := range v.Errors {
		v.Errors[i].At = v.Errors[i].At.In(s.zone)
	}
	return v, nil
}

// folderName is how the console names a hot-folder: by its folder's name, not its path on the
// station, which is the administrator's business.
func folderName(path string) string {
	if path == "" {
		return ""
	}
	return filepath.Base(path)
}

// tokenView maps the keeper's words onto the console's token states.
func tokenView(state string) console.TokenView {
	switch state {
	case "ready":
		return console.TokenView{State: console.TokenReady}
	case "waiting for token":
		return console.TokenView{State: console.TokenAbsent}
	case "not opened", "":
		return console.TokenView{State: console.TokenUnknown}
	}
	return console.TokenView{State: console.TokenError, Detail: state}
}

// recordOrder is the order the console's form shows the record in; other fields follow when
// they have a value.
var recordOrder = []string{"code_number", "code_notation", "issued_date", "organ_name", "type_name", "subject"}

// Document is everything the document page shows but the audit trail.
func (d *Desk) Document(ctx context.Context, id int64) (*console.DocumentView, error) {
	s := d.s
	job, err := d.job(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &console.DocumentView{ID: job.ID, Name: job.SourceName, State: string(job.State), HotFolder: folderName(job.HotFolder),
		Received: job.Created.In(s.zone), ApprovedBy: job.ApprovedBy, Reason: job.Reason, Warnings: WarningsIn(s.printer(), job)}
	if saved, err := s.loadSaved(job); err == nil {
		for k, p := range pagesOf(saved, job).Pages {
			v.Pages = append(v.Pages, console.PageView{Number: k + 1, Orientation: p.Orientation,
				OrientationConfidence: p.OrientationConfidence, Text: p.Text, MeanConfidence: p.MeanConfidence})
		}
	} else if kept, err := s.loadPages(job); err == nil {
		for k, p := range kept.Pages {
			v.Pages = append(v.Pages, console.PageView{Number: k + 1, Orientation: p.Orientation,
				OrientationConfidence: p.OrientationConfidence, Text: p.Text, MeanConfidence: p.MeanConfidence})
		}
	} else {
		for k := range job.Pages {
			v.Pages = append(v.Pages, console.PageView{Number: k + 1})
		}
	}
	m := metadataOf(job)
	problems := map[string][]string{}
	for _, p := range m.Validate() {
		problems[p.Field] = append(problems[p.Field], lang.Text{Format: p.Format, Args: p.Args}.In(s.printer()))
	}
	names := slices.Clone(recordOrder)
	for _, n := range docmeta.FieldNames {
		if f, _ := m.Get(n); !slices.Contains(names, n) && f.Known() {
			names = append(names, n)
		}
	}
	for _, n := range names {
		f, _ := m.Get(n)
		v.Record = append(v.Record, console.FieldView{Name: n, Value: f.Value, Confidence: f.Confidence, Source: f.Source,
			SuppliedBy: f.By, Problems: problems[n]})
	}
	if job.OutName != "" && (job.State == journal.Delivered || job.State == journal.Archived) {
		v.Verify = d.verify(ctx, filepath.Join(s.config().Folders.Outbox, job.OutName+".pdf"))
	}
	return v, nil
}

// verify judges the signed copy in the outbox against the station's own CA. Its words are a
// lang key where one says it all (the console prints it in the reader's language), else
// printed in the station's.
func (d *Desk) verify(ctx context.Context, path string) *console.VerifyView {
	p := d.s.printer()
	pdf, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &console.VerifyView{Indication: string(verify.Indeterminate), Words: "the signed copy is no longer in the outbox (sent or moved on); verify the copy where it is now"}
	}
	if err != nil {
		return &console.VerifyView{Indication: string(verify.Indeterminate), Words: p.Sprintf("cannot read the signed copy: %s", err.Error())}
	}
	cfg := d.s.config()
	opt := verify.Options{Anchors: d.s.anchors(), Inspect: certify.InspectOptions{TimeFormat: cfg.Mark.TimeFormat, Zone: d.s.zone, MaxClockSkew: cfg.Timestamp.MaxClockSkew}}
	r, err := verify.File(ctx, filepath.Base(path), pdf, opt)
	if err != nil {
		return &console.VerifyView{Indication: string(verify.TotalFailed), Words: err.Error()}
	}
	return &console.VerifyView{Indication: string(r.Indication), Words: verifyWords(p, r)}
}

// verifyWords says a verdict in plain words: what its sub-indication means (verify's own words
// about the certificate, in English, when it is none of the common ones), and what the copy
// lacks of the station's promises.
func verifyWords(p *message.Printer, r *verify.Report) string {
	words := r.Why
	switch {
	case r.Indication == verify.TotalPassed:
		words = "the signature is valid and the copy is as the station certified it"
	case r.SubIndication == verify.NoChainFound:
		words = "no trust anchor: the signer's certificate does not lead to a certificate the station trusts"
	case r.SubIndication == verify.ChainGeneralFailure && strings.Contains(r.Why, "no revocation data"):
		words = "no revocation data: the copy carries no proof that the signing certificate was not revoked (a B-LT copy does)"
	case r.SubIndication == verify.OutOfBoundsNoPOE:
		words = "no proof of time: the signing certificate has expired and no timestamp proves the signature was made while it was valid"
	case r.SubIndication == verify.NotYetValid:
		words = "the signing certificate was not yet valid when the copy was signed"
	case r.SubIndication == verify.RevokedNoPOE:
		words = "the signing certificate was revoked, and no timestamp proves the signature was made before"
	case r.SubIndication == verify.HashFailure:
		words = "changed after signing: the file is not the copy that was signed"
	case r.SubIndication == verify.SigCryptoFailure:
		words = "the signature does not check out: the file is damaged or was not signed with this certificate"
	case r.SubIndication == verify.FormatFailure:
		words = "a change made after the certification is one it does not allow"
	case r.SubIndication == "" && len(r.Copy) > 0:
		words = "" // the copy's problems alone
	}
	if len(r.Copy) == 0 {
		return words
	}
	lacks := p.Sprintf("the certified copy lacks what the station puts in it: %s", strings.Join(r.Copy, "; "))
	if words == "" || r.Indication == verify.TotalPassed {
		return lacks
	}
	if lang.Has(words) {
		words = p.Sprintf(words)
	}
	return words + "; " + lacks
}

// anchors are the self-signed CA certificates of signing.chain_file, with the system's.
func (s *Station) anchors() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	data, err := os.ReadFile(s.config().Signing.ChainFile)
	if err != nil {
		return pool
	}
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil && bytes.Equal(c.RawSubject, c.RawIssuer) {
			pool.AddCert(c)
		}
	}
	return pool
}

// Preview is page (from 1) of document id as it will be certified: turned the way OCR or the
// clerk found it reads, dropped pages left out, the mark drawn on page 1.
func (d *Desk) Preview(ctx context.Context, id int64, page, width int) ([]byte, string, error) {
	s := d.s
	job, err := d.job(ctx, id)
	if err != nil {
		return nil, "", err
	}
	src, err := d.original(ctx, job)
	if err != nil {
		return nil, "", err
	}
	req := preview.Request{Page: page, Width: width}
	index, turn, turned := page-1, 0, false
	kept, err := s.loadPages(job)
	if saved, serr := s.loadSaved(job); serr == nil {
		kept, err = pagesOf(saved, job), nil
	}
	if err == nil {
		if page < 1 || page > len(kept.Pages) {
			return nil, "", fmt.Errorf("the document has %d page(s), not a page %d: %w", len(kept.Pages), page, console.ErrNotFound)
		}
		kp := kept.Pages[page-1]
		index, turn, turned = kp.Index, kp.Orientation, kp.Turned
	} else {
		if page < 1 || page > max(job.Pages, 1) {
			return nil, "", fmt.Errorf("document %d has %d page(s), not a page %d: %w", id, job.Pages, page, console.ErrNotFound)
		}
		if job.Batch != 0 && page <= len(job.BatchPages) {
			index = job.BatchPages[page-1] - 1
		}
	}
	req.Page = index + 1
	req.Rotate, req.IgnorePageRotate = turn, turned
	if page == 1 {
		// A page decoded to place the mark is drawn from too, not decoded again.
		if r, decoded, err := d.markOf(job, src.Path, index, turn, turned); err == nil {
			req.Mark, req.Decoded = r, decoded
		} else {
			s.log.Warn("cannot place the mark on the preview", "job", job.ID, "err", err)
		}
	}
	p, err := d.previews.Page(ctx, src, req)
	if err != nil {
		return nil, "", err
	}
	return p.Data, preview.ContentType, nil
}

// original is the scan a document's pages are drawn from: in the spool while the station has
// it, in the archive once it was delivered (outbox.Move names it as the scan was named, or
// name-N.ext beside one of that name: the one of the job's size and SHA-256).
func (d *Desk) original(ctx context.Context, job *journal.Job) (preview.Source, error) {
	if job.Spool != "" && exists(job.Spool) {
		return preview.Source{Path: job.Spool, SHA256: job.SourceSHA256}, nil
	}
	// A batch's document is drawn from the batch's original, archived under the batch's name.
	name, size, sum := job.SourceName, job.SourceSize, job.SourceSHA256
	if job.Batch != 0 {
		batch, err := d.s.journal.Get(ctx, job.Batch)
		if err != nil {
			return preview.Source{}, fmt.Errorf("the batch of document %d: %w", job.ID, err)
		}
		name, size, sum = batch.SourceName, batch.SourceSize, batch.SourceSHA256
	}
	d.marksMu.Lock()
	path, ok := d.archived[job.ID]
	d.marksMu.Unlock()
	if ok && exists(path) {
		return preview.Source{Path: path, SHA256: sum}, nil
	}
	dir := d.s.config().Folders.Archive
	if dir != "" && name != "" && sum != "" {
		ext := filepath.Ext(name)
		others, _ := filepath.Glob(filepath.Join(dir, globEscape(strings.TrimSuffix(name, ext))+"-*"+globEscape(ext)))
		for _, path := range append([]string{filepath.Join(dir, name)}, others...) {
			info, err := os.Stat(path)
			if err != nil || !info.Mode().IsRegular() || info.Size() != size {
				continue
			}
			if f, err := fileDigest(path); err == nil && f.sum == sum {
				d.marksMu.Lock()
				if len(d.archived) > 1000 {
					clear(d.archived)
				}
				d.archived[job.ID] = path
				d.marksMu.Unlock()
				return preview.Source{Path: path, SHA256: sum}, nil
			}
		}
	}
	return preview.Source{}, fmt.Errorf("document %d: its scan is neither in the spool nor in the archive as %s: %w", job.ID, name, console.ErrNotFound)
}

// globEscape keeps a file name's glob characters literal.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// keptPages is what the document page shows of a document's pages once its work files are
// gone (removeWork): per page, what the reading held but the word boxes. Kept as
// <id>.pages.json in the state folder's pages/, outside the spool and work folders the
// journal's identity check and rebuild look at; SourceSHA256 tells a record of another
// journal's job of the same number (after a rebuild) from this job's.
type keptPages struct {
	SourceSHA256 string     `json:"source_sha256"`
	Pages        []keptPage `json:"pages"`
}

type keptPage struct {
	Index                 int     `json:"index"` // 0-based page of the scan
	Orientation           int     `json:"orientation"`
	OrientationConfidence float64 `json:"orientation_confidence"`
	Turned                bool    `json:"turned"` // Orientation was decided (by OCR or a person), not the file's own
	Text                  string  `json:"text"`
	MeanConfidence        float64 `json:"mean_confidence"` // of the words, 0..100
}

// pagesOf is a reading as the document page shows it.
func pagesOf(saved *savedRecognition, job *journal.Job) *keptPages {
	k := &keptPages{SourceSHA256: job.SourceSHA256}
	for _, p := range saved.Pages {
		res := &ocr.Result{Words: p.Words}
		k.Pages = append(k.Pages, keptPage{Index: p.Index, Orientation: p.Orientation, OrientationConfidence: p.OrientationConfidence,
			Turned: len(p.Words) > 0 || p.OrientationConfidence == 1, Text: res.Text(), MeanConfidence: meanConfidence([]*ocr.Result{res})})
	}
	return k
}

func (s *Station) pagesDir() string { return filepath.Join(s.config().Folders.State, "pages") }

// keepPages writes the pages record of a signed job from its reading, before removeWork
// removes the reading. A document never signed has nothing to show later.
func (s *Station) keepPages(job *journal.Job) {
	if job.SignedAt.IsZero() || exists(filepath.Join(s.pagesDir(), fmt.Sprintf("%d.pages.json", job.ID))) {
		return
	}
	saved, err := s.loadSaved(job)
	if err != nil {
		return // removed by an earlier removeWork: the record was written then
	}
	data, err := json.Marshal(pagesOf(saved, job))
	if err == nil {
		if err = os.MkdirAll(s.pagesDir(), 0o700); err == nil {
			err = outbox.WriteFileAtomic(s.pagesDir(), fmt.Sprintf("%d.pages.json", job.ID), data, 0o600)
		}
	}
	if err != nil {
		s.log.Warn("cannot keep the recognised text of a signed document for the console", "job", job.ID, "err", err)
	}
}

// loadPages reads the pages record keepPages wrote for job.
func (s *Station) loadPages(job *journal.Job) (*keptPages, error) {
	path := filepath.Join(s.pagesDir(), fmt.Sprintf("%d.pages.json", job.ID))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k keptPages
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("the pages record %s is damaged: %w", path, err)
	}
	if k.SourceSHA256 != job.SourceSHA256 {
		return nil, fmt.Errorf("the pages record %s is of another scan (an older journal's job %d)", path, job.ID)
	}
	return &k, nil
}

// warmEvery is how often Warm looks for documents newly waiting for review.
const warmEvery = 2 * time.Second

// Warm makes the previews the document page shows (every page at screen width, the mark on
// page 1) of each document waiting for review, soon after it starts waiting and again after
// an edit, until ctx ends. The first preview of a 300 dpi colour page costs about half a
// second of decoding (docs/benchmarks.md), better spent before anyone looks than while a
// clerk waits for the page. One page at a time, in one goroutine, so OCR keeps the other
// CPUs; the preview cache's Workers bound the decodes it shares with the console's requests.
func (d *Desk) Warm(ctx context.Context) {
	warmed := map[int64]time.Time{} // by job, its Updated when its previews were made
	tick := time.NewTicker(warmEvery)
	defer tick.Stop()
	for {
		waiting, err := d.s.journal.InState(ctx, journal.AwaitingApproval)
		if err != nil && ctx.Err() == nil {
			d.s.log.Warn("cannot list the documents waiting for review to make their previews", "err", err)
		}
		next := make(map[int64]time.Time, len(waiting))
		for i := range waiting {
			job := &waiting[i]
			if job.Reason != "" {
				continue // refused: on its way to failed/
			}
			if at, ok := warmed[job.ID]; !ok || !at.Equal(job.Updated) {
				d.warm(ctx, job)
			}
			if ctx.Err() != nil {
				return
			}
			next[job.ID] = job.Updated
		}
		warmed = next
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// warm makes the previews of one waiting document. A page that cannot be shown is shown with
// its reason when asked for; nothing is said here.
func (d *Desk) warm(ctx context.Context, job *journal.Job) {
	pages := job.Pages
	if saved, err := d.s.loadSaved(job); err == nil {
		pages = len(saved.Pages)
	}
	for page := 1; page <= pages && ctx.Err() == nil; page++ {
		if _, _, err := d.Preview(ctx, job.ID, page, preview.Screen); err != nil {
			d.s.log.Debug("cannot make a preview ahead", "job", job.ID, "page", page, "err", err)
		}
	}
}

// markOf is where the mark will go on page 1 (scan page index, turned as given), as the
// certifier of the job's hot-folder places it now, and the page when it was decoded for it
// (nil when the place was known).
func (d *Desk) markOf(job *journal.Job, path string, index, turn int, turned bool) (*preview.Rect, *scan.Page, error) {
	key := markKey{job: job.ID, index: index, turn: turn}
	d.marksMu.Lock()
	r, ok := d.marks[key]
	d.marksMu.Unlock()
	if ok {
		return r, nil, nil
	}
	// Only the page's size and ink are wanted, not the samples a PDF embeds.
	opt := d.s.scanOptions()
	opt.PixelsOnly = true
	doc, err := scan.Open(path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer doc.Close()
	p, err := doc.Page(index)
	if err != nil {
		return nil, nil, err
	}
	rotate := p.Rotate
	if turned {
		rotate = turn
	}
	prof := d.s.profile(job)
	certifier := *d.s.certifier.Load()
	certifier.Mark.CopyLabel = prof.CopyLabel
	certifier.Mark.Profile = markProfile(prof.Mark)
	place, err := certifier.MarkPlacement(certify.Page1{WidthPt: float64(p.Width) / p.DPIX * 72, HeightPt: float64(p.Height) / p.DPIY * 72, Rotate: rotate, Ink: p.Thumb})
	if err != nil {
		return nil, nil, err
	}
	rect := preview.Corners(place.Rect)
	d.marksMu.Lock()
	if len(d.marks) > 1000 {
		clear(d.marks)
	}
	d.marks[key] = &rect
	d.marksMu.Unlock()
	return &rect, p, nil
}

// Failed lists the refused inputs in failed/, newest first.
func (d *Desk) Failed(ctx context.Context) ([]console.FailedView, error) {
	dir := d.s.config().Folders.Failed
	names, err := failedNames(dir)
	if err != nil {
		return nil, err
	}
	jobs, err := d.s.journal.LastFailed(ctx, 500)
	if err != nil {
		return nil, err
	}
	var out []console.FailedView
	for _, name := range names {
		v := console.FailedView{Name: name}
		path := filepath.Join(dir, name)
		if info, err := os.Stat(path); err == nil {
			v.At = info.ModTime()
		}
		// The journal's words are the station's own (message keys the console translates);
		// the reason file, in the station's language, serves an input the journal lost.
		if job := failedJob(jobs, name); job != nil {
			v.HotFolder, v.Stage, v.Reason, v.At = folderName(job.HotFolder), job.FailedStage, job.Reason, job.Updated
		} else if exists(path + ".error.txt") {
			var read journal.Job
			readReason(&read, path+".error.txt")
			v.Stage, v.Reason = read.FailedStage, read.Reason
			if !read.Created.IsZero() {
				v.At = read.Created
			}
		}
		if doc, err := scan.Open(path, d.s.scanOptions()); err == nil {
			v.Pages = doc.NumPages
			doc.Close()
		}
		v.At = v.At.In(d.s.zone)
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b console.FailedView) int { return b.At.Compare(a.At) })
	return out, nil
}

// failedNames are the inputs in failed/: not reason files, metadata sidecars, hidden or
// temporary files.
func failedNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the failed folder %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		ext := strings.ToLower(filepath.Ext(n))
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".error.txt") ||
			strings.HasSuffix(n, ".discarded.txt") || ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".tmp" {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// failedJob is the newest refused job whose original went to failed/ as name.
func failedJob(jobs []journal.Job, name string) *journal.Job {
	for i := range jobs {
		if jobs[i].SourceName == name {
			return &jobs[i]
		}
	}
	base := strings.TrimSuffix(name, filepath.Ext(name))
	for i := range jobs {
		// Taken as name-1.pdf when name.pdf was there already.
		jb := strings.TrimSuffix(jobs[i].SourceName, filepath.Ext(jobs[i].SourceName))
		if filepath.Ext(jobs[i].SourceName) == filepath.Ext(name) && strings.HasPrefix(base, jb+"-") {
			return &jobs[i]
		}
	}
	return nil
}

// failedPath is the path of a name Failed lists, or ErrNotFound.
func (d *Desk) failedPath(name string) (string, error) {
	dir := d.s.config().Folders.Failed
	names, err := failedNames(dir)
	if err != nil {
		return "", err
	}
	if !slices.Contains(names, name) {
		return "", fmt.Errorf("%q is not in the failed folder: %w", name, console.ErrNotFound)
	}
	return filepath.Join(dir, name), nil
}

// FailedPreview is a page of a refused input, as it is.
func (d *Desk) FailedPreview(ctx context.Context, name string, page, width int) ([]byte, string, error) {
	path, err := d.failedPath(name)
	if err != nil {
		return nil, "", err
	}
	p, err := d.previews.Page(ctx, preview.Source{Path: path}, preview.Request{Page: page, Width: width})
	if err != nil {
		return nil, "", err
	}
	return p.Data, preview.ContentType, nil
}

// Retry puts a refused input back into the hot-folder it came from, where the station takes
// it as a new input, with its metadata sidecar. Its reason file is removed, so failed/ lists
// it no more; the reason stays in the audit trail.
func (d *Desk) Retry(ctx context.Context, name string, by console.User) error {
	if err := mayEdit(by); err != nil {
		return err
	}
	path, err := d.failedPath(name)
	if err != nil {
		return err
	}
	jobs, err := d.s.journal.LastFailed(ctx, 500)
	if err != nil {
		return err
	}
	job := failedJob(jobs, name)
	if job == nil || job.HotFolder == "" {
		return fmt.Errorf("the station does not know which hot-folder %s came from; move it back by hand", name)
	}
	dir := filepath.Dir(job.Source)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("the hot-folder %s of %s: %w", dir, name, err)
	}
	e := journal.AuditEntry{User: by.Name, Role: string(by.Role), Action: actionRetry, Job: job.ID, Subject: name,
		Detail: auditDetail{Reason: d.s.printer().Sprintf("put back into %s (it had been refused: %s)", dir, job.Reason)}.json()}
	// Recorded first: an input back in its hot-folder without a record of who put it there
	// would be a new scan nobody made.
	if err := d.s.journal.Record(ctx, e); err != nil {
		return err
	}
	moveSidecarOf(path, dir, job.SourceName)
	if _, err := outbox.Move(path, dir, job.SourceName); err != nil {
		return fmt.Errorf("put %s back into %s: %w", name, dir, err)
	}
	if err := os.Remove(path + ".error.txt"); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.s.log.Warn("cannot remove the reason file of a retried input", "file", path+".error.txt", "err", err)
	}
	d.s.log.Info("refused input put back into its hot-folder", "file", name, "hot_folder", dir, "by", by.Name)
	return nil
}

// moveSidecarOf moves the metadata sidecar of a scan at path (name.yaml beside it) to dir as
// the sidecar of scanName.
func moveSidecarOf(path, dir, scanName string) {
	side, ok, err := docmeta.SidecarPath(path)
	if err != nil || !ok {
		return
	}
	outbox.Move(side, dir, strings.TrimSuffix(scanName, filepath.Ext(scanName))+filepath.Ext(side))
}

// Discard moves a refused input with its reason file to discarded/, with a note of who put
// it aside and why. Nothing is deleted.
func (d *Desk) Discard(ctx context.Context, name, reason string, by console.User) error {
	if err := mayEdit(by); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("say why the file is put aside: the reason is kept beside it")
	}
	path, err := d.failedPath(name)
	if err != nil {
		return err
	}
	dir := d.s.config().Folders.Discarded
	if dir == "" {
		dir = filepath.Join(filepath.Dir(d.s.config().Folders.Failed), "discarded")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create the discarded folder: %w", err)
	}
	var jobID int64
	if jobs, err := d.s.journal.LastFailed(ctx, 500); err == nil {
		if job := failedJob(jobs, name); job != nil {
			jobID = job.ID
		}
	}
	e := journal.AuditEntry{User: by.Name, Role: string(by.Role), Action: actionDiscard, Job: jobID, Subject: name,
		Detail: auditDetail{Reason: reason}.json()}
	if err := d.s.journal.Record(ctx, e); err != nil {
		return err
	}
	dst, err := outbox.Move(path, dir, name)
	if err != nil {
		return fmt.Errorf("move %s to %s: %w", name, dir, err)
	}
	if exists(path + ".error.txt") {
		if _, err := outbox.Move(path+".error.txt", dir, filepath.Base(dst)+".error.txt"); err != nil {
			d.s.log.Warn("cannot move the reason file with its input", "file", path+".error.txt", "err", err)
		}
	}
	moveSidecarOf(path, dir, filepath.Base(dst))
	note := fmt.Sprintf("Put aside by %s (%s) on %s.\nReason: %s\nThe file was refused by the station; it is kept here and never deleted.\n",
		by.Name, by.Role, time.Now().In(d.s.zone).Format("2006-01-02 15:04:05 -07:00"), reason)
	if err := outbox.WriteFileAtomic(dir, filepath.Base(dst)+".discarded.txt", []byte(note), 0o640); err != nil {
		return fmt.Errorf("write why %s was put aside: %w", name, err)
	}
	return nil
}

// Report is the month's figures per hot-folder, the same journal.Month `scanstation report`
// prints.
func (d *Desk) Report(ctx context.Context, month time.Time) (console.ReportView, error) {
	m := month.In(d.s.zone)
	r, err := d.s.journal.Month(ctx, m.Year(), m.Month(), d.s.zone)
	if err != nil {
		return console.ReportView{}, err
	}
	v := console.ReportView{Month: r.From.In(d.s.zone), Total: folderFigures(r.Total)}
	for _, f := range r.Folders {
		v.Folders = append(v.Folders, folderFigures(f))
	}
	return v, nil
}

// ReportCSV writes the month as `scanstation report --format csv` prints it, but with each
// hot-folder by its folder's name, as Report gives it to the console.
func (d *Desk) ReportCSV(ctx context.Context, month time.Time, w io.Writer) error {
	m := month.In(d.s.zone)
	r, err := d.s.journal.Month(ctx, m.Year(), m.Month(), d.s.zone)
	if err != nil {
		return err
	}
	for i := range r.Folders {
		r.Folders[i].HotFolder = folderName(r.Folders[i].HotFolder)
	}
	return journal.WriteMonthCSV(w, r.From.In(d.s.zone).Format("2006-01"), r)
}

func folderFigures(f journal.Figures) console.FolderFigures {
	return console.FolderFigures{HotFolder: folderName(f.HotFolder), Received: f.Received, Digitised: f.Digitised, Pages: f.Pages,
		Signed: f.Signed, Refused: f.Refused, RefusedBy: f.RefusedBy, ToSignature: f.ToSignature}
}
