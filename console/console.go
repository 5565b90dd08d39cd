// Package console is the station in the browser: the pages the operator and the clerk work
// in, served by the daemon on console.listen.
//
// This file holds the frame every page shares: the routes, the templates in the person's
// language, the embedded assets, the security headers and the error pages. auth.go holds the
// logins, the sessions, the CSRF tokens and the role checks; admin.go the administrator's
// users and configuration pages.
//
// Adding a page: write templates/NAME.html defining "title" and "content" (the layout is
// base.html), register its route in routes behind requireRole, and render it with
//
//	c.render(w, r, http.StatusOK, "NAME.html", data)
//
// where the template reads data as .Data, and the logged-in user as .User, .Role and .CSRF.
// Every text goes through {{T "English text" args...}}, registered in package lang. Every
// state-changing request is a POST (or PUT, DELETE) carrying the session's CSRF token: a form
// field named csrf, or the X-CSRF-Token header from script.
package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"scanstation/lang"
	"scanstation/users"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Authenticator is what the console needs of the users file; *users.Store is one.
type Authenticator interface {
	// Authenticate returns users.ErrBadLogin for a wrong name or password.
	Authenticate(name, password string) (users.User, error)
	// Role is asked on every request, so a removed user or a changed role applies at once.
	Role(name string) (users.Role, bool)
}

// Options configure a console. Users is required; the rest have defaults.
type Options struct {
	Users Authenticator
	// Language is what a person reads until they choose another; the zero Tag is Vietnamese.
	Language language.Tag
	Logger   *slog.Logger
	// Now is the clock of the session timeouts and the login limiter.
	Now func() time.Time
	// Secure says the console is served over TLS: cookies are marked Secure and browsers are
	// told to keep to https.
	Secure bool
	// IdleTimeout ends a session unused this long (default 15 min); MaxLifetime ends any
	// session this long after its login (default 12 h).
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// Desk is the station the pages show and act on; required.
	Desk Desk
	// Poll is how often /events asks the Desk for the queue (default 1 s); Heartbeat how
	// often it sends a comment on a quiet stream (default 15 s), so proxies keep it open.
	Poll      time.Duration
	Heartbeat time.Duration
	// Manage changes the users on the administrator's users page; nil: Users, when it can
	// (a *users.Store can), else the page is not there.
	Manage UserManager
	// Recorder keeps the administrator's changes in the audit trail; nil: in the log only.
	Recorder Recorder
	// Config renders the running configuration as YAML for the administrator's page; what
	// could be a secret is masked before it is shown. nil: the page says it is not available.
	Config func() ([]byte, error)
}

const (
	defaultIdle     = 15 * time.Minute
	defaultLifetime = 12 * time.Hour
)

type console struct {
	users    Authenticator
	desk     Desk
	poll     time.Duration
	beat     time.Duration
	language language.Tag
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	manage   UserManager
	recorder Recorder
	config   func() ([]byte, error)

	sessions *sessionStore
	limiter  *limiter
	// pages holds each page's templates per language code, the T function bound to it.
	pages  map[string]map[string]*template.Template
	assets fs.FS
	mux    *http.ServeMux
}

