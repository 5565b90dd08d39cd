package station

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/message"

	"scanstation/console"
	"scanstation/docmeta"
	"scanstation/journal"
)

// The actions of the audit trail, as console.AuditEntry names them.
const (
	actionRotate   = "rotate"
	actionDrop     = "drop"
	actionReocr    = "reocr"
	actionCorrect  = "correct"
	actionSendBack = "send_back"
	actionApprove  = "approve"
	actionReject   = "reject"
	actionRetry    = "retry"
	actionDiscard  = "discard"
)

// auditDetail is the JSON kept in an audit entry's detail: what a person changed, so the trail
// shows before and after and a correction can be taken back to the value it replaced.
type auditDetail struct {
	Page     int                    `json:"page,omitempty"`      // in the copy, from 1
	ScanPage int                    `json:"scan_page,omitempty"` // in the scanner's file, from 1
	Before   *int                   `json:"orientation_before,omitempty"`
	After    *int                   `json:"orientation_after,omitempty"`
	Reason   string                 `json:"reason,omitempty"`
	Fields   map[string]fieldChange `json:"fields,omitempty"`
}

type fieldChange struct {
	Before docmeta.Field `json:"before"`
	After  docmeta.Field `json:"after"`
}

func (d auditDetail) json() string {
	data, err := json.Marshal(d)
	if err != nil {
		return "" // of our own plain struct: cannot happen
	}
	return string(data)
}

// words says an entry's detail as the console shows it, printed by p (the station's language:
// the console shows it as it is). A field is named by its label on the record form.
func (d auditDetail) words(p *message.Printer) string {
	var parts []string
	if d.Page > 0 {
		if d.ScanPage > 0 && d.ScanPage != d.Page {
			parts = append(parts, p.Sprintf("page %d (page %d of the scan)", d.Page, d.ScanPage))
		} else {
			parts = append(parts, p.Sprintf("page %d", d.Page))
		}
	}
	if d.Before != nil && d.After != nil {
		parts = append(parts, p.Sprintf("turned from %d° to %d°", *d.Before, *d.After))
	}
	names := make([]string, 0, len(d.Fields))
	for name := range d.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := d.Fields[name]
		label := name
		if key, ok := fieldLabels[name]; ok {
			label = p.Sprintf(key)
		}
		parts = append(parts, fmt.Sprintf("%s: %q → %q", label, c.Before.Value, c.After.Value))
	}
	if d.Reason != "" {
		parts = append(parts, d.Reason)
	}
	return strings.Join(parts, "; ")
}

// fieldLabels are the record form's labels of the fields a person corrects (lang's keys, as
// the console's form names them).
var fieldLabels = map[string]string{
	"code_number":   "Number",
	"code_notation": "Notation",
	"issued_date":   "Date issued",
	"organ_name":    "Issuing organ",
	"type_name":     "Document type",
	"subject":       "Summary",
}

// entry is an audit entry of user by.
func entry(by console.User, action string, d auditDetail) journal.AuditEntry {
	e := journal.AuditEntry{User: by.Name, Role: string(by.Role), Action: action, Detail: d.json()}
	if d.Page > 0 {
		e.Subject = fmt.Sprintf("page %d", d.Page)
	}
	return e
}

// Audit is what people did with document id, oldest first.
func (d *Desk) Audit(ctx context.Context, id int64) ([]console.AuditEntry, error) {
	if _, err := d.job(ctx, id); err != nil {
		return nil, err
	}
	trail, err := d.s.journal.AuditOf(ctx, id)
	if err != nil {
		return nil, err
	}
	p := d.s.printer()
	out := make([]console.AuditEntry, 0, len(trail))
	for _, e := range trail {
		words := e.Detail
		var detail auditDetail
		if json.Unmarshal([]byte(e.Detail), &detail) == nil {
			words = detail.words(p)
		}
		out = append(out, console.AuditEntry{At: e.At.In(d.s.zone), User: e.User, Role: e.Role, Action: e.Action, Detail: words})
	}
	return out, nil
}

// originalOf is the value a field had before the first correction of it, from the trail; false
// when it was never corrected.
func (d *Desk) originalOf(ctx context.Context, id int64, field string) (docmeta.Field, bool, error) {
	trail, err := d.s.journal.AuditOf(ctx, id)
	if err != nil {
		return docmeta.Field{}, false, err
	}
	for _, e := range trail {
		if e.Action != actionCorrect {
			continue
		}
		var detail auditDetail
		if json.Unmarshal([]byte(e.Detail), &detail) != nil {
			continue
		}
		if c, ok := detail.Fields[field]; ok {
			return c.Before, true, nil
		}
	}
	return docmeta.Field{}, false, nil
}
