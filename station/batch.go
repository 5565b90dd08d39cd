package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/message"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/docmeta"
	"scanstation/internal/crashpoint"
	"scanstation/journal"
	"scanstation/outbox"
	"scanstation/scan"
)

// A batch is a scan its hot-folder divides into documents (separate:, duplex:; capture
// package). Its job reads every page once: codes, words, blankness. capture.Split divides it,
// and the journal records the batch and a job for each document in one transaction
// (journal.Split). Each document then goes its own way from its own pages of the batch's
// spooled original: quality, record, mark, approval, signature, outbox; a refused one goes to
// failed/ as a PDF of its pages with its reason. The batch's original stays in the spool until
// every document is finished, and is then archived with the batch record: every scanned side
// and what became of it.

// BatchRecord is what the archive keeps beside a batch's original (<name>.batch.json).
type BatchRecord struct {
	Source       string    `json:"source"`
	SourceSHA256 string    `json:"source_sha256"`
	HotFolder    string    `json:"hot_folder"`
	Separate     string    `json:"separate"`
	Duplex       bool      `json:"duplex"`
	BlankBacks   string    `json:"blank_backs,omitempty"`
	Divided      time.Time `json:"divided"`
	Sides        int       `json:"sides"`
	capture.Batch
	// Outcomes say, for each document in order, where it went.
	Outcomes []DocumentOutcome `json:"outcomes,omitempty"`
}

// DocumentOutcome is where one document of a batch went.
type DocumentOutcome struct {
	Document int    `json:"document"`
	Job      int64  `json:"job"`
	State    string `json:"state"`
	Outbox   string `json:"outbox,omitempty"` // the signed copy's file name
	Reason   string `json:"reason,omitempty"` // why it was refused
}

// divides reports whether job is a batch to divide: a scan (not a document of a batch) from a
// hot-folder that separates its scans or scans both sides.
func (s *Station) divides(job *journal.Job) bool {
	prof := s.profile(job)
	return job.Batch == 0 && (prof.Separate != "" && prof.Separate != string(capture.None) || prof.Duplex)
}

// batchSource is the path of the scanner's file a document of a batch came from: its own Source
// is that path with "#N" after it, so the batch's path still finds the batch in the journal.
func batchSource(job *journal.Job) string {
	if job.Batch == 0 {
		return job.Source
	}
	if i := strings.LastIndexByte(job.Source, '#'); i > 0 {
		return job.Source[:i]
	}
	return job.Source
}

func (s *Station) batchRecordPath(batchID int64) string {
	return filepath.Join(s.workDir, fmt.Sprintf("%d.batch.json", batchID))
}

func (s *Station) batchOCRPath(batchID int64) string {
	return filepath.Join(s.workDir, fmt.Sprintf("%d.ocr.json", batchID))
}

