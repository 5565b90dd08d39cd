package console

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sync"
	"time"

	"scanstation/journal"
)

// desk is an in-memory Desk for the handlers' tests: it keeps documents and refused inputs in
// maps, checks states as the station does, and writes down every call that changes something.
// The station's own Desk is tested with the journal, and the console with it in chromium.
type desk struct {
	mu     sync.Mutex
	docs   map[int64]*DocumentView
	order  []int64 // the review order
	counts map[string]int
	token  TokenView
	errors []ErrorView
	failed []FailedView
	audit  map[int64][]AuditEntry
	report ReportView
	calls  []string
	asked  []string // what the preview methods were asked for
	months []time.Time
}

func newDesk() *desk {
	return &desk{
		docs: map[int64]*DocumentView{
			1: {ID: 1, Name: "cong-van-2417.pdf", State: "awaiting_approval", HotFolder: "văn thư",
				Received: time.Date(2026, 12, 7, 7, 30, 0, 0, time.UTC),
				Pages: []PageView{
					{Number: 1, Text: "ỦY BAN NHÂN DÂN\nSố: 2417/UBND-VP", MeanConfidence: 91},
					{Number: 2, Text: "trang hai", MeanConfidence: 88, Orientation: 180},
				},
				Warnings: []string{"page 2 looks skewed by 1.5°"},
				Record: []FieldView{
					{Name: "code_number", Value: "2417", Confidence: 0.93, Source: "ocr"},
					{Name: "code_notation", Value: "UBND-VP", Confidence: 0.61, Source: "ocr", Problems: []string{"the notation has no organ abbreviation"}},
					{Name: "issued_date", Value: "2026-11-30", Confidence: 0.9, Source: "ocr"},
					{Name: "organ_name", Value: "ỦY BAN NHÂN DÂN HUYỆN X", Confidence: 0.88, Source: "ocr"},
					{Name: "type_name", Value: "Công văn", Confidence: 1, Source: "ocr"},
					{Name: "subject", Value: "V/v báo cáo", Confidence: 0.8, Source: "ocr"},
				},
			},
			2: {ID: 2, Name: "to-trinh.pdf", State: "awaiting_approval", Pages: []PageView{{Number: 1, Text: "tờ trình"}}},
			3: {ID: 3, Name: "quyet-dinh.pdf", State: "awaiting_approval", Pages: []PageView{{Number: 1, Text: "quyết định"}}},
		},
		order:  []int64{1, 2, 3},
		counts: map[string]int{"received": 1, "spooled": 2, "approved": 2, "built": 1, "signed": 4, "awaiting_validation": 1, "delivered": 7, "archived": 3, "failed": 1},
		token:  TokenView{State: TokenReady, Label: "VNPT-CA"},
		errors: []ErrorView{{At: time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC), Name: "mờ.pdf", Reason: "the page is blurred"}},
		failed: []FailedView{
			{Name: "tờ trình 05.pdf", HotFolder: "văn thư", Stage: "quality", Reason: "page 1 is blank", Pages: 2},
			{Name: "broken.pdf", Stage: "decode", Reason: "the file is not a PDF", Pages: 0},
		},
		audit: map[int64][]AuditEntry{},
	}
}

func (d *desk) record(format string, args ...any) {
	d.calls = append(d.calls, fmt.Sprintf(format, args...))
}

// called returns the calls so far.
func (d *desk) called() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *desk) Queue(ctx context.Context) (QueueView, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := QueueView{Counts: map[string]int{}, Token: d.token, Errors: slices.Clone(d.errors)}
	for k, v := range d.counts {
		q.Counts[k] = v
	}
	for _, id := range d.order {
		doc := d.docs[id]
		if doc.State == "awaiting_approval" {
			q.Counts["awaiting_approval"]++
			q.Review = append(q.Review, DocumentItem{ID: id, Name: doc.Name, State: doc.State, HotFolder: doc.HotFolder, Pages: len(doc.Pages)})
		}
	}
	return q, nil
}

func (d *desk) doc(id int64) (*DocumentView, error) {
	doc := d.docs[id]
	if doc == nil {
		return nil, fmt.Errorf("document %d: %w", id, ErrNotFound)
	}
	return doc, nil
}

func (d *desk) reviewable(id int64) (*DocumentView, error) {
	doc, err := d.doc(id)
	if err != nil {
		return nil, err
	}
	if doc.State != "awaiting_approval" {
		return nil, &WrongStateError{State: doc.State, By: doc.ApprovedBy}
	}
	return doc, nil
}

func (d *desk) Document(ctx context.Context, id int64) (*DocumentView, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.doc(id)
	if err != nil {
		return nil, err
	}
	cp := *doc
	return &cp, nil
}

func (d *desk) Preview(ctx context.Context, id int64, page, width int) ([]byte, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, fmt.Sprintf("doc %d page %d width %d", id, page, width))
	doc, err := d.doc(id)
	if err != nil {
		return nil, "", err
	}
	if page < 1 || page > len(doc.Pages) {
		return nil, "", fmt.Errorf("document %d has no page %d: %w", id, page, ErrNotFound)
	}
	return fmt.Appendf(nil, "\xff\xd8 page %d of %d", page, id), "image/jpeg", nil
}

