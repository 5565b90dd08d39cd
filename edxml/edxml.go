// Package edxml writes and reads the edXML envelope of QCVN 102:2016/BTTTT,
// the package in which Vietnamese agencies exchange documents: a header that
// describes the document (who sent it, its number and notation, date, type,
// subject, signer, pages), a trace of the stations it passed, a manifest, and
// the files themselves in base64.
//
// Write produces the same bytes for the same Document: it reads no clock and
// iterates no maps. Read parses an envelope back, attachments decoded, for
// tests and for "scanstation verify". Validate lists what a Document lacks
// before it may go out. docs/edxml.md describes the structure and the
// sources its element names come from.
package edxml

import (
	"fmt"
	"time"
)

// Namespace is the standard's XML namespace; Prefix is the prefix the
// standard's examples give it.
const (
	Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
	Prefix    = "edXML"
)

// XLinkNamespace is the namespace of the manifest's href and type attributes.
const XLinkNamespace = "http://www.w3.org/1999/xlink"

// Base64 is the only content transfer encoding Write uses.
const Base64 = "base64"

// An Organ is an agency as the header names it: the sender (From) or a
// recipient (To).
type Organ struct {
	OrganID   string // electronic identifier code, 13 characters: 000.00.00.H41
	OrganName string
	OrganAdd  string // postal address
	Email     string
	Telephone string
	Fax       string
	Website   string
}

// A Trace is one station a document passed: the agency and when.
type Trace struct {
	OrganID   string
	Timestamp time.Time // written in Vietnam time (UTC+7), to the second
}

// An Attachment is one file carried in the envelope.
type Attachment struct {
	ContentType string // "application/pdf"
	ContentID   string // the manifest refers to it as "cid:" + ContentID
	Name        string // file name, e.g. "scan1.pdf"
	Data        []byte
}

// A Document is what one envelope says about one document, with its files.
type Document struct {
	From Organ
	To   []Organ // may be empty: the exchange software adds the recipients

	CodeNumber   string // số: "12"
	CodeNotation string // ký hiệu: "QĐ-UBND"

	Place            string    // địa danh: "Hà Nội"
	PromulgationDate time.Time // only the calendar date is written (yyyy/MM/dd, in the time's own zone)

	Type     int    // DocumentType/Type: 1 legal normative document, 2 administrative document
	TypeName string // DocumentType/TypeName: "Công văn", "Quyết định", ...

	Subject string // trích yếu

	SignerPosition string
	SignerFullName string

	Priority   int // OtherInfo/Priority, 0 (normal) to 4
	PageAmount int // OtherInfo/PageAmount

	// DocumentID is "<OrganId>,<yyyy/MM/dd>,<số>/<ký hiệu>"; MakeDocumentID makes it.
	DocumentID string

	Trace       Trace
	Attachments []Attachment
}

// Document types of DocumentType/Type.
const (
	TypeLegal          = 1 // văn bản quy phạm pháp luật
	TypeAdministrative = 2 // văn bản hành chính
)

// vietnam is UTC+7: Vietnam has no daylight saving time, and a fixed zone
// needs no time zone database.
var vietnam = time.FixedZone("ICT", 7*60*60)

const (
	dateLayout      = "2006/01/02"
	timestampLayout = "2006/01/02 15:04:05"
)

// MakeDocumentID returns the header's DocumentId for a document issued by the
// organ organID on date with number and notation:
// "000.00.00.H41,2026/03/05,12/QĐ-UBND".
func MakeDocumentID(organID string, date time.Time, number, notation string) string {
	return fmt.Sprintf("%s,%s,%s/%s", organID, date.Format(dateLayout), number, notation)
}

// A Field is one line of what an envelope says, for people to read.
type Field struct {
	Name, Value string
}

// Summary lists the header's fields in the envelope's order, with their
// element paths as names, for "scanstation verify" to print.
func (d *Document) Summary() []Field {
	f := []Field{
		{"From/OrganId", d.From.OrganID},
		{"From/OrganName", d.From.OrganName},
	}
	for _, to := range d.To {
		f = append(f, Field{"To/OrganId", to.OrganID}, Field{"To/OrganName", to.OrganName})
	}
	f = append(f,
		Field{"Code/CodeNumber", d.CodeNumber},
		Field{"Code/CodeNotation", d.CodeNotation},
		Field{"PromulgationInfo/Place", d.Place},
		Field{"PromulgationInfo/PromulgationDate", formatDate(d.PromulgationDate)},
		Field{"DocumentType/Type", fmt.Sprint(d.Type)},
		Field{"DocumentType/TypeName", d.TypeName},
		Field{"Subject", d.Subject},
		Field{"SignerInfo/Position", d.SignerPosition},
		Field{"SignerInfo/FullName", d.SignerFullName},
		Field{"OtherInfo/Priority", fmt.Sprint(d.Priority)},
		Field{"OtherInfo/PageAmount", fmt.Sprint(d.PageAmount)},
		Field{"DocumentId", d.DocumentID},
		Field{"TraceHeader/OrganId", d.Trace.OrganID},
		Field{"TraceHeader/Timestamp", formatTimestamp(d.Trace.Timestamp)},
	)
	for _, a := range d.Attachments {
		f = append(f, Field{"Attachment", fmt.Sprintf("%s (%s, cid:%s, %d bytes)", a.Name, a.ContentType, a.ContentID, len(a.Data))})
	}
	return f
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func formatTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vietnam).Format(timestampLayout)
}
