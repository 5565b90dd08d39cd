package pdfa

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// XMPSchema is a set of extra metadata properties in one custom namespace,
// such as the mark the Law on E-Transactions asks for on a converted paper
// document (agency, operator, time, source hash). PDF/A accepts custom
// properties only with an extension schema description, which Write adds
// from Description and the properties' descriptions.
type XMPSchema struct {
	Namespace   string // namespace URI, ending in "/" or "#"
	Prefix      string // preferred prefix, an XML name such as "scan"
	Description string // what the schema is for, in words
	Properties  []XMPProperty
}

// XMPProperty is one text property of an XMPSchema.
type XMPProperty struct {
	Name        string // an XML name, unique within the schema
	Value       string
	Description string
}

const (
	nsRDF    = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsPDFAID = "http://www.aiim.org/pdfa/ns/id/"
	nsDC     = "http://purl.org/dc/elements/1.1/"
	nsXMP    = "http://ns.adobe.com/xap/1.0/"
	nsPDF    = "http://ns.adobe.com/pdf/1.3/"
)

// reservedPrefixes are prefixes of schemas PDF/A predefines or that the
// packet itself uses; a custom schema must not take them.
var reservedPrefixes = map[string]bool{
	"x": true, "rdf": true, "xml": true, "pdfaid": true, "dc": true, "xmp": true, "pdf": true,
	"pdfaExtension": true, "pdfaSchema": true, "pdfaProperty": true, "xmpMM": true, "photoshop": true,
	"xmpRights": true, "xmpTPg": true, "xmpidq": true, "pdfx": true, "stEvt": true, "stRef": true,
}

// xmpProp is a property as it goes into the packet: simple text, or a
// language alternative with only the x-default entry (dc:title).
type xmpProp struct {
	name    string
	value   string
	altLang bool
}

// xmpSchema is one rdf:Description. Predefined schemas need no extension
// description; custom ones carry the text for it.
type xmpSchema struct {
	ns, prefix  string
	props       []xmpProp
	custom      bool
	description string
	propDescs   []string
}

// xmpPacket collects schemas and serialises them as one XMP packet.
type xmpPacket struct {
	schemas []xmpSchema
}

func (p *xmpPacket) add(s xmpSchema) {
	if len(s.props) > 0 {
		p.schemas = append(p.schemas, s)
	}
}

func (p *xmpPacket) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("<?xpacket begin=\"\uFEFF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n")
	b.WriteString("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n")
	b.WriteString(" <rdf:RDF xmlns:rdf=\"" + nsRDF + "\">\n")
	var custom []xmpSchema
	for _, s := range p.schemas {
		if s.custom {
			custom = append(custom, s)
		}
	}
	if len(custom) > 0 {
		b.WriteString("  <rdf:Description rdf:about=\"\"" +
			" xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"" +
			" xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"" +
			" xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n")
		b.WriteString("   <pdfaExtension:schemas><rdf:Bag>\n")
		for _, s := range custom {
			b.WriteString("    <rdf:li rdf:parseType=\"Resource\">\n")
			xmlElem(&b, "     ", "pdfaSchema:schema", s.description)
			xmlElem(&b, "     ", "pdfaSchema:namespaceURI", s.ns)
			xmlElem(&b, "     ", "pdfaSchema:prefix", s.prefix)
			b.WriteString("     <pdfaSchema:property><rdf:Seq>\n")
			for i, prop := range s.props {
				b.WriteString("      <rdf:li rdf:parseType=\"Resource\">\n")
				xmlElem(&b, "       ", "pdfaProperty:name", prop.name)
				xmlElem(&b, "       ", "pdfaProperty:valueType", "Text")
				xmlElem(&b, "       ", "pdfaProperty:category", "external")
				xmlElem(&b, "       ", "pdfaProperty:description", s.propDescs[i])
				b.WriteString("      </rdf:li>\n")
			}
			b.WriteString("     </rdf:Seq></pdfaSchema:property>\n")
			b.WriteString("    </rdf:li>\n")
		}
		b.WriteString("   </rdf:Bag></pdfaExtension:schemas>\n")
		b.WriteString("  </rdf:Description>\n")
	}
	for _, s := range p.schemas {
		b.WriteString("  <rdf:Description rdf:about=\"\" xmlns:" + s.prefix + "=\"")
		xml.EscapeText(&b, []byte(s.ns))
		b.WriteString("\">\n")
		for _, prop := range s.props {
			qname := s.prefix + ":" + prop.name
			if prop.altLang {
				b.WriteString("   <" + qname + "><rdf:Alt><rdf:li xml:lang=\"x-default\">")
				xml.EscapeText(&b, []byte(prop.value))
				b.WriteString("</rdf:li></rdf:Alt></" + qname + ">\n")
				continue
			}
			xmlElem(&b, "   ", qname, prop.value)
		}
		b.WriteString("  </rdf:Description>\n")
	}
	b.WriteString(" </rdf:RDF>\n</x:xmpmeta>\n")
	// No padding: the station never edits metadata in place, and every document would carry it.
	b.WriteString("<?xpacket end=\"w\"?>")
	return b.Bytes()
}

