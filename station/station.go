// Package station is the pipeline: it wires watcher, scan, ocr, certify and outbox together,
// owns the job states in the journal and the worker pools. Data flows one way:
//
//	hot-folder → received → spooled → (decode, OCR, PDF/A, sign) → signed → delivered → archived
//	                                                                        └─▶ failed (with a reason file)
//
// Every transition is in the journal before the next stage starts, so after a crash a restart
// resumes each job from its last recorded state and never delivers a document twice.
package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/certify/token"
	"scanstation/config"
	"scanstation/journal"
	"scanstation/metrics"
	"scanstation/ocr"
	"scanstation/outbox"
	"scanstation/sender"
)

// Station processes scans. Create it with New; Close releases the token, the OCR engines and
// the journal.
type Station struct {
	log      *slog.Logger
	journal  *journal.Journal
	boxp     atomic.Pointer[outbox.Box] // the outbox, failed/ and archive/ in force; Reload replaces it
	ocr      *ocr.Pool
	keeper   *token.Keeper
	zone     *time.Location
	spoolDir string
	workDir  string

	// deliverMu serialises the choice of an outbox name with the delivery under it, so two
	// documents with the same name never pick the same free name. Only deliver takes it.
	deliverMu sync.Mutex

	inflightMu sync.Mutex
	inflight   map[string]bool // sources being handled, so one input never runs twice at once

	stopMu     sync.Mutex
	stopReason string // why signing stopped, said once

	diskMu     sync.Mutex
	diskPaused bool // a write failed for lack of space; said once until one succeeds

	// waits are the folders and originals documents wait for (disk.go).
	waits waits

	// requeue hands a built job back to the signer (after a TSA outage); set by Run.
	requeue func(ctx context.Context, job *journal.Job)

	metrics *metrics.Metrics // nil: nothing is counted
	running chan struct{}    // closed once Run takes files

	conf      atomic.Pointer[config.Config]     // replaced as a whole by Reload
	certifier atomic.Pointer[certify.Certifier] // follows the configuration
	icc, font []byte
	rewatch   chan struct{} // Reload asks Run to watch the hot-folders anew
	// decided: a decision made in this process (the console) is acted on at once, not at the
	// next look into the journal for the command line's decisions.
	decided chan struct{}

	sender *sender.Sender // push delivery, started by Run when push.url is set
	// settleErrSaid: the sender's question to the journal failed and that was said.
	settleErrSaid atomic.Bool

	lock   *stateLock    // this process's hold on the state folder, until Close
	jwatch *journalWatch // notices the journal's file deleted or replaced under the running station

	afterDelivery func() // test seam: called once a delivery's files are in the outbox, before its record

	markers    bool     // the outbox, failed/ and archive/ are written only while marked (marker.go); set by New
	unmarkable sync.Map // folders New or Reload could not mark (a full disk): not checked
}

// Options are what New needs besides the configuration.
type Options struct {
	Log     *slog.Logger     // nil: slog.Default()
	PIN     []byte           // the token PIN from the environment; nil: signing.pin_file
	Metrics *metrics.Metrics // nil: nothing is counted
	Command string           // what this station is, for a second start's refusal ("scanstation run")
}

