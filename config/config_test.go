package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, c *Config) string {
	t.Helper()
	data, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scanstation.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRenderLoadRoundTrip(t *testing.T) {
	want := Default("/srv/scan")
	want.Station.Agency = "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"
	want.Signing.Location = "Bà Rịa - Vũng Tàu"
	want.Watch.Settle = 5 * time.Second
	got, err := Load(writeConfig(t, want))
	if err != nil {
		t.Fatal(err)
	}
	got.File = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", got, want)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	path := writeConfig(t, Default("/srv/scan"))
	t.Setenv("SCANSTATION_SIGNING_PIN_FILE", "/run/credentials/scanstation/pin")
	t.Setenv("SCANSTATION_WATCH_SETTLE", "7s")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Signing.PINFile != "/run/credentials/scanstation/pin" {
		t.Errorf("pin_file = %q, want the environment's value", c.Signing.PINFile)
	}
	if c.Watch.Settle != 7*time.Second {
		t.Errorf("settle = %v, want 7s", c.Watch.Settle)
	}
}

func TestRelativePathsResolveAgainstConfigFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scanstation.yaml")
	yaml := "hot_folders:\n  - path: inbox\nfolders:\n  outbox: out\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.HotFolders[0].Path != filepath.Join(dir, "inbox") || c.Folders.Outbox != filepath.Join(dir, "out") {
		t.Errorf("paths not resolved against %s: %+v %+v", dir, c.HotFolders, c.Folders)
	}
	if c.Folders.State != filepath.Join(dir, "state") {
		t.Errorf("default state folder = %q", c.Folders.State)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scanstation.yaml")
	if err := os.WriteFile(path, []byte("ocr:\n  langauges: [vie]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "langauges") {
		t.Fatalf("Load = %v, want an error naming the misspelt key", err)
	}
}

func TestValidateNamesEveryProblemByKey(t *testing.T) {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	if err := os.WriteFile(pin, []byte("1234\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default(dir)
	c.HotFolders = append(c.HotFolders, HotFolder{Path: filepath.Join(dir, "outbox", "scans")})
	c.PDF.JPEGQuality = 0
	c.Signing.PINFile = pin
	c.Signing.Module = filepath.Join(dir, "missing.so")
	c.Log.Format = "xml"
	c.Mark.SmallPages = "smaller"
	c.Mark.MinMarginMM = 0.5
	problems := c.Validate()

	keys := map[string]string{}
	for _, p := range problems {
		keys[p.Key] += p.Reason + "; "
	}
	for _, key := range []string{"hot_folders[0].path", "folders.outbox", "pdf.jpeg_quality", "signing.module",
		"signing.pin_file", "signing.token_label", "log.format", "mark.small_pages", "mark.min_margin_mm"} {
		if _, ok := keys[key]; !ok {
			t.Errorf("no problem reported for %s; got %v", key, problems)
		}
	}
	if !strings.Contains(keys["signing.pin_file"], "chmod 600") {
		t.Errorf("pin_file problem does not say how to fix it: %q", keys["signing.pin_file"])
	}
	for _, p := range problems {
		if strings.Contains(p.Reason, "1234") {
			t.Errorf("a problem reveals the PIN: %v", p)
		}
	}
}

func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range Keys() {
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/config.md does not document %s", key)
		}
	}
}

// Default (what init writes) and the key defaults (what an empty key means) must agree.
func TestDefaultMatchesKeyDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scanstation.yaml")
	if err := os.WriteFile(path, []byte("hot_folders:\n  - path: inbox\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got.File = ""
	if want := Default(dir); !reflect.DeepEqual(got, want) {
		t.Errorf("a config of only a hot-folder loads as\n%+v\nbut init writes\n%+v", got, want)
	}
}