func xmlElem(b *bytes.Buffer, indent, qname, value string) {
	b.WriteString(indent + "<" + qname + ">")
	xml.EscapeText(b, []byte(value))
	b.WriteString("</" + qname + ">\n")
}

// cleanText makes s safe to appear in both the XMP packet and the Info
// dictionary: characters XML cannot carry are replaced, so both places hold
// the very same string (PDF/A compares them).
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r == '\r':
			return '\n' // XML parsers turn CR into LF; keep both sides equal
		case r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError:
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// isXMLName reports whether s can be used as a prefix or local name.
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

func validateExtraXMP(schemas []XMPSchema) error {
	seenNS := map[string]bool{}
	seenPrefix := map[string]bool{}
	for _, s := range schemas {
		if !strings.HasSuffix(s.Namespace, "/") && !strings.HasSuffix(s.Namespace, "#") {
			return fmt.Errorf("extra metadata namespace %q must end in \"/\" or \"#\"", s.Namespace)
		}
		switch s.Namespace {
		case nsRDF, nsPDFAID, nsDC, nsXMP, nsPDF:
			return fmt.Errorf("extra metadata namespace %q is a standard one; custom properties need a namespace of their own", s.Namespace)
		}
		if !isXMLName(s.Prefix) || reservedPrefixes[s.Prefix] {
			return fmt.Errorf("extra metadata prefix %q is not allowed; choose a short name of letters such as \"scan\"", s.Prefix)
		}
		if seenNS[s.Namespace] || seenPrefix[s.Prefix] {
			return fmt.Errorf("extra metadata namespace %q or prefix %q is given twice", s.Namespace, s.Prefix)
		}
		seenNS[s.Namespace], seenPrefix[s.Prefix] = true, true
		names := map[string]bool{}
		for _, p := range s.Properties {
			if !isXMLName(p.Name) || names[p.Name] {
				return fmt.Errorf("extra metadata property %q in %q is not a valid name or is given twice", p.Name, s.Prefix)
			}
			names[p.Name] = true
		}
	}
	return nil
}

// xmpDate formats t as XMP wants it: ISO 8601 with the offset.
func xmpDate(t time.Time) string {
	return t.Format("2006-01-02T15:04:05") + offset(t, ":", "")
}

// pdfDate formats t as a PDF date string: D:YYYYMMDDHHmmSS+HH'mm'.
func pdfDate(t time.Time) string {
	return "D:" + t.Format("20060102150405") + offset(t, "'", "'")
}

func offset(t time.Time, sep, end string) string {
	_, secs := t.Zone()
	sign := "+"
	if secs < 0 {
		sign, secs = "-", -secs
	}
	return fmt.Sprintf("%s%02d%s%02d%s", sign, secs/3600, sep, secs/60%60, end)
}

// pdfTextString encodes s as a PDF text string: a literal string when it
// is plain ASCII, otherwise UTF-16BE with a byte order mark, in hex.
func pdfTextString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E {
			ascii = false
			break
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
		return "(" + r.Replace(s) + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}
