// Package sender pushes finished packages from the outbox to an HTTP(S)
// endpoint: the inter-agency exchange or the office's document-management
// software.
//
// The outbox folder is the queue and the files are the state. An entry is
// <name>.edxml with its siblings <name>.pdf and <name>.json; the .edxml is
// written last, so an entry is taken once its .edxml is there. Each entry is
// posted with an Idempotency-Key derived from the .edxml's bytes, so that an
// attempt repeated after a crash or a lost answer is the same request to
// the server. An accepted entry moves to the sent folder, a refused one to
// the rejected folder with <name>.rejected.txt; anything else leaves it in
// the outbox for another attempt, with a growing wait between attempts.
// A restart resumes by scanning the outbox.
package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"scanstation/outbox"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout    = 2 * time.Minute
	DefaultMinBackoff = 5 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
	DefaultRescan     = time.Minute
)

// Config says where and how packages are pushed. Durations that are zero
// take the defaults above.
type Config struct {
	URL         string        // http:// or https:// address that receives each package by POST
	Timeout     time.Duration // one attempt, from connecting to the end of the answer
	ClientCert  string        // PEM certificate for TLS client authentication, with ClientKey
	ClientKey   string        // PEM private key of ClientCert
	CAFile      string        // PEM certificates trusted for the server instead of the system's
	MinBackoff  time.Duration // the wait after a first failed attempt
	MaxBackoff  time.Duration // the longest wait between two attempts
	Rescan      time.Duration // how often the outbox is scanned when nothing calls Notify
	SentDir     string        // accepted entries; <outbox>/sent if empty
	RejectedDir string        // refused entries with their reason; <outbox>/rejected if empty

	// Settled, when set, says whether the entry <name> is a delivery the writer of the outbox
	// has finished and recorded. An entry it is still delivering (its files named, the delivery
	// not yet recorded, as after a crash) is left for a later pass: taken now, it would race
	// the writer's resumed delivery, which finds it gone or half-moved and writes it again or
	// fails. The writer calls Notify once it has recorded the delivery.
	Settled func(ctx context.Context, name string) bool
}

// A Sender pushes the outbox's entries to one endpoint. Run is its loop;
// only one Run or SendOne may work on an outbox at a time.
type Sender struct {
	cfg    Config
	url    *url.URL
	outbox string
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}

	hasCert   bool
	certAsked atomic.Bool // the server asked for a client certificate during the last attempt

	// Used by Run only.
	waits      map[string]*wait // entries waiting after a failed attempt, by name
	down       wait             // the endpoint gave no answer at all
	setup      wait             // the endpoint answered that the two sides are not set up (401, 403, 404)
	setupSaid  string           // the setup problem last said, so it is said once
	incomplete map[string]bool  // entries already reported as missing a sibling
}

// A wait is the state of an entry, or of the endpoint, between attempts.
type wait struct {
	attempts    int
	next        time.Time
	unreachable bool // the last attempt got no answer
}

// New checks cfg, loads the certificates it names and returns a Sender for
// the entries in outboxDir. The outbox must exist; the sent and rejected
// folders are made if missing (their parent must exist).
func New(cfg Config, outboxDir string, log *slog.Logger) (*Sender, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("push endpoint %q is not an http:// or https:// address", cfg.URL)
	}
	if cfg.Timeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.Rescan < 0 {
		return nil, errors.New("push timeout, backoff and rescan times cannot be negative")
	}
	cfg.Timeout = or(cfg.Timeout, DefaultTimeout)
	cfg.MinBackoff = or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = or(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.Rescan = or(cfg.Rescan, DefaultRescan)
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("push max backoff %v is shorter than the min backoff %v", cfg.MaxBackoff, cfg.MinBackoff)
	}

	fi, err := os.Stat(outboxDir)
	if err != nil {
		return nil, fmt.Errorf("outbox for pushing: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("outbox for pushing: %s is not a folder", outboxDir)
	}
	if cfg.SentDir == "" {
		cfg.SentDir = filepath.Join(outboxDir, "sent")
	}
	if cfg.RejectedDir == "" {
		cfg.RejectedDir = filepath.Join(outboxDir, "rejected")
	}
	for _, dir := range []string{cfg.SentDir, cfg.RejectedDir} {
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("make folder for pushed packages: %w", err)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a folder", dir)
		}
	}

	s := &Sender{
		cfg:        cfg,
		url:        u,
		outbox:     outboxDir,
		log:        log,
		wake:       make(chan struct{}, 1),
		waits:      make(map[string]*wait),
		incomplete: make(map[string]bool),
	}
	tlsConfig, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	if s.hasCert && u.Scheme != "https" {
		return nil, fmt.Errorf("a client certificate is set but the push endpoint %s is not https://", u.Redacted())
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	s.client = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A redirect is a wrong address in the configuration; following
		// it with a POST body is not safe, so it is reported instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (s *Sender) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the CA certificates for the push endpoint: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", s.cfg.CAFile)
		}
		c.RootCAs = pool
	}
	if (s.cfg.ClientCert == "") != (s.cfg.ClientKey == "") {
		return nil, errors.New("a client certificate needs both its certificate file and its key file")
	}
	var cert *tls.Certificate
	if s.cfg.ClientCert != "" {
		pair, err := tls.LoadX509KeyPair(s.cfg.ClientCert, s.cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("load the client certificate %s with key %s: %w", s.cfg.ClientCert, s.cfg.ClientKey, err)
		}
		cert = &pair
		s.hasCert = true
	}
	// The callback notes that the server asked, so that a refusal can be
	// explained; without a certificate it sends none, as servers that only
	// ask (and do not require) expect.
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		s.certAsked.Store(true)
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return c, nil
}

