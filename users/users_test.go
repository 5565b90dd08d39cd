package users

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Load(filepath.Join(t.TempDir(), "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAddAuthenticateAndReload(t *testing.T) {
	s := newStore(t)
	if err := s.Add("Nguyễn.Thị-Lan_2", Clerk, "mật khẩu dài đủ"); err != nil {
		t.Fatal(err)
	}
	u, err := s.Authenticate("Nguyễn.Thị-Lan_2", "mật khẩu dài đủ")
	if err != nil {
		t.Fatalf("the right password is refused: %v", err)
	}
	if u.Role != Clerk || u.Created.IsZero() {
		t.Errorf("user = %+v", u)
	}
	if _, err := s.Authenticate("Nguyễn.Thị-Lan_2", "mật khẩu dài sai"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("a wrong password gives %v, want ErrBadLogin", err)
	}
	if _, err := s.Authenticate("nobody", "mật khẩu dài đủ"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("an unknown name gives %v, want ErrBadLogin", err)
	}

	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(s.Path())
	if !strings.Contains(string(data), "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(string(data), "mật khẩu") {
		t.Errorf("the file does not hold an argon2id PHC hash, or holds the password:\n%s", data)
	}

	again, err := Load(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Authenticate("Nguyễn.Thị-Lan_2", "mật khẩu dài đủ"); err != nil {
		t.Errorf("after reading the file again the password is refused: %v", err)
	}
}

// A name typed in decomposed form (as some keyboards send it) is the same user.
func TestNamesAreOneUnicodeForm(t *testing.T) {
	s := newStore(t)
	if err := s.Add("Huệ", Operator, "0123456789"); err != nil {
		t.Fatal(err)
	}
	decomposed := "Hu\u0065\u0323\u0302" // e + dot below + circumflex
	if _, err := s.Authenticate(decomposed, "0123456789"); err != nil {
		t.Errorf("the decomposed name is refused: %v", err)
	}
	if err := s.Add("HUỆ", Clerk, "0123456789"); err == nil {
		t.Error("a name differing only in case was added")
	}
}

func TestNamesAndPasswordsChecked(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"", "a b", "../x", "a/b", "<script>", "x$y", strings.Repeat("a", 65)} {
		if err := s.Add(name, Operator, "0123456789"); err == nil {
			t.Errorf("name %q was accepted", name)
		}
	}
	if err := s.Add("lan", Operator, "ngắn"); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("a short password gives %v", err)
	}
	// Ten characters, fewer than ten bytes would not be: Vietnamese letters are counted as one.
	if err := s.Add("lan", Operator, "đườngđườngđ"); err != nil {
		t.Errorf("an 11-character password is refused: %v", err)
	}
	if err := s.Add("hoa", "boss", "0123456789"); err == nil {
		t.Error("an unknown role was accepted")
	}
}