// New opens the journal, the token and the OCR engines described by cfg (already validated).
// A PIN in opt is used for the token; otherwise signing.pin_file is read at each opening.
func New(cfg *config.Config, opt Options) (*Station, error) {
	log, pin := opt.Log, opt.PIN
	if log == nil {
		log = slog.Default()
	}
	s := &Station{
		metrics:  opt.Metrics,
		running:  make(chan struct{}),
		rewatch:  make(chan struct{}, 1),
		decided:  make(chan struct{}, 1),
		log:      log,
		spoolDir: filepath.Join(cfg.Folders.State, "spool"),
		workDir:  filepath.Join(cfg.Folders.State, "work"),
	}
	s.boxp.Store(boxOf(cfg))
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("create folder: %w", err)
		}
	}
	for _, d := range []string{cfg.Folders.State, s.spoolDir, s.workDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create state folder: %w", err)
		}
	}
	// Before anything is cleaned up or resumed: the temporary files below may be another
	// running station's work in progress.
	command := opt.Command
	if command == "" {
		command = filepath.Base(os.Args[0])
	}
	var err error
	if s.lock, err = lockState(cfg.Folders.State, command); err != nil {
		return nil, err
	}
	// A crash or power cut while writing leaves temporary files (status.json, waiting.json in the
	// state folder too); they are never complete.
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive, cfg.Folders.Review, cfg.Folders.State, s.spoolDir, s.workDir} {
		if n, err := outbox.RemoveLeftovers(d); err != nil {
			log.Warn("cannot remove unfinished temporary files", "folder", d, "err", err)
		} else if n > 0 {
			log.Info("removed unfinished temporary files left by a crash", "folder", d, "count", n)
		}
	}
	// The journal must be the one the spool and work folders belong to: their files are named by
	// job IDs, which a new journal would give again to other documents.
	journalPath := filepath.Join(cfg.Folders.State, JournalName)
	if err := setAsideStrayWAL(journalPath, log); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(journalPath)
	if s.journal, err = journal.Open(journalPath); err != nil {
		return nil, err
	}
	if err := checkIdentity(context.Background(), s.journal, cfg.Folders.State, cfg.File, statErr == nil, log); err != nil {
		return nil, err
	}
	if s.jwatch, err = newJournalWatch(journalPath); err != nil {
		return nil, err
	}

	icc, err := os.ReadFile(cfg.PDF.ICCProfile)
	if err != nil {
		return nil, fmt.Errorf("read the sRGB profile (pdf.icc_profile): %w", err)
	}
	font, err := readTextFont(cfg.OCR.Tessdata)
	if err != nil {
		return nil, err
	}

	if s.zone, err = time.LoadLocation(cfg.Mark.TimeZone); err != nil {
		return nil, fmt.Errorf("mark.time_zone: %w", err)
	}
	tokenCfg := token.Config{
		Module:      cfg.Signing.Module,
		TokenLabel:  cfg.Signing.TokenLabel,
		KeyLabel:    cfg.Signing.KeyLabel,
		SoftHSMConf: cfg.Signing.SoftHSM2Conf,
		ChainFile:   cfg.Signing.ChainFile,
		// The language in force when the keeper speaks, after a reload too.
		Say: func(format string, args ...any) string { return s.printer().Sprintf(format, args...) },
	}
	if len(pin) > 0 {
		tokenCfg.PIN = pin
	} else {
		// Refuse a PIN file others can read now, not at the first document.
		p, err := token.ReadPINFile(cfg.Signing.PINFile)
		if err != nil {
			return nil, err
		}
		clear(p)
		tokenCfg.PINFile = cfg.Signing.PINFile
	}
	s.keeper = token.NewKeeper(tokenCfg, log)
	s.icc, s.font = icc, font
	certifier, err := s.newCertifier(cfg)
	if err != nil {
		return nil, err
	}
	s.certifier.Store(certifier)
	s.conf.Store(cfg)
	// A share unmounted at a configured folder must not be written into (marker.go).
	s.markAtStart(context.Background(), cfg)
	s.markers = true

	if s.ocr, err = ocr.NewPool(cfg.OCRWorkers(), ocr.Options{Languages: cfg.OCR.Languages, TessdataDir: cfg.OCR.Tessdata, Log: log}); err != nil {
		return nil, fmt.Errorf("start OCR: %w", err)
	}
	ok = true
	return s, nil
}

// Close releases everything New opened.
func (s *Station) Close() error {
	var errs []error
	if s.ocr != nil {
		errs = append(errs, s.ocr.Close())
	}
	if s.keeper != nil {
		errs = append(errs, s.keeper.Close())
	}
	if s.journal != nil {
		errs = append(errs, s.journal.Close())
	}
	// Last: everything this station wrote to the state folder is closed.
	errs = append(errs, s.lock.release())
	return errors.Join(errs...)
}

// Running is closed once Run has started taking files: the station is ready.
func (s *Station) Running() <-chan struct{} { return s.running }

// Ready says whether the station can do its work now, and if not, why in plain words.
func (s *Station) Ready() (bool, string) {
	select {
	case <-s.running:
	default:
		return false, "the station is starting"
	}
	if lost := s.journalLost(); lost != "" {
		return false, lost
	}
	s.diskMu.Lock()
	full := s.diskPaused
	s.diskMu.Unlock()
	if full {
		return false, "the disk is full"
	}
	s.stopMu.Lock()
	stopped := s.stopReason
	s.stopMu.Unlock()
	if stopped != "" {
		return false, "signing stopped: " + stopped
	}
	return true, "ready"
}

// newCertifier makes the certifier for cfg's signing, mark and timestamp settings.
func (s *Station) newCertifier(cfg *config.Config) (*certify.Certifier, error) {
	var seal []byte
	if cfg.Mark.SealImage != "" {
		var err error
		if seal, err = os.ReadFile(cfg.Mark.SealImage); err != nil {
			return nil, fmt.Errorf("read the seal image (mark.seal_image): %w", err)
		}
	}
	c := &certify.Certifier{
		OutputICC: s.icc,
		TextFont:  s.font,
		Producer:  producer(),
		Reason:    cfg.Signing.Reason,
		Location:  cfg.Signing.Location,
		Certify:   cfg.Signing.Certify,
		Zone:      s.zone,
		Mark: mark.Options{
			Agency:      cfg.Station.Agency,
			Zone:        s.zone,
			TimeFormat:  cfg.Mark.TimeFormat,
			FontFile:    cfg.Mark.Font,
			FontSize:    cfg.Mark.FontSize,
			SealPNG:     seal,
			SealSizeMM:  cfg.Mark.SealSizeMM,
			MarginMM:    cfg.Mark.MarginMM,
			SmallPages:  mark.SmallPolicy(cfg.Mark.SmallPages),
			MinMarginMM: cfg.Mark.MinMarginMM,
		},
	}
	if cfg.Timestamp.URL != "" {
		c.TSA = &pades.TSA{URL: cfg.Timestamp.URL, Timeout: cfg.Timestamp.Timeout}
		c.MaxClockSkew = cfg.Timestamp.MaxClockSkew
	}
	if level := cfg.SigningLevel(); level == "B-LT" || level == "B-LTA" {
		c.LongTerm = level
		// OCSP responders and CRLs of a real CA can take minutes to answer (docs/trust.md).
		c.Fetcher = pades.Fetcher{Timeout: max(cfg.Timestamp.Timeout, time.Minute)}
	}
	return c, nil
}

