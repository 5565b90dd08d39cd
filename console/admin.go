package console

// The administrator's pages: the users (add, change a role, set a password, remove) and the
// running configuration, read-only. Every change to the users is in the audit trail, and a
// password is never logged, recorded or shown back.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"scanstation/lang"
	"scanstation/users"
)

// UserManager is what the users page changes in the users file; *users.Store is one. The
// removal and the role change refuse (users.ErrLastAdmin) to take the last administrator, in
// the same locked step as the change.
type UserManager interface {
	List() ([]users.User, error)
	Add(name string, role users.Role, password string) error
	SetPassword(name, password string) error
	SetRoleKeepingAdmin(name string, role users.Role) error
	RemoveKeepingAdmin(name string) error
}

// Recorder keeps the audit trail of what an administrator changed.
type Recorder interface {
	// RecordAdmin records that by did action (one of the Admin* constants) to subject, a
	// user's name; detail says what changed in words (a role, never a password).
	RecordAdmin(ctx context.Context, by User, action, subject, detail string) error
}

// The actions of the administrator, as the audit trail names them.
const (
	AdminAddUser     = "user_add"
	AdminSetRole     = "user_role"
	AdminSetPassword = "user_password"
	AdminRemoveUser  = "user_remove"
)

// adminDone are the flash messages after a change to the users (?done=...&user=...).
var adminDone = map[string]string{
	"added":    "%s was added.",
	"role":     "%s has a new role.",
	"password": "%s has a new password.",
	"removed":  "%s was removed.",
}

// usersPage is the data of admin_users.html.
type usersPage struct {
	Users []userRow
	Roles []users.Role
	Flash string
	// Error is why the last form was refused, in the person's language; Subject the user
	// it was about ("" for the add form), so the message shows beside that form.
	Error   string
	Subject string
	Add     addForm
	MinPass int
}

type userRow struct {
	Name             string
	Role             users.Role
	Created, Changed string
	Self             bool
}

// addForm is the add form as typed, kept after a refusal; never the password.
type addForm struct {
	Name string
	Role users.Role
}

// configPage is the data of admin_config.html.
type configPage struct {
	Text string // the configuration as YAML, secrets masked; "" when not available
}

// start is /: the queue for the operator and the clerk, the users for the administrator.
// The users page is shown here rather than redirected to, so an administrator's start page
// is an ordinary page load.
func (c *console) start(w http.ResponseWriter, r *http.Request) {
	if s := sessionOf(r); s.role == users.Admin {
		c.usersPage(w, r)
		return
	}
	c.queue(w, r)
}

func (c *console) usersPage(w http.ResponseWriter, r *http.Request) {
	var pg usersPage
	q := r.URL.Query()
	if key, ok := adminDone[q.Get("done")]; ok && q.Get("user") != "" {
		pg.Flash = lang.Printer(c.languageOf(r)).Sprintf(key, q.Get("user"))
	}
	c.showUsers(w, r, http.StatusOK, pg)
}

