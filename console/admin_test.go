package console

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"scanstation/config"
	"scanstation/users"
)

const hoaPassword = "mật khẩu của Hoa"

// recorder keeps what RecordAdmin was given; the audit trail's storage is the station's.
type recorder struct {
	mu      sync.Mutex
	entries []string
}

func (r *recorder) RecordAdmin(ctx context.Context, by User, action, subject, detail string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, fmt.Sprintf("%s (%s) %s %s: %s", by.Name, by.Role, action, subject, detail))
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.entries...)
}

// The administrator adds an operator, who can then log in; changes the role, sets a new
// password (which ends the operator's session) and removes them. Each step is in the audit
// trail, and the passwords are nowhere but in the users file's hashes.
func TestAdminManagesUsers(t *testing.T) {
	rec := &recorder{}
	var logs bytes.Buffer
	s := newStation(t, Options{Recorder: rec, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	admin, token := s.session("Hoa", hoaPassword)
	const first, second = "mật khẩu đầu tiên của Tâm", "mật khẩu thứ hai của Tâm"

	home := s.do(admin, "GET", "/", nil, nil)
	for _, want := range []string{"Người dùng", `href="/admin/config"`, "Minh", "Người vận hành", `action="/admin/users/add"`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("the admin's start page lacks %q", want)
		}
	}
	if strings.Contains(home.body, "data-count") {
		t.Error("the admin's start page shows the queue")
	}

	post := func(action string, form url.Values) answer {
		t.Helper()
		form.Set("csrf", token)
		return s.do(admin, "POST", "/admin/users/"+action, form, nil)
	}
	a := post("add", url.Values{"name": {"Tâm"}, "role": {"operator"}, "password": {first}, "password2": {first}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/admin/users?done=added") {
		t.Fatalf("add: %d %q\n%s", a.status, a.header.Get("Location"), a.body)
	}
	list := s.do(admin, "GET", a.header.Get("Location"), nil, nil)
	if !strings.Contains(list.body, "Đã thêm Tâm.") || !strings.Contains(list.body, `id="user-Tâm"`) {
		t.Errorf("the list after adding Tâm:\n%s", list.body)
	}
	tam := s.browser()
	if a := s.login(tam, "Tâm", first); a.status != http.StatusSeeOther {
		t.Fatalf("the new operator cannot log in: %d", a.status)
	}
	if a := s.do(tam, "GET", "/", nil, nil); a.status != http.StatusOK || !strings.Contains(a.body, "data-count") {
		t.Errorf("the new operator does not get the queue: %d", a.status)
	}

	if a := post("role", url.Values{"name": {"Tâm"}, "role": {"clerk"}}); a.status != http.StatusSeeOther {
		t.Fatalf("role: %d\n%s", a.status, a.body)
	}
	if r, _ := s.users.Role("Tâm"); r != users.Clerk {
		t.Errorf("after the role change Tâm is %q", r)
	}

	if a := post("password", url.Values{"name": {"Tâm"}, "password": {second}, "password2": {second}}); a.status != http.StatusSeeOther {
		t.Fatalf("password: %d\n%s", a.status, a.body)
	}
	if a := s.do(tam, "GET", "/", nil, nil); a.status != http.StatusSeeOther {
		t.Errorf("the session from before the new password still works: %d", a.status)
	}
	if _, err := s.users.Authenticate("Tâm", first); err == nil {
		t.Error("the old password still works")
	}
	if a := s.login(s.browser(), "Tâm", second); a.status != http.StatusSeeOther {
		t.Errorf("the new password does not work: %d", a.status)
	}

	if a := post("remove", url.Values{"name": {"Tâm"}}); a.status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", a.status, a.body)
	}
	if _, ok := s.users.Role("Tâm"); ok {
		t.Error("Tâm is still in the users file")
	}

	want := []string{
		"Hoa (admin) user_add Tâm: role operator",
		"Hoa (admin) user_role Tâm: role operator → clerk",
		"Hoa (admin) user_password Tâm: ",
		"Hoa (admin) user_remove Tâm: role clerk",
	}
	got := rec.all()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the audit trail got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, where := range append(got, logs.String()) {
		if strings.Contains(where, "mật khẩu") {
			t.Errorf("a password is recorded or logged: %s", where)
		}
	}
}

// What the administrator may not do is refused in plain words, and nothing changes.
func TestAdminRefusals(t *testing.T) {
	rec := &recorder{}
	s := newStation(t, Options{Recorder: rec})
	admin, token := s.session("Hoa", hoaPassword)
	post := func(action string, form url.Values) answer {
		t.Helper()
		form.Set("csrf", token)
		return s.do(admin, "POST", "/admin/users/"+action, form, nil)
	}
	typed := "một mật khẩu dài"
	cases := []struct {
		action string
		form   url.Values
		status int
		says   string
	}{
		{"remove", url.Values{"name": {"Hoa"}}, http.StatusConflict, "Bạn không thể tự xóa mình"},
		{"role", url.Values{"name": {"Hoa"}, "role": {"clerk"}}, http.StatusConflict, "Bạn không thể tự đổi vai trò"},
		{"add", url.Values{"name": {"Tâm"}, "role": {"operator"}, "password": {typed}, "password2": {typed + "x"}}, http.StatusBadRequest, "Hai mật khẩu không giống nhau"},
		{"add", url.Values{"name": {"Tâm"}, "role": {"operator"}, "password": {"ngắn"}, "password2": {"ngắn"}}, http.StatusBadRequest, "ít nhất 10 ký tự"},
		{"add", url.Values{"name": {"Tâm Tâm"}, "role": {"operator"}, "password": {typed}, "password2": {typed}}, http.StatusBadRequest, "Tên đăng nhập chỉ gồm"},
		{"add", url.Values{"name": {"Tâm"}, "role": {"boss"}, "password": {typed}, "password2": {typed}}, http.StatusBadRequest, "Hãy chọn vai trò"},
		{"add", url.Values{"name": {"minh"}, "role": {"clerk"}, "password": {typed}, "password2": {typed}}, http.StatusConflict, "Đã có người dùng tên Minh"},
		{"remove", url.Values{"name": {"Ma"}}, http.StatusNotFound, "Không có người dùng tên Ma"},
		{"password", url.Values{"name": {"Minh"}, "password": {typed}, "password2": {"khác hẳn rồi đấy"}}, http.StatusBadRequest, "Hai mật khẩu không giống nhau"},
	}
	for _, c := range cases {
		a := post(c.action, c.form)
		if a.status != c.status || !strings.Contains(a.body, c.says) {
			t.Errorf("%s %v: %d, want %d saying %q\n%s", c.action, c.form, a.status, c.status, c.says, a.body)
		}
		if strings.Contains(a.body, typed) || strings.Contains(a.body, "ngắn") {
			t.Errorf("%s: the refusal shows the typed password back", c.action)
		}
	}
	// The add form keeps what was typed, but the password.
	a := post("add", url.Values{"name": {"Tâm"}, "role": {"clerk"}, "password": {typed}, "password2": {"x"}})
	if !strings.Contains(a.body, `value="Tâm"`) || !strings.Contains(a.body, `<option value="clerk" selected>`) {
		t.Errorf("the refused add form lost the name or the role:\n%s", a.body)
	}
	if n := s.users.Len(); n != 3 {
		t.Errorf("after the refusals the file has %d users, want the 3 it had", n)
	}
	if got := rec.all(); len(got) != 0 {
		t.Errorf("refusals were recorded as changes: %v", got)
	}
	for _, name := range []string{"Hoa", "Minh"} {
		if _, ok := s.users.Role(name); !ok {
			t.Errorf("%s was removed by a refused request", name)
		}
	}
}

// lastAdminRace is the users file with another writer in between the console's check of
// the administrator's session and its change: the `scanstation user` command demotes the
// acting administrator just before they remove the other one.
type lastAdminRace struct {
	*users.Store
	cli *users.Store
}

func (m lastAdminRace) RemoveKeepingAdmin(name string) error {
	if err := m.cli.SetRole("Hoa", users.Clerk); err != nil {
		return err
	}
	return m.Store.RemoveKeepingAdmin(name)
}

// Two administrators cannot leave the station without one: the removal that would take the
// last is refused, with that administrator's name.
func TestNeverTheLastAdmin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	store, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	store.Params = users.Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	for _, name := range []string{"Hoa", "Quang"} {
		if err := store.Add(name, users.Admin, hoaPassword); err != nil {
			t.Fatal(err)
		}
	}
	cli, err := users.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := newStation(t, Options{Users: store, Manage: lastAdminRace{store, cli}, Recorder: rec})
	admin, token := s.session("Hoa", hoaPassword)
	a := s.do(admin, "POST", "/admin/users/remove", url.Values{"csrf": {token}, "name": {"Quang"}}, nil)
	if a.status != http.StatusConflict || !strings.Contains(a.body, "Quang là quản trị viên cuối cùng") {
		t.Errorf("removing the last admin: %d\n%s", a.status, a.body)
	}
	if r, ok := store.Role("Quang"); !ok || r != users.Admin {
		t.Errorf("Quang is %q %v after the refusal", r, ok)
	}
	if got := rec.all(); len(got) != 0 {
		t.Errorf("a refused removal was recorded: %v", got)
	}
}

