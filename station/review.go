package station

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/message"

	"scanstation/console"
	"scanstation/docmeta"
	"scanstation/internal/crashpoint"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/ocr"
	"scanstation/outbox"
	"scanstation/scan"
	"scanstation/users"
)

// The review edits: a person looks at a document that waits for approval and turns a page,
// leaves one out, reads one again, corrects the record, sends it back for a new scan, approves
// or refuses it. Each edit holds the job's claim, so the station never builds a document
// while it is being edited, and is recorded with its audit entry only if the journal still has
// the job waiting for approval (journal.UpdateAudited, DecideAudited): a clerk approving at
// the command line meanwhile wins, and the edit is undone.

// claimTimeout bounds the wait for a job another worker or another edit holds.
const claimTimeout = 30 * time.Second

// editable claims job id for an edit and checks it waits for approval; release lets it go.
func (d *Desk) editable(ctx context.Context, id int64) (job *journal.Job, release func(), err error) {
	if _, err := d.job(ctx, id); err != nil {
		return nil, nil, err
	}
	wait, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	if !d.s.claimWait(wait, jobKey(id)) {
		return nil, nil, &console.WrongStateError{State: console.StateBusy}
	}
	release = func() { d.s.release(jobKey(id)) }
	job, err = d.job(ctx, id)
	if err == nil && (job.State != journal.AwaitingApproval || job.Reason != "") {
		err = wrongState(job)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return job, release, nil
}

// wrongState says where a job that no longer waits for approval is.
func wrongState(job *journal.Job) error {
	e := &console.WrongStateError{State: string(job.State), By: job.ApprovedBy, At: job.ApprovedAt}
	if job.State == journal.AwaitingApproval && job.Reason != "" {
		// Refused or sent back: the station is moving it to failed/.
		e.State, e.By, e.At = string(journal.Failed), "", job.Updated
	}
	return e
}

// recorded maps a refused conditional write to the console's words.
func (d *Desk) recorded(ctx context.Context, id int64, err error) error {
	if errors.Is(err, journal.ErrChanged) {
		if job, gerr := d.s.journal.Get(ctx, id); gerr == nil {
			return wrongState(job)
		}
		return &console.WrongStateError{State: console.StateChanged}
	}
	return err
}

func mayEdit(by console.User) error {
	if strings.TrimSpace(by.Name) == "" {
		return errors.New("say who acts: the name goes into the audit trail")
	}
	if by.Role != users.Operator && by.Role != users.Clerk {
		return fmt.Errorf("%s is %s: only an operator or a clerk edits a document", by.Name, by.Role)
	}
	return nil
}

func mayDecide(by console.User) error {
	if strings.TrimSpace(by.Name) == "" {
		return errors.New("say who acts: the name goes into the audit trail")
	}
	if by.Role != users.Clerk {
		return fmt.Errorf("%s is %s: only a clerk (văn thư) approves or refuses a copy", by.Name, by.Role)
	}
	return nil
}

// ocrPath is where a document waiting for approval keeps its OCR: the file the journal names
// (job.OCRFile, written by a review edit), or the first reading, <id>.ocr.json.
func (s *Station) ocrPath(job *journal.Job) string {
	if job.OCRFile != "" && filepath.Base(job.OCRFile) == job.OCRFile {
		return filepath.Join(s.workDir, job.OCRFile)
	}
	return filepath.Join(s.workDir, fmt.Sprintf("%d.ocr.json", job.ID))
}

func (s *Station) loadSaved(job *journal.Job) (*savedRecognition, error) {
	data, err := os.ReadFile(s.ocrPath(job))
	if err != nil {
		return nil, fmt.Errorf("read the recognised text kept for approval of %s: %w", job.SourceName, err)
	}
	var saved savedRecognition
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("the recognised text kept for approval of %s, %s, is damaged: %w", job.SourceName, s.ocrPath(job), err)
	}
	return &saved, nil
}

// nextReading is the name of the reading an edit writes: <id>.ocr.<n>.json, n one more than the
// current one's. A leftover of an edit that was never recorded may have the name; it is
// replaced whole, and nothing points to it.
func nextReading(job *journal.Job) string {
	n := 0
	if g, ok := readingGeneration(job.ID, job.OCRFile); ok {
		n = g
	}
	return fmt.Sprintf("%d.ocr.%d.json", job.ID, n+1)
}

