package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/message"
	"golang.org/x/text/unicode/norm"

	"scanstation/lang"
	"scanstation/users"
)

// recordFields are the record fields a person may correct, in the order of the form.
var recordFields = []string{"code_number", "code_notation", "issued_date", "organ_name", "type_name", "subject"}

// fieldKey is the message key that names a record field.
func fieldKey(name string) string {
	switch name {
	case "code_number":
		return "Number"
	case "code_notation":
		return "Notation"
	case "issued_date":
		return "Date issued"
	case "organ_name":
		return "Issuing organ"
	case "type_name":
		return "Document type"
	case "subject":
		return "Summary"
	}
	return name
}

// actionKey is the message key that names an action of the audit trail.
func actionKey(action string) string {
	switch action {
	case "rotate":
		return "turned a page"
	case "drop":
		return "dropped a page"
	case "reocr":
		return "had a page read again"
	case "correct":
		return "corrected the record"
	case "send_back":
		return "sent it back for rescanning"
	case "approve":
		return "approved it"
	case "reject":
		return "rejected it"
	case "retry":
		return "retried it"
	case "discard":
		return "discarded it"
	}
	return action
}

// Bounds on what a form may send: a field of the record, a reason.
const (
	maxFieldRunes  = 1000
	maxReasonRunes = 500
	// previewWidth is the width the document page asks for; maxPreviewWidth bounds what a
	// request may ask (the preview cache serves three widths anyway).
	previewWidth    = 900
	maxPreviewWidth = 4000
)

// done are the flash messages a redirect after an action may name (?done=...): a fixed set,
// so the address cannot put words of its own on the page.
var done = map[string]string{
	"rotated":   "The page was turned; it is being read again.",
	"dropped":   "The page was dropped.",
	"reocr":     "The page is being read again.",
	"corrected": "The record was saved.",
	"sentback":  "The scan was sent back for rescanning.",
	"approved":  "Approved. The station is signing the copy.",
	"rejected":  "The document was rejected.",
	"retried":   "The scan was put back into its hot-folder.",
	"discarded": "The scan was moved to discarded/.",
}

// docForm is the record form as it is shown: the values and a message beside each field.
type docForm struct {
	Name     string
	Value    string
	Field    FieldView // as the station has it
	Message  string    // why the typed value was refused, in the person's language
	Multiple bool      // a long text: a textarea
}

// documentPage is the data of document.html.
type documentPage struct {
	Doc     *DocumentView
	Audit   []AuditEntry
	Form    []docForm
	Errors  map[string]string // a reason field's message, by the form's input id
	Flash   string
	Prev    string // the previous and next document waiting for review, as links
	Next    string
	Review  bool // the document waits for review: the actions apply
	Clerk   bool
	Preview int // the preview width
}

// parseID reads a document id from the path: a positive decimal integer in its plain form.
func parseID(s string) (int64, bool) {
	return parsePositive(s, 18)
}

