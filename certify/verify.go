package certify

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"scanstation/certify/pades"
	"scanstation/verify/revisions"
)

// Inspection is what `scanstation verify` reports about a file: what the law asks of a
// certified copy (Decree 30/2020 Appendix I; Law 20/2023 Art. 12), not only the signature.
type Inspection struct {
	Signatures      []pades.SignatureReport
	PDFAPart        string // "2" for PDF/A-2
	PDFAConformance string // "U", "B" or "A"

	// ChainChecked is set when trusted certificates were given; ChainTrusted then says
	// whether every signer's certificate leads to one of them.
	ChainChecked bool
	ChainTrusted bool

	// Mark is the certification mark: the first signature's widget. Nil when the file
	// is not signed.
	Mark *MarkReport

	// Record is the conversion record in the XMP metadata (namespace RecordNamespace),
	// by property name without prefix: "convertedFromPaper", "agency", "operator",
	// "conversionTime", "sourceFile", "sourceSHA256", "approvedBy", ... Empty when absent.
	Record map[string]string

	// Forbidden says, for every change a revision after a signature made that the signatures
	// do not allow, what it changed: after a certification, what its DocMDP permission
	// forbids; after the last signature or document timestamp, anything but validation data
	// (/DSS), document timestamps and metadata. Empty when nothing forbidden was changed.
	Forbidden []string

	// Problems says in plain words everything that makes OK false; empty when OK.
	Problems []string
}

// MarkReport is what the first signature's widget shows on the page.
type MarkReport struct {
	// Present means the widget has a rectangle with an area on a page, is not hidden,
	// and its appearance shows text.
	Present bool
	Page    int        // the page it is on, from 1; 0 when on none
	Rect    [4]float64 // llx lly urx ury in the page's default user space (before /Rotate)
	// TopRight means the rectangle lies inside page 1 as displayed (after its /Rotate),
	// in its right half and its top quarter.
	TopRight bool

	Text      string // the mark's text, one line per line shown
	CopyLabel string // "SAO Y", "SAO LỤC" or "TRÍCH SAO" when one of its lines is that
	// TimeShown is the signing time as the mark shows it, or the date and time the mark
	// shows when it is not the signing time ("" when it shows none that can be found).
	TimeShown   string
	TimeMatches bool // the mark shows the signature's /M time

	// TimestampChecked is set when the signature carries a signature timestamp that checks
	// out and the mark shows a time that can be read: /M only claims a time, the timestamp
	// proves one. TimestampSkew is then the mark's time minus the timestamp's genTime, and
	// TimestampAgrees says it is within InspectOptions.MaxClockSkew either way.
	TimestampChecked bool
	TimestampAgrees  bool
	TimestampSkew    time.Duration
}

// InspectOptions say what a file is checked against. The zero value checks the
// station's default mark without a trust store.
type InspectOptions struct {
	// Roots, when set, are the trusted CA certificates every signer must lead to.
	Roots *x509.CertPool
	// TimeFormat is the station's mark.time_format; empty means mark.DefaultTimeFormat.
	TimeFormat string
	// Zone is the station's mark.time_zone. The time shown may be in it or in the zone
	// of the signature's /M; nil means Asia/Ho_Chi_Minh.
	Zone *time.Location
	// MaxClockSkew is the station's timestamp.max_clock_skew: how far the mark's time may
	// lie from its signature timestamp's genTime; zero means DefaultMaxClockSkew.
	MaxClockSkew time.Duration
}

// OK reports whether the file is what the station promises: at least one signature, every
// signature intact, the last one covering the whole file, every signer trusted when
// trusted certificates were given, a PDF/A identification, a conversion record saying
// who converted what and when, and the first signature's visible mark in the top right
// of page 1 showing the signing time, within MaxClockSkew of its timestamp's when it has one.
func (in *Inspection) OK() bool {
	for _, s := range in.Signatures {
		if !s.Intact {
			return false
		}
	}
	if len(in.Forbidden) > 0 {
		return false
	}
	if in.ChainChecked && !in.ChainTrusted {
		return false
	}
	return len(in.CopyProblems()) == 0
}

// CopyProblems says which of the station's promises about the copy itself, beside its
// signatures, the file does not keep: signed at all, a PDF/A identification, the mark in the
// top right of page 1 showing the signing time (within MaxClockSkew of its timestamp's), and a
// conversion record. Empty when it keeps them all.
func (in *Inspection) CopyProblems() []string {
	var out []string
	if len(in.Signatures) == 0 {
		out = append(out, "the file is not signed")
	}
	if in.PDFAPart == "" {
		out = append(out, "the file does not say it is PDF/A")
	}
	if m := in.Mark; len(in.Signatures) > 0 {
		switch {
		case m == nil || !m.Present:
			out = append(out, "the copy shows no certification mark")
		case m.Page != 1 || !m.TopRight:
			out = append(out, "the certification mark is not in the top right corner of page 1")
		case !m.TimeMatches:
			out = append(out, "the certification mark does not show the signing time")
		case m.TimestampChecked && !m.TimestampAgrees:
			out = append(out, fmt.Sprintf("the certification mark's time is %s from the time the timestamp authority vouches for",
				m.TimestampSkew.Abs().Round(time.Second)))
		}
	}
	return append(out, recordGaps(in.Record)...)
}