// readingGeneration reads n of a reading's name <id>.ocr.<n>.json; the first reading,
// <id>.ocr.json, is generation 0.
func readingGeneration(id int64, name string) (int, bool) {
	prefix := fmt.Sprintf("%d.ocr.", id)
	if name == prefix+"json" {
		return 0, true
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".json")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, false
	}
	return n, true
}

// staleReading reports whether name, a file in the work folder, is a reading of job that job
// no longer uses: the one an edit replaced (left when the station stopped between the edit's
// record and the old file's removal), or a new one whose edit was never recorded. The first
// reading of a job that was never edited, and a batch's own reading (<batch>.ocr.json, where
// the batch's job has no edit), are in use.
func staleReading(job *journal.Job, name string) bool {
	if _, ok := readingGeneration(job.ID, name); !ok {
		return false
	}
	current := job.OCRFile
	if current == "" {
		current = fmt.Sprintf("%d.ocr.json", job.ID)
	}
	return name != current
}

// removeReadings removes the readings of job it no longer uses, or, with all, every one an
// edit wrote (the first, <id>.ocr.json, is removeWork's, as before edits had readings of their
// own).
func (s *Station) removeReadings(job *journal.Job, all bool) {
	names, _ := filepath.Glob(filepath.Join(s.workDir, fmt.Sprintf("%d.ocr.*.json", job.ID)))
	for _, path := range names {
		name := filepath.Base(path)
		if g, ok := readingGeneration(job.ID, name); !ok || g == 0 || (!all && !staleReading(job, name)) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot remove a reading no document uses", "file", path, "err", err)
		}
	}
}

// pageOf checks page (from 1) against the saved pages.
func pageOf(saved *savedRecognition, page int) (*savedPage, error) {
	if page < 1 || page > len(saved.Pages) {
		return nil, fmt.Errorf("the document has %d page(s), not a page %d: %w", len(saved.Pages), page, console.ErrNotFound)
	}
	return &saved.Pages[page-1], nil
}

// edit is one change to a waiting document's pages: change alters the saved recognition and
// the job; the new reading is written under a new name beside the one in use (never over it),
// then the job, naming the new reading, and the change's audit entry are recorded in one
// transaction, only if the job still waits for approval. So a stop at any moment leaves
// either the old reading in use and no entry, or the new one and its entry: the edit and its
// audit entry land together or not at all. The reading left unused is removed after the
// record (or at the next start, identity.go). The review copy in review/ is made from the
// reading after the record: it is a convenience for a clerk who opens the folder, never what
// is signed (approval builds again from the reading the journal names), so a stop before it is
// written leaves the previous copy there until the next edit.
func (d *Desk) edit(ctx context.Context, id int64, by console.User, change func(job *journal.Job, saved *savedRecognition) (journal.AuditEntry, error)) error {
	if err := mayEdit(by); err != nil {
		return err
	}
	job, release, err := d.editable(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	s := d.s
	saved, err := s.loadSaved(job)
	if err != nil {
		return err
	}
	old := s.ocrPath(job)
	e, err := change(job, saved)
	if err != nil {
		return err
	}
	// Built before anything is written: a reading the copy cannot be built from is refused
	// here rather than at approval.
	pdf, err := s.reviewPDF(ctx, job, saved)
	if err != nil {
		return err
	}
	data, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	s.removeReadings(job, false)
	name := nextReading(job)
	if err := outbox.WriteFileAtomic(s.workDir, name, data, 0o600); err != nil {
		return fmt.Errorf("save the recognised text of %s: %w", job.SourceName, err)
	}
	job.OCRFile = name
	if err := s.journal.UpdateAudited(ctx, job, journal.AwaitingApproval, e); err != nil {
		os.Remove(filepath.Join(s.workDir, name))
		return d.recorded(ctx, id, err)
	}
	if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove the reading an edit replaced", "job", job.ID, "file", old, "err", err)
	}
	crashpoint.Hit("review.remove replaced reading")
	if err := outbox.WriteFileAtomic(s.config().Folders.Review, s.reviewName(job), pdf, 0o640); err != nil {
		s.log.Warn("the edit is recorded, but the copy for review in the review folder could not be made again; the console shows the edit",
			"job", job.ID, "err", err)
	}
	return nil
}