// Notify tells Run that a new package is in the outbox. It never blocks.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends the outbox's entries until ctx is done, oldest first, and then
// returns ctx.Err(). It scans the outbox when it starts, when Notify is
// called, every Rescan, and when a waiting entry's time has come.
func (s *Sender) Run(ctx context.Context) error {
	for _, dir := range []string{s.cfg.SentDir, s.cfg.RejectedDir} {
		if _, err := outbox.RemoveLeftovers(dir); err != nil {
			s.log.Warn("could not remove a file left half-written by a crash", "error", err)
		}
	}
	s.log.Info("pushing packages from the outbox", "endpoint", s.url.Redacted(), "outbox", s.outbox,
		"sent", s.cfg.SentDir, "rejected", s.cfg.RejectedDir)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := s.pass(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// pass sends every entry whose time has come and returns when the next
// pass is due.
func (s *Sender) pass(ctx context.Context) time.Time {
	now := time.Now()
	next := now.Add(s.cfg.Rescan)
	if s.down.attempts > 0 && now.Before(s.down.next) {
		return s.down.next
	}
	if s.setup.attempts > 0 && now.Before(s.setup.next) {
		return s.setup.next
	}
	entries, err := s.scan()
	if err != nil {
		s.log.Error("cannot read the outbox; trying again later", "error", err)
		return next
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.name] = true
	}
	for name := range s.waits {
		if !present[name] {
			delete(s.waits, name) // moved away by hand
		}
	}
	for name := range s.incomplete {
		if !present[name] {
			delete(s.incomplete, name)
		}
	}
	// Entries tried least come first: while the endpoint is unreachable,
	// one entry that always fails cannot keep the others from a try.
	slices.SortStableFunc(entries, func(a, b entry) int {
		return s.attempts(a.name) - s.attempts(b.name)
	})

	for _, e := range entries {
		if ctx.Err() != nil {
			return next
		}
		w := s.waits[e.name]
		if w != nil && now.Before(w.next) {
			next = earlier(next, w.next)
			continue
		}
		if s.cfg.Settled != nil && !s.cfg.Settled(ctx, e.name) {
			s.log.Debug(unsettledMsg, "entry", e.name)
			continue
		}
		res, err := s.SendOne(ctx, e.path)
		if ctx.Err() != nil {
			return next
		}
		if errors.Is(err, errIncomplete) {
			if !s.incomplete[e.name] {
				s.log.Warn("an outbox entry is missing files and waits until they are there", "entry", e.path, "error", err)
				s.incomplete[e.name] = true
			}
			continue
		}
		delete(s.incomplete, e.name)
		var setup *SetupError
		if errors.As(err, &setup) {
			// Every package would get the same answer: all wait, and one tries again later.
			s.answered()
			s.setup.attempts++
			d := max(s.backoff(s.setup.attempts), min(res.RetryAfter, s.cfg.MaxBackoff))
			s.setup.next = time.Now().Add(d)
			if s.setupSaid != setup.Error() {
				s.setupSaid = setup.Error()
				s.log.Error("the push endpoint refuses the station: packages wait in the outbox until the configuration is fixed",
					"endpoint", s.url.Redacted(), "answer", setup.Status, "check", setup.Check)
			}
			s.log.Debug("package not sent; it stays in the outbox", "entry", e.name, "attempt", s.setup.attempts,
				"next_try_in", d.Round(time.Millisecond), "error", err)
			return s.setup.next
		}
		if err == nil || res.Status != 0 {
			s.setupFixed() // an answer of another kind
		}
		if err == nil {
			delete(s.waits, e.name)
			s.answered()
			switch res.Outcome {
			case Sent:
				s.log.Info("package sent", "entry", e.name, "status", res.Status, "now_at", res.Path)
			case Rejected:
				s.log.Warn("package refused by the endpoint; the reason is next to it", "entry", e.name,
					"status", res.Status, "now_at", res.Path)
			}
			continue
		}

		if w == nil {
			w = &wait{}
			s.waits[e.name] = w
		}
		w.attempts++
		var na *noAnswerError
		w.unreachable = errors.As(err, &na)
		d := max(s.backoff(w.attempts), min(res.RetryAfter, s.cfg.MaxBackoff))
		w.next = time.Now().Add(d)
		next = earlier(next, w.next)
		// No answer at all (refused, timed out, a name that does not resolve) is said once
		// below, for the endpoint, not at every try of every package.
		level := slog.LevelWarn
		if w.unreachable {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "package not sent; it stays in the outbox", "entry", e.name, "attempt", w.attempts,
			"next_try_in", d.Round(time.Millisecond), "error", err)
		if !w.unreachable {
			s.answered()
			continue
		}
		// No answer at all: the endpoint or the network is down, and the
		// other entries would only wait for the same timeout. Wait, then
		// try one entry to see whether it is back.
		s.down.attempts++
		d = s.backoff(s.down.attempts)
		s.down.next = time.Now().Add(d)
		if s.down.attempts == 1 {
			s.log.Warn("the push endpoint gives no answer; packages wait in the outbox and one is tried again with growing waits",
				"endpoint", s.url.Redacted(), "error", err, "max_wait", s.cfg.MaxBackoff)
		}
		return s.down.next
	}
	return next
}

const unsettledMsg = "package left in the outbox until the station records its delivery"

// answered records that the endpoint answered: if it had been unreachable,
// the entries that waited only for that are due now.
func (s *Sender) answered() {
	if s.down.attempts == 0 {
		return
	}
	s.log.Info("the push endpoint answers again", "endpoint", s.url.Redacted(), "failed_tries", s.down.attempts)
	s.down = wait{}
	for name, w := range s.waits {
		if w.unreachable {
			delete(s.waits, name)
		}
	}
}

// setupFixed records an answer other than a setup one: if the endpoint had refused the
// station, it is said once that it no longer does.
func (s *Sender) setupFixed() {
	if s.setup.attempts == 0 {
		return
	}
	s.log.Info("the push endpoint no longer refuses the station", "endpoint", s.url.Redacted(), "refused_tries", s.setup.attempts)
	s.setup = wait{}
	s.setupSaid = ""
}

func (s *Sender) attempts(name string) int {
	if w := s.waits[name]; w != nil {
		return w.attempts
	}
	return 0
}

// backoff is the wait after the given number of failed attempts: doubling
// from MinBackoff up to MaxBackoff, each time between half and all of it,
// so that stations that lost the endpoint together do not return together.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// An entry is one package in the outbox.
type entry struct {
	name string // without .edxml
	path string // of the .edxml
}

// scan lists the outbox's entries, oldest first, and removes the records
// of moves that finished but for removing the record.
func (s *Sender) scan() ([]entry, error) {
	des, err := os.ReadDir(s.outbox)
	if err != nil {
		return nil, err
	}
	type aged struct {
		entry
		mod time.Time
	}
	var list []aged
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") {
			if name, ok := intentEntry(n); ok {
				s.dropFinishedIntent(name)
			}
			continue
		}
		if !strings.HasSuffix(n, edxmlExt) || !de.Type().IsRegular() || n == edxmlExt {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // gone since the listing
		}
		list = append(list, aged{entry{strings.TrimSuffix(n, edxmlExt), filepath.Join(s.outbox, n)}, fi.ModTime()})
	}
	slices.SortFunc(list, func(a, b aged) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	entries := make([]entry, len(list))
	for i, a := range list {
		entries[i] = a.entry
	}
	return entries, nil
}
