package edxml

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// organIDPattern is the shape of an agency's electronic identifier code:
// 13 characters, four groups from the lowest level to the highest, the
// highest a letter and two digits (000.00.00.H41).
var organIDPattern = regexp.MustCompile(`^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$`)

// Longest values, in characters. CodeNumber, CodeNotation, OrganName and
// Subject are the limits of Decree 30/2020 Appendix VI; the others are those
// of the exchange software's checks (see docs/edxml.md).
const (
	maxCodeNumber     = 11
	maxCodeNotation   = 30
	maxOrganName      = 200
	maxOrganAdd       = 250
	maxEmail          = 100
	maxPhone          = 20
	maxWebsite        = 100
	maxPlace          = 50
	maxTypeName       = 100
	maxSubject        = 500
	maxSignerPosition = 100
	maxSignerFullName = 50
	maxAttachmentName = 200
)

// Validate lists, in plain words, what keeps d from going out: a missing
// required field, a value too long, an organ code of the wrong shape, a
// character XML cannot carry. Nil means nothing.
func (d *Document) Validate() []string {
	var p []string
	add := func(path, format string, args ...any) {
		p = append(p, path+": "+fmt.Sprintf(format, args...))
	}
	text := func(path, s string, required bool, max int) {
		switch {
		case strings.TrimSpace(s) == "":
			if required {
				add(path, "is empty")
			}
			return
		case !utf8.ValidString(s):
			add(path, "is not valid UTF-8")
			return
		}
		if r, ok := badXMLChar(s); ok {
			add(path, "holds the character %U, which XML cannot carry", r)
		}
		if n := length(s); n > max {
			add(path, "is %d characters long; at most %d are allowed", n, max)
		}
	}
	organID := func(path, id string) {
		switch {
		case id == "":
			add(path, "is empty")
		case !organIDPattern.MatchString(id):
			add(path, "%q is not an organ code like 000.00.00.H41 (13 characters: three digits, two, two, a capital letter and two digits, separated by dots)", id)
		}
	}
	organ := func(path string, o *Organ) {
		organID(path+"/OrganId", o.OrganID)
		text(path+"/OrganName", o.OrganName, true, maxOrganName)
		text(path+"/OrganAdd", o.OrganAdd, false, maxOrganAdd)
		text(path+"/Email", o.Email, false, maxEmail)
		if o.Email != "" && !strings.Contains(o.Email, "@") {
			add(path+"/Email", "%q is not an e-mail address", o.Email)
		}
		text(path+"/Telephone", o.Telephone, false, maxPhone)
		text(path+"/Fax", o.Fax, false, maxPhone)
		text(path+"/Website", o.Website, false, maxWebsite)
	}

	organ("From", &d.From)
	for i := range d.To {
		organ(fmt.Sprintf("To[%d]", i+1), &d.To[i])
		for j := range i {
			if d.To[j].OrganID == d.To[i].OrganID && d.To[i].OrganID != "" {
				add(fmt.Sprintf("To[%d]/OrganId", i+1), "%s is already recipient %d", d.To[i].OrganID, j+1)
				break
			}
		}
	}
	text("Code/CodeNumber", d.CodeNumber, true, maxCodeNumber)
	text("Code/CodeNotation", d.CodeNotation, true, maxCodeNotation)
	if strings.Contains(d.CodeNumber, "/") {
		add("Code/CodeNumber", "%q holds a slash; the number and the notation are separate fields", d.CodeNumber)
	}
	text("PromulgationInfo/Place", d.Place, true, maxPlace)
	if d.PromulgationDate.IsZero() {
		add("PromulgationInfo/PromulgationDate", "is empty")
	}
	if d.Type != TypeLegal && d.Type != TypeAdministrative {
		add("DocumentType/Type", "is %d; it is 1 (legal normative document) or 2 (administrative document)", d.Type)
	}
	text("DocumentType/TypeName", d.TypeName, true, maxTypeName)
	text("Subject", d.Subject, true, maxSubject)
	text("SignerInfo/Position", d.SignerPosition, false, maxSignerPosition) // often unknown on a scanned copy
	text("SignerInfo/FullName", d.SignerFullName, false, maxSignerFullName)
	if d.Priority < 0 || d.Priority > 4 {
		add("OtherInfo/Priority", "is %d; it is 0 to 4", d.Priority)
	}
	if d.PageAmount < 1 {
		add("OtherInfo/PageAmount", "is %d; a document has at least one page", d.PageAmount)
	}
	d.validateDocumentID(add)

	organID("TraceHeader/OrganId", d.Trace.OrganID)
	if d.Trace.Timestamp.IsZero() {
		add("TraceHeader/Timestamp", "is empty")
	}

	if len(d.Attachments) == 0 {
		add("Attachments", "there are none; the envelope carries the signed PDF")
	}
	for i, a := range d.Attachments {
		path := fmt.Sprintf("Attachment[%d]", i+1)
		text(path+"/ContentType", a.ContentType, true, 100)
		text(path+"/AttachmentName", a.Name, true, maxAttachmentName)
		switch {
		case a.ContentID == "":
			add(path+"/ContentId", "is empty")
		case strings.ContainsAny(a.ContentID, " \t\r\n<>\"'&"):
			add(path+"/ContentId", "%q holds spaces or markup characters", a.ContentID)
		}
		for j := range i {
			if d.Attachments[j].ContentID == a.ContentID && a.ContentID != "" {
				add(path+"/ContentId", "%s is also attachment %d's", a.ContentID, j+1)
				break
			}
		}
		if len(a.Data) == 0 {
			add(path, "holds no data")
		}
	}
	return p
}

// validateDocumentID checks DocumentId against the header it belongs to:
// "<OrganId>,<PromulgationDate>,<CodeNumber>/<CodeNotation>". The organ is
// the one that issued the document, which need not be the sender.
func (d *Document) validateDocumentID(add func(path, format string, args ...any)) {
	const path = "DocumentId"
	if d.DocumentID == "" {
		add(path, "is empty")
		return
	}
	organ, _, _ := strings.Cut(d.DocumentID, ",")
	if !organIDPattern.MatchString(organ) {
		add(path, "%q does not start with an organ code like 000.00.00.H41 and a comma", d.DocumentID)
		return
	}
	want := MakeDocumentID(organ, d.PromulgationDate, d.CodeNumber, d.CodeNotation)
	if d.DocumentID != want {
		add(path, "is %q; from the header's date, number and notation it is %q", d.DocumentID, want)
	}
}

// length counts characters as a person does: a Vietnamese letter with its
// marks is one character however it was typed (NFC).
func length(s string) int {
	return utf8.RuneCountInString(norm.NFC.String(s))
}

// badXMLChar returns the first rune XML 1.0 cannot carry.
func badXMLChar(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return r, true
		}
	}
	return 0, false
}