func parsePositive(s string, digits int) (int64, bool) {
	if s == "" || len(s) > digits || s[0] == '0' {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// parsePageFile reads "N.jpg", the last segment of a preview's address.
func parsePageFile(s string) (int, bool) {
	n, ok := strings.CutSuffix(s, ".jpg")
	if !ok {
		return 0, false
	}
	p, ok := parsePositive(n, 5)
	return int(p), ok
}

// previewWidthOf reads ?w=, previewWidth when absent.
func previewWidthOf(r *http.Request) (int, bool) {
	s := r.URL.Query().Get("w")
	if s == "" {
		return previewWidth, true
	}
	w, ok := parsePositive(s, 4)
	return int(w), ok && w <= maxPreviewWidth
}

func userOf(r *http.Request) User {
	s := sessionOf(r)
	return User{Name: s.user, Role: s.role}
}

func (c *console) document(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		c.notFound(w, r)
		return
	}
	doc, err := c.desk.Document(r.Context(), id)
	if err != nil {
		c.deskFailed(w, r, "document", err)
		return
	}
	pg := documentPage{Doc: doc, Errors: map[string]string{}}
	if key, ok := done[r.URL.Query().Get("done")]; ok {
		pg.Flash = lang.Printer(c.languageOf(r)).Sprintf(key)
	}
	c.showDocument(w, r, http.StatusOK, pg, nil)
}

// showDocument renders the document page; typed, when not nil, are the record values a person
// typed, shown again with pg.Errors beside the fields.
func (c *console) showDocument(w http.ResponseWriter, r *http.Request, status int, pg documentPage, typed map[string]string) {
	ctx := r.Context()
	doc := pg.Doc
	var err error
	if pg.Audit, err = c.desk.Audit(ctx, doc.ID); err != nil {
		c.deskFailed(w, r, "audit", err)
		return
	}
	q, err := c.desk.Queue(ctx)
	if err != nil {
		c.deskFailed(w, r, "queue", err)
		return
	}
	pg.Prev, pg.Next = neighbours(q.Review, doc.ID)
	// A document refused or sent back waits for approval with a reason until the station has
	// moved it to failed/: nothing more is done with it.
	pg.Review = doc.State == "awaiting_approval" && doc.Reason == ""
	pg.Clerk = sessionOf(r).role.Allows(users.Clerk)
	pg.Preview = previewWidth
	for _, name := range recordFields {
		f := docForm{Name: name, Field: FieldView{Name: name}, Multiple: name == "subject" || name == "organ_name"}
		if i := slices.IndexFunc(doc.Record, func(v FieldView) bool { return v.Name == name }); i >= 0 {
			f.Field = doc.Record[i]
		}
		f.Value = f.Field.Value
		if v, ok := typed[name]; ok {
			f.Value = v
		}
		f.Message = pg.Errors[name]
		pg.Form = append(pg.Form, f)
	}
	c.render(w, r, status, "document.html", pg)
}

// neighbours are the links to the documents before and after id in the review order; a
// document not in it (just approved) leads to the first one waiting.
func neighbours(review []DocumentItem, id int64) (prev, next string) {
	i := slices.IndexFunc(review, func(d DocumentItem) bool { return d.ID == id })
	if i < 0 {
		if len(review) > 0 {
			next = docHref(review[0].ID)
		}
		return "", next
	}
	if i > 0 {
		prev = docHref(review[i-1].ID)
	}
	if i+1 < len(review) {
		next = docHref(review[i+1].ID)
	}
	return prev, next
}

// deskFailed answers a Desk error: 404 for what is not there, 409 in plain words for an action
// the document's state no longer allows, 500 for the rest.
func (c *console) deskFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	p := lang.Printer(c.languageOf(r))
	var ws *WrongStateError
	switch {
	case errors.Is(err, ErrNotFound):
		c.notFound(w, r)
	case errors.As(err, &ws) && ws.State == StateBusy:
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"The station is working on this document right now. Try again in a moment.")
	case errors.As(err, &ws) && ws.State == StateLastPage:
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"This is the document's only page left; it cannot be dropped. Send the document back for rescanning instead.")
	case errors.As(err, &ws) && ws.State == StateChanged:
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"This document has moved on since the page was shown. Open it again to see where it is now.")
	case errors.As(err, &ws) && ws.By != "":
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"This document is already “%s” (by %s). Open it again to see where it is now.", p.Sprintf(stateKey(ws.State)), ws.By)
	case errors.As(err, &ws):
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"This document is already “%s”. Open it again to see where it is now.", p.Sprintf(stateKey(ws.State)))
	case errors.Is(err, ErrWrongState):
		c.fail(w, r, http.StatusConflict, "Nothing was changed",
			"This document has moved on since the page was shown. Open it again to see where it is now.")
	default:
		c.stationFailed(w, r, what, err)
	}
}

// sendPreview writes a preview: private (it shows a document), checked again each time but
// answered 304 when the picture is the same.
func sendPreview(w http.ResponseWriter, r *http.Request, data []byte, contentType string) {
	if contentType == "" {
		contentType = "image/jpeg"
	}
	sum := sha256.Sum256(data)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func (c *console) documentPreview(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r.PathValue("id"))
	page, pok := parsePageFile(r.PathValue("file"))
	width, wok := previewWidthOf(r)
	if !ok || !pok || !wok {
		c.notFound(w, r)
		return
	}
	data, ct, err := c.desk.Preview(r.Context(), id, page, width)
	if err != nil {
		c.previewFailed(w, r, err)
		return
	}
	sendPreview(w, r, data, ct)
}

func (c *console) previewFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Context().Err() == nil {
		c.log.Error("console: no preview", "path", r.URL.Path, "err", err)
	}
	http.Error(w, "no preview", http.StatusInternalServerError)
}

// action is a POST on a document: it reads the document (so that a page number can be
// checked against it, and the page shown again when the form is refused), runs act, and on
// success sends the browser back to the document with the flash message named by flash.
// act returns the field errors it found before calling the Desk, if any.
func (c *console) action(w http.ResponseWriter, r *http.Request, flash string,
	act func(doc *DocumentView, by User) (map[string]string, map[string]string, error)) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		c.notFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Request refused", "The form could not be read. Reload the page and try again.")
		return
	}
	doc, err := c.desk.Document(r.Context(), id)
	if err != nil {
		c.deskFailed(w, r, "document", err)
		return
	}
	by := userOf(r)
	refused, typed, err := act(doc, by)
	var fe *FieldError
	switch {
	case len(refused) > 0:
		c.showDocument(w, r, http.StatusUnprocessableEntity, documentPage{Doc: doc, Errors: refused}, typed)
		return
	case errors.As(err, &fe):
		msg := fieldMessage(lang.Printer(c.languageOf(r)), fe)
		c.showDocument(w, r, http.StatusUnprocessableEntity, documentPage{Doc: doc, Errors: map[string]string{fe.Field: msg}}, typed)
		return
	case errors.Is(err, errPageNotThere):
		c.notFound(w, r)
		return
	case err != nil:
		c.deskFailed(w, r, flash, err)
		return
	}
	c.log.Info("console: action", "action", flash, "document", id, "user", by.Name, "role", by.Role)
	http.Redirect(w, r, docHref(id)+"?done="+url.QueryEscape(flash), http.StatusSeeOther)
}