// reviewPDF builds the review copy from the saved recognition.
func (s *Station) reviewPDF(ctx context.Context, job *journal.Job, saved *savedRecognition) ([]byte, error) {
	rec, err := s.recogniseSaved(ctx, job, saved)
	if err != nil {
		return nil, err
	}
	pdf, err := s.buildPDF(job, rec)
	if err != nil {
		return nil, fmt.Errorf("build the review copy of %s: %w", job.SourceName, err)
	}
	return pdf, nil
}

// recogniseSaved decodes a waiting document's pages and takes their words from saved, as
// rebuild does at approval.
func (s *Station) recogniseSaved(ctx context.Context, job *journal.Job, saved *savedRecognition) (*recognition, error) {
	doc, err := scan.Open(job.Spool, s.scanOptions())
	if err != nil {
		return nil, withName(err, job)
	}
	defer doc.Close()
	indexes := make([]int, len(saved.Pages))
	byIndex := make(map[int]savedPage, len(saved.Pages))
	for k, p := range saved.Pages {
		indexes[k] = p.Index
		byIndex[p.Index] = p
	}
	return s.recognisePages(ctx, job, doc, indexes, byIndex, nil, false)
}

// readTurned recognises a page of the scan turned clockwise by orientation degrees, whatever
// OCR would have decided, and gives the words in the image as stored, as OCR does.
func (s *Station) readTurned(ctx context.Context, job *journal.Job, index, orientation int) (*ocr.Result, error) {
	doc, err := scan.Open(job.Spool, s.scanOptions())
	if err != nil {
		return nil, withName(err, job)
	}
	defer doc.Close()
	page, err := doc.Page(index)
	if err != nil {
		return nil, withName(err, job)
	}
	gray, err := page.GrayImage()
	if err != nil {
		return nil, withName(err, job)
	}
	w, h := gray.Rect.Dx(), gray.Rect.Dy()
	turned := turnGray(gray, orientation)
	res, err := s.ocr.Recognize(ctx, pgm(turned))
	if err != nil {
		return nil, fmt.Errorf("page %d of %s: %w", index+1, job.SourceName, err)
	}
	for i := range res.Words {
		res.Words[i].Box = unturn(res.Words[i].Box, orientation, w, h)
	}
	if res.Orientation != 0 {
		// OCR would turn it further: its skew is of another reading than the person chose.
		res.Skew = 0
	}
	res.Orientation = orientation
	// A person chose which way up the page reads.
	res.OrientationConfidence = 1
	return res, nil
}

// turnGray turns g clockwise by deg (0, 90, 180, 270).
func turnGray(g *image.Gray, deg int) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	at := func(x, y int) uint8 { return g.Pix[(y)*g.Stride+x] }
	var out *image.Gray
	switch deg {
	case 90:
		out = image.NewGray(image.Rect(0, 0, h, w))
		for y := range w {
			for x := range h {
				// Turned clockwise: the turned image's column x is the original's row h-1-x.
				out.Pix[y*out.Stride+x] = at(y, h-1-x)
			}
		}
	case 180:
		out = image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				out.Pix[y*out.Stride+x] = at(w-1-x, h-1-y)
			}
		}
	case 270:
		out = image.NewGray(image.Rect(0, 0, h, w))
		for y := range w {
			for x := range h {
				out.Pix[y*out.Stride+x] = at(w-1-y, x)
			}
		}
	default:
		return g
	}
	return out
}

// unturn takes a box in the image turned clockwise by deg back into the image as stored
// (w × h pixels).
func unturn(b image.Rectangle, deg, w, h int) image.Rectangle {
	switch deg {
	case 90:
		return image.Rect(b.Min.Y, h-b.Max.X, b.Max.Y, h-b.Min.X)
	case 180:
		return image.Rect(w-b.Max.X, h-b.Max.Y, w-b.Min.X, h-b.Min.Y)
	case 270:
		return image.Rect(w-b.Max.Y, b.Min.X, w-b.Min.Y, b.Max.X)
	}
	return b
}

// pgm encodes g as a binary PGM, which Leptonica reads.
func pgm(g *image.Gray) []byte {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var b bytes.Buffer
	fmt.Fprintf(&b, "P5\n%d %d\n255\n", w, h)
	for y := range h {
		b.Write(g.Pix[y*g.Stride : y*g.Stride+w])
	}
	return b.Bytes()
}