func (d *desk) Rotate(ctx context.Context, id int64, page, quarterTurns int, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.reviewable(id); err != nil {
		return err
	}
	d.record("rotate %d page %d turns %d by %s/%s", id, page, quarterTurns, by.Name, by.Role)
	return nil
}

func (d *desk) DropPage(ctx context.Context, id int64, page int, reason string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.reviewable(id)
	if err != nil {
		return err
	}
	if len(doc.Pages) == 1 {
		return &WrongStateError{State: StateLastPage}
	}
	d.record("drop %d page %d (%s) by %s", id, page, reason, by.Name)
	return nil
}

func (d *desk) Reocr(ctx context.Context, id int64, page int, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.reviewable(id); err != nil {
		return err
	}
	d.record("reocr %d page %d by %s", id, page, by.Name)
	return nil
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func (d *desk) Correct(ctx context.Context, id int64, fields map[string]string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.reviewable(id)
	if err != nil {
		return err
	}
	if v := fields["issued_date"]; v != "" && !isoDate.MatchString(v) {
		// As the station does: Appendix VI's reason, plain English, as the argument of "%s".
		return &FieldError{Field: "issued_date", Message: "%s", Args: []any{"write the date as yyyy-mm-dd, not " + v}}
	}
	for i, f := range doc.Record {
		if v, ok := fields[f.Name]; ok && v != f.Value {
			doc.Record[i].Value, doc.Record[i].Source, doc.Record[i].SuppliedBy, doc.Record[i].Confidence = v, "operator", by.Name, 1
			d.record("correct %d %s=%s by %s", id, f.Name, v, by.Name)
		}
	}
	return nil
}

func (d *desk) SendBack(ctx context.Context, id int64, reason string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.reviewable(id)
	if err != nil {
		return err
	}
	doc.State = "failed"
	d.record("sendback %d (%s) by %s", id, reason, by.Name)
	return nil
}

func (d *desk) Approve(ctx context.Context, id int64, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.reviewable(id)
	if err != nil {
		return err
	}
	doc.State, doc.ApprovedBy = "approved", by.Name
	d.audit[id] = append(d.audit[id], AuditEntry{At: time.Now(), User: by.Name, Role: string(by.Role), Action: "approve"})
	d.record("approve %d by %s/%s", id, by.Name, by.Role)
	return nil
}

func (d *desk) Reject(ctx context.Context, id int64, reason string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, err := d.reviewable(id)
	if err != nil {
		return err
	}
	doc.State = "failed"
	d.record("reject %d (%s) by %s", id, reason, by.Name)
	return nil
}

func (d *desk) Failed(ctx context.Context) ([]FailedView, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.failed), nil
}

func (d *desk) failedIndex(name string) int {
	return slices.IndexFunc(d.failed, func(f FailedView) bool { return f.Name == name })
}

func (d *desk) FailedPreview(ctx context.Context, name string, page, width int) ([]byte, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, fmt.Sprintf("failed %q page %d width %d", name, page, width))
	if d.failedIndex(name) < 0 {
		return nil, "", ErrNotFound
	}
	return []byte("\xff\xd8 " + name), "image/jpeg", nil
}

func (d *desk) Retry(ctx context.Context, name string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.failedIndex(name)
	if i < 0 {
		return ErrNotFound
	}
	d.failed = slices.Delete(d.failed, i, i+1)
	d.record("retry %s by %s", name, by.Name)
	return nil
}

func (d *desk) Discard(ctx context.Context, name, reason string, by User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.failedIndex(name)
	if i < 0 {
		return ErrNotFound
	}
	d.failed = slices.Delete(d.failed, i, i+1)
	d.record("discard %s (%s) by %s", name, reason, by.Name)
	return nil
}

func (d *desk) Report(ctx context.Context, month time.Time) (ReportView, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.months = append(d.months, month)
	r := d.report
	r.Month = time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	return r, nil
}

// ReportCSV writes the fake's month through the station's one CSV writer, as the station's
// Desk does, so the handler's test reads the columns the station writes.
func (d *desk) ReportCSV(ctx context.Context, month time.Time, w io.Writer) error {
	r, err := d.Report(ctx, month)
	if err != nil {
		return err
	}
	figures := func(f FolderFigures) journal.Figures {
		return journal.Figures{HotFolder: f.HotFolder, Received: f.Received, Digitised: f.Digitised, Pages: f.Pages,
			Signed: f.Signed, Refused: f.Refused, RefusedBy: f.RefusedBy, ToSignature: f.ToSignature}
	}
	mr := &journal.MonthReport{Total: figures(r.Total)}
	for _, f := range r.Folders {
		mr.Folders = append(mr.Folders, figures(f))
	}
	return journal.WriteMonthCSV(w, r.Month.Format("2006-01"), mr)
}

func (d *desk) Audit(ctx context.Context, id int64) ([]AuditEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.doc(id); err != nil {
		return nil, err
	}
	return slices.Clone(d.audit[id]), nil
}
