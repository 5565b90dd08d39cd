package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad writes arbitrary bytes as the YAML file and loads and validates
// it, as `scanstation config check` does with whatever a sysadmin saved.
// Load may refuse the file with an error; it must never panic or hang, and
// every problem Validate names must have a key and a reason.
//
// The seed corpus in testdata/fuzz/FuzzLoad holds the example of
// docs/config.md, a full two-folder station, flow style with anchors and
// merge keys, wrong types, an unknown key, tabs, several documents, nested
// aliases, complex and tagged keys, and an empty file; the default
// configuration as Render writes it is added here.
func FuzzLoad(f *testing.F) {
	def, err := Render(Default("/srv/scan"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	rel, err := Render(Default("."))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rel)

	dir := f.TempDir()
	path := filepath.Join(dir, "scanstation.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(30*time.Second, func() {
			panic(fmt.Sprintf("Load and Validate still running after 30s on %q (a hang)", data[:min(len(data), 200)]))
		})
		defer timer.Stop()

		c, err := Load(path)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned both a config and an error: %v", err)
			}
			return
		}
		if c.File != path {
			t.Fatalf("Config.File = %q, want %q", c.File, path)
		}
		for _, p := range c.Validate() {
			if p.Key == "" || p.Reason == "" {
				t.Fatalf("a problem without key or reason: %#v", p)
			}
		}
	})
}
