package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/lang"
	"scanstation/users"
)

// clock is the console's Now, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type station struct {
	t     *testing.T
	users *users.Store
	clock *clock
	srv   *httptest.Server
	h     http.Handler
}

const (
	lanPassword  = "mật khẩu của Lan"
	minhPassword = "mật khẩu của Minh"
)

// newStation serves a console over a real users file with a clerk (Lan), an operator (Minh)
// and an admin (Hoa).
func newStation(t *testing.T, o Options) *station {
	t.Helper()
	store, err := users.Load(filepath.Join(t.TempDir(), "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Cheap hashes keep the many logins here quick; the costs are the users package's concern.
	store.Params = users.Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	for _, u := range []struct {
		name string
		role users.Role
		pw   string
	}{{"Lan", users.Clerk, lanPassword}, {"Minh", users.Operator, minhPassword}, {"Hoa", users.Admin, "mật khẩu của Hoa"}} {
		if err := store.Add(u.name, u.role, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	if o.Users == nil {
		o.Users = store
	}
	o.Now = clk.now
	if o.Desk == nil {
		o.Desk = newDesk()
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &station{t: t, users: store, clock: clk, srv: srv, h: h}
}

// browser is a client with cookies that does not follow redirects, so each answer is seen.
func (s *station) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (s *station) do(c *http.Client, method, path string, form url.Values, header map[string]string) answer {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", body)
	}
	return m[1]
}

// login logs in through the form, as a browser does.
func (s *station) login(c *http.Client, name, password string) answer {
	s.t.Helper()
	page := s.do(c, "GET", "/login", nil, nil)
	return s.do(c, "POST", "/login", url.Values{"csrf": {csrfOf(s.t, page.body)}, "name": {name}, "password": {password}}, nil)
}

func TestLoginRightAndWrong(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	a := s.login(c, "Lan", "sai mật khẩu rồi")
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "Sai tên đăng nhập hoặc mật khẩu.") {
		t.Errorf("a wrong password: %d\n%s", a.status, a.body)
	}
	if !strings.Contains(a.body, `value="Lan"`) {
		t.Error("the name typed is not kept after a failed login")
	}
	a = s.login(c, "Lan", lanPassword)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Fatalf("the right password: %d %s", a.status, a.header.Get("Location"))
	}
	home := s.do(c, "GET", "/", nil, nil)
	// The start page is the queue now; its header names who is logged in and their role.
	if home.status != http.StatusOK || !strings.Contains(home.body, `<span class="who-name">Lan</span>`) || !strings.Contains(home.body, ">Văn thư</span>") {
		t.Errorf("the start page does not say who is logged in, in Vietnamese: %d\n%s", home.status, home.body)
	}
	if !strings.Contains(home.body, `<html lang="vi">`) {
		t.Error("the page is not marked Vietnamese")
	}
	// Logged in, the login page sends back to the start.
	if a := s.do(c, "GET", "/login", nil, nil); a.status != http.StatusSeeOther {
		t.Errorf("GET /login while logged in: %d", a.status)
	}

	// Logging out ends the session on the server, not only in the browser.
	var sessionCookie *http.Cookie
	for _, ck := range c.Jar.Cookies(mustURL(s.srv.URL)) {
		if ck.Name == "scanstation" {
			sessionCookie = ck
		}
	}
	out := s.do(c, "POST", "/logout", url.Values{"csrf": {csrfOf(t, home.body)}}, nil)
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", out.status, out.header.Get("Location"))
	}
	replay := s.browser()
	replay.Jar.SetCookies(mustURL(s.srv.URL), []*http.Cookie{sessionCookie})
	if a := s.do(replay, "GET", "/", nil, nil); a.status != http.StatusSeeOther {
		t.Errorf("the session cookie still works after logout: %d", a.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestNothingWithoutASession(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	for _, path := range []string{"/", "/?x=1"} {
		a := s.do(c, "GET", path, nil, nil)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d %q, want 303 to /login", path, a.status, a.header.Get("Location"))
		}
	}
	a := s.do(c, "POST", "/logout", url.Values{"csrf": {"x"}}, nil)
	if a.status != http.StatusUnauthorized {
		t.Errorf("POST /logout without a session: %d, want 401", a.status)
	}
	if strings.Contains(a.body, "Lan") {
		t.Error("a page without a session names a user")
	}
	if a := s.do(c, "GET", "/login", nil, nil); a.status != http.StatusOK {
		t.Errorf("the login page: %d", a.status)
	}
}

func TestCSRF(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	s.login(c, "Lan", lanPassword)
	home := s.do(c, "GET", "/", nil, nil)
	token := csrfOf(t, home.body)

	for name, try := range map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":           {url.Values{}, nil},
		"a wrong token":      {url.Values{"csrf": {strings.Repeat("0", 64)}}, nil},
		"a wrong header":     {nil, map[string]string{"X-CSRF-Token": "nope"}},
		"another site's one": {url.Values{"csrf": {token}}, map[string]string{"Origin": "http://evil.example"}},
	} {
		a := s.do(c, "POST", "/logout", try.form, try.header)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "mã bảo mật") {
			t.Errorf("POST with %s: %d, want 403 saying why\n%s", name, a.status, a.body)
		}
	}
	if a := s.do(c, "GET", "/", nil, nil); a.status != http.StatusOK {
		t.Fatalf("a refused logout ended the session: %d", a.status)
	}
	// Script sends the token in the header.
	a := s.do(c, "POST", "/logout", nil, map[string]string{"X-CSRF-Token": token, "Origin": s.srv.URL})
	if a.status != http.StatusSeeOther {
		t.Errorf("POST with the header token: %d", a.status)
	}

	// The login form has its own token: a login posted from elsewhere is refused.
	fresh := s.browser()
	a = s.do(fresh, "POST", "/login", url.Values{"name": {"Lan"}, "password": {lanPassword}}, nil)
	if a.status != http.StatusForbidden {
		t.Errorf("a login without the form's token: %d, want 403", a.status)
	}
	page := s.do(fresh, "GET", "/login", nil, nil)
	stranger := s.browser() // has no login cookie: the token alone is not enough
	a = s.do(stranger, "POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "name": {"Lan"}, "password": {lanPassword}}, nil)
	if a.status != http.StatusForbidden {
		t.Errorf("a login with a token but not its cookie: %d, want 403", a.status)
	}
}

func TestTenWrongPasswordsLock(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	for i := 0; i < loginFailures; i++ {
		if a := s.login(c, "Lan", "sai mật khẩu lần nữa"); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, a.status)
		}
	}
	a := s.login(c, "Lan", lanPassword)
	if a.status != http.StatusTooManyRequests || !strings.Contains(a.body, "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút.") {
		t.Fatalf("the right password after ten wrong ones: %d, want 429 saying to wait\n%s", a.status, a.body)
	}
	// From the same address, another name is locked too.
	if a := s.login(c, "Minh", minhPassword); a.status != http.StatusTooManyRequests {
		t.Errorf("another user from the locked address: %d, want 429", a.status)
	}
	// From another address, the locked name stays locked.
	other := recorderLogin(t, s, "10.0.0.9:5555", "Lan", lanPassword)
	if other.Code != http.StatusTooManyRequests {
		t.Errorf("the locked name from another address: %d, want 429", other.Code)
	}
	if other := recorderLogin(t, s, "10.0.0.9:5555", "Minh", minhPassword); other.Code != http.StatusSeeOther {
		t.Errorf("another name from another address: %d, want a login", other.Code)
	}

	s.clock.add(loginLock + time.Second)
	if a := s.login(c, "Lan", lanPassword); a.status != http.StatusSeeOther {
		t.Errorf("after the lock time the right password: %d", a.status)
	}
}

