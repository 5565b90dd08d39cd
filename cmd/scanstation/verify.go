package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	"scanstation/verify"
)

func cmdVerify(args []string, stdout io.Writer) error {
	fs := newFlagSet("verify")
	var trustFiles []string
	fs.Func("trust", "PEM file of trusted certificates (repeatable): the anchors every chain must lead to, besides the system's", func(v string) error {
		trustFiles = append(trustFiles, v)
		return nil
	})
	configPath := fs.String("config", "", "a station's scanstation.yaml: the self-signed CA certificates of its signing.chain_file are trusted too")
	online := fs.Bool("online", false, "fetch revocation data the file does not carry from the certificates' OCSP and CRL addresses")
	asJSON := fs.Bool("json", false, "print the verdict as JSON, for machines")
	timeFormat := fs.String("time-format", mark.DefaultTimeFormat, "the station's mark.time_format: how the mark shows the signing time")
	timeZone := fs.String("time-zone", "Asia/Ho_Chi_Minh", "the station's mark.time_zone")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() == 0 {
		return errors.New("verify: name the PDF or edXML files to check")
	}
	opt := verify.Options{Online: *online, Inspect: certify.InspectOptions{TimeFormat: *timeFormat, Zone: certify.VietnamTime()}}
	if _, err := mark.FormatTime(time.Now(), nil, *timeFormat); err != nil {
		return fmt.Errorf("verify: --time-format: %w", err)
	}
	if *timeZone != "Asia/Ho_Chi_Minh" {
		zone, err := time.LoadLocation(*timeZone)
		if err != nil {
			return fmt.Errorf("verify: --time-zone %q is not a time zone this system knows", *timeZone)
		}
		opt.Inspect.Zone = zone
	}
	if *configPath != "" {
		cfg, err := loadConfigLoose(*configPath)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		opt.Inspect.MaxClockSkew = cfg.Timestamp.MaxClockSkew
	}
	anchors, err := trustAnchors(trustFiles, *configPath)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	opt.Anchors = anchors
	ctx := context.Background()
	var reports []*verify.Report
	for _, file := range fs.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if strings.EqualFold(filepath.Ext(file), ".edxml") {
			r, err := verifyEdXML(ctx, stdout, file, data, opt, *asJSON)
			if err != nil {
				return err
			}
			reports = append(reports, r...)
			continue
		}
		r, err := verify.File(ctx, file, data, opt)
		if err != nil {
			return fmt.Errorf("verify %s: %w", file, err)
		}
		reports = append(reports, r)
		if !*asJSON {
			printInspection(stdout, file, r.Inspection)
			printVerdict(stdout, r)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	}
	return verdictExit(reports)
}

// verdictExit is the exit status of the worst verdict: 0 TOTAL-PASSED, 2 INDETERMINATE,
// 1 TOTAL-FAILED.
func verdictExit(reports []*verify.Report) error {
	code := 0
	for _, r := range reports {
		switch r.Indication {
		case verify.TotalFailed:
			return exitError(1)
		case verify.Indeterminate:
			code = 2
		}
	}
	if code != 0 {
		return exitError(code)
	}
	return nil
}

// trustAnchors are the system's trusted certificates, those of the --trust files, and the
// self-signed ones of a station's chain file.
func trustAnchors(files []string, configPath string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if configPath != "" {
		cfg, err := loadConfigLoose(configPath)
		if err != nil {
			return nil, err
		}
		if cfg.Signing.ChainFile != "" {
			data, err := os.ReadFile(cfg.Signing.ChainFile)
			if err != nil {
				return nil, fmt.Errorf("signing.chain_file: %w", err)
			}
			for rest := data; ; {
				var block *pem.Block
				if block, rest = pem.Decode(rest); block == nil {
					break
				}
				if c, err := x509.ParseCertificate(block.Bytes); err == nil && bytes.Equal(c.RawSubject, c.RawIssuer) {
					pool.AddCert(c)
				}
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("%s holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// printVerdict writes the ETSI EN 319 102-1 indication of each signature and of the file.
func printVerdict(w io.Writer, r *verify.Report) {
	for _, s := range r.Signatures {
		fmt.Fprintf(w, "  %s %q: %s\n", strings.ReplaceAll(s.Kind, "_", " "), s.Field, indicationWords(s.Indication, s.SubIndication, s.Why))
		if !s.ProvenTime.IsZero() {
			fmt.Fprintf(w, "    proven to exist at %s (by a timestamp); its chain was judged then\n", s.ProvenTime.Format("02.01.2006 15:04:05 -07:00"))
		} else if s.Kind == "signature" {
			fmt.Fprintln(w, "    no timestamp proves when it was made: its chain was judged now, and its signing time is only a claim")
		}
		// What EU DSS only warns of is said too, without changing the indication.
		for _, f := range s.Findings {
			fmt.Fprintf(w, "    note: %s\n", f)
		}
	}
	fmt.Fprintf(w, "  result: %s\n", indicationWords(r.Indication, r.SubIndication, r.Why))
}

func indicationWords(ind verify.Indication, sub, why string) string {
	words := strings.ReplaceAll(string(ind), "_", "-")
	if sub != "" {
		words += " (" + sub + ")"
	}
	if why != "" && ind != verify.TotalPassed {
		words += ": " + why
	}
	return words
}

// verifyEdXML checks an edXML package: its header's fields, and every PDF it carries as a
// certified copy; a PDF beside the package must be the same bytes. A package fault fails each
// of its copies' verdicts.
func verifyEdXML(ctx context.Context, stdout io.Writer, file string, data []byte, opt verify.Options, quiet bool) ([]*verify.Report, error) {
	doc, err := edxml.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", file, err)
	}
	out := io.Writer(stdout)
	if quiet {
		out = io.Discard
	}
	var faults []string
	fmt.Fprintf(out, "%s (edXML package)\n", file)
	for _, f := range doc.Summary() {
		fmt.Fprintf(out, "  %-28s %s\n", f.Name+":", f.Value)
	}
	for _, p := range doc.Validate() {
		faults = append(faults, p)
		fmt.Fprintf(out, "  problem: %s\n", p)
	}
	var reports []*verify.Report
	for _, a := range doc.Attachments {
		if a.ContentType != "application/pdf" {
			continue
		}
		name := file + " → " + a.Name
		r, err := verify.File(ctx, name, a.Data, opt)
		if err != nil {
			return nil, fmt.Errorf("verify %s, attachment %s: %w", file, a.Name, err)
		}
		sibling := filepath.Join(filepath.Dir(file), a.Name)
		if there, err := os.ReadFile(sibling); err == nil && !bytes.Equal(there, a.Data) {
			faults = append(faults, a.Name+" beside the package differs from the attachment")
		}
		reports = append(reports, r)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("verify %s: the package carries no PDF", file)
	}
	for _, r := range reports {
		if len(faults) > 0 {
			r.Indication, r.SubIndication, r.Why = verify.TotalFailed, "", "the edXML package: "+strings.Join(faults, "; ")
		}
		printInspection(out, r.File, r.Inspection)
		printVerdict(out, r)
	}
	return reports, nil
}

// printInspection writes what verify found, in words a records-office clerk can act on;
// printVerdict then gives the verdict.
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
