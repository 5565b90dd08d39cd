package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/lang"
	"scanstation/users"
)

// The login limiter: this many failures within the window, for one name or from one address,
// refuse every login (even a right one) for the lock time.
const (
	loginFailures = 10
	loginWindow   = 15 * time.Minute
	loginLock     = 15 * time.Minute
)

// maxForm bounds what a form may send; the console's forms are a few fields.
const maxForm = 1 << 20

// session is one login. The id is the cookie's value; csrf goes into every form.
type session struct {
	id      string
	user    string
	role    users.Role // as of the current request
	csrf    string
	created time.Time
	seen    time.Time
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionOf is the session of a request that passed requireRole (or nil). Handlers read the
// logged-in user's name and role from it.
func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// sessionStore keeps the sessions in memory: a restart of the daemon logs everyone out,
// which is what a restart should do.
type sessionStore struct {
	idle, lifetime time.Duration

	mu   sync.Mutex
	byID map[string]*session
}

func newSessionStore(idle, lifetime time.Duration) *sessionStore {
	return &sessionStore{idle: idle, lifetime: lifetime, byID: map[string]*session{}}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (st *sessionStore) create(user string, role users.Role, now time.Time) (*session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	s := &session{id: id, user: user, role: role, csrf: csrf, created: now, seen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, old := range st.byID {
		if st.expired(old, now) {
			delete(st.byID, id)
		}
	}
	st.byID[id] = s
	cp := *s
	return &cp, nil
}

func (st *sessionStore) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) >= st.idle || now.Sub(s.created) >= st.lifetime
}

// use returns a copy of the live session with id and marks it used now; an expired one is
// removed and reported as such.
func (st *sessionStore) use(id string, now time.Time) (s session, ok, expired bool) {
	if id == "" {
		return session{}, false, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.byID[id]
	if p == nil {
		return session{}, false, false
	}
	if st.expired(p, now) {
		delete(st.byID, id)
		return session{}, false, true
	}
	p.seen = now
	return *p, true, false
}

// peek returns the live session with id without counting it as used.
func (st *sessionStore) peek(id string, now time.Time) (*session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.byID[id]
	if p == nil || st.expired(p, now) {
		return nil, false
	}
	cp := *p
	return &cp, true
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

// removeUser ends every session of a user who no longer exists.
func (st *sessionStore) removeUser(user string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, s := range st.byID {
		if s.user == user {
			delete(st.byID, id)
		}
	}
}

// limiter counts failed logins per key (a name, an address).
type limiter struct {
	max          int
	window, lock time.Duration

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	count int
	first time.Time // of the current window
	until time.Time // locked until
}

func newLimiter(max int, window, lock time.Duration) *limiter {
	return &limiter{max: max, window: window, lock: lock, entries: map[string]*failures{}}
}

// locked returns how long key stays locked, or 0.
func (l *limiter) locked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.entries[key]; f != nil && now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// fail counts a failure of key and reports whether key is locked now.
func (l *limiter) fail(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) > 10000 {
		// Forget what no longer counts, so a flood of names cannot grow the map for ever.
		for k, f := range l.entries {
			if now.Sub(f.first) >= l.window && !now.Before(f.until) {
				delete(l.entries, k)
			}
		}
	}
	f := l.entries[key]
	if f == nil || now.Sub(f.first) >= l.window {
		f = &failures{first: now}
		l.entries[key] = f
	}
	f.count++
	if f.count >= l.max {
		f.until = now.Add(l.lock)
		f.count, f.first = 0, f.until
		return true
	}
	return false
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// limiterKeys are the keys a login attempt counts against: the name (in one Unicode form and
// case, so spelling it otherwise does not get more tries) and the address it came from.
func limiterKeys(name string, r *http.Request) []string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return []string{"name:" + strings.ToLower(norm.NFC.String(name)), "addr:" + host}
}

func (c *console) sessionCookieName() string {
	// __Host- makes the browser refuse the cookie unless Secure, Path=/ and no Domain.
	if c.secure {
		return "__Host-scanstation"
	}
	return "scanstation"
}

func (c *console) loginCookieName() string {
	if c.secure {
		return "__Host-scanstation-login"
	}
	return "scanstation-login"
}

func (c *console) sessionCookie(r *http.Request) string {
	ck, err := r.Cookie(c.sessionCookieName())
	if err != nil {
		return ""
	}
	return ck.Value
}

func (c *console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode,
	})
}

// requireLogin lets in any logged-in user.
func (c *console) requireLogin(h http.HandlerFunc) http.Handler { return c.requireRole("", h) }

