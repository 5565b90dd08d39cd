package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/config"
	"scanstation/users"
)

func userConfig(t *testing.T) (path string, cfg *config.Config) {
	t.Helper()
	dir := t.TempDir()
	cfg = config.Default(dir)
	data, err := config.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "scanstation.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

func userCommand(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cmdUser(args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestUserCommands(t *testing.T) {
	cfgPath, cfg := userConfig(t)
	// The state folder does not exist before the station's first run: add makes it.
	out, err := userCommand(t, "mật khẩu của Lan\n", "add", "Lan", "--role", "clerk", "--config", cfgPath)
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, err = userCommand(t, "0123456789", "add", "--config", cfgPath, "--password-stdin", "Minh", "--role=operator")
	if err != nil {
		t.Fatalf("user add with flags before the name and no final newline: %v\n%s", err, out)
	}
	store, err := users.Load(cfg.UsersFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Authenticate("Lan", "mật khẩu của Lan"); err != nil {
		t.Errorf("the password given on stdin does not log in: %v", err)
	}

	out, err = userCommand(t, "", "list", "--config", cfgPath)
	if err != nil || !strings.Contains(out, "Lan") || !strings.Contains(out, "clerk") || !strings.Contains(out, "operator") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if strings.Contains(out, "argon2") {
		t.Errorf("user list shows the hashes:\n%s", out)
	}

	if out, err = userCommand(t, "short\n", "passwd", "Lan", "--config", cfgPath); err == nil || !strings.Contains(out+err.Error(), "at least 10") {
		t.Errorf("a short password: %v %s", err, out)
	}
	if out, err = userCommand(t, "another long one\n", "passwd", "Lan", "--config", cfgPath); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	if _, err := store.Authenticate("Lan", "another long one"); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}
	if out, err = userCommand(t, "", "role", "Minh", "--role", "clerk", "--config", cfgPath); err != nil {
		t.Fatalf("user role: %v\n%s", err, out)
	}
	if r, _ := store.Role("Minh"); r != users.Clerk {
		t.Errorf("Minh's role is %q after user role", r)
	}
	if out, err = userCommand(t, "", "remove", "Minh", "--config", cfgPath); err != nil {
		t.Fatalf("user remove: %v\n%s", err, out)
	}
	if _, ok := store.Role("Minh"); ok {
		t.Error("Minh is still a user after user remove")
	}

	for _, bad := range [][]string{
		{"add", "Hoa", "--config", cfgPath},                                   // no role
		{"add", "Lan", "--role", "clerk", "--config", cfgPath},                // exists
		{"add", "a/b", "--role", "clerk", "--config", cfgPath},                // bad name
		{"add", "Hoa", "--role", "boss", "--config", cfgPath},                 // bad role
		{"passwd", "Nobody", "--config", cfgPath},                             // no such user
		{"add", "--role", "clerk", "--config", cfgPath},                       // no name
		{"frobnicate", "Hoa", "--config", cfgPath},                            // no such command
		{"add", "Hoa", "pw123456789", "--role", "clerk", "--config", cfgPath}, // a password in argv is refused
	} {
		if out, err := userCommand(t, "0123456789\n", bad...); err == nil {
			t.Errorf("user %v succeeded:\n%s", bad, out)
		}
	}
	if r, ok := store.Role("Hoa"); ok {
		t.Errorf("Hoa was added (%s) by a refused command", r)
	}
}
