package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"log/slog"
	"net"
	"net/http"
	"scanstation/config"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"

	"errors"
	"fmt"
	"io"
	"path/filepath"
	"scanstation/metrics"

	"scanstation/station"

	"crypto/tls"
	"scanstation/console"
	"scanstation/lang"
	"scanstation/users"
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
	m := metrics.New()
	st, err := station.New(cfg, station.Options{Log: log, PIN: pinFromEnv(), Metrics: m, Command: "scanstation run"})
	if err != nil {
		return err
	}
	defer st.Close()

	if cfg.HTTP.Listen != "" {
		srv, addr, err := serveHTTP(cfg.HTTP.Listen, st, m)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("metrics and health checks", "address", "http://"+addr)
	}
	if cfg.Console.Listen != "" {
		desk := station.NewDesk(st, nil)
		_, stop, err := serveConsole(cfg, desk, log)
		if err != nil {
			return err
		}
		defer stop()
		// The pages of a document waiting for review are drawn before anyone opens it.
		go desk.Warm(ctx)
	}
	go notifySystemd(ctx, st, log)
	go reloadOnHangup(ctx, *path, st, log)
	if len(cfg.Renew.Folders) > 0 {
		// Read once at start: a reload does not move the schedule.
		go renewOnSchedule(ctx, cfg, log)
	}
	return st.Run(ctx)
}

// reloadOnHangup reads the configuration again on SIGHUP (systemctl reload). A configuration
// with problems is refused with every reason, and the one in force stays.
func reloadOnHangup(ctx context.Context, path string, st *station.Station, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		sdnotify.SdNotify(false, sdnotify.SdNotifyReloading)
		cfg, err := config.Load(path)
		if err == nil {
			if problems := cfg.Validate(); len(problems) > 0 {
				reasons := make([]string, len(problems))
				for i, p := range problems {
					reasons[i] = p.String()
				}
				err = fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(reasons, "; "))
			}
		}
		if err == nil {
			err = st.Reload(cfg)
		}
		if err != nil {
			log.Error("the new configuration was refused; the old one stays in force", "file", path, "err", err)
		}
		sdnotify.SdNotify(false, sdnotify.SdNotifyReady)
	}
}