// A success resets the count: nine failures, a login, nine more do not lock.
func TestSuccessResetsTheCount(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	for round := 0; round < 2; round++ {
		for i := 0; i < loginFailures-1; i++ {
			s.login(c, "Minh", "sai mật khẩu lần nữa")
		}
		if a := s.login(c, "Minh", minhPassword); a.status != http.StatusSeeOther {
			t.Fatalf("round %d: the right password after nine wrong: %d", round, a.status)
		}
		c = s.browser()
	}
}

// recorderLogin logs in through the handler itself, from a chosen remote address.
func recorderLogin(t *testing.T, s *station, addr, name, password string) *httptest.ResponseRecorder {
	t.Helper()
	get := httptest.NewRequest("GET", "/login", nil)
	get.RemoteAddr = addr
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, get)
	post := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{
		"csrf": {csrfOf(t, w.Body.String())}, "name": {name}, "password": {password}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.RemoteAddr = addr
	for _, ck := range w.Result().Cookies() {
		post.AddCookie(ck)
	}
	w = httptest.NewRecorder()
	s.h.ServeHTTP(w, post)
	return w
}

func TestCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := newStation(t, Options{Secure: secure})
		w := recorderLogin(t, s, "127.0.0.1:4000", "Lan", lanPassword)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("secure=%v: login %d", secure, w.Code)
		}
		var session *http.Cookie
		for _, ck := range w.Result().Cookies() {
			if strings.Contains(ck.Name, "scanstation") && ck.Value != "" {
				session = ck
			}
		}
		if session == nil {
			t.Fatalf("secure=%v: no session cookie in %v", secure, w.Result().Cookies())
		}
		wantName := "scanstation"
		if secure {
			wantName = "__Host-scanstation"
		}
		if session.Name != wantName || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.Secure != secure {
			t.Errorf("secure=%v: session cookie %+v", secure, session)
		}
		if len(session.Value) != 64 {
			t.Errorf("the session id is %d hex digits, want 64 (32 random bytes)", len(session.Value))
		}
		if session.MaxAge != 0 || !session.Expires.IsZero() {
			t.Errorf("the session cookie outlives the browser: %+v", session)
		}
		if secure && w.Header().Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS over TLS")
		}
	}
}