// box is the outbox, failed/ and archive/ of the configuration in force. Reload replaces it
// while documents are under way, so each use reads it afresh, without a lock.
func (s *Station) box() *outbox.Box { return s.boxp.Load() }

// config is the configuration in force; Reload replaces it as a whole.
func (s *Station) config() *config.Config { return s.conf.Load() }

// Reload puts a new, validated configuration in force without losing in-flight work: hot-folders
// are watched anew, rules, mark, timestamp and limits apply to the next step of every document,
// and a token that refused its PIN is asked again (the PIN file may have been fixed). Settings
// that need a restart are refused with their keys, and the old configuration stays in force.
func (s *Station) Reload(cfg *config.Config) error {
	old := s.config()
	var fixed []string
	if cfg.Folders.State != old.Folders.State {
		fixed = append(fixed, "folders.state")
	}
	if cfg.Signing.Module != old.Signing.Module || cfg.Signing.TokenLabel != old.Signing.TokenLabel ||
		cfg.Signing.KeyLabel != old.Signing.KeyLabel || cfg.Signing.PINFile != old.Signing.PINFile ||
		cfg.Signing.ChainFile != old.Signing.ChainFile || cfg.Signing.SoftHSM2Conf != old.Signing.SoftHSM2Conf {
		fixed = append(fixed, "signing (module, token, key, PIN file, chain)")
	}
	if !slices.Equal(cfg.OCR.Languages, old.OCR.Languages) || cfg.OCR.Tessdata != old.OCR.Tessdata || cfg.OCRWorkers() != old.OCRWorkers() {
		fixed = append(fixed, "ocr")
	}
	if cfg.Mark.TimeZone != old.Mark.TimeZone {
		fixed = append(fixed, "mark.time_zone")
	}
	if cfg.HTTP != old.HTTP {
		fixed = append(fixed, "http.listen")
	}
	if cfg.Push != old.Push {
		fixed = append(fixed, "push")
	}
	if len(fixed) > 0 {
		return fmt.Errorf("these settings change only with a restart of the service: %s; the old configuration stays in force", strings.Join(fixed, ", "))
	}
	certifier, err := s.newCertifier(cfg)
	if err != nil {
		return err
	}
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("create folder: %w", err)
		}
	}
	// A delivery under way keeps the box it took (see deliver); the next one takes this.
	s.boxp.Store(boxOf(cfg))
	s.certifier.Store(certifier)
	s.conf.Store(cfg)
	s.markAtStart(context.Background(), cfg) // new folders
	s.keeper.Reset()
	s.stopMu.Lock()
	s.stopReason = ""
	s.stopMu.Unlock()
	select {
	case s.rewatch <- struct{}{}:
	default:
	}
	s.log.Info("configuration reloaded", "file", cfg.File)
	return nil
}

// Alive reports whether the station still answers: its journal can be read. The systemd
// watchdog asks it.
func (s *Station) Alive() bool {
	// A lost journal is told at the watchdog's tick too; the station still answers, so systemd
	// does not restart it into a state folder it would refuse.
	s.journalLost()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.journal.InState(ctx, journal.Received)
	return err == nil
}

// TokenState says what the token is doing, in plain words ("ready", "waiting for token", ...).
func (s *Station) TokenState() string { return s.keeper.State() }

// readTextFont reads the glyph-less font Tesseract ships for invisible text layers.
func readTextFont(tessdata string) ([]byte, error) {
	dirs := []string{tessdata, os.Getenv("TESSDATA_PREFIX"), "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata"}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "pdf.ttf")); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("cannot find Tesseract's pdf.ttf (the invisible text font); install tesseract-ocr or set ocr.tessdata")
}

func producer() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "scanstation " + v
}

// boxOf is the box of cfg's folders. The sender's folders are in it whether or not push is set
// now: a package a sender moved there before is never written into the outbox again.
func boxOf(cfg *config.Config) *outbox.Box {
	b := &outbox.Box{Outbox: cfg.Folders.Outbox, Failed: cfg.Folders.Failed, Archived: cfg.Folders.Archive}
	for _, dir := range []string{cfg.Push.SentDir, cfg.Push.RejectedDir,
		filepath.Join(cfg.Folders.Outbox, "sent"), filepath.Join(cfg.Folders.Outbox, "rejected")} {
		if dir != "" && !slices.Contains(b.Pushed, dir) {
			b.Pushed = append(b.Pushed, dir)
		}
	}
	return b
}
