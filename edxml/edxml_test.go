package edxml_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/certify/pades"
	"scanstation/edxml"
)

var vietnam = time.FixedZone("ICT", 7*60*60)

// sample is a document as the station would describe one: Vietnamese text,
// markup characters in the subject, two recipients, one attachment.
func sample(pdf []byte) *edxml.Document {
	date := time.Date(2026, 3, 5, 0, 0, 0, 0, vietnam)
	from := edxml.Organ{
		OrganID:   "000.00.00.H41",
		OrganName: "Sở Nội vụ tỉnh Nam Định",
		OrganAdd:  "Số 10 đường Trần Hưng Đạo, phường Bà Triệu, thành phố Nam Định",
		Email:     "vanthu@sonoivu.namdinh.gov.vn",
		Telephone: "0228 3849 123",
		Fax:       "0228 3849 124",
		Website:   "sonoivu.namdinh.gov.vn",
	}
	return &edxml.Document{
		From: from,
		To: []edxml.Organ{
			{OrganID: "000.00.00.G09", OrganName: "Bộ Nội vụ"},
			{OrganID: "000.00.01.H41", OrganName: "Ủy ban nhân dân tỉnh Nam Định", Email: "ubnd@namdinh.gov.vn"},
		},
		CodeNumber:       "125",
		CodeNotation:     "SNV-VTLT",
		Place:            "Nam Định",
		PromulgationDate: date,
		Type:             edxml.TypeAdministrative,
		TypeName:         "Công văn",
		Subject:          "V/v số hoá tài liệu lưu trữ năm 2025 & kế hoạch <2026> của \"Chi cục\"",
		SignerPosition:   "Phó Giám đốc",
		SignerFullName:   "Nguyễn Thị Hồng Nhung",
		Priority:         1,
		PageAmount:       3,
		DocumentID:       edxml.MakeDocumentID(from.OrganID, date, "125", "SNV-VTLT"),
		Trace:            edxml.Trace{OrganID: from.OrganID, Timestamp: time.Date(2026, 3, 5, 9, 43, 18, 0, time.UTC)},
		Attachments: []edxml.Attachment{
			{ContentType: "application/pdf", ContentID: "scan-0042.pdf@scanstation", Name: "Công văn 125.pdf", Data: pdf},
		},
	}
}

// writeFile writes d as an envelope file in a test folder and returns its path.
func writeFile(t *testing.T, d *edxml.Document) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scan-0042.edxml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := edxml.Write(f, d); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) *edxml.Document {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := edxml.Read(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return d
}

func TestMakeDocumentID(t *testing.T) {
	got := edxml.MakeDocumentID("000.00.00.H41", time.Date(2026, 3, 5, 0, 0, 0, 0, vietnam), "125", "SNV-VTLT")
	if want := "000.00.00.H41,2026/03/05,125/SNV-VTLT"; got != want {
		t.Errorf("MakeDocumentID = %q, want %q", got, want)
	}
}

func TestRoundTripVietnamese(t *testing.T) {
	in := sample([]byte("%PDF-1.7 not really a PDF\n"))
	if p := in.Validate(); p != nil {
		t.Fatalf("the sample does not validate: %q", p)
	}
	out := readFile(t, writeFile(t, in))

	if !slices.Equal(out.Summary(), in.Summary()) {
		t.Errorf("summary after the round trip:\n%q\nwant\n%q", out.Summary(), in.Summary())
	}
	if out.From != in.From {
		t.Errorf("From = %+v, want %+v", out.From, in.From)
	}
	if !slices.Equal(out.To, in.To) {
		t.Errorf("To = %+v, want %+v", out.To, in.To)
	}
	if out.Subject != in.Subject || out.SignerFullName != in.SignerFullName || out.Place != in.Place || out.TypeName != in.TypeName {
		t.Errorf("text fields changed: %q %q %q %q", out.Subject, out.SignerFullName, out.Place, out.TypeName)
	}
	if !out.PromulgationDate.Equal(in.PromulgationDate) {
		t.Errorf("PromulgationDate = %v, want %v", out.PromulgationDate, in.PromulgationDate)
	}
	if !out.Trace.Timestamp.Equal(in.Trace.Timestamp) || out.Trace.OrganID != in.Trace.OrganID {
		t.Errorf("Trace = %+v, want %+v", out.Trace, in.Trace)
	}
	if out.Type != in.Type || out.Priority != in.Priority || out.PageAmount != in.PageAmount {
		t.Errorf("numbers = %d %d %d, want %d %d %d", out.Type, out.Priority, out.PageAmount, in.Type, in.Priority, in.PageAmount)
	}
	if len(out.Attachments) != 1 {
		t.Fatalf("%d attachments, want 1", len(out.Attachments))
	}
	a, b := out.Attachments[0], in.Attachments[0]
	if a.ContentType != b.ContentType || a.ContentID != b.ContentID || a.Name != b.Name || !bytes.Equal(a.Data, b.Data) {
		t.Errorf("attachment = %q %q %q %q, want %q %q %q %q", a.ContentType, a.ContentID, a.Name, a.Data, b.ContentType, b.ContentID, b.Name, b.Data)
	}
	if p := out.Validate(); p != nil {
		t.Errorf("the envelope read back does not validate: %q", p)
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	pdf := bytes.Repeat([]byte("%PDF-1.7 ổn định "), 1000)
	var first, second, copied bytes.Buffer
	if err := edxml.Write(&first, sample(pdf)); err != nil {
		t.Fatal(err)
	}
	if err := edxml.Write(&second, sample(pdf)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("two writes of the same document differ")
	}
	// A separate copy of the data, with the trace time in another zone for the same instant.
	d := sample(bytes.Clone(pdf))
	d.Trace.Timestamp = d.Trace.Timestamp.In(vietnam)
	if err := edxml.Write(&copied, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), copied.Bytes()) {
		t.Fatal("the same instant in another zone gives other bytes")
	}
	// And the bytes do depend on the input.
	d.Trace.Timestamp = d.Trace.Timestamp.Add(time.Second)
	var later bytes.Buffer
	if err := edxml.Write(&later, d); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Bytes(), later.Bytes()) {
		t.Fatal("a different trace time gives the same bytes")
	}
}

