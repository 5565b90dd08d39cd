package edxml

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Read parses an edXML envelope: the header, the trace and every attachment,
// decoded. It accepts the layout Write produces and the common variants
// (the envelope as the root, dates as dd/MM/yyyy). Every manifest reference
// must name an attachment and every attachment must be in the manifest.
//
// An attachment's base64 is decoded as it is read; the XML parser still
// holds its encoded text once while it does.
func Read(r io.Reader) (*Document, error) {
	dec := xml.NewDecoder(r)
	d := &Document{}
	var (
		root       *xml.Name
		header     bool
		manifest   *xmlManifest
		traceFound bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("edxml: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == nil {
			name := start.Name
			root = &name
			if name.Space != Namespace || (name.Local != "edXML" && name.Local != "edXMLEnvelope") {
				return nil, fmt.Errorf("edxml: the root element is {%s}%s, not an edXML envelope in %s", name.Space, name.Local, Namespace)
			}
			continue
		}
		if start.Name.Space != Namespace {
			continue
		}
		switch start.Name.Local {
		case "MessageHeader":
			var h xmlMessageHeader
			if err := dec.DecodeElement(&h, &start); err != nil {
				return nil, fmt.Errorf("edxml: MessageHeader: %w", err)
			}
			if err := h.fill(d); err != nil {
				return nil, err
			}
			header = true
		case "TraceHeaderList":
			var l xmlTraceHeaderList
			if err := dec.DecodeElement(&l, &start); err != nil {
				return nil, fmt.Errorf("edxml: TraceHeaderList: %w", err)
			}
			// This station writes one TraceHeader; of several, the first
			// is the sender's.
			if len(l.TraceHeaders) > 0 && !traceFound {
				t := l.TraceHeaders[0]
				ts, err := parseTimestamp(t.Timestamp)
				if err != nil {
					return nil, fmt.Errorf("edxml: TraceHeader/Timestamp: %w", err)
				}
				d.Trace = Trace{OrganID: strings.TrimSpace(t.OrganID), Timestamp: ts}
				traceFound = true
			}
		case "edXMLManifest":
			manifest = &xmlManifest{}
			if err := dec.DecodeElement(manifest, &start); err != nil {
				return nil, fmt.Errorf("edxml: edXMLManifest: %w", err)
			}
		case "Attachment":
			a, err := readAttachment(dec, start)
			if err != nil {
				return nil, err
			}
			d.Attachments = append(d.Attachments, a)
		}
	}
	if root == nil {
		return nil, errors.New("edxml: no XML element")
	}
	if !header {
		return nil, errors.New("edxml: no MessageHeader")
	}
	if err := matchManifest(d, manifest); err != nil {
		return nil, err
	}
	return d, nil
}

// matchManifest checks that manifest and attachments name the same content
// ids, and takes a name the attachment lacks from the manifest.
func matchManifest(d *Document, m *xmlManifest) error {
	var refs []xmlReference
	if m != nil {
		refs = m.References
	}
	for _, ref := range refs {
		id, ok := strings.CutPrefix(strings.TrimSpace(ref.Href), "cid:")
		if !ok {
			return fmt.Errorf("edxml: manifest reference %q does not start with cid:", ref.Href)
		}
		i := slices.IndexFunc(d.Attachments, func(a Attachment) bool { return a.ContentID == id })
		if i < 0 {
			return fmt.Errorf("edxml: the manifest names cid:%s but no attachment has that content id", id)
		}
		if d.Attachments[i].Name == "" {
			d.Attachments[i].Name = strings.TrimSpace(ref.AttachmentName)
		}
	}
	for _, a := range d.Attachments {
		if !slices.ContainsFunc(refs, func(r xmlReference) bool { return strings.TrimSpace(r.Href) == "cid:"+a.ContentID }) {
			return fmt.Errorf("edxml: attachment %q (content id %s) is not in the manifest", a.Name, a.ContentID)
		}
	}
	return nil
}

// readAttachment reads one Attachment element, decoding its
// ContentTransferEncoded text as the parser hands it over.
func readAttachment(dec *xml.Decoder, start xml.StartElement) (Attachment, error) {
	var a Attachment
	encoding := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return a, fmt.Errorf("edxml: Attachment: %w", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if encoding != "" && !strings.EqualFold(encoding, Base64) {
				return a, fmt.Errorf("edxml: attachment %q is encoded as %q; only base64 is read", a.Name, encoding)
			}
			return a, nil
		case xml.StartElement:
			var text string
			switch t.Name.Local {
			case "ContentTransferEncoded":
				data, err := readBase64(dec)
				if err != nil {
					return a, fmt.Errorf("edxml: attachment %q: %w", a.ContentID, err)
				}
				a.Data = data
				continue
			case "ContentType", "ContentId", "AttachmentName", "ContentTransferEncoding":
				if err := dec.DecodeElement(&text, &t); err != nil {
					return a, fmt.Errorf("edxml: Attachment/%s: %w", t.Name.Local, err)
				}
			default:
				if err := dec.Skip(); err != nil {
					return a, fmt.Errorf("edxml: Attachment/%s: %w", t.Name.Local, err)
				}
				continue
			}
			text = strings.TrimSpace(text)
			switch t.Name.Local {
			case "ContentType":
				a.ContentType = text
			case "ContentId":
				a.ContentID = strings.TrimPrefix(text, "cid:")
			case "AttachmentName":
				a.Name = text
			case "ContentTransferEncoding":
				encoding = text
			}
		}
	}
}

