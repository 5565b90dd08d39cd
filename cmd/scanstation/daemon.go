package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"scanstation/certify"
	"scanstation/station"
)

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("run")
	path := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := station.New(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Run(ctx)
}

func cmdProcess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("process")
	path := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() == 0 {
		return errors.New("process: name at least one scan to process")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	inputs := make([]string, fs.NArg())
	for i, in := range fs.Args() {
		if inputs[i], err = filepath.Abs(in); err != nil {
			return err
		}
	}
	cfg.Log.Level = "warn" // the progress lines below are the output people read
	st, err := station.New(cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer st.Close()

	progress := func(source string, page, pages int, confidence float64) {
		fmt.Fprintf(stdout, "%s: page %d of %d recognised (OCR confidence %.0f%%)\n", filepath.Base(source), page, pages, confidence)
	}
	failed := 0
	for _, o := range st.Process(ctx, inputs, progress) {
		switch {
		case o.Err == nil:
			fmt.Fprintf(stdout, "%s: signed and delivered → %s\n", filepath.Base(o.Source), o.Delivered)
		case o.Waiting:
			failed++
			fmt.Fprintf(stdout, "%s: NOT YET DELIVERED: %v\n  it resumes when the station runs (scanstation run)\n", filepath.Base(o.Source), o.Err)
		case o.Failed != "":
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: %v\n  the file and the reason are in %s\n", filepath.Base(o.Source), o.Err, filepath.Dir(o.Failed))
		default:
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: %v\n", filepath.Base(o.Source), o.Err)
		}
	}
	if failed > 0 {
		return exitError(1)
	}
	return nil
}

func cmdVerify(args []string, stdout io.Writer) error {
	fs := newFlagSet("verify")
	trust := fs.String("trust", "", "PEM file of trusted CA certificates: also check the certificate chain")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 1 {
		return errors.New("verify: name one PDF file")
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if *trust != "" {
		pemData, err := os.ReadFile(*trust)
		if err != nil {
			return err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("verify: %s holds no PEM certificate", *trust)
		}
	}
	in, err := certify.Inspect(data, roots)
	if err != nil {
		return fmt.Errorf("verify %s: %w", file, err)
	}
	fmt.Fprintf(stdout, "%s\n", file)
	if len(in.Signatures) == 0 {
		fmt.Fprintln(stdout, "  signature: NONE — this file is not signed")
	}
	for _, s := range in.Signatures {
		fmt.Fprintf(stdout, "  signature %q (%s)\n", s.Field, s.SubFilter)
		fmt.Fprintf(stdout, "    intact:            %s\n", yesNo(s.Intact))
		fmt.Fprintf(stdout, "    covers whole file: %s\n", yesNo(s.CoversWholeFile))
		if s.Signer != nil {
			fmt.Fprintf(stdout, "    signed by:         %s\n", s.Signer.Subject)
			fmt.Fprintf(stdout, "    issued by:         %s\n", s.Signer.Issuer)
		}
		fmt.Fprintf(stdout, "    signing time:      %s\n", s.SigningTime.Format("02.01.2006 15:04:05 -07:00"))
		for _, p := range s.Problems {
			fmt.Fprintf(stdout, "    problem:           %s\n", p)
		}
	}
	if in.PDFAPart != "" {
		fmt.Fprintf(stdout, "  PDF/A identification: PDF/A-%s%s\n", in.PDFAPart, strings.ToLower(in.PDFAConformance))
	} else {
		fmt.Fprintln(stdout, "  PDF/A identification: MISSING")
	}
	if !in.OK() {
		fmt.Fprintln(stdout, "  result: NOT OK")
		return exitError(1)
	}
	fmt.Fprintln(stdout, "  result: OK")
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
