package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"scanstation/users"
)

// Desk is what the console asks of the station. The console never opens the journal, the
// spool or the work folders itself, and never builds a file path from a request: it names
// documents by their journal id and refused inputs by a name Failed listed.
//
// Every method that changes something takes the user who acts; the station records the
// action in the journal's audit trail. A method given an id the journal does not know, or a
// page the document does not have, returns an error that wraps ErrNotFound; an action the
// document's state does not allow (approving a document already approved) returns one that
// wraps ErrWrongState, best a *WrongStateError; Correct refuses a value with a *FieldError.
//
// Texts the station returns for people to read (reasons, findings, problems) are English
// message keys of package lang where the station has one, else plain English: the console
// translates the first and shows the second as it is.
type Desk interface {
	// Queue is the station now: counts by journal state, the token, the last errors and the
	// documents waiting for review, in the order they should be reviewed.
	Queue(ctx context.Context) (QueueView, error)
	// Document is everything the document page shows but the audit trail.
	Document(ctx context.Context, id int64) (*DocumentView, error)
	// Preview is page (from 1) of document id, about width pixels wide, as the station will
	// certify it: turned, dropped pages left out, the certification mark drawn on page 1.
	Preview(ctx context.Context, id int64, page, width int) (data []byte, contentType string, err error)

	// Rotate turns a page by quarterTurns × 90° clockwise (1, 2 or 3) and reads it again.
	Rotate(ctx context.Context, id int64, page, quarterTurns int, by User) error
	// DropPage leaves a page out of the copy; the reason goes into the audit trail.
	DropPage(ctx context.Context, id int64, page int, reason string, by User) error
	// Reocr reads a page again.
	Reocr(ctx context.Context, id int64, page int, by User) error
	// Correct sets record fields (docmeta names: code_number, code_notation, issued_date,
	// organ_name, type_name, subject) to the values a person typed; an empty value clears a
	// correction. The fields given are all the form's, changed or not: the station records
	// those that differ, with before and after.
	Correct(ctx context.Context, id int64, fields map[string]string, by User) error
	// SendBack moves the scan to failed/ as "sent back for rescan", with the reason.
	SendBack(ctx context.Context, id int64, reason string, by User) error
	// Approve is the clerk's approval: the station builds and signs the copy.
	Approve(ctx context.Context, id int64, by User) error
	// Reject refuses the document with the clerk's reason.
	Reject(ctx context.Context, id int64, reason string, by User) error

	// Failed lists the refused inputs in failed/, newest first. Its names are the only
	// names FailedPreview, Retry and Discard are given.
	Failed(ctx context.Context) ([]FailedView, error)
	// FailedPreview is a page of a refused input that decodes.
	FailedPreview(ctx context.Context, name string, page, width int) (data []byte, contentType string, err error)
	// Retry puts a refused input back into its hot-folder.
	Retry(ctx context.Context, name string, by User) error
	// Discard moves a refused input to discarded/ (it is never deleted), with the reason.
	Discard(ctx context.Context, name, reason string, by User) error

	// Report is the month's figures per hot-folder, as `scanstation report` prints them;
	// month is any time in the month, in the office's time zone.
	Report(ctx context.Context, month time.Time) (ReportView, error)
	// ReportCSV writes the same month as `scanstation report --format csv` prints it, hot-folders
	// named as Report names them: one writer of that file, whose columns the station owns.
	ReportCSV(ctx context.Context, month time.Time, w io.Writer) error
	// Audit is what people did with document id, oldest first.
	Audit(ctx context.Context, id int64) ([]AuditEntry, error)
}

// User is who acts, as the session knows them.
type User struct {
	Name string
	Role users.Role
}

// ErrNotFound says there is no such document, page or refused input.
var ErrNotFound = errors.New("not found")

// ErrWrongState says the document's state does not allow the action (any more).
var ErrWrongState = errors.New("the document's state does not allow this")

// WrongStateError is an ErrWrongState that says where the document is now, so the console
// can tell the person in plain words: "already approved by Lan".
type WrongStateError struct {
	State string    // the journal state the document is in now, or one of the State constants
	By    string    // who put it there, when a person did
	At    time.Time // when; zero when not known
}

func (e *WrongStateError) Error() string {
	if e.By != "" {
		return fmt.Sprintf("the document is %s (by %s)", e.State, e.By)
	}
	return "the document is " + e.State
}

func (e *WrongStateError) Is(target error) bool { return target == ErrWrongState }