// readBase64 decodes the text of the element just opened up to its end.
func readBase64(dec *xml.Decoder) ([]byte, error) {
	var b b64
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if err := b.write(t); err != nil {
				return nil, err
			}
		case xml.StartElement:
			return nil, fmt.Errorf("unexpected element %s inside the base64 text", t.Name.Local)
		case xml.EndElement:
			return b.finish()
		}
	}
}

// b64 decodes base64 arriving in pieces, skipping white space.
type b64 struct {
	out     []byte
	pending []byte // fewer than 4 characters carried to the next piece
	scratch []byte
	padded  bool // the last quantum had '=': nothing may follow
}

const b64Chunk = 32 << 10

func (b *b64) write(p []byte) error {
	b.out = slices.Grow(b.out, len(p)/4*3)
	for len(p) > 0 {
		n := min(len(p), b64Chunk)
		b.scratch = append(b.scratch[:0], b.pending...)
		for _, c := range p[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
			default:
				b.scratch = append(b.scratch, c)
			}
		}
		p = p[n:]
		if len(b.scratch) == 0 {
			continue
		}
		if b.padded {
			return errors.New("base64 text goes on after its padding")
		}
		whole := len(b.scratch) / 4 * 4
		if err := b.decode(b.scratch[:whole]); err != nil {
			return err
		}
		b.pending = append(b.pending[:0], b.scratch[whole:]...)
	}
	return nil
}

func (b *b64) decode(s []byte) error {
	if len(s) == 0 {
		return nil
	}
	at := len(b.out)
	b.out = slices.Grow(b.out, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b.out[at:at+base64.StdEncoding.DecodedLen(len(s))], s)
	if err != nil {
		return fmt.Errorf("bad base64: %w", err)
	}
	b.out = b.out[:at+n]
	b.padded = s[len(s)-1] == '='
	return nil
}

func (b *b64) finish() ([]byte, error) {
	if len(b.pending) != 0 {
		return nil, errors.New("base64 text is cut short")
	}
	if b.out == nil {
		return []byte{}, nil
	}
	return b.out, nil
}

// The header as encoding/xml reads it.
type xmlOrgan struct {
	OrganID   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganId"`
	OrganName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganName"`
	OrganAdd  string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganAdd"`
	Email     string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Email"`
	Telephone string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Telephone"`
	Fax       string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Fax"`
	Website   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Website"`
}

func (o xmlOrgan) organ() Organ {
	t := strings.TrimSpace
	return Organ{t(o.OrganID), t(o.OrganName), t(o.OrganAdd), t(o.Email), t(o.Telephone), t(o.Fax), t(o.Website)}
}

type xmlMessageHeader struct {
	From xmlOrgan   `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 From"`
	To   []xmlOrgan `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 To"`
	Code struct {
		CodeNumber   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 CodeNumber"`
		CodeNotation string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 CodeNotation"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Code"`
	PromulgationInfo struct {
		Place            string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Place"`
		PromulgationDate string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 PromulgationDate"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 PromulgationInfo"`
	DocumentType struct {
		Type     string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Type"`
		TypeName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 TypeName"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 DocumentType"`
	Subject    string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Subject"`
	SignerInfo struct {
		Position string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Position"`
		FullName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 FullName"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 SignerInfo"`
	OtherInfo struct {
		Priority   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Priority"`
		PageAmount string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 PageAmount"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OtherInfo"`
	DocumentID string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 DocumentId"`
}

func (h *xmlMessageHeader) fill(d *Document) error {
	t := strings.TrimSpace
	d.From = h.From.organ()
	for _, to := range h.To {
		d.To = append(d.To, to.organ())
	}
	d.CodeNumber = t(h.Code.CodeNumber)
	d.CodeNotation = t(h.Code.CodeNotation)
	d.Place = t(h.PromulgationInfo.Place)
	date, err := parseDate(h.PromulgationInfo.PromulgationDate)
	if err != nil {
		return fmt.Errorf("edxml: PromulgationInfo/PromulgationDate: %w", err)
	}
	d.PromulgationDate = date
	d.TypeName = t(h.DocumentType.TypeName)
	d.Subject = t(h.Subject)
	d.SignerPosition = t(h.SignerInfo.Position)
	d.SignerFullName = t(h.SignerInfo.FullName)
	d.DocumentID = t(h.DocumentID)
	for _, n := range []struct {
		path string
		text string
		to   *int
	}{
		{"DocumentType/Type", h.DocumentType.Type, &d.Type},
		{"OtherInfo/Priority", h.OtherInfo.Priority, &d.Priority},
		{"OtherInfo/PageAmount", h.OtherInfo.PageAmount, &d.PageAmount},
	} {
		if *n.to, err = parseInt(n.text); err != nil {
			return fmt.Errorf("edxml: MessageHeader/%s: %w", n.path, err)
		}
	}
	return nil
}

type xmlTraceHeaderList struct {
	TraceHeaders []struct {
		OrganID   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganId"`
		Timestamp string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Timestamp"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 TraceHeader"`
}

type xmlManifest struct {
	References []xmlReference `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Reference"`
}

type xmlReference struct {
	Href           string `xml:"http://www.w3.org/1999/xlink href,attr"`
	AttachmentName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 AttachmentName"`
}

// parseInt reads a number element; an empty one is 0.
func parseInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

// parseDate reads yyyy/MM/dd, as Write writes it, or dd/MM/yyyy, as some
// exchange software does; the date is taken in Vietnam time.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{dateLayout, "02/01/2006", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, vietnam); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (yyyy/MM/dd)", s)
}

// parseTimestamp reads yyyy/MM/dd HH:mm:ss in Vietnam time, the variant
// dd/MM/yyyy HH:mm:ss, or RFC 3339.
func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{timestampLayout, "02/01/2006 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, vietnam); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (yyyy/MM/dd HH:mm:ss)", s)
}