// quarter turns deg into 0, 90, 180 or 270.
func quarter(deg int) int { return ((deg % 360) + 360) % 360 }

// Rotate turns a page by quarterTurns × 90° clockwise from how it reads now and reads it again.
func (d *Desk) Rotate(ctx context.Context, id int64, page, quarterTurns int, by console.User) error {
	if quarterTurns%4 == 0 {
		return fmt.Errorf("turn a page by 1, 2 or 3 quarter turns, not %d", quarterTurns)
	}
	return d.reread(ctx, id, page, quarterTurns*90, actionRotate, by)
}

// Reocr reads a page again, the way up it reads now.
func (d *Desk) Reocr(ctx context.Context, id int64, page int, by console.User) error {
	return d.reread(ctx, id, page, 0, actionReocr, by)
}

func (d *Desk) reread(ctx context.Context, id int64, page, turn int, action string, by console.User) error {
	return d.edit(ctx, id, by, func(job *journal.Job, saved *savedRecognition) (journal.AuditEntry, error) {
		sp, err := pageOf(saved, page)
		if err != nil {
			return journal.AuditEntry{}, err
		}
		before, after := sp.Orientation, quarter(sp.Orientation+turn)
		res, err := d.s.readTurned(ctx, job, sp.Index, after)
		if err != nil {
			return journal.AuditEntry{}, err
		}
		sp.Words, sp.Orientation, sp.Skew, sp.OrientationConfidence = res.Words, res.Orientation, res.Skew, res.OrientationConfidence
		// The station's doubt about which way up the page reads is settled by the person.
		var kept []string
		for _, line := range warningLines(job) {
			if w, ok := parseWarning(line); !ok || w.Kind != warnOrientation || w.Page != sp.Index+1 {
				kept = append(kept, line)
			}
		}
		job.Warnings = strings.Join(kept, "\n")
		job.MeanConfidence = savedConfidence(saved)
		detail := auditDetail{Page: page, ScanPage: sp.Index + 1}
		if after != before {
			detail.Before, detail.After = &before, &after
		}
		return entry(by, action, detail), nil
	})
}

// DropPage leaves a page out of the copy; the document keeps at least one page. The record
// and the sidecar's warnings say which page of the scan was left out, by whom and why, as
// they do for a blank page the rules dropped.
func (d *Desk) DropPage(ctx context.Context, id int64, page int, reason string, by console.User) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("say why the page is left out: the reason goes into the record")
	}
	return d.edit(ctx, id, by, func(job *journal.Job, saved *savedRecognition) (journal.AuditEntry, error) {
		sp, err := pageOf(saved, page)
		if err != nil {
			return journal.AuditEntry{}, err
		}
		if len(saved.Pages) == 1 {
			return journal.AuditEntry{}, &console.WrongStateError{State: console.StateLastPage}
		}
		scanPage := sp.Index + 1
		saved.Pages = append(saved.Pages[:page-1], saved.Pages[page:]...)
		job.Pages = len(saved.Pages)
		job.MeanConfidence = savedConfidence(saved)
		left := warning{Kind: warnLeftOut, Page: scanPage,
			Text: lang.T("page %d of the scan left out of the copy by %s: %s", scanPage, by.Name, reason)}
		job.Warnings = strings.Join(append(warningLines(job), left.String()), "\n")
		if job.Metadata != "" {
			m := metadataOf(job)
			m.PageAmount = job.Pages
			data, err := json.Marshal(m)
			if err != nil {
				return journal.AuditEntry{}, err
			}
			job.Metadata = string(data)
		}
		return entry(by, actionDrop, auditDetail{Page: page, ScanPage: scanPage, Reason: reason}), nil
	})
}

func warningLines(job *journal.Job) []string {
	if job.Warnings == "" {
		return nil
	}
	return strings.Split(job.Warnings, "\n")
}

func savedConfidence(saved *savedRecognition) float64 {
	results := make([]*ocr.Result, len(saved.Pages))
	for k, p := range saved.Pages {
		results[k] = &ocr.Result{Words: p.Words}
	}
	return meanConfidence(results)
}