func TestLargeAttachmentDecodesToTheSameBytes(t *testing.T) {
	pdf := make([]byte, 5<<20+7) // not a multiple of 3: the base64 ends with padding
	rng := rand.NewChaCha8([32]byte{'s', 'c', 'a', 'n'})
	rng.Read(pdf)
	want := sha256.Sum256(pdf)

	path := writeFile(t, sample(pdf))
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	encoded := int64(base64.StdEncoding.EncodedLen(len(pdf)))
	if info.Size() < encoded || info.Size() > encoded+8<<10 {
		t.Errorf("the envelope is %d bytes; the base64 alone is %d", info.Size(), encoded)
	}

	out := readFile(t, path)
	if len(out.Attachments) != 1 {
		t.Fatalf("%d attachments, want 1", len(out.Attachments))
	}
	if got := sha256.Sum256(out.Attachments[0].Data); got != want {
		t.Errorf("Read: attachment SHA-256 %x, want %x", got, want)
	}

	// As another program would: encoding/xml and encoding/base64, nothing of ours.
	env := parseAsConsumer(t, path)
	data, err := base64.StdEncoding.DecodeString(env.Attachments[0].ContentTransferEncoded)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(data); got != want {
		t.Errorf("consumer: attachment SHA-256 %x, want %x", got, want)
	}
}

// The envelope as a consumer declares it from the standard's tables.
const ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

type consumerOrgan struct {
	OrganID   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganId"`
	OrganName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganName"`
}

type consumerEnvelope struct {
	XMLName  xml.Name `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 edXML"`
	Envelope struct {
		Header struct {
			MessageHeader struct {
				From consumerOrgan   `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 From"`
				To   []consumerOrgan `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 To"`
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
			} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 MessageHeader"`
			TraceHeaderList struct {
				TraceHeader []struct {
					OrganID   string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 OrganId"`
					Timestamp string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Timestamp"`
				} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 TraceHeader"`
			} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 TraceHeaderList"`
		} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 edXMLHeader"`
		Body struct {
			Manifest struct {
				Reference []struct {
					Href           string `xml:"http://www.w3.org/1999/xlink href,attr"`
					AttachmentName string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 AttachmentName"`
					ContentType    string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 ContentType"`
				} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 Reference"`
			} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 edXMLManifest"`
		} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 edXMLBody"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 edXMLEnvelope"`
	Attachments []struct {
		ContentType            string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 ContentType"`
		ContentID              string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 ContentId"`
		ContentTransferEncoded string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 ContentTransferEncoded"`
		AttachmentName         string `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 AttachmentName"`
	} `xml:"http://www.mic.gov.vn/TBT/QCVN_102_2016 AttachmentEncoded>Attachment"`
}

