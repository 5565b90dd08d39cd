package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"scanstation/certify"
	"scanstation/certify/pades"
)

func TestPrintInspection(t *testing.T) {
	signed := time.Date(2026, 11, 26, 9, 43, 34, 0, time.FixedZone("", 7*3600))
	good := func() *certify.Inspection {
		return &certify.Inspection{
			Signatures: []pades.SignatureReport{{Field: "Signature1", SubFilter: "ETSI.CAdES.detached",
				Intact: true, CoversWholeFile: true, SigningTime: signed}},
			PDFAPart: "2", PDFAConformance: "U",
			ChainChecked: true, ChainTrusted: true,
			Mark: &certify.MarkReport{Present: true, Page: 1, TopRight: true, TimeMatches: true,
				Text: "SAO Y\nSở Nội vụ\n26.11.2026 09:43:34 +07:00", CopyLabel: "SAO Y", TimeShown: "26.11.2026 09:43:34 +07:00"},
			Record: map[string]string{"convertedFromPaper": "True", "agency": "Sở Nội vụ", "operator": "Hoa",
				"conversionTime": "2026-11-26T09:40:00+07:00", "sourceSHA256": "ab12"},
		}
	}
	for _, c := range []struct {
		name  string
		edit  func(*certify.Inspection)
		lines []string
	}{
		{"good", func(*certify.Inspection) {}, []string{
			"  certification mark: SAO Y / Sở Nội vụ / 26.11.2026 09:43:34 +07:00, top right of page 1, time equal to the signature's\n",
			"  certificate chain: trusted\n",
			"  conversion record: converted from paper by Sở Nội vụ, scanned by Hoa, on 26.11.2026 09:40:00 +07:00, SHA-256 ab12\n",
			"  PDF/A identification: PDF/A-2u\n",
		}},
		{"invisible", func(in *certify.Inspection) {
			in.Mark = &certify.MarkReport{}
			in.Problems = []string{"the first signature is invisible: it shows no certification mark"}
		}, []string{
			"  certification mark: NONE — the signature shows no visible mark\n",
			"  problem: the first signature is invisible: it shows no certification mark\n",
		}},
		{"misplaced and wrong time", func(in *certify.Inspection) {
			in.Mark.TopRight, in.Mark.TimeMatches, in.Mark.TimeShown = false, false, "26.11.2026 08:43:34 +07:00"
		}, []string{
			", on page 1 but NOT in its top right corner, time NOT the signature's\n",
		}},
		{"no operator", func(in *certify.Inspection) { delete(in.Record, "operator") }, []string{
			"  conversion record: converted from paper by Sở Nội vụ, operator not recorded, on 26.11.2026 09:40:00 +07:00, SHA-256 ab12\n",
		}},
		{"no record, untrusted", func(in *certify.Inspection) {
			in.Record, in.ChainTrusted = map[string]string{}, false
		}, []string{
			"  certificate chain: NOT trusted\n",
			"  conversion record: MISSING\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := good()
			c.edit(in)
			var out bytes.Buffer
			printInspection(&out, "scan1.pdf", in)
			for _, l := range c.lines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("the output lacks %q:\n%s", l, out.String())
				}
			}
		})
	}
}
