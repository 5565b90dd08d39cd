// Command scanstation turns paper scans into signed, searchable PDF/A copies for a Vietnamese
// records office: hot-folder → OCR → PDF/A-2u → PAdES signature on the agency's token → outbox.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh must resolve even on a minimal system

	"scanstation/config"
)

const usage = `scanstation: scanned paper → signed, searchable PDF/A for the records office

Usage:
  scanstation init --dir DIR [--dev-token [--dev-pki-listen 127.0.0.1:PORT]]
                                               write DIR/scanstation.yaml (and a SoftHSM2 dev token with a TEST PKI)
  scanstation run --config FILE                run the station (watch the hot-folders)
  scanstation process --config FILE INPUT...   process the given scans once
  scanstation approve --config FILE [ID... --by NAME]   list documents waiting for approval, or approve them
  scanstation reject --config FILE ID --reason TEXT     refuse a document waiting for approval
  scanstation status --config FILE [--format json]     what waits, what finished today, the token, the last errors
  scanstation history --config FILE [--since DAY] [--until DAY] [--state STATE] [--hot-folder PATH]
                      [--operator NAME] [--search TEXT] [--limit N] [--format table|csv|json]
                                               the documents, newest first
  scanstation report --config FILE [--month 2026-11] [--format table|csv|json]
                                               the month's figures per hot-folder
  scanstation journal rebuild --config FILE    a new journal from the outbox, archive and failed folders (after it was lost)
  scanstation verify [--trust CA.pem] FILE.pdf check a signed PDF
  scanstation extend --config FILE [--before 180d] [--dry-run] PATH...
                                               renew the last timestamp of signed copies (PDFs, or folders of them) due within
                                               renew.before: the old TSA's validation data, then a fresh document timestamp
  scanstation config check --config FILE       list every problem in a configuration
  scanstation user add|passwd|role|remove NAME [--role operator|clerk|admin] [--config FILE] [--password-stdin]
  scanstation user list [--config FILE]        the console's users (the password is asked without echo, never taken from argv)
  scanstation folders mark --config FILE       mark the outbox, failed and archive folders as the station's (after checking the share is mounted)
  scanstation dev-pki serve|revoke|issue --dir DIR ...
                                               the dev station's TEST OCSP, CRL and TSA (dev-pki --help)
  scanstation separator [--type TYPE] [--pages N] [--meta key=value ...] --out SHEET.pdf
                                               print a separator sheet to put before a document in a stack
`

// exitError carries an exit status without printing anything more.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var status exitError
	switch {
	case err == nil:
	case errors.As(err, &status):
		os.Exit(int(status))
	default:
		fmt.Fprintln(os.Stderr, "scanstation:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "init":
		return cmdInit(args, stdout)
	case "run":
		limitMemory()
		if path := os.Getenv(HeapProfileEnv); path != "" {
			go profileHeapPeaks(ctx, path, stderr)
		}
		return cmdRun(ctx, args, stderr)
	case "process":
		return cmdProcess(ctx, args, stdout, stderr)
	case "approve":
		return cmdApprove(ctx, args, stdout)
	case "reject":
		return cmdReject(ctx, args, stdout)
	case "status":
		return cmdStatus(ctx, args, stdout)
	case "history":
		return cmdHistory(ctx, args, stdout)
	case "report":
		return cmdReport(ctx, args, stdout)
	case "verify":
		return cmdVerify(args, stdout)
	case "extend":
		return cmdExtend(ctx, args, stdout)
	case "journal":
		return cmdJournal(args, stdout, stderr)
	case "config":
		if len(args) == 0 || args[0] != "check" {
			fmt.Fprint(stderr, usage)
			return exitError(2)
		}
		return cmdConfigCheck(args[1:], stdout)
	case "folders":
		if len(args) == 0 || args[0] != "mark" {
			fmt.Fprint(stderr, usage)
			return exitError(2)
		}
		return cmdFoldersMark(args[1:], stdout)
	case "separator":
		return cmdSeparator(args, stdout)
	case "user":
		return cmdUser(args, os.Stdin, stdout, stderr)
	case "dev-pki":
		return cmdDevPKI(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return exitError(2)
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	return fs
}

// loadConfig reads and validates the configuration; problems are returned as one error that
// names every key.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("--config FILE is required")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		msg := fmt.Sprintf("%s has %d problem(s):", path, len(problems))
		for _, p := range problems {
			msg += "\n  " + p.String()
		}
		return nil, errors.New(msg)
	}
	return cfg, nil
}

