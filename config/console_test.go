package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func problemsFor(c *Config, key string) string {
	var reasons []string
	for _, p := range c.Validate() {
		if p.Key == key {
			reasons = append(reasons, p.Reason)
		}
	}
	return strings.Join(reasons, "; ")
}

func TestConsoleOnTheNetworkNeedsTLS(t *testing.T) {
	dir := t.TempDir()
	c := Default(dir)
	if got := problemsFor(c, "console.listen"); got != "" {
		t.Errorf("the default loopback console is refused: %s", got)
	}
	for _, listen := range []string{"192.168.1.20:9470", ":9470", "0.0.0.0:9470", "station.local:9470"} {
		c.Console.Listen = listen
		if got := problemsFor(c, "console.listen"); !strings.Contains(got, "console.tls_cert") {
			t.Errorf("console.listen %s without TLS: %q, want a refusal naming console.tls_cert", listen, got)
		}
	}
	for _, listen := range []string{"localhost:9470", "[::1]:9470", "127.0.0.2:9470", ""} {
		c.Console.Listen = listen
		if got := problemsFor(c, "console.listen"); got != "" {
			t.Errorf("console.listen %q is refused: %s", listen, got)
		}
	}

	cert, key := filepath.Join(dir, "console.crt"), filepath.Join(dir, "console.key")
	os.WriteFile(cert, []byte("x"), 0o644)
	os.WriteFile(key, []byte("x"), 0o644)
	c.Console.Listen, c.Console.TLSCert, c.Console.TLSKey = "192.168.1.20:9470", cert, key
	if got := problemsFor(c, "console.listen"); got != "" {
		t.Errorf("console.listen with TLS is refused: %s", got)
	}
	if got := problemsFor(c, "console.tls_key"); !strings.Contains(got, "chmod 600") {
		t.Errorf("a TLS key others can read: %q, want chmod 600", got)
	}
}

func TestConsoleKeys(t *testing.T) {
	dir := t.TempDir()
	c := Default(dir)
	if got := c.UsersFile(); got != filepath.Join(dir, "state", "users.json") {
		t.Errorf("default users file %s, want it next to the journal", got)
	}
	c.Station.Language = "fr"
	if got := problemsFor(c, "station.language"); got == "" {
		t.Error("station.language fr is accepted")
	}
	c.Console.SessionIdle = 0
	if got := problemsFor(c, "console.session_idle"); got == "" {
		t.Error("console.session_idle 0 is accepted")
	}
	os.MkdirAll(filepath.Join(dir, "state"), 0o755)
	os.WriteFile(c.UsersFile(), []byte("{}"), 0o640)
	if got := problemsFor(c, "console.users_file"); !strings.Contains(got, "chmod 600") {
		t.Errorf("a users file the group can read: %q, want chmod 600", got)
	}
}
