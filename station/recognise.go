package station

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"scanstation/capture"
	"scanstation/certify"
	"scanstation/certify/pdfa"
	"scanstation/certify/quality"
	"scanstation/config"
	"scanstation/docmeta"
	"scanstation/internal/crashpoint"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/ocr"
	"scanstation/outbox"
	"scanstation/scan"
)

// recognition is a document's pages with their words: everything needed to build its PDF/A.
type recognition struct {
	pages   []pdfa.Page
	results []*ocr.Result
	facts   []quality.PageFacts
	thumbs  []*image.Gray
	codes   [][]string // the barcodes and QR codes read from each page, when asked for
}

// savedRecognition is what a document waiting for approval keeps of its OCR, so approving it
// later does not run Tesseract again.
type savedRecognition struct {
	Pages []savedPage `json:"pages"`
}

type savedPage struct {
	Index       int        `json:"index"` // 0-based page of the scan (dropped blank pages are absent)
	Words       []ocr.Word `json:"words"`
	Orientation int        `json:"orientation"`
	Skew        float64    `json:"skew"`
	// OrientationConfidence is OCR's confidence in Orientation, 0..1.
	OrientationConfidence float64  `json:"orientation_confidence"`
	Codes                 []string `json:"codes,omitempty"` // codes read from the page (a batch's pages)
}

// page1Info is what signing needs of page 1 for the certification mark; kept next to the built
// PDF so a restart or a later approval can sign without decoding the scan again.
type page1Info struct {
	WidthPt  float64 `json:"width_pt"`
	HeightPt float64 `json:"height_pt"`
	Rotate   int     `json:"rotate"`
}

// recognise decodes the pages, recognises them on the OCR pool, applies the hot-folder's
// quality rules, and then either builds the unsigned PDF/A (built) or, in approval mode,
// keeps the OCR and a preview for the clerk (awaiting approval).
func (s *Station) recognise(ctx context.Context, job *journal.Job, progress Progress) error {
	started := time.Now()
	doc, err := scan.Open(job.Spool, s.scanOptions())
	if err != nil {
		return &stageError{"decode", withName(err, job)}
	}
	defer doc.Close()
	indexes := make([]int, doc.NumPages)
	for i := range indexes {
		indexes[i] = i
	}
	var saved map[int]savedPage
	if job.Batch != 0 {
		// A document of a batch: its own pages, read when the batch was divided.
		if indexes, saved, err = s.documentPages(job); err != nil {
			return &stageError{"capture", err}
		}
	}
	rec, err := s.recognisePages(ctx, job, doc, indexes, saved, progress, false)
	if err != nil {
		return err
	}
	ocrTime := time.Since(started)

	prof := s.profile(job)
	verdict := quality.Check(rec.facts, rules(prof))
	var warnings []string
	var failures []any
	for _, f := range verdict.Findings {
		warnings = append(warnings, warning{Kind: f.Rule, Page: f.Page, Text: lang.Text{Format: f.Format, Args: f.Args}}.String())
		if f.Fails {
			failures = append(failures, lang.Text{Format: f.Format, Args: f.Args})
		}
	}
	// The reason names only what failed; a note such as a blank page kept is not a reason.
	if verdict.Failed() && prof.OnFail == "reject" {
		list := lang.Text{Format: strings.Repeat("\n  %s", len(failures))[1:], Args: failures}
		return &stageError{"quality", refuse("%s does not meet the scanning rules:\n%s", job.SourceName, list)}
	}
	rec = rec.without(verdict.Drop)
	if len(rec.pages) == 0 {
		return &stageError{"quality", refuse("%s has only blank pages", job.SourceName)}
	}
	if job.Batch == 0 {
		if err := s.checkPageCount(job, rec, rules(prof)); err != nil {
			return err
		}
	}

	meta, metaWarnings, err := s.describe(job, rec)
	if err != nil {
		return err
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return &stageError{"metadata", err}
	}
	job.Metadata = string(metaJSON)
	warnings = append(warnings, metaWarnings...)

	job.Pages = len(rec.pages)
	job.MeanConfidence = meanConfidence(rec.results)
	job.Warnings = strings.Join(warnings, "\n")
	job.Operator = s.operatorOf(job)
	job.ConvertedAt = time.Now().In(s.zone).Truncate(time.Second)
	if job.StageTimes == nil {
		job.StageTimes = map[string]time.Duration{}
	}
	job.StageTimes[journal.StageOCR] = ocrTime
	s.metrics.Stage(journal.StageOCR, "ok", job.Pages, ocrTime)
	s.metrics.Confidence(job.MeanConfidence)

	// A page the certification mark cannot go on is refused now, not after a clerk approved it.
	certifier := *s.certifier.Load()
	certifier.Mark.CopyLabel = prof.CopyLabel
	certifier.Mark.Profile = markProfile(prof.Mark)
	if err := certifier.CheckMark(page1Of(rec)); err != nil {
		return &stageError{"mark", err}
	}

	unsure := unsureOrientation(rec, orientationThreshold(prof))
	if len(unsure) > 0 {
		job.Warnings = strings.Join(append(warnings, unsure...), "\n")
	}
	if prof.Approval == "required" || len(unsure) > 0 {
		return s.holdForApproval(ctx, job, rec)
	}
	return s.build(ctx, job, rec)
}