// fieldMessage is a FieldError in the person's language: its message and its text arguments
// translated where the catalogue has them, English otherwise.
func fieldMessage(p *message.Printer, fe *FieldError) string {
	args := make([]any, len(fe.Args))
	for i, a := range fe.Args {
		if s, ok := a.(string); ok {
			a = say(p, s)
		}
		args[i] = a
	}
	if lang.Has(fe.Message) {
		return p.Sprintf(fe.Message, args...)
	}
	return fmt.Sprintf(fe.Message, args...)
}

var errPageNotThere = errors.New("no such page in the document")

// pageOf reads the form's page number, one of doc's pages.
func pageOf(r *http.Request, doc *DocumentView) (int, error) {
	n, ok := parsePositive(r.PostForm.Get("page"), 5)
	if !ok || !slices.ContainsFunc(doc.Pages, func(p PageView) bool { return int64(p.Number) == n }) {
		return 0, errPageNotThere
	}
	return int(n), nil
}

// reasonOf reads a reason field: required, one line of plain text, bounded. The message is
// for the field with id input, in the person's language.
func (c *console) reasonOf(r *http.Request, input string) (string, map[string]string) {
	p := lang.Printer(c.languageOf(r))
	reason := strings.Join(strings.Fields(norm.NFC.String(r.PostForm.Get("reason"))), " ")
	switch {
	case reason == "" || !utf8.ValidString(reason):
		return "", map[string]string{input: p.Sprintf("Please give a reason.")}
	case utf8.RuneCountInString(reason) > maxReasonRunes:
		return "", map[string]string{input: p.Sprintf("The reason is longer than %d characters.", maxReasonRunes)}
	}
	return reason, nil
}

func (c *console) rotate(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "rotated", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		page, err := pageOf(r, doc)
		if err != nil {
			return nil, nil, err
		}
		turns := map[string]int{"right": 1, "half": 2, "left": 3}[r.PostForm.Get("turn")]
		if turns == 0 {
			return nil, nil, errPageNotThere
		}
		return nil, nil, c.desk.Rotate(r.Context(), doc.ID, page, turns, by)
	})
}

func (c *console) dropPage(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "dropped", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		page, err := pageOf(r, doc)
		if err != nil {
			return nil, nil, err
		}
		reason, refused := c.reasonOf(r, "drop-reason-"+strconv.Itoa(page))
		if refused != nil {
			return refused, nil, nil
		}
		return nil, nil, c.desk.DropPage(r.Context(), doc.ID, page, reason, by)
	})
}

func (c *console) reocr(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "reocr", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		page, err := pageOf(r, doc)
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, c.desk.Reocr(r.Context(), doc.ID, page, by)
	})
}

func (c *console) correct(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "corrected", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		p := lang.Printer(c.languageOf(r))
		typed := map[string]string{}
		refused := map[string]string{}
		for _, name := range recordFields {
			v, ok := r.PostForm[name]
			if !ok {
				continue
			}
			// One Unicode form, whatever the keyboard: "Quyết định" typed two ways is one value.
			s := strings.TrimSpace(norm.NFC.String(v[0]))
			if name != "subject" {
				s = strings.Join(strings.Fields(s), " ")
			}
			typed[name] = s
			switch {
			case !utf8.ValidString(s):
				refused[name] = p.Sprintf("This is not text.")
			case utf8.RuneCountInString(s) > maxFieldRunes:
				refused[name] = p.Sprintf("At most %d characters.", maxFieldRunes)
			}
		}
		if len(typed) == 0 {
			refused["code_number"] = p.Sprintf("The form sent no field of the record.")
		}
		if len(refused) > 0 {
			return refused, typed, nil
		}
		return nil, typed, c.desk.Correct(r.Context(), doc.ID, typed, by)
	})
}

func (c *console) sendBack(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "sentback", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		reason, refused := c.reasonOf(r, "sendback-reason")
		if refused != nil {
			return refused, nil, nil
		}
		return nil, nil, c.desk.SendBack(r.Context(), doc.ID, reason, by)
	})
}

func (c *console) approve(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "approved", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		return nil, nil, c.desk.Approve(r.Context(), doc.ID, by)
	})
}

func (c *console) reject(w http.ResponseWriter, r *http.Request) {
	c.action(w, r, "rejected", func(doc *DocumentView, by User) (map[string]string, map[string]string, error) {
		reason, refused := c.reasonOf(r, "reject-reason")
		if refused != nil {
			return refused, nil, nil
		}
		return nil, nil, c.desk.Reject(r.Context(), doc.ID, reason, by)
	})
}
