package main

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/edxml"
)

func cmdVerify(args []string, stdout io.Writer) error {
	fs := newFlagSet("verify")
	trust := fs.String("trust", "", "PEM file of trusted CA certificates: also check the certificate chain")
	timeFormat := fs.String("time-format", mark.DefaultTimeFormat, "the station's mark.time_format: how the mark shows the signing time")
	timeZone := fs.String("time-zone", "Asia/Ho_Chi_Minh", "the station's mark.time_zone")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 1 {
		return errors.New("verify: name one PDF or edXML file")
	}
	file := fs.Arg(0)
	opt := certify.InspectOptions{TimeFormat: *timeFormat, Zone: certify.VietnamTime()}
	if _, err := mark.FormatTime(time.Now(), nil, *timeFormat); err != nil {
		return fmt.Errorf("verify: --time-format: %w", err)
	}
	if *timeZone != "Asia/Ho_Chi_Minh" {
		zone, err := time.LoadLocation(*timeZone)
		if err != nil {
			return fmt.Errorf("verify: --time-zone %q is not a time zone this system knows", *timeZone)
		}
		opt.Zone = zone
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if *trust != "" {
		pemData, err := os.ReadFile(*trust)
		if err != nil {
			return err
		}
		opt.Roots = x509.NewCertPool()
		if !opt.Roots.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("verify: %s holds no PEM certificate", *trust)
		}
	}
	if strings.EqualFold(filepath.Ext(file), ".edxml") {
		return verifyEdXML(stdout, file, data, opt)
	}
	in, err := certify.InspectWith(data, opt)
	if err != nil {
		return fmt.Errorf("verify %s: %w", file, err)
	}
	printInspection(stdout, file, in)
	if !in.OK() {
		return exitError(1)
	}
	return nil
}

// verifyEdXML checks an edXML package: its header's fields, and every PDF it carries as a
// certified copy; a PDF beside the package must be the same bytes.
func verifyEdXML(stdout io.Writer, file string, data []byte, opt certify.InspectOptions) error {
	doc, err := edxml.Read(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("verify %s: %w", file, err)
	}
	ok := true
	fmt.Fprintf(stdout, "%s (edXML package)\n", file)
	for _, f := range doc.Summary() {
		fmt.Fprintf(stdout, "  %-28s %s\n", f.Name+":", f.Value)
	}
	for _, p := range doc.Validate() {
		ok = false
		fmt.Fprintf(stdout, "  problem: %s\n", p)
	}
	pdfs := 0
	for _, a := range doc.Attachments {
		if a.ContentType != "application/pdf" {
			continue
		}
		pdfs++
		in, err := certify.InspectWith(a.Data, opt)
		if err != nil {
			return fmt.Errorf("verify %s, attachment %s: %w", file, a.Name, err)
		}
		printInspection(stdout, file+" → "+a.Name, in)
		ok = ok && in.OK()
		sibling := filepath.Join(filepath.Dir(file), a.Name)
		if there, err := os.ReadFile(sibling); err == nil {
			if bytes.Equal(there, a.Data) {
				fmt.Fprintf(stdout, "  %s beside the package: the same bytes\n", a.Name)
			} else {
				ok = false
				fmt.Fprintf(stdout, "  problem: %s beside the package differs from the attachment\n", a.Name)
			}
		}
	}
	if pdfs == 0 {
		ok = false
		fmt.Fprintln(stdout, "  problem: the package carries no PDF")
	}
	if !ok {
		fmt.Fprintln(stdout, "  package result: NOT OK")
		return exitError(1)
	}
	fmt.Fprintln(stdout, "  package result: OK")
	return nil
}