// New returns the console's handler, serving every path it knows and 404 for the rest.
func New(o Options) (http.Handler, error) {
	if o.Users == nil {
		return nil, errors.New("console: no users store")
	}
	if o.Desk == nil {
		return nil, errors.New("console: no station desk")
	}
	c := &console{
		users:    o.Users,
		language: lang.Match(o.Language),
		log:      o.Logger,
		now:      o.Now,
		secure:   o.Secure,
		desk:     o.Desk,
		poll:     o.Poll,
		beat:     o.Heartbeat,
		manage:   o.Manage,
		recorder: o.Recorder,
		config:   o.Config,
	}
	if c.manage == nil {
		c.manage, _ = o.Users.(UserManager)
	}
	if c.poll <= 0 {
		c.poll = time.Second
	}
	if c.beat <= 0 {
		c.beat = 15 * time.Second
	}
	if o.Language == (language.Tag{}) {
		c.language = lang.Vietnamese
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.now == nil {
		c.now = time.Now
	}
	idle, lifetime := o.IdleTimeout, o.MaxLifetime
	if idle <= 0 {
		idle = defaultIdle
	}
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	c.sessions = newSessionStore(idle, lifetime)
	c.limiter = newLimiter(loginFailures, loginWindow, loginLock)

	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if c.assets, err = fs.Sub(assetFiles, "assets"); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.login)
	m.Handle("POST /logout", c.requireLogin(c.logout))
	m.HandleFunc("GET /lang/{code}", c.setLanguage)
	m.HandleFunc("GET /static/{file...}", c.static)
	m.HandleFunc("/static", c.notFound) // else the mux answers with a redirect to /static/
	m.Handle("GET /{$}", c.requireLogin(c.start))
	m.Handle("GET /events", c.requireRole(users.Operator, c.events))

	m.Handle("GET /doc/{id}", c.requireRole(users.Operator, c.document))
	m.Handle("GET /doc/{id}/page/{file}", c.requireRole(users.Operator, c.documentPreview))
	m.Handle("POST /doc/{id}/rotate", c.requireRole(users.Operator, c.rotate))
	m.Handle("POST /doc/{id}/drop", c.requireRole(users.Operator, c.dropPage))
	m.Handle("POST /doc/{id}/reocr", c.requireRole(users.Operator, c.reocr))
	m.Handle("POST /doc/{id}/correct", c.requireRole(users.Operator, c.correct))
	m.Handle("POST /doc/{id}/sendback", c.requireRole(users.Operator, c.sendBack))
	m.Handle("POST /doc/{id}/approve", c.requireRole(users.Clerk, c.approve))
	m.Handle("POST /doc/{id}/reject", c.requireRole(users.Clerk, c.reject))

	m.Handle("GET /failed", c.requireRole(users.Operator, c.failedPage))
	m.Handle("GET /failed/{name}/page/{file}", c.requireRole(users.Operator, c.failedPreview))
	m.Handle("POST /failed/{name}/retry", c.requireRole(users.Operator, c.retry))
	m.Handle("POST /failed/{name}/discard", c.requireRole(users.Operator, c.discard))

	m.Handle("GET /report", c.requireRole(users.Operator, c.report))
	m.Handle("GET /report.csv", c.requireRole(users.Operator, c.reportCSV))

	m.Handle("GET /admin/users", c.requireRole(users.Admin, c.usersPage))
	m.Handle("POST /admin/users/{action}", c.requireRole(users.Admin, c.changeUser))
	m.Handle("GET /admin/config", c.requireRole(users.Admin, c.configPage))
	m.HandleFunc("/", c.notFound)
	c.mux = m
}

// ServeHTTP refuses paths that are not in their plain form before routing: the standard
// mux would redirect /a/../b to /b, and a path with dot segments in it has no business here.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), c.secure)
	if !plainPath(r.URL.Path) || !plainPath(r.URL.RawPath) {
		c.notFound(w, r)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// plainPath reports whether p is an absolute path without empty, dot or dot-dot segments,
// backslashes or control characters. The empty string passes: it is the unset RawPath.
func plainPath(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		last := i == len(segs)-1
		if (s == "" && !last) || s == "." || s == ".." || strings.EqualFold(s, "%2e") || strings.EqualFold(s, "%2e%2e") {
			return false
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return false
			}
		}
	}
	return true
}

// setSecurityHeaders keeps pages out of frames, scripts to the console's own files (no inline
// script, so text from a scan cannot run), and the station's addresses out of other sites'
// logs.
func setSecurityHeaders(h http.Header, secure bool) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with a form's
	// POST, and the CSRF check, which wants this host there, would refuse every form.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// view is what every template gets.
type view struct {
	Lang string // vi or en, for <html lang> and the language switch
	User string // empty on pages shown without a login
	Role users.Role
	CSRF string // the session's token, or the login form's
	Data any    // the page's own
}

// errorPage is the data of error.html.
type errorPage struct {
	Title   string // a message key
	Message string // already in the person's language
}