func TestIdleTimeoutAndLifetime(t *testing.T) {
	s := newStation(t, Options{IdleTimeout: 15 * time.Minute})
	c := s.browser()
	s.login(c, "Minh", minhPassword)
	s.clock.add(14 * time.Minute)
	if a := s.do(c, "GET", "/", nil, nil); a.status != http.StatusOK {
		t.Fatalf("after 14 idle minutes: %d", a.status)
	}
	s.clock.add(15*time.Minute + time.Second)
	a := s.do(c, "GET", "/", nil, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/login?ended=1" {
		t.Fatalf("after 15 idle minutes: %d %q, want the login page", a.status, a.header.Get("Location"))
	}
	if page := s.do(c, "GET", "/login?ended=1", nil, nil); !strings.Contains(page.body, "Phiên làm việc đã kết thúc") {
		t.Errorf("the login page does not say the session ended:\n%s", page.body)
	}

	// Used every 10 minutes, a session still ends 12 hours after its login.
	s.login(c, "Minh", minhPassword)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
		s.clock.add(10 * time.Minute)
		if a := s.do(c, "GET", "/", nil, nil); a.status != http.StatusOK {
			t.Fatalf("a used session ended after %v: %d", elapsed+10*time.Minute, a.status)
		}
	}
	s.clock.add(10 * time.Minute)
	if a := s.do(c, "GET", "/", nil, nil); a.status != http.StatusSeeOther {
		t.Errorf("a session lived past 12 hours: %d", a.status)
	}
}