// requireRole lets a request reach h only with a live session whose user's role allows need
// (users.Role.Allows; "" allows any role), and, for a request that changes something, only with
// the session's CSRF token. Without a session a page load goes to the login page and anything
// else gets 401.
func (c *console) requireRole(need users.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := c.now()
		s, ok, expired := c.sessions.use(c.sessionCookie(r), now)
		if ok {
			// The users file is asked each time: a removed user or a new role applies now.
			role, exists := c.users.Role(s.user)
			if !exists {
				c.sessions.removeUser(s.user)
				ok = false
			}
			s.role = role
		}
		if !ok {
			if expired {
				c.setCookie(w, c.sessionCookieName(), "", -1)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				to := "/login"
				if expired {
					to += "?ended=1"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, "Login required", "Please log in first.")
			return
		}
		r = r.WithContext(withSession(r.Context(), &s))
		if changesState(r.Method) && !c.validCSRF(w, r, s.csrf) {
			c.log.Warn("console: request without a valid CSRF token refused", "user", s.user, "method", r.Method, "path", r.URL.Path)
			c.fail(w, r, http.StatusForbidden, "Request refused",
				"The form was not sent from this console (its security token is missing or wrong). Reload the page and try again.")
			return
		}
		if need != "" && !s.role.Allows(need) {
			c.log.Warn("console: a role may not do this", "user", s.user, "role", s.role, "needs", need, "method", r.Method, "path", r.URL.Path)
			c.fail(w, r, http.StatusForbidden, "Not allowed", "Your role (%s) may not do this.", c.roleName(r, s.role))
			return
		}
		h(w, r)
	})
}

func (c *console) roleName(r *http.Request, role users.Role) string {
	p := lang.Printer(c.languageOf(r))
	return p.Sprintf(roleKey(role))
}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// validCSRF checks a request that changes something: it must come from the console's own
// pages (an Origin header, when the browser sends one, names this host) and carry want in the
// X-CSRF-Token header or the csrf form field.
func (c *console) validCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		got = r.PostFormValue("csrf")
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loginForm is the data of login.html.
type loginForm struct {
	Name    string // typed before, kept after a failure
	Message string // why the last try failed, in the person's language
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessions.peek(c.sessionCookie(r), c.now()); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	var msg string
	if r.URL.Query().Get("ended") != "" {
		msg = lang.Printer(c.languageOf(r)).Sprintf("Your session has ended. Please log in again.")
	}
	c.showLogin(w, r, http.StatusOK, loginForm{Message: msg})
}

// showLogin renders the login form with a fresh token, kept in a cookie too: a login posted
// from another site has the cookie but cannot read the token (login CSRF).
func (c *console) showLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	token, err := randomToken()
	if err != nil {
		c.log.Error("console: no random token", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.setCookie(w, c.loginCookieName(), token, 3600)
	c.renderView(w, status, "login.html", view{Lang: lang.Code(c.languageOf(r)), CSRF: token, Data: f})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	p := lang.Printer(c.languageOf(r))
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, loginForm{Message: p.Sprintf("The login form has expired. Please try again.")})
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	ck, err := r.Cookie(c.loginCookieName())
	token := r.PostForm.Get("csrf")
	originOK := true
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		originOK = err == nil && u.Host == r.Host
	}
	if err != nil || token == "" || !originOK || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(token)) != 1 {
		c.log.Warn("console: login form without its token refused", "address", r.RemoteAddr)
		c.showLogin(w, r, http.StatusForbidden, loginForm{Name: name, Message: p.Sprintf("The login form has expired. Please try again.")})
		return
	}

	now := c.now()
	keys := limiterKeys(name, r)
	var wait time.Duration
	for _, k := range keys {
		wait = max(wait, c.limiter.locked(k, now))
	}
	if wait > 0 {
		minutes := int((wait + time.Minute - 1) / time.Minute)
		c.log.Warn("console: login refused while locked", "user", name, "address", r.RemoteAddr)
		c.showLogin(w, r, http.StatusTooManyRequests, loginForm{Name: name, Message: p.Sprintf("Too many failed logins. Try again in %d minutes.", minutes)})
		return
	}

	u, err := c.users.Authenticate(name, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, users.ErrBadLogin):
		locked := false
		for _, k := range keys {
			locked = c.limiter.fail(k, now) || locked
		}
		c.log.Warn("console: failed login", "user", name, "address", r.RemoteAddr, "locked", locked)
		msg := p.Sprintf("Wrong name or password.")
		if locked {
			msg = p.Sprintf("Too many failed logins. Try again in %d minutes.", int(loginLock/time.Minute))
		}
		c.showLogin(w, r, http.StatusUnauthorized, loginForm{Name: name, Message: msg})
		return
	case err != nil:
		c.log.Error("console: cannot check a login", "user", name, "err", err)
		c.showLogin(w, r, http.StatusInternalServerError, loginForm{Name: name, Message: p.Sprintf("Something went wrong on the station; the details are in its log.")})
		return
	}
	for _, k := range keys {
		c.limiter.reset(k)
	}
	// A new id at every login: an id planted before the login is worth nothing after it.
	if old := c.sessionCookie(r); old != "" {
		c.sessions.remove(old)
	}
	s, err := c.sessions.create(u.Name, u.Role, now)
	if err != nil {
		c.log.Error("console: cannot start a session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.setCookie(w, c.loginCookieName(), "", -1)
	c.setCookie(w, c.sessionCookieName(), s.id, 0)
	c.log.Info("console: login", "user", u.Name, "role", u.Role, "address", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	c.sessions.remove(s.id)
	c.setCookie(w, c.sessionCookieName(), "", -1)
	c.log.Info("console: logout", "user", s.user, "address", r.RemoteAddr)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