// printInspection writes what verify found, in words a records-office clerk can act on,
// ending with "result: OK" or "result: NOT OK".
func printInspection(w io.Writer, file string, in *certify.Inspection) {
	fmt.Fprintf(w, "%s\n", file)
	if len(in.Signatures) == 0 {
		fmt.Fprintln(w, "  signature: NONE — this file is not signed")
	}
	for _, s := range in.Signatures {
		if s.DocumentTimestamp {
			fmt.Fprintf(w, "  document timestamp %q (%s)\n", s.Field, s.SubFilter)
			fmt.Fprintf(w, "    intact:            %s\n", yesNo(s.Intact))
			if s.TimestampSigner != nil {
				fmt.Fprintf(w, "    by:                %s\n", s.TimestampSigner.Subject)
			}
			fmt.Fprintf(w, "    time:              %s\n", s.Timestamp.Format("02.01.2006 15:04:05 -07:00"))
			for _, p := range s.Problems {
				fmt.Fprintf(w, "    problem:           %s\n", p)
			}
			continue
		}
		fmt.Fprintf(w, "  signature %q (%s)\n", s.Field, s.SubFilter)
		fmt.Fprintf(w, "    intact:            %s\n", yesNo(s.Intact))
		if s.CoversWholeFile {
			fmt.Fprintf(w, "    covers:            the whole file\n")
		} else {
			fmt.Fprintf(w, "    covers:            its revision (the file up to byte %d); later revisions are checked below\n", s.End)
		}
		if s.Signer != nil {
			fmt.Fprintf(w, "    signed by:         %s\n", s.Signer.Subject)
			fmt.Fprintf(w, "    issued by:         %s\n", s.Signer.Issuer)
		}
		fmt.Fprintf(w, "    signing time:      %s\n", s.SigningTime.Format("02.01.2006 15:04:05 -07:00"))
		for _, p := range s.Problems {
			fmt.Fprintf(w, "    problem:           %s\n", p)
		}
	}
	if in.ChainChecked {
		if in.ChainTrusted {
			fmt.Fprintln(w, "  certificate chain: trusted")
		} else {
			fmt.Fprintln(w, "  certificate chain: NOT trusted")
		}
	}
	if m := in.Mark; m != nil {
		fmt.Fprintf(w, "  certification mark: %s\n", markWords(m))
	}
	fmt.Fprintf(w, "  conversion record: %s\n", recordWords(in.Record))
	if in.PDFAPart != "" {
		fmt.Fprintf(w, "  PDF/A identification: PDF/A-%s%s\n", in.PDFAPart, strings.ToLower(in.PDFAConformance))
	} else {
		fmt.Fprintln(w, "  PDF/A identification: MISSING")
	}
	for _, p := range in.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if in.OK() {
		fmt.Fprintln(w, "  result: OK")
	} else {
		fmt.Fprintln(w, "  result: NOT OK")
	}
}

// markWords is the mark's text on one line, where it is, and whether its time is the
// signature's: "SAO Y / Sở Nội vụ / 26.11.2026 09:43:34 +07:00, top right of page 1,
// time equal to the signature's".
func markWords(m *certify.MarkReport) string {
	if !m.Present {
		return "NONE — the signature shows no visible mark"
	}
	var parts []string
	parts = append(parts, strings.Join(strings.Split(m.Text, "\n"), " / "))
	switch {
	case m.Page != 1:
		parts = append(parts, fmt.Sprintf("on page %d, NOT page 1", m.Page))
	case m.TopRight:
		parts = append(parts, "top right of page 1")
	default:
		parts = append(parts, "on page 1 but NOT in its top right corner")
	}
	switch {
	case m.TimeMatches:
		parts = append(parts, "time equal to the signature's")
	case m.TimeShown != "":
		parts = append(parts, "time NOT the signature's")
	default:
		parts = append(parts, "NO signing time shown")
	}
	return strings.Join(parts, ", ")
}

// recordWords is the conversion record in one line: who converted what, and when.
func recordWords(rec map[string]string) string {
	if !strings.EqualFold(rec["convertedFromPaper"], "true") {
		return "MISSING"
	}
	var parts []string
	add := func(label, key string) {
		if v := rec[key]; v != "" {
			parts = append(parts, label+" "+v)
		}
	}
	if t, err := time.Parse(time.RFC3339, rec["conversionTime"]); err == nil {
		rec = maps.Clone(rec)
		rec["conversionTime"] = t.Format("02.01.2006 15:04:05 -07:00")
	}
	add("converted from paper by", "agency")
	add("at station", "station")
	if rec["operator"] == "" {
		parts = append(parts, "operator not recorded")
	}
	add("scanned by", "operator")
	add("on", "conversionTime")
	add("from", "sourceFile")
	add("SHA-256", "sourceSHA256")
	add("approved by", "approvedBy")
	if len(parts) == 0 {
		return "converted from paper (nothing more recorded)"
	}
	return strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