// Only the administrator reaches the administrator's pages, and only with the session's token.
func TestAdminPagesNeedTheRoleAndTheToken(t *testing.T) {
	s := newStation(t, Options{Config: func() ([]byte, error) { return []byte("station:\n  name: \"x\"\n"), nil }})
	for _, who := range []struct{ name, pw string }{{"Minh", minhPassword}, {"Lan", lanPassword}} {
		c, token := s.session(who.name, who.pw)
		for _, path := range []string{"/admin/users", "/admin/config"} {
			if a := s.do(c, "GET", path, nil, nil); a.status != http.StatusForbidden || !strings.Contains(a.body, "Không có quyền") {
				t.Errorf("%s GET %s: %d, want 403", who.name, path, a.status)
			}
		}
		a := s.do(c, "POST", "/admin/users/add", url.Values{"csrf": {token}, "name": {"Tâm"}, "role": {"admin"},
			"password": {"mật khẩu dài đủ"}, "password2": {"mật khẩu dài đủ"}}, nil)
		if a.status != http.StatusForbidden {
			t.Errorf("%s POST add: %d, want 403", who.name, a.status)
		}
		if a := s.do(c, "POST", "/admin/users/remove", url.Values{"csrf": {token}, "name": {"Hoa"}}, nil); a.status != http.StatusForbidden {
			t.Errorf("%s POST remove: %d, want 403", who.name, a.status)
		}
		if page := s.do(c, "GET", "/", nil, nil); strings.Contains(page.body, "/admin/") {
			t.Errorf("%s's pages link to the administrator's", who.name)
		}
	}
	admin, token := s.session("Hoa", hoaPassword)
	for name, form := range map[string]url.Values{
		"no token":      {"name": {"Minh"}},
		"a wrong token": {"name": {"Minh"}, "csrf": {strings.Repeat("0", 64)}},
	} {
		if a := s.do(admin, "POST", "/admin/users/remove", form, nil); a.status != http.StatusForbidden || !strings.Contains(a.body, "mã bảo mật") {
			t.Errorf("remove with %s: %d, want 403", name, a.status)
		}
	}
	if a := s.do(admin, "POST", "/admin/users/remove", url.Values{"csrf": {token}, "name": {"Minh"}}, map[string]string{"Origin": "http://evil.example"}); a.status != http.StatusForbidden {
		t.Errorf("remove from another site: %d, want 403", a.status)
	}
	if _, ok := s.users.Role("Minh"); !ok {
		t.Error("Minh was removed without the token")
	}
	if a := s.do(admin, "GET", "/doc/1", nil, nil); a.status != http.StatusForbidden {
		t.Errorf("the admin opened a document: %d", a.status)
	}
}