// checkPageCount refuses a scan whose sidecar gives a page count (pages: 12) it does not
// hold, in capture's words. Blank pages are not counted: the paper's count is of pages with
// something on them.
func (s *Station) checkPageCount(job *journal.Job, rec *recognition, r quality.Rules) error {
	want, err := docmeta.SuppliedPages(job.Spool)
	if err != nil {
		return &stageError{"metadata", fmt.Errorf("%s: %w", job.SourceName, err)}
	}
	if want == 0 {
		return nil
	}
	pages := make([]capture.Page, len(rec.facts))
	for i, f := range rec.facts {
		pages[i] = capture.Page{Blank: r.Blank(f), Ink: f.Ink}
	}
	b, err := capture.Split(pages, capture.Settings{Separate: capture.None, Pages: want})
	if err != nil {
		return &stageError{"capture", fmt.Errorf("%s: %w", job.SourceName, err)}
	}
	if why := b.Documents[0].Why; why.Format != "" {
		return &stageError{"capture", refuse("%s: %s", job.SourceName, why)}
	}
	return nil
}

// orientationThreshold is the hot-folder's review_orientation_below: 0 takes OCR's measured
// default, a negative value turns the review off.
func orientationThreshold(prof config.HotFolder) float64 {
	if prof.ReviewOrientationBelow == 0 {
		return ocr.ReviewOrientationBelow
	}
	return prof.ReviewOrientationBelow
}

// unsureOrientation says which pages OCR turned without being sure which way up they read: a
// clerk looks at them before they are signed. A page without words has nothing to turn by.
func unsureOrientation(rec *recognition, below float64) []string {
	var unsure []string
	for k, r := range rec.results {
		if len(r.Words) > 0 && r.OrientationConfidence < below {
			unsure = append(unsure, warning{Kind: warnOrientation, Page: rec.facts[k].Number,
				Text: lang.T("page %d: the station is not sure which way up it reads (orientation %d°, confidence %.2f, below %.2f); a clerk checks it before it is signed",
					rec.facts[k].Number, r.Orientation, r.OrientationConfidence, below)}.String())
		}
	}
	return unsure
}

// page1Of is what the mark needs of a recognised document's page 1.
func page1Of(rec *recognition) certify.Page1 {
	p := rec.pages[0]
	return certify.Page1{
		WidthPt:  float64(p.Image.Width) / p.Image.DPIX * 72,
		HeightPt: float64(p.Image.Height) / p.Image.DPIY * 72,
		Rotate:   p.Rotate,
		Ink:      rec.thumbs[0],
	}
}

