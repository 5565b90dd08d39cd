package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"scanstation/capture"
	"scanstation/capture/separator"
	"scanstation/docmeta"
	"scanstation/outbox"
)

// metaFlags collects repeated --meta key=value.
type metaFlags map[string]string

func (m metaFlags) String() string { return fmt.Sprint(map[string]string(m)) }

func (m metaFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	if _, dup := m[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	m[k] = strings.TrimSpace(v)
	return nil
}

// cmdSeparator prints a separator sheet: the clerk puts it before a
// document in the stack, and the station reads the document's record
// fields and page count from it.
func cmdSeparator(args []string, stdout io.Writer) error {
	fs := newFlagSet("separator")
	typ := fs.String("type", "", `the document's type, e.g. "Công văn" (the type_name field)`)
	pages := fs.Int("pages", 0, "how many pages with content the document has; the station refuses it if it scans another number")
	out := fs.String("out", "", "the PDF file to write")
	icc := fs.String("icc", "/usr/share/color/icc/sRGB.icc", "the sRGB ICC profile for PDF/A's output intent")
	meta := metaFlags{}
	fs.Var(meta, "meta", "a record field as key=value (repeatable); keys: "+strings.Join(docmeta.FieldNames, ", "))
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("separator: unexpected %q; give fields with --meta key=value", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("separator: --out FILE.pdf is required")
	}
	if *pages < 0 {
		return fmt.Errorf("separator: --pages %d: give the number of pages, or leave it out", *pages)
	}
	if *typ != "" {
		if v, ok := meta["type_name"]; ok && v != *typ {
			return fmt.Errorf("separator: --type %q and --meta type_name=%q disagree", *typ, v)
		}
		meta["type_name"] = *typ
	}
	if t := meta["type_name"]; t != "" && t == strings.ToUpper(t) {
		// A heading as printed on the letter ("CÔNG VĂN") is recorded as
		// the record's type name is written: "Công văn".
		r, size := utf8.DecodeRuneInString(t)
		meta["type_name"] = string(unicode.ToUpper(r)) + strings.ToLower(t[size:])
	}
	sheet := capture.Sheet{Pages: *pages, Fields: meta}
	profile, err := os.ReadFile(*icc)
	if err != nil {
		return fmt.Errorf("separator: the ICC profile: %w (install icc-profiles-free or give --icc)", err)
	}
	var buf bytes.Buffer
	if err := separator.WritePDF(&buf, sheet, profile, time.Now()); err != nil {
		return err
	}
	dir, name := filepath.Split(*out)
	if dir == "" {
		dir = "."
	}
	if err := outbox.WriteFileAtomic(dir, name, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("separator: writing %s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "wrote %s: print it on A4 at 100 %% and put it before the document\n", *out)
	return nil
}