func parsePages() (map[string]map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]map[string]*template.Template{}
	for _, tag := range lang.Tags {
		code := lang.Code(tag)
		p := lang.Printer(tag)
		funcs := template.FuncMap{
			"T": p.Sprintf,
			"roleName": func(r users.Role) string {
				return p.Sprintf(roleKey(r))
			},
			"msg":        func(s string) string { return say(p, s) },
			"stateName":  func(s string) string { return say(p, stateKey(s)) },
			"fieldName":  func(s string) string { return say(p, fieldKey(s)) },
			"actionName": func(s string) string { return say(p, actionKey(s)) },
			"stageName":  func(s string) string { return say(p, stageKey(s)) },
			"when":       when,
			"percent":    percent,
			"allows":     users.Role.Allows,
		}
		pages[code] = map[string]*template.Template{}
		for _, name := range names {
			base := path.Base(name)
			if base == "base.html" {
				continue
			}
			t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/base.html", name)
			if err != nil {
				return nil, fmt.Errorf("console: template %s: %w", base, err)
			}
			pages[code][base] = t
		}
	}
	return pages, nil
}

// roleKey is the message key that names a role to people.
func roleKey(r users.Role) string {
	switch r {
	case users.Operator:
		return "Operator"
	case users.Clerk:
		return "Clerk"
	case users.Admin:
		return "Administrator"
	}
	return string(r)
}

// languageOf is the language a request is answered in: the person's choice (a cookie set
// by /lang/CODE), else the station's.
func (c *console) languageOf(r *http.Request) language.Tag {
	if ck, err := r.Cookie(languageCookie); err == nil {
		if tag, err := lang.Parse(ck.Value); err == nil {
			return tag
		}
	}
	return c.language
}

const languageCookie = "lang"

// setLanguage keeps a person's choice of language; it is a preference, not a permission, so
// it needs no login (the login page offers it too).
func (c *console) setLanguage(w http.ResponseWriter, r *http.Request) {
	tag, err := lang.Parse(r.PathValue("code"))
	if err != nil {
		c.notFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: languageCookie, Value: lang.Code(tag), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// render writes page with v filled in from the request's session. The page is executed
// into a buffer first, so a template error gives a clean 500, not half a page.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	v := view{Lang: lang.Code(c.languageOf(r)), Data: data}
	if s := sessionOf(r); s != nil {
		v.User, v.Role, v.CSRF = s.user, s.role, s.csrf
	}
	c.renderView(w, status, page, v)
}

func (c *console) renderView(w http.ResponseWriter, status int, page string, v view) {
	t := c.pages[v.Lang][page]
	if t == nil {
		c.log.Error("console: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		c.log.Error("console: cannot render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page in the person's language; title and message are message keys.
func (c *console) fail(w http.ResponseWriter, r *http.Request, status int, title, message string, args ...any) {
	p := lang.Printer(c.languageOf(r))
	c.render(w, r, status, "error.html", errorPage{Title: title, Message: p.Sprintf(message, args...)})
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
	// The header shows who is logged in when someone is; an unknown path tells nothing more.
	if s, ok := c.sessions.peek(c.sessionCookie(r), c.now()); ok {
		r = r.WithContext(withSession(r.Context(), s))
	}
	c.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
}

// static serves the embedded assets, and nothing else: no listings, no paths out of assets/.
func (c *console) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if !fs.ValidPath(name) || name == "." {
		c.notFound(w, r)
		return
	}
	f, err := c.assets.Open(name)
	if err != nil {
		c.notFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		c.notFound(w, r)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		c.notFound(w, r)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	// Assets change only with a new build; an hour saves the office PCs the round trips.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// say prints a text the station gave: in the person's language when it is a message key,
// as it is otherwise (never as a format: a stray % in a reason must not garble it).
func say(p *message.Printer, s string) string {
	if lang.Has(s) {
		return p.Sprintf(s)
	}
	return s
}

// when is how the pages print a time: to the minute, in the time zone the station gave it
// (the office's).
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04")
}

// percent prints a 0..1 confidence as a whole percentage.
func percent(f float64) string {
	return fmt.Sprintf("%d %%", int(math.Round(f*100)))
}