// divide reads every page of a batch, divides it into documents, records them, and takes each
// as far as it goes now (signed and delivered, or waiting for the clerk or the signer).
func (s *Station) divide(ctx context.Context, job *journal.Job, keepSource bool, progress Progress, handOff func(*journal.Job)) ([]Outcome, error) {
	started := time.Now()
	prof := s.profile(job)
	settings, err := prof.Capture()
	if err != nil {
		return nil, &stageError{"capture", err}
	}
	if settings.Pages, err = docmeta.SuppliedPages(job.Spool); err != nil {
		return nil, &stageError{"metadata", fmt.Errorf("%s: %w", job.SourceName, err)}
	}
	doc, err := scan.Open(job.Spool, s.scanOptions())
	if err != nil {
		return nil, &stageError{"decode", withName(err, job)}
	}
	defer doc.Close()
	all := make([]int, doc.NumPages)
	for i := range all {
		all[i] = i
	}
	// An earlier try that stopped before the division was recorded left its reading.
	saved, _ := s.loadSavedOCR(s.batchOCRPath(job.ID))
	look := settings.Separate == capture.SeparatorSheet || settings.Separate == capture.Barcode
	rec, err := s.recognisePages(ctx, job, doc, all, saved, progress, look)
	if err != nil {
		return nil, err
	}
	blankRules := rules(prof)
	pages := make([]capture.Page, len(all))
	keep := savedRecognition{}
	for k := range all {
		r := rec.results[k]
		pages[k] = capture.Page{
			Codes: rec.codes[k], Blank: blankRules.Blank(rec.facts[k]), Ink: rec.facts[k].Ink,
			Orientation: r.Orientation, OrientationConfidence: r.OrientationConfidence,
		}
		keep.Pages = append(keep.Pages, savedPage{Index: k, Words: r.Words, Orientation: r.Orientation, Skew: r.Skew,
			OrientationConfidence: r.OrientationConfidence, Codes: rec.codes[k]})
	}
	// Each document reads its own pages again; the batch's (a scanner PDF's images, some
	// 800 KB a page) must not stay in memory while they are certified.
	rec = nil
	batch, err := capture.Split(pages, settings)
	if err != nil {
		return nil, &stageError{"capture", fmt.Errorf("%s: %w", job.SourceName, err)}
	}
	if err := s.writeWorkJSON(s.batchOCRPath(job.ID), keep); err != nil {
		return nil, &stageError{"capture", err}
	}
	record := BatchRecord{
		Source: job.SourceName, SourceSHA256: job.SourceSHA256, HotFolder: job.HotFolder,
		Separate: string(settings.Separate), Duplex: settings.Duplex, Divided: time.Now().In(s.zone).Truncate(time.Second),
		Sides: len(pages), Batch: batch,
	}
	if settings.Duplex {
		record.BlankBacks = prof.BlankBacks
	}
	if err := s.writeWorkJSON(s.batchRecordPath(job.ID), record); err != nil {
		return nil, &stageError{"capture", err}
	}
	crashpoint.Hit("batch.record written")

	// Each document is a PDF of its own, whatever the batch's format: lo-sang-2.pdf.
	base := strings.TrimSuffix(job.SourceName, filepath.Ext(job.SourceName))
	p := s.printer()
	docs := make([]*journal.Job, len(batch.Documents))
	for i, d := range batch.Documents {
		docs[i] = &journal.Job{
			Source:     fmt.Sprintf("%s#%d", job.Source, d.Number),
			SourceName: fmt.Sprintf("%s-%d.pdf", base, d.Number),
			HotFolder:  job.HotFolder,
			State:      journal.Spooled,
			Spool:      job.Spool,
			Languages:  job.Languages,
			BatchPages: d.Pages,
			// The original each document is certified from is the batch's: the same bytes.
			SourceSize: job.SourceSize, SourceSHA256: job.SourceSHA256,
			SourceDev: job.SourceDev, SourceInode: job.SourceInode, SourceMtime: job.SourceMtime,
			DuplicateOf: job.DuplicateOf,
		}
		if d.Refused != "" {
			why := d.Refused
			if d.Why.Format != "" {
				why = d.Why.In(p)
			}
			docs[i].FailedStage, docs[i].Reason = "capture", p.Sprintf("document %d of %s: %s", d.Number, job.SourceName, why)
		}
	}
	if job.StageTimes == nil {
		job.StageTimes = map[string]time.Duration{}
	}
	job.StageTimes[journal.StageOCR] = time.Since(started)
	job.Pages = len(pages)
	if err := s.journal.Split(ctx, job, docs); err != nil {
		return nil, &journalError{err}
	}
	s.log.Info(p.Sprintf("batch divided"), "job", job.ID, "file", job.SourceName, "sides", len(pages), "documents", len(docs),
		"refused", countRefused(batch), "separate", settings.Separate, "duplex", settings.Duplex)

	outcomes := make([]Outcome, len(docs))
	for i, d := range docs {
		if !s.claim(jobKey(d.ID)) {
			outcomes[i] = Outcome{Source: d.Source, JobID: d.ID, Waiting: true}
			continue
		}
		outcomes[i] = s.advance(ctx, d, keepSource, progress, handOff)
		s.release(jobKey(d.ID))
	}
	return outcomes, nil
}

func countRefused(b capture.Batch) int {
	n := 0
	for _, d := range b.Documents {
		if d.Refused != "" {
			n++
		}
	}
	return n
}