func parseAsConsumer(t *testing.T, path string) *consumerEnvelope {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env consumerEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatalf("encoding/xml cannot read the envelope: %v", err)
	}
	if len(env.Attachments) == 0 {
		t.Fatal("encoding/xml finds no AttachmentEncoded/Attachment in the standard's namespace")
	}
	return &env
}

func TestConsumerFindsEveryRequiredElement(t *testing.T) {
	pdf := []byte("%PDF-1.7 signed bytes\n%%EOF\n")
	in := sample(pdf)
	path := writeFile(t, in)
	env := parseAsConsumer(t, path)

	h := env.Envelope.Header.MessageHeader
	for _, c := range []struct{ name, got, want string }{
		{"From/OrganId", h.From.OrganID, "000.00.00.H41"},
		{"From/OrganName", h.From.OrganName, "Sở Nội vụ tỉnh Nam Định"},
		{"Code/CodeNumber", h.Code.CodeNumber, "125"},
		{"Code/CodeNotation", h.Code.CodeNotation, "SNV-VTLT"},
		{"PromulgationInfo/Place", h.PromulgationInfo.Place, "Nam Định"},
		{"PromulgationInfo/PromulgationDate", h.PromulgationInfo.PromulgationDate, "2026/03/05"},
		{"DocumentType/Type", h.DocumentType.Type, "2"},
		{"DocumentType/TypeName", h.DocumentType.TypeName, "Công văn"},
		{"Subject", h.Subject, in.Subject},
		{"SignerInfo/Position", h.SignerInfo.Position, "Phó Giám đốc"},
		{"SignerInfo/FullName", h.SignerInfo.FullName, "Nguyễn Thị Hồng Nhung"},
		{"OtherInfo/Priority", h.OtherInfo.Priority, "1"},
		{"OtherInfo/PageAmount", h.OtherInfo.PageAmount, "3"},
		{"DocumentId", h.DocumentID, "000.00.00.H41,2026/03/05,125/SNV-VTLT"},
	} {
		if c.got != c.want {
			t.Errorf("MessageHeader/%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(h.To) != 2 || h.To[0].OrganID != "000.00.00.G09" || h.To[1].OrganName != "Ủy ban nhân dân tỉnh Nam Định" {
		t.Errorf("MessageHeader/To = %+v", h.To)
	}
	trace := env.Envelope.Header.TraceHeaderList.TraceHeader
	if len(trace) != 1 || trace[0].OrganID != "000.00.00.H41" || trace[0].Timestamp != "2026/03/05 16:43:18" {
		t.Errorf("TraceHeaderList/TraceHeader = %+v, want the station's organ at 2026/03/05 16:43:18 Vietnam time", trace)
	}
	refs := env.Envelope.Body.Manifest.Reference
	if len(refs) != 1 || refs[0].Href != "cid:scan-0042.pdf@scanstation" || refs[0].AttachmentName != "Công văn 125.pdf" || refs[0].ContentType != "application/pdf" {
		t.Errorf("edXMLManifest/Reference = %+v", refs)
	}
	a := env.Attachments[0]
	if a.ContentID != "scan-0042.pdf@scanstation" || a.ContentType != "application/pdf" || a.AttachmentName != "Công văn 125.pdf" {
		t.Errorf("Attachment = %q %q %q", a.ContentID, a.ContentType, a.AttachmentName)
	}
	data, err := base64.StdEncoding.DecodeString(a.ContentTransferEncoded)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(data) != sha256.Sum256(pdf) {
		t.Errorf("the attachment decodes to %q, not the signed PDF", data)
	}
}

// TestEveryElementInTheNamespace walks the raw tokens: every element is in the
// standard's namespace, the envelope's under the edXML prefix, the header in
// the standard's order.
func TestEveryElementInTheNamespace(t *testing.T) {
	path := writeFile(t, sample([]byte("%PDF-1.7\n")))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Namespaces resolved.
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var stack []string
	var headerChildren []string
	var hrefNS string
	elements := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			elements++
			if tk.Name.Space != ns {
				t.Errorf("element %s is in namespace %q", tk.Name.Local, tk.Name.Space)
			}
			if len(stack) > 0 && stack[len(stack)-1] == "MessageHeader" {
				headerChildren = append(headerChildren, tk.Name.Local)
			}
			if tk.Name.Local == "Reference" {
				for _, at := range tk.Attr {
					if at.Name.Local == "href" {
						hrefNS = at.Name.Space
					}
				}
			}
			stack = append(stack, tk.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if elements < 40 {
		t.Fatalf("only %d elements read", elements)
	}
	want := []string{"From", "To", "To", "Code", "PromulgationInfo", "DocumentType", "Subject", "SignerInfo", "OtherInfo", "DocumentId"}
	if !slices.Equal(headerChildren, want) {
		t.Errorf("MessageHeader children %q, want %q", headerChildren, want)
	}
	if hrefNS != "http://www.w3.org/1999/xlink" {
		t.Errorf("Reference href is in namespace %q, want xlink", hrefNS)
	}

	// Prefixes as written: the envelope's elements use edXML:, and edXML is bound to the namespace.
	dec = xml.NewDecoder(bytes.NewReader(raw))
	inEnvelope := false
	for {
		tok, err := dec.RawToken()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Local == "edXML" && tk.Name.Space == "" {
				bound := false
				for _, at := range tk.Attr {
					if at.Name.Space == "xmlns" && at.Name.Local == "edXML" && at.Value == ns {
						bound = true
					}
				}
				if !bound {
					t.Errorf("the root does not bind the edXML prefix to %s: %v", ns, tk.Attr)
				}
			}
			if tk.Name.Local == "edXMLEnvelope" {
				inEnvelope = true
			}
			if inEnvelope && tk.Name.Space != "edXML" {
				t.Errorf("envelope element %s has prefix %q, want edXML", tk.Name.Local, tk.Name.Space)
			}
		case xml.EndElement:
			if tk.Name.Local == "edXMLEnvelope" {
				inEnvelope = false
			}
		}
	}
}

func TestValidate(t *testing.T) {
	pdf := []byte("%PDF-1.7\n")
	if p := sample(pdf).Validate(); p != nil {
		t.Fatalf("the sample does not validate: %q", p)
	}
	// 30 characters as a person counts them, typed decomposed (more code points).
	notation30 := norm.NFD.String("QĐ-ỦYBAN-SỞNỘIVỤ-VĂNTHƯ-LƯUTRỮ")
	if n := len([]rune(norm.NFC.String(notation30))); n != 30 {
		t.Fatalf("test notation has %d characters", n)
	}
	for _, c := range []struct {
		name   string
		change func(d *edxml.Document)
		want   string // a problem starting with this; "" for none
	}{
		{"lower-case letter in organ code", func(d *edxml.Document) { d.From.OrganID = "000.00.00.h41" }, "From/OrganId:"},
		{"short organ code", func(d *edxml.Document) { d.From.OrganID = "00.00.00.H41" }, "From/OrganId:"},
		{"organ code with a space", func(d *edxml.Document) { d.To[1].OrganID = "000.00.01.H41 " }, "To[2]/OrganId:"},
		{"empty trace organ", func(d *edxml.Document) { d.Trace.OrganID = "" }, "TraceHeader/OrganId: is empty"},
		{"duplicate recipient", func(d *edxml.Document) { d.To[1].OrganID = d.To[0].OrganID }, "To[2]/OrganId:"},
		{"notation of 31 characters", func(d *edxml.Document) { d.CodeNotation = strings.Repeat("X", 31) }, "Code/CodeNotation: is 31 characters long"},
		{"notation of 30 characters typed decomposed", func(d *edxml.Document) {
			d.CodeNotation = notation30
			d.DocumentID = edxml.MakeDocumentID(d.From.OrganID, d.PromulgationDate, d.CodeNumber, d.CodeNotation)
		}, ""},
		{"number of 12 characters", func(d *edxml.Document) { d.CodeNumber = "123456789012" }, "Code/CodeNumber: is 12 characters long"},
		{"empty number", func(d *edxml.Document) { d.CodeNumber = "" }, "Code/CodeNumber: is empty"},
		{"empty notation", func(d *edxml.Document) { d.CodeNotation = " " }, "Code/CodeNotation: is empty"},
		{"empty organ name", func(d *edxml.Document) { d.From.OrganName = "" }, "From/OrganName: is empty"},
		{"empty subject", func(d *edxml.Document) { d.Subject = "" }, "Subject: is empty"},
		{"subject of 501 characters", func(d *edxml.Document) { d.Subject = strings.Repeat("ữ", 501) }, "Subject: is 501 characters long"},
		{"overlong signer", func(d *edxml.Document) { d.SignerFullName = strings.Repeat("Nguyễn ", 20) }, "SignerInfo/FullName:"},
		{"empty type name", func(d *edxml.Document) { d.TypeName = "" }, "DocumentType/TypeName: is empty"},
		{"unknown type", func(d *edxml.Document) { d.Type = 18 }, "DocumentType/Type:"},
		{"empty place", func(d *edxml.Document) { d.Place = "" }, "PromulgationInfo/Place: is empty"},
		{"no date", func(d *edxml.Document) { d.PromulgationDate = time.Time{} }, "PromulgationInfo/PromulgationDate: is empty"},
		{"no pages", func(d *edxml.Document) { d.PageAmount = 0 }, "OtherInfo/PageAmount:"},
		{"priority 5", func(d *edxml.Document) { d.Priority = 5 }, "OtherInfo/Priority:"},
		{"empty document id", func(d *edxml.Document) { d.DocumentID = "" }, "DocumentId: is empty"},
		{"document id of another date", func(d *edxml.Document) { d.DocumentID = "000.00.00.H41,2026/03/06,125/SNV-VTLT" }, "DocumentId:"},
		{"document id of another number", func(d *edxml.Document) { d.DocumentID = "000.00.00.H41,2026/03/05,126/SNV-VTLT" }, "DocumentId:"},
		{"document id without an organ code", func(d *edxml.Document) { d.DocumentID = "H41,2026/03/05,125/SNV-VTLT" }, "DocumentId:"},
		{"document id of the issuing organ", func(d *edxml.Document) { d.DocumentID = "000.00.00.G09,2026/03/05,125/SNV-VTLT" }, ""},
		{"no trace time", func(d *edxml.Document) { d.Trace.Timestamp = time.Time{} }, "TraceHeader/Timestamp: is empty"},
		{"no attachment", func(d *edxml.Document) { d.Attachments = nil }, "Attachments:"},
		{"attachment without content id", func(d *edxml.Document) { d.Attachments[0].ContentID = "" }, "Attachment[1]/ContentId: is empty"},
		{"attachment without data", func(d *edxml.Document) { d.Attachments[0].Data = nil }, "Attachment[1]: holds no data"},
		{"same content id twice", func(d *edxml.Document) { d.Attachments = append(d.Attachments, d.Attachments[0]) }, "Attachment[2]/ContentId:"},
		{"control character", func(d *edxml.Document) { d.Subject = "Báo cáo\x0c" }, "Subject: holds the character U+000C"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := sample(pdf)
			c.change(d)
			p := d.Validate()
			if c.want == "" {
				if p != nil {
					t.Errorf("problems %q, want none", p)
				}
				return
			}
			if !slices.ContainsFunc(p, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
				t.Errorf("problems %q, want one starting %q", p, c.want)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	var good bytes.Buffer
	if err := edxml.Write(&good, sample([]byte("%PDF-1.7 some bytes to encode!\n"))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"another namespace", `xmlns="` + ns + `"`, `xmlns="http://www.go.vn/eDoc"`, "root element"},
		{"manifest naming a missing attachment", `xlink:href="cid:scan-0042.pdf@scanstation"`, `xlink:href="cid:other"`, "no attachment has that content id"},
		{"attachment not in the manifest", `<ContentId>scan-0042.pdf@scanstation</ContentId>`, `<ContentId>stray</ContentId>`, "content id"},
		{"cut base64", `=</ContentTransferEncoded>`, `</ContentTransferEncoded>`, "base64"},
		{"base64 with a foreign character", `<ContentTransferEncoded>`, `<ContentTransferEncoded>*`, "base64"},
		{"no header", `<edXML:MessageHeader>`, `<edXML:MessageHeaderX>`, ""},
		{"page count not a number", `<edXML:PageAmount>3<`, `<edXML:PageAmount>ba<`, "PageAmount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(good.Bytes(), []byte(c.old)) {
				t.Fatalf("the envelope does not contain %q", c.old)
			}
			bad := bytes.Replace(good.Bytes(), []byte(c.old), []byte(c.new), 1)
			path := filepath.Join(t.TempDir(), "bad.edxml")
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = edxml.Read(f)
			if err == nil {
				t.Fatal("Read accepted it")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestReadAcceptsWrappedBase64(t *testing.T) {
	pdf := make([]byte, 100_000)
	rand.NewChaCha8([32]byte{1}).Read(pdf)
	var buf bytes.Buffer
	if err := edxml.Write(&buf, sample(pdf)); err != nil {
		t.Fatal(err)
	}
	// Another producer's line breaks every 76 characters.
	enc := base64.StdEncoding.EncodeToString(pdf)
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 76 {
		wrapped.WriteString("\r\n")
		wrapped.WriteString(enc[i:min(i+76, len(enc))])
	}
	wrapped.WriteString("\n  ")
	envelope := strings.Replace(buf.String(), enc, wrapped.String(), 1)
	if envelope == buf.String() {
		t.Fatal("the base64 was not found in the envelope")
	}
	d, err := edxml.Read(strings.NewReader(envelope))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(d.Attachments[0].Data) != sha256.Sum256(pdf) {
		t.Error("wrapped base64 decodes to other bytes")
	}
}

// TestSignedPDFStillVerifies carries a PAdES-signed PDF through a file
// envelope: the copy read back verifies as intact and whole, as
// "scanstation verify" would check it; one changed base64 character breaks it.
func TestSignedPDFStillVerifies(t *testing.T) {
	signed := signedPDF(t)
	path := writeFile(t, sample(signed))

	out := readFile(t, path)
	got := out.Attachments[0].Data
	if sha256.Sum256(got) != sha256.Sum256(signed) {
		t.Fatal("the attachment is not the signed PDF")
	}
	rep, err := pades.Verify(got, pades.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 1 || !rep.Signatures[0].Intact || !rep.Signatures[0].CoversWholeFile {
		t.Fatalf("the attachment's signature does not verify: %+v", rep.Signatures)
	}

	// Change one character of the base64 text in the middle of the file.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(raw, []byte("<ContentTransferEncoded>")) + len("<ContentTransferEncoded>")
	end := bytes.Index(raw, []byte("</ContentTransferEncoded>"))
	i := start + (end-start)/2
	if raw[i] == 'A' {
		raw[i] = 'B'
	} else {
		raw[i] = 'A'
	}
	tampered, err := edxml.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = pades.Verify(tampered.Attachments[0].Data, pades.VerifyOptions{})
	if err == nil && len(rep.Signatures) == 1 && rep.Signatures[0].Intact {
		t.Error("a changed attachment still verifies as intact")
	}
}

// signedPDF is a one-page PDF certified with a fresh key and a self-signed
// certificate.
func signedPDF(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "Văn thư Sở Nội vụ tỉnh Nam Định", Country: []string{"VN"}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	var pdf bytes.Buffer
	var offsets []int
	object := func(body string) {
		offsets = append(offsets, pdf.Len())
		fmt.Fprintf(&pdf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	pdf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	object("<</Type/Catalog/Pages 2 0 R>>")
	object("<</Type/Pages/Kids[3 0 R]/Count 1>>")
	object("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595.28 841.89]/Resources<<>>/Contents 4 0 R>>")
	content := strings.Repeat("0 0 1 rg 100 100 200 200 re f\n", 2000)
	object(fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", len(content), content))
	xref := pdf.Len()
	fmt.Fprintf(&pdf, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&pdf, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&pdf, "trailer\n<</Size %d/Root 1 0 R/ID[<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>]>>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)

	var signed bytes.Buffer
	err = pades.Sign(&signed, pdf.Bytes(), pades.Signer{Key: key, Chain: []*x509.Certificate{cert}},
		pades.Options{Certify: true, Time: time.Date(2026, 3, 5, 16, 43, 18, 0, vietnam)})
	if err != nil {
		t.Fatal(err)
	}
	return signed.Bytes()
}

// TestWriteStreamsTheAttachment: writing an 8 MB attachment allocates a small
// fraction of its size: the base64 goes straight to the writer.
func TestWriteStreamsTheAttachment(t *testing.T) {
	d := sample(make([]byte, 8<<20))
	if err := edxml.Write(io.Discard, d); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := edxml.Write(io.Discard, d); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<10 {
		t.Errorf("writing an 8 MB attachment allocated %d bytes", alloc)
	}
}
