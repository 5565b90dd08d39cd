package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"scanstation/certify/pades"
	"scanstation/config"
	"scanstation/outbox"
)

// Renewal of PAdES B-LTA copies (ETSI EN 319 142-1 5.5). A copy's last timestamp proves its
// content only while that TSA's certificates hold and its algorithms stay strong; before that
// ends, the TSA's validation data goes into the file and a fresh document timestamp covers it
// all. `scanstation extend` does it for files and folders at hand; the daemon does the same
// over renew.folders every renew.every.

func cmdExtend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("extend")
	path := fs.String("config", "", "configuration file (timestamp.url, renew.before)")
	beforeText := fs.String("before", "", "renew when the last timestamp's TSA certificate expires within this (180d; default renew.before)")
	dryRun := fs.Bool("dry-run", false, "say what would be renewed, change nothing")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() == 0 {
		return errors.New("extend: name at least one PDF file or folder of signed copies")
	}
	// Only the keys renewal uses are checked: extend runs where copies are kept, which
	// need not be a station with a token and hot-folders.
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	r, err := newRenewer(cfg)
	if err != nil {
		return err
	}
	if *beforeText != "" {
		if r.before, err = config.ParseDuration(*beforeText); err != nil || r.before <= 0 {
			return fmt.Errorf("extend: --before %q is not a positive duration such as 180d or 4320h", *beforeText)
		}
	}
	if r.tsa == nil && !*dryRun {
		return fmt.Errorf("extend: %s sets no timestamp.url: a renewal needs a time-stamping authority", cfg.File)
	}
	r.dryRun = *dryRun
	var counts [numOutcomes]int
	err = r.renewPaths(ctx, fs.Args(), func(res renewal) {
		counts[res.outcome]++
		fmt.Fprintln(stdout, res)
	})
	fmt.Fprintf(stdout, "%d renewed, %d due (dry run), %d not due, %d not PAdES or without a timestamp, %d failed\n",
		counts[renewed], counts[due], counts[notDue], counts[notPAdES], counts[renewFailed])
	if err != nil {
		return err
	}
	if counts[renewFailed] > 0 {
		return exitError(1)
	}
	return nil
}

// renewer renews the last timestamp of signed copies.
type renewer struct {
	before  time.Duration
	tsa     *pades.TSA // nil: no timestamp.url (a dry run still says what is due)
	fetcher pades.Fetcher
	extra   []*x509.Certificate // signing.chain_file: CAs a file may not carry
	dryRun  bool
	now     func() time.Time
}

func newRenewer(cfg *config.Config) (*renewer, error) {
	r := &renewer{before: cfg.Renew.Before, now: time.Now,
		fetcher: pades.Fetcher{Timeout: max(cfg.Timestamp.Timeout, time.Minute)}}
	if r.before <= 0 {
		return nil, fmt.Errorf("%s: renew.before must be a positive duration such as 180d", cfg.File)
	}
	if cfg.Timestamp.URL != "" {
		r.tsa = &pades.TSA{URL: cfg.Timestamp.URL, Timeout: cfg.Timestamp.Timeout}
	}
	if cfg.Signing.ChainFile != "" {
		certs, err := readPEMCertificates(cfg.Signing.ChainFile)
		if err != nil {
			return nil, fmt.Errorf("signing.chain_file: %w", err)
		}
		r.extra = certs
	}
	return r, nil
}

type outcome int

const (
	renewed outcome = iota
	due             // a dry run's "would renew"
	notDue
	notPAdES
	renewFailed
	numOutcomes
)

// renewal is what became of one file.
type renewal struct {
	path    string
	outcome outcome
	text    string
	err     error
}

func (r renewal) String() string {
	switch r.outcome {
	case renewed:
		return r.path + ": renewed: " + r.text
	case due:
		return r.path + ": due for renewal: " + r.text + "; not changed (--dry-run)"
	case notDue:
		return r.path + ": skipped: " + r.text
	case notPAdES:
		return r.path + ": left alone: " + r.text
	}
	return fmt.Sprintf("%s: FAILED: %v; the file is unchanged", r.path, r.err)
}