// finishBatch archives a divided batch's original with its record once every document of it
// is finished. It returns the documents; pending counts those not finished yet.
func (s *Station) finishBatch(ctx context.Context, job *journal.Job) (docs []journal.Job, pending int, err error) {
	docs, err = s.journal.Documents(ctx, job.ID)
	if err != nil {
		return nil, 0, &journalError{err}
	}
	for _, d := range docs {
		if !d.State.Terminal() {
			pending++
		}
	}
	if pending > 0 {
		return docs, pending, nil
	}
	if err := s.checkMarked("archive"); err != nil {
		return docs, 0, &stageError{"archive", err}
	}
	var record BatchRecord
	if data, err := os.ReadFile(s.batchRecordPath(job.ID)); err == nil {
		err = json.Unmarshal(data, &record)
		if err != nil {
			s.log.Warn("the batch record in the work folder is damaged; the archive gets the outcomes only", "job", job.ID, "err", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return docs, 0, &stageError{"archive", fmt.Errorf("read the batch record of %s: %w", job.SourceName, err)}
	}
	record.Source, record.SourceSHA256, record.HotFolder = job.SourceName, job.SourceSHA256, job.HotFolder
	record.Outcomes = nil
	for _, d := range docs {
		o := DocumentOutcome{Document: d.BatchDocument, Job: d.ID, State: string(d.State)}
		if d.State == journal.Failed {
			o.Reason = d.Reason
		} else if d.OutName != "" {
			o.Outbox = d.OutName + ".pdf"
		}
		record.Outcomes = append(record.Outcomes, o)
	}
	data, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return docs, 0, &stageError{"archive", err}
	}
	archive := s.config().Folders.Archive
	if job.OutName == "" {
		// Chosen and recorded before anything is written, so a restart writes the record
		// and the original under the same name.
		job.OutName = freeArchiveName(archive, job.SourceName)
		if err := s.recordJob(ctx, job); err != nil {
			return docs, 0, err
		}
	}
	if err := outbox.WriteFileAtomic(archive, job.OutName+".batch.json", data, 0o640); err != nil {
		return docs, 0, &stageError{"archive", fmt.Errorf("write the batch record: %w", err)}
	}
	crashpoint.Hit("batch.record archived")
	if exists(job.Spool) || outbox.Pending(job.Spool, archive, job.OutName) {
		dst, err := s.box().Archive(job.Spool, job.OutName)
		if err != nil {
			return docs, 0, &stageError{"archive", err}
		}
		s.moveSidecar(job, archive, filepath.Base(dst))
	}
	for _, p := range []string{s.batchRecordPath(job.ID), s.batchOCRPath(job.ID)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot remove work file", "file", p, "err", err)
		}
	}
	job.State = journal.Archived
	if err := s.recordJob(ctx, job); err != nil {
		return docs, 0, err
	}
	s.log.Info(s.printer().Sprintf("batch archived"), "job", job.ID, "file", job.SourceName, "archive", job.OutName, "documents", len(docs))
	return docs, 0, nil
}

// freeArchiveName is name, or name-1, name-2... (before the extension): the first for which
// neither the original nor its batch record is in dir.
func freeArchiveName(dir, name string) string {
	base, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
	for i := 0; ; i++ {
		candidate := name
		if i > 0 {
			candidate = base + "-" + strconv.Itoa(i) + ext
		}
		if !exists(filepath.Join(dir, candidate)) && !exists(filepath.Join(dir, candidate+".batch.json")) {
			return candidate
		}
	}
}

// settleBatch finishes the batch of a document that has just finished, when it was the last.
func (s *Station) settleBatch(ctx context.Context, batchID int64) {
	if !s.claimWait(ctx, jobKey(batchID)) {
		return
	}
	defer s.release(jobKey(batchID))
	batch, err := s.journal.Get(ctx, batchID)
	if err != nil || batch.State.Terminal() {
		return
	}
	s.advance(ctx, batch, false, nil, nil)
}

// batchOutcome sums up a finished or waiting batch for `process` and the logs.
func batchOutcome(p *message.Printer, out Outcome, job *journal.Job, docs []journal.Job, pending int) Outcome {
	failed := 0
	for _, d := range docs {
		if d.State == journal.Failed {
			failed++
		}
	}
	switch {
	case pending > 0:
		out.Waiting = true
		out.Err = errors.New(p.Sprintf("%s: %d of %d documents not finished yet; the batch is archived once they are", job.SourceName, pending, len(docs)))
	case failed > 0:
		out.Err = errors.New(p.Sprintf("%s: %d of %d documents refused (the batch record is in the archive: %s.batch.json)", job.SourceName, failed, len(docs), job.OutName))
	}
	return out
}