// Inspect checks pdf against the station's defaults (see InspectOptions), with roots
// (may be nil) as the trusted certificates.
func Inspect(pdf []byte, roots *x509.CertPool) (*Inspection, error) {
	return InspectWith(pdf, InspectOptions{Roots: roots})
}

// InspectWith checks the signatures of pdf (with opt.Roots, also their certificate
// chains), reads its PDF/A identification and conversion record from the XMP metadata,
// and reads the certification mark the first signature shows. The error is for a file
// that cannot be read at all; what is wrong with it is in Problems.
func InspectWith(pdf []byte, opt InspectOptions) (*Inspection, error) {
	report, err := pades.Verify(pdf, pades.VerifyOptions{Roots: opt.Roots})
	if err != nil {
		return nil, err
	}
	in := &Inspection{Signatures: report.Signatures}
	xref, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	xmp, err := catalogMetadata(xref)
	if err != nil {
		return nil, err
	}
	props, xmpErr := xmpProperties(xmp)
	if xmpErr != nil {
		in.Problems = append(in.Problems, fmt.Sprintf("the file's metadata (XMP) cannot be read: %v", xmpErr))
	}
	in.PDFAPart = props[nsPDFAID]["part"]
	in.PDFAConformance = props[nsPDFAID]["conformance"]
	in.Record = props[RecordNamespace]
	if in.Record == nil {
		in.Record = map[string]string{}
	}

	if len(in.Signatures) == 0 {
		in.Problems = append(in.Problems, "the file is not signed")
	} else {
		in.checkSignatures(opt.Roots)
		in.checkRevisions(pdf)
		mark, problems := readMark(xref, in.Signatures[0].SigningTime, opt)
		in.Mark = mark
		in.Problems = append(in.Problems, problems...)
		in.Problems = append(in.Problems, markAgainstTimestamp(mark, in.Signatures[0], opt)...)
	}
	if in.PDFAPart == "" {
		in.Problems = append(in.Problems, "the file does not say it is PDF/A: its metadata has no PDF/A identification")
	}
	in.Problems = append(in.Problems, recordGaps(in.Record)...)
	return in, nil
}

// checkSignatures sums up the signatures' findings as problems of the file. The
// details stay in each signature's own Problems.
func (in *Inspection) checkSignatures(roots *x509.CertPool) {
	for _, s := range in.Signatures {
		if !s.Intact {
			in.Problems = append(in.Problems, fmt.Sprintf("signature %q does not check out: the document was changed after signing, or the signature is damaged", s.Field))
		}
	}
	if roots == nil {
		return
	}
	in.ChainChecked, in.ChainTrusted = true, true
	for _, s := range in.Signatures {
		if err := chainTrusted(s, roots); err != nil {
			in.ChainTrusted = false
			in.Problems = append(in.Problems, fmt.Sprintf("the signer of signature %q is not trusted: %v", s.Field, err))
		}
	}
}

// checkRevisions compares each revision after a signature with the one it signed: a
// certification's DocMDP permission (P=1 nothing, 2 form filling and signing, 3 also
// annotations; validation data and document timestamps always) binds every later revision,
// and what follows the last signature or document timestamp may only be validation data,
// document timestamps or metadata (PAdES B-LT and B-LTA add those).
func (in *Inspection) checkRevisions(pdf []byte) {
	forbid := func(changes []revisions.Change, err error, after string) {
		if err != nil {
			in.Forbidden = append(in.Forbidden, fmt.Sprintf("the revisions after %s cannot be compared: %v", after, err))
			return
		}
		for _, c := range revisions.Violations(changes) {
			in.Forbidden = append(in.Forbidden, fmt.Sprintf("after %s, %s", after, c))
		}
	}
	last := in.Signatures[0]
	for _, s := range in.Signatures {
		if s.End > last.End {
			last = s
		}
		if s.Certification && s.End > 0 && s.End < len(pdf) {
			changes, err := revisions.CheckModifications(pdf, int64(s.End), s.DocMDP)
			forbid(changes, err, fmt.Sprintf("the certification %q (permission P=%d)", s.Field, s.DocMDP))
		}
	}
	if last.End > 0 && last.End < len(pdf) {
		changes, err := revisions.CheckModifications(pdf, int64(last.End), 1)
		forbid(changes, err, fmt.Sprintf("the last signature or timestamp %q", last.Field))
	}
	slices.Sort(in.Forbidden)
	in.Forbidden = slices.Compact(in.Forbidden)
	for _, f := range in.Forbidden {
		in.Problems = append(in.Problems, "a later change is not allowed: "+f)
	}
}