// recognisePages decodes the given pages of doc and recognises them in parallel, or takes
// their words from saved (approval mode) instead of running OCR again.
// With readCodes, the barcodes and QR codes of each page are read first, and a page that is
// a separator sheet is not recognised: no part of it goes into a document.
func (s *Station) recognisePages(ctx context.Context, job *journal.Job, doc *scan.Document, indexes []int, saved map[int]savedPage, progress Progress, readCodes bool) (*recognition, error) {
	n := len(indexes)
	rec := &recognition{
		pages:   make([]pdfa.Page, n),
		results: make([]*ocr.Result, n),
		facts:   make([]quality.PageFacts, n),
		thumbs:  make([]*image.Gray, n),
		codes:   make([][]string, n),
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	// A decoded page is held from its decoding until its OCR ends: tens of MB for a colour
	// page. The daemon's documents in flight share one set of slots (Run), so it holds one
	// page per engine and one more decoded ahead, however many documents are open.
	slots := pageSlots(ctx, s.config().OCRWorkers()+1)
	for k, i := range indexes {
		if !takeSlot(ctx, slots) {
			break
		}
		page, err := doc.Page(i)
		if err != nil {
			<-slots
			setErr(&stageError{"decode", withName(err, job)})
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			var res *ocr.Result
			var codes []string
			if sp, ok := saved[i]; ok {
				res = &ocr.Result{Words: sp.Words, Orientation: sp.Orientation, Skew: sp.Skew, OrientationConfidence: sp.OrientationConfidence}
				codes = sp.Codes
			} else {
				if readCodes {
					codes = pageCodes(page)
				}
				if slices.ContainsFunc(codes, capture.IsSheet) {
					res = &ocr.Result{} // a separator sheet: its words are in no document
				} else {
					var err error
					if res, err = s.ocr.Recognize(ctx, page.OCRImage); err != nil {
						setErr(&stageError{"ocr", fmt.Errorf("page %d of %s: %w", i+1, job.SourceName, err)})
						return
					}
				}
			}
			page.OCRImage = nil
			mu.Lock()
			defer mu.Unlock()
			rec.results[k] = res
			rec.pages[k] = pdfaPage(page, res)
			rec.thumbs[k] = page.Thumb
			rec.codes[k] = codes
			rec.facts[k] = quality.PageFacts{
				Number: i + 1, Width: page.Width, Height: page.Height,
				DPIX: page.DPIX, DPIY: page.DPIY, DPIKnown: page.DPIKnown,
				ColorDepth: page.ColorDepth, Ink: quality.Ink(page.Thumb), Words: len(res.Words),
				JBIG2Symbols: page.JBIG2Symbols,
			}
			done++
			if progress != nil {
				progress(job.Source, done, n, res.MeanConfidence)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rec, nil
}

// pageSlotsKey carries the daemon's decoded-page slots from Run, through each document's
// stages, to recognisePages.
type pageSlotsKey struct{}

// withPageSlots makes every recognisePages under ctx take its pages' slots from one channel
// of n: at most n pages are decoded and not yet recognised at a time, in all documents
// together. Measured on 300 dpi A4 colour pages, slots per document let three documents hold
// nine decoded pages at once (docs/ocr-memory.md, "Daemon memory").
func withPageSlots(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, pageSlotsKey{}, make(chan struct{}, n))
}

// pageSlots are the slots Run shared through ctx, or n of the caller's own (process, approve,
// tests: one document at a time).
func pageSlots(ctx context.Context, n int) chan struct{} {
	if slots, ok := ctx.Value(pageSlotsKey{}).(chan struct{}); ok {
		return slots
	}
	return make(chan struct{}, n)
}

// takeSlot waits for a slot; false, with no slot taken, once ctx has ended. A slot taken as
// ctx ended is given back: the slots outlive the document.
func takeSlot(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if ctx.Err() != nil {
		<-slots
		return false
	}
	return true
}

// without returns the recognition without the given 1-based page numbers.
func (r *recognition) without(drop []int) *recognition {
	if len(drop) == 0 {
		return r
	}
	kept := &recognition{}
	for k, f := range r.facts {
		if slices.Contains(drop, f.Number) {
			continue
		}
		kept.pages = append(kept.pages, r.pages[k])
		kept.results = append(kept.results, r.results[k])
		kept.facts = append(kept.facts, f)
		kept.thumbs = append(kept.thumbs, r.thumbs[k])
		kept.codes = append(kept.codes, r.codes[k])
	}
	return kept
}

// build writes the unsigned PDF/A and what the mark needs of page 1 into the work folder.
func (s *Station) build(ctx context.Context, job *journal.Job, rec *recognition) error {
	started := time.Now()
	pdf, err := s.buildPDF(job, rec)
	if err != nil {
		return &stageError{"build", err}
	}
	if err := s.savePage1(job, rec); err != nil {
		return &stageError{"build", err}
	}
	name := fmt.Sprintf("%d.built.pdf", job.ID)
	if err := outbox.WriteFileAtomic(s.workDir, name, pdf, 0o600); err != nil {
		return &stageError{"build", fmt.Errorf("save the built copy: %w", err)}
	}
	job.Work = filepath.Join(s.workDir, name)
	job.StageTimes[journal.StageBuild] = time.Since(started)
	s.metrics.Stage(journal.StageBuild, "ok", job.Pages, job.StageTimes[journal.StageBuild])
	job.State = journal.Built
	return s.recordJob(ctx, job)
}

// buildPDF writes the unsigned PDF/A of a recognised job with its conversion record.
func (s *Station) buildPDF(job *journal.Job, rec *recognition) ([]byte, error) {
	doc := &pdfa.Document{Pages: rec.pages, Title: job.SourceName, Creator: "scanstation"}
	return s.certifier.Load().Build(doc, s.conversionRecord(job))
}

func (s *Station) savePage1(job *journal.Job, rec *recognition) error {
	p1 := page1Of(rec)
	info := page1Info{WidthPt: p1.WidthPt, HeightPt: p1.HeightPt, Rotate: p1.Rotate}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := outbox.WriteFileAtomic(s.workDir, fmt.Sprintf("%d.page1.json", job.ID), data, 0o600); err != nil {
		return err
	}
	if rec.thumbs[0] == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, rec.thumbs[0]); err != nil {
		return err
	}
	return outbox.WriteFileAtomic(s.workDir, fmt.Sprintf("%d.page1.png", job.ID), buf.Bytes(), 0o600)
}

func (s *Station) loadPage1(job *journal.Job) (certify.Page1, error) {
	var info page1Info
	data, err := os.ReadFile(filepath.Join(s.workDir, fmt.Sprintf("%d.page1.json", job.ID)))
	if err != nil {
		return certify.Page1{}, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return certify.Page1{}, err
	}
	p1 := certify.Page1{WidthPt: info.WidthPt, HeightPt: info.HeightPt, Rotate: info.Rotate}
	if f, err := os.Open(filepath.Join(s.workDir, fmt.Sprintf("%d.page1.png", job.ID))); err == nil {
		defer f.Close()
		if img, err := png.Decode(f); err == nil {
			if g, ok := img.(*image.Gray); ok {
				p1.Ink = g
			}
		}
	}
	return p1, nil
}

// holdForApproval keeps the OCR for the later build and puts an unsigned preview where the
// clerk reviews it; the job then waits for `scanstation approve` or `reject`.
func (s *Station) holdForApproval(ctx context.Context, job *journal.Job, rec *recognition) error {
	saved := savedRecognition{}
	for k, f := range rec.facts {
		r := rec.results[k]
		saved.Pages = append(saved.Pages, savedPage{Index: f.Number - 1, Words: r.Words, Orientation: r.Orientation, Skew: r.Skew,
			OrientationConfidence: r.OrientationConfidence, Codes: rec.codes[k]})
	}
	data, err := json.Marshal(saved)
	if err != nil {
		return &stageError{"build", err}
	}
	if err := outbox.WriteFileAtomic(s.workDir, fmt.Sprintf("%d.ocr.json", job.ID), data, 0o600); err != nil {
		return &stageError{"build", err}
	}
	preview, err := s.buildPDF(job, rec)
	if err != nil {
		return &stageError{"build", err}
	}
	if err := os.MkdirAll(s.config().Folders.Review, 0o750); err != nil {
		return &stageError{"build", err}
	}
	if err := outbox.WriteFileAtomic(s.config().Folders.Review, s.reviewName(job), preview, 0o640); err != nil {
		return &stageError{"build", fmt.Errorf("save the copy for review: %w", err)}
	}
	job.State = journal.AwaitingApproval
	if err := s.recordJob(ctx, job); err != nil {
		return err
	}
	s.log.Info(s.printer().Sprintf("awaiting approval"), "job", job.ID, "file", job.SourceName, "review", filepath.Join(s.config().Folders.Review, s.reviewName(job)))
	return nil
}

func (s *Station) reviewName(job *journal.Job) string {
	return fmt.Sprintf("%d-%s.pdf", job.ID, outName(job.SourceName))
}

// rebuild builds an approved document from its spooled scan and the OCR kept for approval,
// now with the approver in the conversion record.
func (s *Station) rebuild(ctx context.Context, job *journal.Job) error {
	// The reading the journal names: the one the audit trail's last edit wrote (review.go).
	data, err := os.ReadFile(s.ocrPath(job))
	if err != nil {
		return &stageError{"build", fmt.Errorf("read the recognised text kept for approval: %w", err)}
	}
	var saved savedRecognition
	if err := json.Unmarshal(data, &saved); err != nil {
		return &stageError{"build", err}
	}
	doc, err := scan.Open(job.Spool, s.scanOptions())
	if err != nil {
		return &stageError{"decode", withName(err, job)}
	}
	defer doc.Close()
	indexes := make([]int, len(saved.Pages))
	byIndex := make(map[int]savedPage, len(saved.Pages))
	for k, p := range saved.Pages {
		indexes[k] = p.Index
		byIndex[p.Index] = p
	}
	rec, err := s.recognisePages(ctx, job, doc, indexes, byIndex, nil, false)
	if err != nil {
		return err
	}
	if job.StageTimes == nil {
		job.StageTimes = map[string]time.Duration{}
	}
	if err := s.build(ctx, job, rec); err != nil {
		return err
	}
	os.Remove(filepath.Join(s.config().Folders.Review, s.reviewName(job)))
	crashpoint.Hit("review.remove copy")
	return nil
}

// conversionRecord is the conversion record of a job, as it goes into the XMP metadata.
func (s *Station) conversionRecord(job *journal.Job) certify.Record {
	source, pages := job.SourceName, ""
	if job.Batch != 0 {
		source, pages = filepath.Base(batchSource(job)), pageList(job.BatchPages)
	}
	return certify.Record{
		Agency:       s.config().Station.Agency,
		Station:      s.config().Station.Name,
		Operator:     job.Operator,
		ConvertedAt:  job.ConvertedAt,
		SourceName:   source,
		SourceSHA256: job.SourceSHA256,
		SourcePages:  pages,
		ApprovedBy:   job.ApprovedBy,
		ApprovedAt:   job.ApprovedAt,
		Document:     metadataXMP(metadataOf(job)),
	}
}

// profile is the hot-folder a job came from, or the first one for files given to `process`.
func (s *Station) profile(job *journal.Job) config.HotFolder {
	for _, hf := range s.config().HotFolders {
		if hf.Path == job.HotFolder {
			return hf
		}
	}
	return s.config().HotFolders[0]
}

// operatorOf is the hot-folder's operator, or the sub-folder the scan was saved in.
func (s *Station) operatorOf(job *journal.Job) string {
	prof := s.profile(job)
	if prof.Operator != "" {
		return prof.Operator
	}
	if job.HotFolder == "" {
		return ""
	}
	rel, err := filepath.Rel(job.HotFolder, job.Source)
	if err != nil {
		return ""
	}
	if dir, _, found := strings.Cut(filepath.ToSlash(rel), "/"); found {
		return dir
	}
	return ""
}

func rules(hf config.HotFolder) quality.Rules {
	papers := make([]quality.Paper, 0, len(hf.PaperSizes))
	for _, name := range hf.PaperSizes {
		if p, err := quality.ParsePaper(name); err == nil {
			papers = append(papers, p)
		}
	}
	return quality.Rules{
		RequireColor: hf.RequireColor,
		MinDPI:       hf.MinDPI,
		PaperSizes:   papers,
		ToleranceMM:  hf.ToleranceMM,
		BlankPages:   hf.BlankPages,
	}
}