// loadConfigLoose reads a configuration for commands that only touch the journal: they must
// work even while, say, the token's module is missing.
func loadConfigLoose(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("--config FILE is required")
	}
	return config.Load(path)
}

// PINEnv is the environment variable that may carry the token PIN instead of a PIN file.
const PINEnv = "SCANSTATION_PIN"

// pinFromEnv takes the PIN out of the environment, so no child process (the OCR workers)
// inherits it.
func pinFromEnv() []byte {
	pin, ok := os.LookupEnv(PINEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(PINEnv)
	return []byte(pin)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdConfigCheck(args []string, stdout io.Writer) error {
	fs := newFlagSet("config check")
	path := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *path == "" {
		return errors.New("--config FILE is required")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	problems := cfg.Validate()
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "%s: no problems found\n", *path)
		return nil
	}
	fmt.Fprintf(stdout, "%s has %d problem(s):\n", *path, len(problems))
	for _, p := range problems {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	return exitError(1)
}

// daemonMemoryLimit is the soft memory limit of the daemon and of its OCR workers when
// GOMEMLIMIT does not set one. Go lets the heap grow to twice what is live before it collects
// (GOGC=100): a daemon that holds 100 MiB of decoded pages for a moment then sits at 200 MiB
// or more, and a worker holding a 26 MB page twice (as it arrives and as it is read) grows to
// 230 MiB of Go heap besides Tesseract's own. Under the limit the collector runs sooner
// instead; it is soft, so a process that needs more gets more. Measured on 48 A4 colour pages
// (docs/ocr-memory.md, "Daemon memory"): daemon RSS 430 → 221 MiB, workers 424 → 298 MiB; the
// daemon spent 3.4 s more CPU (4% of the run's), collecting often while its live heap was above
// the limit.
const daemonMemoryLimit = 120 << 20

// limitMemory applies daemonMemoryLimit unless GOMEMLIMIT chose a limit (GOMEMLIMIT=off: none).
// It goes through the environment, which the Go runtime reads at start: the OCR workers, this
// program started again, inherit it.
func limitMemory() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return
	}
	os.Setenv("GOMEMLIMIT", strconv.Itoa(daemonMemoryLimit))
	debug.SetMemoryLimit(daemonMemoryLimit)
}

// HeapProfileEnv names a file the daemon writes a Go heap profile to each time its live heap
// reaches a new high, for finding where the daemon's memory goes (docs/ocr-memory.md, "Daemon
// memory"). It is a file, not a network endpoint: nothing is served to anyone.
const HeapProfileEnv = "SCANSTATION_HEAP_PROFILE"

// profileHeapPeaks watches the live heap (measured at the end of each GC) and rewrites the
// profile at path whenever it grows 5% past the last one written, so the file left at the end
// is the heap at its highest. When ctx ends it writes path.end too, whose alloc_space counts
// everything the run allocated.
func profileHeapPeaks(ctx context.Context, path string, stderr io.Writer) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var written uint64
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := writeHeapProfile(path + ".end"); err != nil {
				fmt.Fprintf(stderr, "scanstation: %s: %v\n", HeapProfileEnv, err)
			}
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		live := sample[0].Value.Uint64()
		if live <= written+written/20 {
			continue
		}
		if err := writeHeapProfile(path); err != nil {
			fmt.Fprintf(stderr, "scanstation: %s: %v\n", HeapProfileEnv, err)
			return
		}
		written = live
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return fmt.Errorf("write the heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write the heap profile %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the heap profile %s: %w", f.Name(), err)
	}
	return os.Rename(path+".tmp", path)
}