// serveHTTP serves /metrics, /healthz (the process answers) and /readyz (the station can do
// its work: running, disk not full, signing not stopped).
func serveHTTP(addr string, st *station.Station, m *metrics.Metrics) (*http.Server, string, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, why := st.Ready()
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("http.listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr().String(), nil
}

// serveConsole starts the browser console on console.listen, once the users file has a user
// to let in; until then it says, once, how to add one. stop ends it gracefully: requests under
// way get a few seconds to finish.
func serveConsole(cfg *config.Config, desk console.Desk, log *slog.Logger) (addr string, stop func(), err error) {
	store, err := users.Load(cfg.UsersFile())
	if err != nil {
		return "", nil, err
	}
	if store.Len() == 0 {
		log.Warn("the console is off because nobody can log in yet: add a user with "+
			"`scanstation user add NAME --role clerk --config "+cfg.File+"`, then restart the station",
			"users_file", cfg.UsersFile())
		return "", func() {}, nil
	}
	language, err := lang.Parse(cfg.Station.Language)
	if err != nil {
		return "", nil, fmt.Errorf("station.language: %w", err)
	}
	secure := cfg.Console.TLSCert != ""
	o := console.Options{
		Users:       store,
		Manage:      store,
		Language:    language,
		Logger:      log,
		Secure:      secure,
		IdleTimeout: cfg.Console.SessionIdle,
		Desk:        desk,
		Config:      func() ([]byte, error) { return config.Render(cfg) },
	}
	// The station's desk keeps the administrator's changes in the journal's audit trail and
	// knows the configuration a reload put in force; a test's desk does neither.
	if d, ok := desk.(*station.Desk); ok {
		o.Recorder = d
		o.Config = func() ([]byte, error) { return config.Render(d.RunningConfig()) }
	}
	h, err := console.New(o)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a page that streams the queue's changes keeps its answer open.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Console.Listen)
	if err != nil {
		return "", nil, fmt.Errorf("console.listen %s: %w", cfg.Console.Listen, err)
	}
	scheme := "http"
	if secure {
		cert, err := tls.LoadX509KeyPair(cfg.Console.TLSCert, cfg.Console.TLSKey)
		if err != nil {
			ln.Close()
			return "", nil, fmt.Errorf("console.tls_cert %s and console.tls_key %s: %w", cfg.Console.TLSCert, cfg.Console.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	go srv.Serve(ln)
	addr = scheme + "://" + ln.Addr().String()
	log.Info("console for the operator and the clerk", "address", addr, "users", store.Len())
	return addr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}, nil
}

// notifySystemd tells systemd (Type=notify) when the station is ready and when it stops, and
// pings its watchdog while the station is alive. Without systemd it does nothing.
func notifySystemd(ctx context.Context, st *station.Station, log *slog.Logger) {
	select {
	case <-st.Running():
	case <-ctx.Done():
		return
	}
	if ok, err := sdnotify.SdNotify(false, sdnotify.SdNotifyReady); err != nil {
		log.Warn("cannot tell systemd the station is ready", "err", err)
	} else if !ok {
		return // not run by systemd
	}
	interval, err := sdnotify.SdWatchdogEnabled(false)
	var tick <-chan time.Time
	if err == nil && interval > 0 {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			sdnotify.SdNotify(false, sdnotify.SdNotifyStopping)
			return
		case <-tick:
			// The station answers: its status is current. A stuck station stops the pings and
			// systemd restarts it; documents resume from the journal.
			if st.Alive() {
				sdnotify.SdNotify(false, sdnotify.SdNotifyWatchdog)
			}
		}
	}
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
	st, err := station.New(cfg, station.Options{Log: newLogger(cfg, stderr), PIN: pinFromEnv(), Command: "scanstation process"})
	if err != nil {
		return err
	}
	defer st.Close()

	p := printerFor(cfg)
	progress := func(source string, page, pages int, confidence float64) {
		p.Fprintf(stdout, "%s: page %d of %d recognised (OCR confidence %.0f%%)\n", filepath.Base(source), page, pages, confidence)
	}
	failed := 0
	report := func(o station.Outcome, name string) {
		why := fmt.Sprint(o.Err)
		if o.Reason != "" {
			// The reason as its file in failed/ says it, in the station's language.
			why = p.Sprintf("%s failed at %s: %s", o.Name, station.StageWords(p, o.Stage), o.Reason)
		}
		switch {
		case o.Err == nil && o.Delivered == "":
			// A batch whose documents are all finished: each is told above.
			p.Fprintf(stdout, "%s: every document finished; the original and its batch record are in the archive\n", name)
		case o.Err == nil:
			p.Fprintf(stdout, "%s: signed and delivered → %s\n", name, o.Delivered)
		case o.Waiting:
			failed++
			p.Fprintf(stdout, "%s: NOT YET DELIVERED: %s\n  it resumes when the station runs (scanstation run)\n", name, why)
		case o.Failed != "":
			failed++
			p.Fprintf(stdout, "%s: FAILED: %s\n  the file and the reason are in %s\n", name, why, filepath.Dir(o.Failed))
		default:
			failed++
			p.Fprintf(stdout, "%s: FAILED: %s\n", name, why)
		}
	}
	for _, o := range st.Process(ctx, inputs, progress) {
		name := filepath.Base(o.Source)
		if len(o.Documents) > 0 {
			p.Fprintf(stdout, "%s: divided into %d documents\n", name, len(o.Documents))
			for i, d := range o.Documents {
				report(d, p.Sprintf("%s, document %d", name, i+1))
			}
		}
		report(o, name)
	}
	if failed > 0 {
		return exitError(1)
	}
	return nil
}