func TestRemoveSetPasswordSetRole(t *testing.T) {
	s := newStore(t)
	clock := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return clock }
	if err := s.Add("lan", Operator, "first password"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if err := s.SetPassword("lan", "second password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate("lan", "first password"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("the old password still works: %v", err)
	}
	u, err := s.Authenticate("lan", "second password")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Changed.Equal(clock) || u.Created.Equal(clock) {
		t.Errorf("created %v changed %v, want changed = %v and created an hour before", u.Created, u.Changed, clock)
	}
	if err := s.SetRole("lan", Clerk); err != nil {
		t.Fatal(err)
	}
	if r, ok := s.Role("lan"); !ok || r != Clerk {
		t.Errorf("Role = %v %v, want clerk", r, ok)
	}
	if err := s.Remove("lan"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Role("lan"); ok {
		t.Error("a removed user still has a role")
	}
	if err := s.Remove("lan"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice gives %v", err)
	}
	if err := s.SetPassword("ghost", "0123456789"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword of nobody gives %v", err)
	}
}

// The daemon's store sees what the `scanstation user` command (another Store on the same file)
// changed, without a restart.
func TestAnotherProcessesChangesAreSeen(t *testing.T) {
	daemon := newStore(t)
	cli, err := Load(daemon.Path())
	if err != nil {
		t.Fatal(err)
	}
	if daemon.Len() != 0 {
		t.Fatal("a new store is not empty")
	}
	if err := cli.Add("lan", Clerk, "0123456789"); err != nil {
		t.Fatal(err)
	}
	if r, ok := daemon.Role("lan"); !ok || r != Clerk {
		t.Fatalf("the daemon does not see the added user: %v %v", r, ok)
	}
	if err := cli.Remove("lan"); err != nil {
		t.Fatal(err)
	}
	if _, ok := daemon.Role("lan"); ok {
		t.Error("the daemon still sees the removed user")
	}
}

func TestFileReadableByOthersIsRefused(t *testing.T) {
	s := newStore(t)
	if err := s.Add("lan", Clerk, "0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(s.Path())
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Load of a 0644 users file gives %v, want a refusal naming chmod 600", err)
	}
	// A running store stops letting anyone in rather than trust the file.
	if _, err := s.Authenticate("lan", "0123456789"); err == nil {
		t.Error("a login succeeded with a users file others can read")
	}
	if _, ok := s.Role("lan"); ok {
		t.Error("Role answered from a users file others can read")
	}
}

func TestDamagedFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	for _, content := range []string{
		"{not json",
		`{"version":1,"users":[{"name":"lan","role":"boss","hash":"x"}]}`,
		`{"version":1,"users":[{"name":"lan","role":"clerk","hash":"$argon2id$v=19$m=99999999,t=3,p=2$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"}]}`,
		`{"version":2,"users":[]}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%s) = %v, want an error naming the file", content, err)
		}
	}
}

// Hashes made with other costs keep working after the defaults change.
func TestStoredParametersAreUsed(t *testing.T) {
	s := newStore(t)
	s.Params = Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	if err := s.Add("lan", Clerk, "0123456789"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(s.Path())
	if !strings.Contains(string(data), "m=8192,t=1,p=1") {
		t.Fatalf("the parameters are not in the hash: %s", data)
	}
	again, err := Load(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Authenticate("lan", "0123456789"); err != nil {
		t.Errorf("a hash with other costs is refused: %v", err)
	}
}

// An unknown name costs a full hash, so timing cannot tell which names exist. Both sides are
// measured on this machine; the bound is loose (a factor of 3) so the test cannot flake, and
// still fails if an unknown name were answered without hashing (a factor near 1000).
func TestUnknownNameSpendsTheHashTime(t *testing.T) {
	s := newStore(t)
	if err := s.Add("lan", Clerk, "0123456789"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := decodeHash(dummyHash); err != nil {
		t.Fatalf("the dummy hash does not decode: %v", err)
	}
	measure := func(name string) time.Duration {
		start := time.Now()
		s.Authenticate(name, "wrong password")
		return time.Since(start)
	}
	known, unknown := measure("lan"), measure("nobody")
	if unknown*3 < known {
		t.Errorf("an unknown name took %v, a known one %v", unknown, known)
	}
}

func TestRoleAllows(t *testing.T) {
	cases := []struct {
		r, need Role
		want    bool
	}{
		{Clerk, Operator, true}, {Clerk, Clerk, true}, {Operator, Clerk, false},
		{Admin, Operator, false}, {Admin, Admin, true}, {Clerk, Admin, false}, {Operator, Admin, false},
	}
	for _, c := range cases {
		if got := c.r.Allows(c.need); got != c.want {
			t.Errorf("%s.Allows(%s) = %v", c.r, c.need, got)
		}
	}
}

// Two Stores on one file (the daemon's console and `scanstation user`) writing at the same
// time both keep their changes: each change reads the file again under the lock.
func TestTwoWritersLoseNothing(t *testing.T) {
	a := newStore(t)
	b, err := Load(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	// Cheap hashes, so the writes, not the hashing, take the time and overlap.
	for _, s := range []*Store{a, b} {
		s.Params = Params{Memory: 8, Time: 1, Threads: 1}
	}
	const each = 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for prefix, s := range map[string]*Store{"a": a, "b": b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Add(fmt.Sprintf("%s%02d", prefix, i), Operator, "0123456789"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	fresh, err := Load(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	list, err := fresh.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2*each {
		t.Errorf("the file holds %d users after %d adds from two stores", len(list), 2*each)
	}
	if _, err := os.Stat(a.Path() + ".lock"); err != nil {
		t.Errorf("no lock file beside the users file: %v", err)
	}
}

// The console's changes never leave the file without an admin once it has one.
func TestLastAdminKept(t *testing.T) {
	s := newStore(t)
	s.Params = Params{Memory: 8, Time: 1, Threads: 1}
	for name, role := range map[string]Role{"boss": Admin, "lan": Clerk} {
		if err := s.Add(name, role, "0123456789"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveKeepingAdmin("boss"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("removing the last admin gives %v", err)
	}
	if err := s.SetRoleKeepingAdmin("boss", Clerk); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demoting the last admin gives %v", err)
	}
	if r, ok := s.Role("boss"); !ok || r != Admin {
		t.Errorf("after the refusals boss is %q %v", r, ok)
	}
	if err := s.SetRoleKeepingAdmin("lan", Admin); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveKeepingAdmin("boss"); err != nil {
		t.Errorf("with another admin, removing one gives %v", err)
	}
	if err := s.RemoveKeepingAdmin("ghost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing nobody gives %v", err)
	}
	// A file without admins stays manageable: the rule is about losing the last one.
	if err := s.Add("hoa", Operator, "0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoleKeepingAdmin("lan", Clerk); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demoting the only admin left gives %v", err)
	}
	if err := s.RemoveKeepingAdmin("hoa"); err != nil {
		t.Errorf("removing an operator gives %v", err)
	}
}
