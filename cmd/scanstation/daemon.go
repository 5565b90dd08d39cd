package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

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
	st, err := station.New(cfg, log, pinFromEnv())
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
	st, err := station.New(cfg, newLogger(cfg, stderr), pinFromEnv())
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
