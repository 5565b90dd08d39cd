package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"scanstation/certify"
)

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