// Correct sets record fields to the values a person typed. Only fields whose value changes
// are recorded; an empty value takes back a correction (the value it replaced returns) and
// leaves an uncorrected field as it is. A value Appendix VI refuses is refused with its field.
func (d *Desk) Correct(ctx context.Context, id int64, fields map[string]string, by console.User) error {
	if err := mayEdit(by); err != nil {
		return err
	}
	job, release, err := d.editable(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	m := metadataOf(job)
	changes := map[string]fieldChange{}
	for name, value := range fields {
		f, ok := m.Get(name)
		if !ok {
			return &console.FieldError{Field: name, Message: "the record has no field called %s", Args: []any{name}}
		}
		value = strings.TrimSpace(value)
		next := docmeta.Field{Value: value, Confidence: 1, Source: docmeta.SourceConsole, By: by.Name}
		if value == "" {
			orig, corrected, err := d.originalOf(ctx, id, name)
			if err != nil {
				return err
			}
			if !corrected || f.Source != docmeta.SourceConsole {
				continue
			}
			next = orig
		}
		if next.Value == f.Value && next.Source == f.Source && next.By == f.By {
			continue
		}
		if next.Value == f.Value && value != "" {
			continue // the form's unchanged value: not a correction
		}
		changes[name] = fieldChange{Before: *f, After: next}
		*f = next
	}
	if len(changes) == 0 {
		return nil
	}
	for _, p := range m.Validate() {
		if _, changed := changes[p.Field]; changed {
			// Its words as a lang key: the console prints them in the reader's language.
			return &console.FieldError{Field: p.Field, Message: p.Format, Args: p.Args}
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	job.Metadata = string(data)
	if err := d.s.journal.UpdateAudited(ctx, job, journal.AwaitingApproval, entry(by, actionCorrect, auditDetail{Fields: changes})); err != nil {
		return d.recorded(ctx, id, err)
	}
	return nil
}

// SendBack refuses the document so the operator scans the paper again: the station moves the
// scan to failed/ with the reason, as it does a refused one.
func (d *Desk) SendBack(ctx context.Context, id int64, reason string, by console.User) error {
	if err := mayEdit(by); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("say why the paper is to be scanned again: the operator reads it in failed/")
	}
	dec := journal.Decision{State: journal.AwaitingApproval, FailedStage: "rescan",
		Reason: d.s.printer().Sprintf("sent back for rescan by %s: %s", by.Name, reason)}
	return d.decide(ctx, id, dec, entry(by, actionSendBack, auditDetail{Reason: reason}))
}

// Approve is the clerk's approval, as `scanstation approve --by NAME`: the station builds and
// signs the copy at once.
func (d *Desk) Approve(ctx context.Context, id int64, by console.User) error {
	if err := mayDecide(by); err != nil {
		return err
	}
	dec := journal.Decision{State: journal.Approved, ApprovedBy: strings.TrimSpace(by.Name), ApprovedAt: time.Now()}
	return d.decide(ctx, id, dec, entry(by, actionApprove, auditDetail{}))
}

// Reject refuses the document with the clerk's reason, as `scanstation reject`.
func (d *Desk) Reject(ctx context.Context, id int64, reason string, by console.User) error {
	if err := mayDecide(by); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("say why the copy is refused: the operator reads it in failed/")
	}
	dec := journal.Decision{State: journal.AwaitingApproval, FailedStage: "approval", Reason: RefusalReason(d.s.printer(), by.Name, reason)}
	return d.decide(ctx, id, dec, entry(by, actionReject, auditDetail{Reason: reason}))
}

// RefusalReason is the reason a clerk's refusal gives, printed by p: the words the command
// line's reject gives too.
func RefusalReason(p *message.Printer, by, reason string) string {
	if by = strings.TrimSpace(by); by != "" {
		return p.Sprintf("refused by the clerk %s: %s", by, strings.TrimSpace(reason))
	}
	return p.Sprintf("refused by the clerk: %s", strings.TrimSpace(reason))
}

// decide records a clerk's decision with its entry, under the job's claim (an edit under way
// finishes first), and wakes the station to act on it.
func (d *Desk) decide(ctx context.Context, id int64, dec journal.Decision, e journal.AuditEntry) error {
	_, release, err := d.editable(ctx, id)
	if err != nil {
		return err
	}
	err = d.s.journal.DecideAudited(ctx, id, journal.AwaitingApproval, dec, e)
	release()
	if err != nil {
		return d.recorded(ctx, id, err)
	}
	d.s.nudge()
	return nil
}