// loadSavedOCR reads a reading kept in the work folder, by page index.
func (s *Station) loadSavedOCR(path string) (map[int]savedPage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var saved savedRecognition
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, err
	}
	byIndex := make(map[int]savedPage, len(saved.Pages))
	for _, p := range saved.Pages {
		byIndex[p.Index] = p
	}
	return byIndex, nil
}

func (s *Station) writeWorkJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return outbox.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), data, 0o600)
}

// documentPages are the batch's page indexes (from 0) a document of a batch holds, and the
// batch's reading of them.
func (s *Station) documentPages(job *journal.Job) ([]int, map[int]savedPage, error) {
	saved, err := s.loadSavedOCR(s.batchOCRPath(job.Batch))
	if err != nil {
		return nil, nil, fmt.Errorf("read the batch's recognised text: %w", err)
	}
	indexes := make([]int, len(job.BatchPages))
	for i, p := range job.BatchPages {
		indexes[i] = p - 1
	}
	return indexes, saved, nil
}

// sheetOf is what the separator sheet in front of a document of a batch said, nil without one.
func (s *Station) sheetOf(job *journal.Job) (*capture.Sheet, error) {
	data, err := os.ReadFile(s.batchRecordPath(job.Batch))
	if err != nil {
		return nil, fmt.Errorf("read the batch record: %w", err)
	}
	var record BatchRecord
	if err := json.Unmarshal(data, &record); err != nil {
		return nil, fmt.Errorf("read the batch record: %w", err)
	}
	for _, d := range record.Documents {
		if d.Number == job.BatchDocument {
			return d.Sheet, nil
		}
	}
	return nil, nil
}

// refusedCopy makes what goes to failed/ for a refused document of a batch: a PDF of its pages
// (unsigned, with its text), so the operator sees what was refused. It is recorded as the job's
// work file before it is moved, so a restart after the move does not make a second one. ""
// when it has no pages, they cannot be read, or it was moved already: the reason file then
// stands alone (the pages are in the batch's original in the archive).
func (s *Station) refusedCopy(ctx context.Context, job *journal.Job) string {
	name := fmt.Sprintf("%d.refused.pdf", job.ID)
	path := filepath.Join(s.workDir, name)
	switch {
	case exists(path) || outbox.Pending(path, s.config().Folders.Failed, job.SourceName):
		return path
	case job.Work == path || len(job.BatchPages) == 0:
		return ""
	}
	indexes, saved, err := s.documentPages(job)
	if err == nil {
		var doc *scan.Document
		if doc, err = scan.Open(job.Spool, s.scanOptions()); err == nil {
			defer doc.Close()
			var rec *recognition
			if rec, err = s.recognisePages(ctx, job, doc, indexes, saved, nil, false); err == nil {
				var pdf []byte
				if pdf, err = s.buildPDF(job, rec); err == nil {
					err = outbox.WriteFileAtomic(s.workDir, name, pdf, 0o600)
				}
			}
		}
	}
	if err != nil {
		s.log.Warn("cannot make a copy of a refused document's pages; its reason goes to failed/ alone", "job", job.ID, "file", job.SourceName, "err", err)
		return ""
	}
	if job.Work != "" {
		os.Remove(job.Work) // a built or signed copy: refused now
	}
	job.Work = path
	if err := s.recordJob(ctx, job); err != nil {
		s.log.Warn("cannot record the copy of a refused document", "job", job.ID, "err", err)
	}
	return path
}

// pageCodes reads the barcodes and QR codes of a page; none when it cannot be decoded (its
// OCR then says what is wrong with it).
func pageCodes(p *scan.Page) []string {
	g, err := p.GrayImage()
	if err != nil {
		return nil
	}
	codes, _ := separator.Codes(g)
	return codes
}

// pageList writes batch page numbers as people read them: 3-7, 9.
func pageList(pages []int) string {
	var parts []string
	for i := 0; i < len(pages); {
		j := i
		for j+1 < len(pages) && pages[j+1] == pages[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", pages[i], pages[j]))
		} else {
			parts = append(parts, strconv.Itoa(pages[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
