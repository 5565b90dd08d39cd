package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRenewKeysTakeDays(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scanstation.yaml")
	yaml := "renew:\n  before: 30d\n  every: 12h\n  folders: [kept, /srv/nowhere]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Renew.Before != 30*24*time.Hour || c.Renew.Every != 12*time.Hour {
		t.Errorf("before %v, every %v; want 720h and 12h", c.Renew.Before, c.Renew.Every)
	}
	if len(c.Renew.Folders) != 2 || c.Renew.Folders[0] != filepath.Join(dir, "kept") {
		t.Errorf("folders %q, want the relative one resolved against %s", c.Renew.Folders, dir)
	}
	var said []string
	for _, p := range c.Validate() {
		if strings.HasPrefix(p.Key, "renew.") {
			said = append(said, p.String())
		}
	}
	all := strings.Join(said, "\n")
	if !strings.Contains(all, "renew.folders[1]: folder /srv/nowhere does not exist") || !strings.Contains(all, "needs a time-stamping authority") {
		t.Errorf("validation of renew.folders without timestamp.url:\n%s", all)
	}

	if err := os.WriteFile(path, []byte("renew:\n  before: halfd\n"), 0o600); err == nil {
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "not a number of days") {
			t.Errorf("before: halfd loaded: %v", err)
		}
	}
	t.Setenv("SCANSTATION_RENEW_BEFORE", "365d")
	if err := os.WriteFile(path, []byte("station:\n  name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(path); err != nil || c.Renew.Before != 365*24*time.Hour || c.Renew.Every != 24*time.Hour {
		t.Errorf("the environment's 365d: %+v, %v", c.Renew, err)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"180d": 180 * 24 * time.Hour, "1.5d": 36 * time.Hour, "90m": 90 * time.Minute, "-2d": -48 * time.Hour} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "180", "1e9d", "NaNd"} {
		if got, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, got)
		}
	}
}