// The configuration page shows the running configuration and no secret: the PIN only as its
// file's path, an address without its password and query.
func TestConfigPage(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte("123456-the-pin"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(dir)
	cfg.Signing.PINFile = pinFile
	cfg.Push.URL = "https://station:s3cr3t-pass@exchange.example/api?key=k3y-value&org=1"
	cfg.Timestamp.URL = "http://tsa.example/tsr"
	render := func() ([]byte, error) {
		text, err := config.Render(cfg)
		// A key a later version might hold a secret in is masked by its name.
		return append(text, "  client_key_passphrase: \"hunter2-phrase\"\n"...), err
	}
	s := newStation(t, Options{Config: render})
	admin, _ := s.session("Hoa", hoaPassword)
	a := s.do(admin, "GET", "/admin/config", nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET /admin/config: %d", a.status)
	}
	for _, want := range []string{"pin_file: &#34;" + pinFile + "&#34;", "jpeg_quality: 85", "http://tsa.example/tsr",
		"https://station:********@exchange.example/api?key=********", "client_key_passphrase: &#34;********&#34;", "<pre"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the configuration page lacks %q", want)
		}
	}
	for _, secret := range []string{"123456-the-pin", "s3cr3t-pass", "k3y-value", "hunter2-phrase"} {
		if strings.Contains(a.body, secret) {
			t.Errorf("the configuration page shows the secret %q", secret)
		}
	}
	// Masking takes nothing else away: a configuration without secrets is shown whole.
	plain, err := config.Render(config.Default(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := maskSecrets(string(plain)); got != string(plain) {
		t.Errorf("masking changed a configuration without secrets:\n%s", got)
	}
}
