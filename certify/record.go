package certify

import (
	"time"

	"scanstation/certify/pdfa"
)

// RecordNamespace is the XMP namespace of the conversion record.
const RecordNamespace = "https://scanstation.vn/ns/conversion/1.0/"

// Record is the mark the Law on E-Transactions 2023 (Art. 12) asks a data message converted
// from paper to carry: that it was converted, by whom, when, and from which source file.
type Record struct {
	Agency       string
	Station      string
	Operator     string
	ConvertedAt  time.Time
	SourceName   string
	SourceSHA256 string
	// SourcePages names the pages of the scanner's file the copy holds ("3-7, 9"),
	// when the file was a batch divided into documents; "" when the copy is the whole file.
	SourcePages string
	ApprovedBy  string // approval mode: the clerk who approved the signature
	ApprovedAt  time.Time
	// Document is the document's record (number, notation, date, organ, type, subject) as
	// extra properties.
	Document []pdfa.XMPProperty
}

// XMP is the record as a PDF/A extension schema, so validators accept the custom properties.
func (r Record) XMP() pdfa.XMPSchema {
	props := []pdfa.XMPProperty{
		{Name: "convertedFromPaper", Value: "True", Description: "The document is an electronic copy converted from paper (Law 20/2023/QH15 Art. 12)"},
		{Name: "agency", Value: r.Agency, Description: "Agency that converted and certified the copy"},
		{Name: "station", Value: r.Station, Description: "Scanning station that converted the document"},
		{Name: "operator", Value: r.Operator, Description: "Person who scanned the paper document"},
		{Name: "conversionTime", Value: r.ConvertedAt.Format(time.RFC3339), Description: "When the paper document was converted"},
		{Name: "sourceFile", Value: r.SourceName, Description: "Name of the scanner's file"},
		{Name: "sourceSHA256", Value: r.SourceSHA256, Description: "SHA-256 of the scanner's file"},
	}
	if r.SourcePages != "" {
		props = append(props, pdfa.XMPProperty{Name: "sourcePages", Value: r.SourcePages, Description: "Pages of the scanner's file (a batch of documents) this copy holds"})
	}
	if r.ApprovedBy != "" {
		props = append(props,
			pdfa.XMPProperty{Name: "approvedBy", Value: r.ApprovedBy, Description: "Clerk who approved the signature (Decree 30/2020 Art. 32.2.c)"},
			pdfa.XMPProperty{Name: "approvalTime", Value: r.ApprovedAt.Format(time.RFC3339), Description: "When the signature was approved"},
		)
	}
	props = append(props, r.Document...)
	return pdfa.XMPSchema{
		Namespace:   RecordNamespace,
		Prefix:      "sscv",
		Description: "scanstation conversion record",
		Properties:  props,
	}
}