// WrongStateError.State values that are not journal states.
const (
	StateBusy     = "busy"          // the station (or another person's edit) holds the document now
	StateChanged  = "changed"       // it changed under the action and could not be read again
	StateLastPage = "one page left" // the page to drop is the document's last
)

// FieldError is Correct's refusal of one field's value.
type FieldError struct {
	Field   string // the docmeta name: code_number, issued_date, ...
	Message string // a lang message key (with Args), or plain English
	Args    []any
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, fmt.Sprintf(e.Message, e.Args...))
}

// QueueView is the queue page's snapshot.
type QueueView struct {
	// Counts are documents by journal state name (received, spooled, awaiting_approval,
	// approved, built, awaiting_validation, signed, delivered, archived, failed). Which
	// finished documents count (today's, all) is the station's choice.
	Counts map[string]int
	Token  TokenView
	// Errors are the last errors, newest first; a few are enough.
	Errors []ErrorView
	// Review is the documents waiting for review (awaiting_approval), in the order they
	// should be reviewed; the document page's next and previous follow it.
	Review []DocumentItem
}

// Token states.
const (
	TokenReady   = "ready"   // the signing token is there and logged in
	TokenAbsent  = "absent"  // no token in the reader
	TokenError   = "error"   // there, but unusable (Detail says why)
	TokenUnknown = "unknown" // not looked at yet
)

// TokenView is the signing token's state.
type TokenView struct {
	State  string // one of the Token constants
	Label  string // the token's label, when known
	Detail string // why, for TokenError: a message key or plain English
}

// ErrorView is one recent error.
type ErrorView struct {
	At       time.Time
	Document int64  // the document it concerns, 0 when none
	Name     string // the input's name
	Reason   string // a message key or plain English
}

// DocumentItem is a document in a list.
type DocumentItem struct {
	ID        int64
	Name      string // the scan's file name
	State     string // journal state
	HotFolder string
	Pages     int
	Updated   time.Time
}

// DocumentView is what the document page shows.
type DocumentView struct {
	ID         int64
	Name       string // the scan's file name
	State      string // journal state
	HotFolder  string
	Received   time.Time
	ApprovedBy string // once approved
	Reason     string // why it failed or was sent back, when it did
	Pages      []PageView
	// Warnings are the quality findings (blank page, skew, low resolution...).
	Warnings []string
	// Record is the document's record, in the order the form shows it.
	Record []FieldView
	// Verify is the signed copy's verification, once signed.
	Verify *VerifyView
}

// PageView is one page of a document as the station will certify it.
type PageView struct {
	Number                int     // from 1, in the copy
	Orientation           int     // degrees the page was turned to read upright
	OrientationConfidence float64 // of the orientation guess
	Text                  string  // the OCR text
	MeanConfidence        float64 // of the OCR words, 0..100
}

// FieldView is one field of the record.
type FieldView struct {
	Name       string  // docmeta name: code_number, code_notation, issued_date, organ_name, type_name, subject
	Value      string  // as it will be signed
	Confidence float64 // 0..1; supplied values have 1
	Source     string  // "ocr", "supplied", "operator", ...
	SuppliedBy string  // who typed it, for a correction
	Problems   []string
}

// VerifyView is the verification of the signed copy.
type VerifyView struct {
	Indication string // TOTAL_PASSED, INDETERMINATE, TOTAL_FAILED
	Words      string // plain words: a message key or plain English
}

// FailedView is one refused input in failed/.
type FailedView struct {
	Name      string // the file's name in failed/; Desk calls name it
	HotFolder string
	Stage     string // the stage that refused it: quality, decode, approval, rescan...
	Reason    string // a message key or plain English
	At        time.Time
	Pages     int // pages that decode for a preview; 0 when none does
}

// ReportView is a month's figures, mirroring journal.MonthReport.
type ReportView struct {
	Month   time.Time // the first day of the month, in the office's time zone
	Folders []FolderFigures
	Total   FolderFigures
}

// FolderFigures are a hot-folder's figures of a month, as journal.Figures.
type FolderFigures struct {
	HotFolder   string // "" for scans given to `scanstation process`
	Received    int
	Digitised   int // delivered or archived
	Pages       int // of the digitised documents
	Signed      int
	Refused     int
	RefusedBy   map[string]int // by the stage that refused
	ToSignature time.Duration  // mean, over the signed; zero when none
}

// AuditEntry is one action of a person on a document.
type AuditEntry struct {
	At     time.Time
	User   string
	Role   string
	Action string // rotate, drop, reocr, correct, send_back, approve, reject, retry, discard
	Detail string // plain words: the reason, or before → after of a correction
}