// renewPaths renews every PDF named or found (recursively) in a folder named, telling each
// result to report in turn. A path that cannot be read at all is reported as failed.
func (r *renewer) renewPaths(ctx context.Context, paths []string, report func(renewal)) error {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			report(renewal{path: p, outcome: renewFailed, err: err})
			continue
		}
		if !info.IsDir() {
			report(r.renewFile(ctx, p))
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				report(renewal{path: path, outcome: renewFailed, err: err})
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Dot names are temporary files being written (the station's, an editor's).
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(path), ".pdf") {
				report(r.renewFile(ctx, path))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// renewFile renews path when its last timestamp is due. The new file replaces the old one
// only when complete and flushed, so a renewal that fails anywhere leaves it byte for byte.
func (r *renewer) renewFile(ctx context.Context, path string) renewal {
	res := renewal{path: path}
	fail := func(err error) renewal {
		res.outcome, res.err = renewFailed, err
		return res
	}
	// The rename must replace the file, not a symbolic link to it.
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fail(err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return fail(err)
	}
	pdf, err := os.ReadFile(target)
	if err != nil {
		return fail(err)
	}
	last, err := pades.LastTimestamp(pdf, r.extra)
	switch {
	case errors.Is(err, pades.ErrNotSigned):
		res.outcome, res.text = notPAdES, "not a PAdES copy (no signature)"
		return res
	case errors.Is(err, pades.ErrNoTimestamp):
		res.outcome, res.text = notPAdES, "signed without a timestamp (PAdES B-B): there is no timestamp to renew"
		return res
	case err != nil:
		return fail(err)
	}
	expiry, cert := last.Expiry()
	what := "its signature timestamp"
	if last.Document {
		what = "its last document timestamp"
	}
	why := fmt.Sprintf("%s (%s) has a TSA chain whose certificate %q expires on %s", what, last.Time.UTC().Format(time.RFC3339),
		cert.Subject.CommonName, expiry.UTC().Format(time.DateOnly))
	weak := last.Weakness()
	window := fmt.Sprintf("%g-day", r.before.Hours()/24)
	switch {
	case weak != "":
		why = fmt.Sprintf("%s, and its algorithms are weakened: %s", why, weak)
	case !expiry.Before(r.now().Add(r.before)):
		res.outcome = notDue
		res.text = fmt.Sprintf("%s, outside the %s window", why, window)
		return res
	default:
		why += ", within the " + window + " window"
	}
	if r.dryRun {
		res.outcome, res.text = due, why
		return res
	}
	if r.tsa == nil {
		return fail(errors.New("no time-stamping authority is configured (timestamp.url)"))
	}

	// The TSA's validation data first, so that the new timestamp covers the proof that the
	// old one's authority was good; for a signature timestamp, the signer's chain too, as
	// the copy has no B-LTA yet.
	chains := [][]*x509.Certificate{last.Chain}
	if !last.Document {
		signer, _, err := pades.Chains(pdf, r.extra)
		if err != nil {
			return fail(fmt.Errorf("the signer's chain: %w", err))
		}
		chains = append(signer, last.Chain)
	}
	fetcher := r.fetcher
	fetcher.NotBefore = last.Time // the data must speak of the time after the timestamp
	vd, err := fetcher.Collect(ctx, chains...)
	if err != nil {
		return fail(fmt.Errorf("the validation data of the timestamp's authority: %w", err))
	}
	var lt, lta bytes.Buffer
	if err := pades.AddDSS(&lt, pdf, vd, last.Contents); err != nil {
		return fail(err)
	}
	if err := pades.AddDocumentTimestamp(ctx, &lta, lt.Bytes(), r.tsa); err != nil {
		return fail(err)
	}
	fresh, err := pades.LastTimestamp(lta.Bytes(), r.extra)
	if err != nil || !fresh.Document {
		return fail(fmt.Errorf("the renewed file's new document timestamp cannot be read back: %v", err))
	}
	// Another program may have changed the file meanwhile (the station delivering a copy
	// again): its bytes win, and the renewal is tried next time.
	if now, err := os.ReadFile(target); err != nil || !bytes.Equal(now, pdf) {
		return fail(errors.New("the file changed while it was being renewed"))
	}
	if err := outbox.WriteFileAtomic(filepath.Dir(target), filepath.Base(target), lta.Bytes(), info.Mode().Perm()); err != nil {
		return fail(err)
	}
	newExpiry, _ := fresh.Expiry()
	res.outcome = renewed
	res.text = fmt.Sprintf("%s → new document timestamp %s by %q (valid until %s); %d → %d bytes",
		why, fresh.Time.UTC().Format(time.RFC3339), fresh.Chain[0].Subject.CommonName, newExpiry.UTC().Format(time.DateOnly), len(pdf), lta.Len())
	return res
}

// renewOnSchedule renews the copies in folders every interval, from now until ctx ends,
// logging what each pass did. It is the daemon's side of `scanstation extend`.
func renewOnSchedule(ctx context.Context, cfg *config.Config, log *slog.Logger) {
	r, err := newRenewer(cfg)
	if err != nil {
		log.Error("the renewal of signed copies is off", "err", err)
		return
	}
	for {
		var count [numOutcomes]int
		err := r.renewPaths(ctx, cfg.Renew.Folders, func(res renewal) {
			count[res.outcome]++
			switch res.outcome {
			case renewed:
				log.Info("renewed the last timestamp of a signed copy", "file", res.path, "detail", res.text)
			case renewFailed:
				log.Error("cannot renew the last timestamp of a signed copy; the file is unchanged", "file", res.path, "err", res.err)
			}
		})
		if err != nil && ctx.Err() == nil {
			log.Error("renewal of signed copies", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		log.Info("renewal pass over the signed copies", "folders", cfg.Renew.Folders, "renewed", count[renewed], "not_due", count[notDue], "failed", count[renewFailed], "next", r.now().Add(cfg.Renew.Every).Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.Renew.Every):
		}
	}
}

func readPEMCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return certs, nil
}
