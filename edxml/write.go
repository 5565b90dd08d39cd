package edxml

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Write writes d as an edXML envelope to w, UTF-8, indented by two spaces.
// The same Document always gives the same bytes. The attachments' base64 is
// encoded as it is written, one unbroken line each, so no second copy of a
// large file is made.
//
// Write does not judge the Document: an empty field is written as an empty
// element. Call Validate first.
func Write(w io.Writer, d *Document) error {
	if d == nil {
		return errors.New("edxml: no document to write")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &encoder{w: bw}

	e.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	// The root and the attachments are in the standard's namespace as the
	// default one, the envelope's elements carry the edXML prefix: the
	// layout of the standard's sample files.
	e.raw(`<edXML xmlns="` + Namespace + `" xmlns:` + Prefix + `="` + Namespace + `" xmlns:xlink="` + XLinkNamespace + `">` + "\n")
	e.open(1, "edXMLEnvelope")
	e.open(2, "edXMLHeader")

	e.open(3, "MessageHeader")
	e.organ(4, "From", &d.From)
	for i := range d.To {
		e.organ(4, "To", &d.To[i])
	}
	e.open(4, "Code")
	e.leaf(5, "CodeNumber", d.CodeNumber)
	e.leaf(5, "CodeNotation", d.CodeNotation)
	e.close(4, "Code")
	e.open(4, "PromulgationInfo")
	e.leaf(5, "Place", d.Place)
	e.leaf(5, "PromulgationDate", formatDate(d.PromulgationDate))
	e.close(4, "PromulgationInfo")
	e.open(4, "DocumentType")
	e.leaf(5, "Type", strconv.Itoa(d.Type))
	e.leaf(5, "TypeName", d.TypeName)
	e.close(4, "DocumentType")
	e.leaf(4, "Subject", d.Subject)
	e.open(4, "SignerInfo")
	e.leaf(5, "Position", d.SignerPosition)
	e.leaf(5, "FullName", d.SignerFullName)
	e.close(4, "SignerInfo")
	e.open(4, "OtherInfo")
	e.leaf(5, "Priority", strconv.Itoa(d.Priority))
	e.leaf(5, "PageAmount", strconv.Itoa(d.PageAmount))
	e.close(4, "OtherInfo")
	e.leaf(4, "DocumentId", d.DocumentID)
	e.close(3, "MessageHeader")

	e.open(3, "TraceHeaderList")
	e.open(4, "TraceHeader")
	e.leaf(5, "OrganId", d.Trace.OrganID)
	e.leaf(5, "Timestamp", formatTimestamp(d.Trace.Timestamp))
	e.close(4, "TraceHeader")
	e.close(3, "TraceHeaderList")

	e.close(2, "edXMLHeader")
	e.open(2, "edXMLBody")
	e.raw(indent(3) + "<" + Prefix + `:edXMLManifest version="1.0">` + "\n")
	for _, a := range d.Attachments {
		e.raw(indent(4) + "<" + Prefix + `:Reference xlink:href="` + escape("cid:"+a.ContentID) + `" xlink:type="simple">` + "\n")
		e.leaf(5, "AttachmentName", a.Name)
		e.leaf(5, "ContentType", a.ContentType)
		e.close(4, "Reference")
	}
	e.close(3, "edXMLManifest")
	e.close(2, "edXMLBody")
	e.close(1, "edXMLEnvelope")

	if len(d.Attachments) > 0 {
		e.raw(indent(1) + "<AttachmentEncoded>\n")
		for _, a := range d.Attachments {
			e.raw(indent(2) + "<Attachment>\n")
			e.plainLeaf(3, "ContentType", a.ContentType)
			e.plainLeaf(3, "ContentId", a.ContentID)
			e.raw(indent(3) + "<ContentTransferEncoded>")
			e.base64(a.Data)
			e.raw("</ContentTransferEncoded>\n")
			e.plainLeaf(3, "AttachmentName", a.Name)
			e.raw(indent(2) + "</Attachment>\n")
		}
		e.raw(indent(1) + "</AttachmentEncoded>\n")
	}
	e.raw("</edXML>\n")

	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// encoder writes the envelope's markup, keeping the first write error.
type encoder struct {
	w   *bufio.Writer
	err error
}

func (e *encoder) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) open(depth int, name string) {
	e.raw(indent(depth) + "<" + Prefix + ":" + name + ">\n")
}

func (e *encoder) close(depth int, name string) {
	e.raw(indent(depth) + "</" + Prefix + ":" + name + ">\n")
}

// leaf writes a prefixed element holding text.
func (e *encoder) leaf(depth int, name, text string) {
	e.raw(indent(depth) + "<" + Prefix + ":" + name + ">" + escape(text) + "</" + Prefix + ":" + name + ">\n")
}

// plainLeaf writes an element holding text in the default namespace.
func (e *encoder) plainLeaf(depth int, name, text string) {
	e.raw(indent(depth) + "<" + name + ">" + escape(text) + "</" + name + ">\n")
}

func (e *encoder) organ(depth int, name string, o *Organ) {
	e.open(depth, name)
	e.leaf(depth+1, "OrganId", o.OrganID)
	e.leaf(depth+1, "OrganName", o.OrganName)
	e.leaf(depth+1, "OrganAdd", o.OrganAdd)
	e.leaf(depth+1, "Email", o.Email)
	e.leaf(depth+1, "Telephone", o.Telephone)
	e.leaf(depth+1, "Fax", o.Fax)
	e.leaf(depth+1, "Website", o.Website)
	e.close(depth, name)
}

// base64 encodes data straight into the output through the encoder's
// small buffer.
func (e *encoder) base64(data []byte) {
	if e.err != nil {
		return
	}
	enc := base64.NewEncoder(base64.StdEncoding, e.w)
	if _, err := enc.Write(data); err != nil {
		e.err = err
		return
	}
	e.err = enc.Close()
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

// escape returns s as XML character data or attribute value. Characters XML
// cannot carry become U+FFFD; Validate reports them.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writing to a strings.Builder cannot fail
	return b.String()
}