func TestPathsOutsideTheConsoleAre404(t *testing.T) {
	s := newStation(t, Options{})
	for _, path := range []string{
		"/../../etc/passwd", "/static/../x", "/static/%2e%2e/console.go", "/static/..%2fconsole.go",
		"/static/", "/static/nope.css", "/static//console.css", "/./", "/nope", "/static", "/templates/base.html",
		"/static/../../../../etc/passwd", "/login/../static/console.css",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = &url.URL{Path: mustUnescape(path), RawPath: path}
		req.RequestURI = path
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
		if strings.Contains(w.Body.String(), "root:") {
			t.Errorf("GET %s served a system file", path)
		}
	}
	// The same through a real connection, where nothing cleans the path first.
	for _, path := range []string{"/../../etc/passwd", "/static/../x"} {
		if a := s.do(s.browser(), "GET", path, nil, nil); a.status != http.StatusNotFound {
			t.Errorf("GET %s over HTTP: %d, want 404", path, a.status)
		}
	}
	a := s.do(s.browser(), "GET", "/static/console.css", nil, nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
		t.Errorf("the stylesheet: %d %s", a.status, a.header.Get("Content-Type"))
	}
}

func mustUnescape(p string) string {
	u, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return u
}

func TestSecurityHeaders(t *testing.T) {
	s := newStation(t, Options{})
	for _, path := range []string{"/login", "/nope", "/static/console.css"} {
		a := s.do(s.browser(), "GET", path, nil, nil)
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, a.header)
		}
	}
	// No inline script anywhere, so the CSP never needs to allow it.
	err := fs.WalkDir(templateFiles, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templateFiles, p)
		// A script element may only load a file: nothing between its tags.
		if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).Match(b) || regexp.MustCompile(`<script(?:\s[^>]*)?>\s*<[^/]`).Match(b) || regexp.MustCompile(`\son[a-z]+=`).Match(b) {
			t.Errorf("%s has inline script", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fakeUsers stands in for the users file to test a name the file would refuse: whatever
// reaches a page must be shown as text.
type fakeUsers struct{ name string }

func (f fakeUsers) Authenticate(name, password string) (users.User, error) {
	if name == f.name && password == "0123456789" {
		return users.User{Name: f.name, Role: users.Clerk}, nil
	}
	return users.User{}, users.ErrBadLogin
}

func (f fakeUsers) Role(name string) (users.Role, bool) { return users.Clerk, name == f.name }

func TestHostileTextIsInert(t *testing.T) {
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	s := newStation(t, Options{Users: fakeUsers{hostile}})
	c := s.browser()
	if a := s.login(c, hostile, "0123456789"); a.status != http.StatusSeeOther {
		t.Fatalf("login: %d", a.status)
	}
	home := s.do(c, "GET", "/", nil, nil)
	if strings.Contains(home.body, "<script>alert") || strings.Contains(home.body, "<img src=x") {
		t.Errorf("the name reached the page as markup:\n%s", home.body)
	}
	if !strings.Contains(home.body, "&lt;script&gt;alert") {
		t.Errorf("the name is not shown as text:\n%s", home.body)
	}
	// A failed login echoes the typed name into a value attribute: escaped there too.
	a := s.login(s.browser(), `"><script>alert(2)</script>`, "wrong password")
	if strings.Contains(a.body, "<script>alert(2)") {
		t.Errorf("the login page echoes markup:\n%s", a.body)
	}
}

func TestRoles(t *testing.T) {
	s := newStation(t, Options{})
	c := s.h.(*console)
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done by "+sessionOf(r).user) }
	mux := http.NewServeMux()
	mux.Handle("POST /approve", c.requireRole(users.Clerk, ok))
	mux.Handle("POST /correct", c.requireRole(users.Operator, ok))
	mux.Handle("GET /users", c.requireRole(users.Admin, ok))

	as := func(name, password, method, path string) *httptest.ResponseRecorder {
		t.Helper()
		login := recorderLogin(t, s, "127.0.0.1:4000", name, password)
		if login.Code != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, login.Code)
		}
		home := httptest.NewRequest("GET", "/", nil)
		for _, ck := range login.Result().Cookies() {
			home.AddCookie(ck)
		}
		hw := httptest.NewRecorder()
		s.h.ServeHTTP(hw, home)
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("X-CSRF-Token", csrfOf(t, hw.Body.String()))
		for _, ck := range login.Result().Cookies() {
			req.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w
	}
	cases := []struct {
		name, pw, method, path string
		want                   int
	}{
		{"Minh", minhPassword, "POST", "/approve", http.StatusForbidden},
		{"Lan", lanPassword, "POST", "/approve", http.StatusOK},
		{"Lan", lanPassword, "POST", "/correct", http.StatusOK},
		{"Minh", minhPassword, "POST", "/correct", http.StatusOK},
		{"Hoa", "mật khẩu của Hoa", "POST", "/correct", http.StatusForbidden},
		{"Hoa", "mật khẩu của Hoa", "GET", "/users", http.StatusOK},
		{"Lan", lanPassword, "GET", "/users", http.StatusForbidden},
	}
	for _, cs := range cases {
		w := as(cs.name, cs.pw, cs.method, cs.path)
		if w.Code != cs.want {
			t.Errorf("%s %s %s: %d, want %d", cs.name, cs.method, cs.path, w.Code, cs.want)
		}
		if cs.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "Không có quyền") {
			t.Errorf("%s %s: the 403 page is not in Vietnamese:\n%s", cs.name, cs.path, w.Body.String())
		}
	}

	// A role taken away applies at the next request; a removed user's session ends.
	if err := s.users.SetRole("Lan", users.Operator); err != nil {
		t.Fatal(err)
	}
	if w := as("Lan", lanPassword, "POST", "/approve"); w.Code != http.StatusForbidden {
		t.Errorf("approve after the clerk role was taken away: %d", w.Code)
	}
	b := s.browser()
	s.login(b, "Minh", minhPassword)
	if err := s.users.Remove("Minh"); err != nil {
		t.Fatal(err)
	}
	if a := s.do(b, "GET", "/", nil, nil); a.status != http.StatusSeeOther {
		t.Errorf("a removed user's session still works: %d", a.status)
	}
}