func (c *console) showUsers(w http.ResponseWriter, r *http.Request, status int, pg usersPage) {
	if c.manage == nil {
		c.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	list, err := c.manage.List()
	if err != nil {
		c.log.Error("console: cannot read the users file", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "Station error", "Something went wrong on the station; the details are in its log.")
		return
	}
	self := sessionOf(r).user
	// The file keeps UTC; people read the station's local time, as on the other pages.
	zone := c.now().Location()
	for _, u := range list {
		pg.Users = append(pg.Users, userRow{
			Name: u.Name, Role: u.Role, Self: u.Name == self,
			Created: when(u.Created.In(zone)), Changed: when(u.Changed.In(zone)),
		})
	}
	pg.Roles = users.Roles
	pg.MinPass = users.MinPassword
	if pg.Add.Role == "" {
		pg.Add.Role = users.Operator
	}
	c.render(w, r, status, "admin_users.html", pg)
}

// changeUser is every POST of the users page: it reads the form, lets act do the change,
// records it, and sends the browser back to the list with a flash message; a refusal shows
// the list again with the reason beside the form it came from.
func (c *console) changeUser(w http.ResponseWriter, r *http.Request) {
	if c.manage == nil {
		c.notFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Request refused", "The form could not be read.")
		return
	}
	p := lang.Printer(c.languageOf(r))
	s := sessionOf(r)
	by := User{Name: s.user, Role: s.role}
	f := r.PostForm
	name := norm.NFC.String(strings.TrimSpace(f.Get("name")))
	refuse := func(status int, subject, message string, args ...any) {
		pg := usersPage{Error: p.Sprintf(message, args...), Subject: subject}
		if subject == "" {
			pg.Add = addForm{Name: name, Role: users.Role(f.Get("role"))}
		}
		c.showUsers(w, r, status, pg)
	}

	var action, detail, flash string
	var err error
	switch r.PathValue("action") {
	case "add":
		role, rerr := users.ParseRole(f.Get("role"))
		switch {
		case users.CheckName(name) != nil:
			refuse(http.StatusBadRequest, "", "A user name is letters, digits, dot, underscore and hyphen, at most %d characters.", 64)
			return
		case rerr != nil:
			refuse(http.StatusBadRequest, "", "Choose a role.")
			return
		}
		if msg, args := c.checkPasswords(f.Get("password"), f.Get("password2")); msg != "" {
			refuse(http.StatusBadRequest, "", msg, args...)
			return
		}
		if existing, ok := c.sameName(name); ok {
			refuse(http.StatusConflict, "", "A user called %s exists already.", existing)
			return
		}
		action, detail, flash = AdminAddUser, "role "+string(role), "added"
		err = c.manage.Add(name, role, f.Get("password"))
	case "role":
		role, rerr := users.ParseRole(f.Get("role"))
		switch {
		case rerr != nil:
			refuse(http.StatusBadRequest, name, "Choose a role.")
			return
		case name == s.user:
			refuse(http.StatusConflict, name, "You cannot change your own role; another administrator can.")
			return
		}
		before, _ := c.users.Role(name)
		if before == role {
			http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
			return
		}
		action, detail, flash = AdminSetRole, "role "+string(before)+" → "+string(role), "role"
		err = c.manage.SetRoleKeepingAdmin(name, role)
	case "password":
		if msg, args := c.checkPasswords(f.Get("password"), f.Get("password2")); msg != "" {
			refuse(http.StatusBadRequest, name, msg, args...)
			return
		}
		action, flash = AdminSetPassword, "password"
		err = c.manage.SetPassword(name, f.Get("password"))
	case "remove":
		if name == s.user {
			refuse(http.StatusConflict, name, "You cannot remove yourself; another administrator can.")
			return
		}
		before, _ := c.users.Role(name)
		action, detail, flash = AdminRemoveUser, "role "+string(before), "removed"
		err = c.manage.RemoveKeepingAdmin(name)
	default:
		c.notFound(w, r)
		return
	}
	switch {
	case errors.Is(err, users.ErrLastAdmin):
		refuse(http.StatusConflict, name, "%s is the last administrator. Make another user an administrator first.", name)
		return
	case errors.Is(err, users.ErrNotFound):
		refuse(http.StatusNotFound, "", "There is no user called %s.", name)
		return
	case err != nil:
		// The store's own checks (a name taken meanwhile by another process, the file
		// unreadable) end here; its words name no password.
		c.log.Error("console: cannot change the users file", "action", action, "subject", name, "user", by.Name, "err", err)
		refuse(http.StatusInternalServerError, "", "The users file could not be changed: %s", err.Error())
		return
	}
	if action == AdminSetPassword && name != s.user {
		// Whoever knew the old password is logged out with it.
		c.sessions.removeUser(name)
	}
	c.log.Info("console: users changed", "action", action, "subject", name, "detail", detail, "user", by.Name)
	if c.recorder != nil {
		if err := c.recorder.RecordAdmin(r.Context(), by, action, name, detail); err != nil {
			c.log.Error("console: a change to the users is not in the audit trail", "action", action, "subject", name, "detail", detail, "user", by.Name, "err", err)
		}
	}
	http.Redirect(w, r, "/admin/users?done="+flash+"&user="+url.QueryEscape(name), http.StatusSeeOther)
}

// checkPasswords says why a new password, typed twice, cannot be set: a message key and its
// arguments, or "".
func (c *console) checkPasswords(pw, again string) (string, []any) {
	switch {
	case pw != again:
		return "The two passwords differ. Type the same password twice.", nil
	case utf8.RuneCountInString(pw) < users.MinPassword:
		return "The password needs at least %d characters.", []any{users.MinPassword}
	case users.CheckPassword(pw) != nil:
		return "The password is too long.", nil
	}
	return "", nil
}

// sameName returns the existing user whose name differs from name at most in case.
func (c *console) sameName(name string) (string, bool) {
	list, err := c.manage.List()
	if err != nil {
		return "", false
	}
	for _, u := range list {
		if strings.EqualFold(u.Name, name) {
			return u.Name, true
		}
	}
	return "", false
}

func (c *console) configPage(w http.ResponseWriter, r *http.Request) {
	var pg configPage
	if c.config != nil {
		text, err := c.config()
		if err != nil {
			c.log.Error("console: cannot render the configuration", "err", err)
			c.fail(w, r, http.StatusInternalServerError, "Station error", "Something went wrong on the station; the details are in its log.")
			return
		}
		pg.Text = maskSecrets(string(text))
	}
	c.render(w, r, http.StatusOK, "admin_config.html", pg)
}

// masked stands for a value the configuration page does not show.
const masked = "********"

var (
	yamlLine = regexp.MustCompile(`^(\s*(?:-\s+)?)([A-Za-z0-9_]+):(\s*)(.*)$`)
	// secretKey names a key whose value would be a secret itself. The keys ending in _file,
	// _conf or _dir hold where a secret is (the PIN file, a key file), which is shown.
	secretKey = regexp.MustCompile(`(?i)(password|passphrase|passwd|secret|pin|api_?key|token$)`)
	pathKey   = regexp.MustCompile(`(?i)_(file|conf|dir|label|cert|key)$`)
	urlValue  = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)
)

// maskSecrets hides what could be a secret in the rendered configuration: the value of a key
// named like a password, and the password and query of an address (a push URL with the
// exchange's credentials in it). The configuration holds the PIN only as a file's path, and
// the page never reads that file.
func maskSecrets(text string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		m := yamlLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		key, value := m[2], m[4]
		if secretKey.MatchString(key) && !pathKey.MatchString(key) && value != "" && value != `""` {
			lines[i] = m[1] + key + ":" + m[3] + `"` + masked + `"`
			continue
		}
		lines[i] = urlValue.ReplaceAllStringFunc(line, maskURL)
	}
	return strings.Join(lines, "\n")
}

// maskURL hides an address's password and its query's values, which services put keys in.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return masked
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{masked}
		}
		u.RawQuery = q.Encode()
	}
	out := u.String()
	// String escapes the mask's asterisks; people read them as they are.
	return strings.ReplaceAll(out, url.QueryEscape(masked), masked)
}