// chainTrusted checks the signer's certificate against roots at the time the signature
// was made, as pades.Verify does; pades reports the outcome only in words.
func chainTrusted(s pades.SignatureReport, roots *x509.CertPool) error {
	if s.Signer == nil {
		return errors.New("the signature holds no signer's certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range s.Chain {
		if c != s.Signer {
			inter.AddCert(c)
		}
	}
	at := s.SigningTime
	if s.TimestampValid {
		at = s.Timestamp
	}
	if at.IsZero() {
		at = time.Now()
	}
	_, err := s.Signer.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// recordGaps says what the conversion record lacks of what the Law on E-Transactions
// (Art. 12) asks: that the copy was converted, by which agency, when, and from which
// source file. The operator is not required: a station records one only when the
// hot-folder names one or the scan was saved in a sub-folder, and the agency is who
// answers for the copy.
func recordGaps(rec map[string]string) []string {
	if !strings.EqualFold(rec["convertedFromPaper"], "true") {
		return []string{"the file's metadata has no conversion record saying it was converted from paper, by whom and when"}
	}
	var gaps []string
	for _, f := range []struct{ name, what string }{
		{"agency", "which agency converted it"},
		{"conversionTime", "when it was converted"},
		{"sourceSHA256", "the SHA-256 of the scanner's file"},
	} {
		if strings.TrimSpace(rec[f.name]) == "" {
			gaps = append(gaps, "the conversion record does not say "+f.what)
		}
	}
	return gaps
}

// readConfig is a fixed pdfcpu configuration: the default one would read (and create)
// a config.yml under the user's home, which a hardened service may not have.
func readConfig() *model.Configuration {
	return &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Limits:         model.DefaultResourceLimits(),
		Offline:        true,
	}
}

func readPDF(pdf []byte) (xref *model.XRefTable, err error) {
	// pdfcpu panics on some malformed input; a bad file must be reported, not crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the PDF is damaged and cannot be read (%v)", r)
		}
	}()
	ctx, err := pdfcpu.Read(bytes.NewReader(pdf), readConfig())
	if err != nil {
		return nil, fmt.Errorf("read PDF: %w", err)
	}
	if ctx.Root == nil {
		return nil, errors.New("read PDF: it has no document catalog")
	}
	return ctx.XRefTable, nil
}

func catalogMetadata(xref *model.XRefTable) ([]byte, error) {
	catalog, err := xref.Catalog()
	if err != nil {
		return nil, fmt.Errorf("read PDF catalog: %w", err)
	}
	obj, ok := catalog.Find("Metadata")
	if !ok {
		return nil, nil
	}
	sd, _, err := xref.DereferenceStreamDict(obj)
	if err != nil || sd == nil {
		return nil, fmt.Errorf("read XMP metadata: %v", err)
	}
	if err := sd.Decode(); err != nil {
		return nil, fmt.Errorf("decode XMP metadata: %w", err)
	}
	return sd.Content, nil
}

const nsPDFAID = "http://www.aiim.org/pdfa/ns/id/"

// xmpProperties reads the simple properties of an XMP packet by namespace and local
// name, written either as elements or as attributes (both are valid RDF). Properties
// that are structures or arrays get the text of their items joined by spaces.
func xmpProperties(xmp []byte) (map[string]map[string]string, error) {
	props := map[string]map[string]string{}
	set := func(ns, name, value string) {
		if props[ns] == nil {
			props[ns] = map[string]string{}
		}
		props[ns][name] = strings.TrimSpace(value)
	}
	if len(xmp) == 0 {
		return props, nil
	}
	d := xml.NewDecoder(bytes.NewReader(xmp))
	// The property being read: its name and depth, and its text so far.
	var open xml.Name
	var text strings.Builder
	depth, openDepth := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return props, nil
		}
		if err != nil {
			return props, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			for _, a := range t.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" && a.Name.Space != nsRDF && a.Name.Space != "http://www.w3.org/XML/1998/namespace" {
					set(a.Name.Space, a.Name.Local, a.Value)
				}
			}
			if openDepth == 0 && t.Name.Space != nsRDF && t.Name.Space != "adobe:ns:meta/" {
				open, openDepth = t.Name, depth
				text.Reset()
			} else if openDepth != 0 && text.Len() > 0 {
				text.WriteByte(' ')
			}
		case xml.CharData:
			if openDepth != 0 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == openDepth {
				set(open.Space, open.Local, strings.Join(strings.Fields(text.String()), " "))
				openDepth = 0
			}
			depth--
		}
	}
}

const nsRDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