func TestEnglishOnRequest(t *testing.T) {
	s := newStation(t, Options{})
	c := s.browser()
	if a := s.do(c, "GET", "/lang/en", nil, nil); a.status != http.StatusSeeOther {
		t.Fatalf("GET /lang/en: %d", a.status)
	}
	page := s.do(c, "GET", "/login", nil, nil)
	if !strings.Contains(page.body, "Scan station console") || !strings.Contains(page.body, `<html lang="en">`) {
		t.Errorf("the login page is not in English after choosing it:\n%s", page.body)
	}
	en := newStation(t, Options{Language: lang.English})
	if page := en.do(en.browser(), "GET", "/login", nil, nil); !strings.Contains(page.body, "User name") {
		t.Error("a station set to English shows another language")
	}
	if a := s.do(c, "GET", "/lang/fr", nil, nil); a.status != http.StatusNotFound {
		t.Errorf("GET /lang/fr: %d", a.status)
	}
}

// Every text a template prints through T is in the catalogue, so it has its Vietnamese.
func TestTemplateTextsAreInTheCatalogue(t *testing.T) {
	literal := regexp.MustCompile(`\{\{-?\s*T\s+"((?:[^"\\]|\\.)*)"`)
	names, _ := fs.Glob(templateFiles, "templates/*.html")
	found := 0
	for _, name := range names {
		b, _ := fs.ReadFile(templateFiles, name)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			found++
			if !lang.Has(m[1]) {
				t.Errorf("%s: %q is not in package lang", name, m[1])
			}
		}
	}
	if found < 5 {
		t.Errorf("only %d texts found in the templates", found)
	}
}
