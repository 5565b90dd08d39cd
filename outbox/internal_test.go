package outbox

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "a.pdf")
	if err := os.WriteFile(target, []byte("before"), 0o640); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("scanner cable pulled")
	for _, name := range []string{"a.pdf", "new.pdf"} {
		err := writeFileAtomic(dir, name, 0o640, func(w io.Writer) error {
			w.Write([]byte("half of it"))
			return broken
		})
		if !errors.Is(err, broken) {
			t.Errorf("%s: err = %v, want the write error", name, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a.pdf" {
		t.Errorf("folder holds %v, want a.pdf alone", entries)
	}
	if got, _ := os.ReadFile(target); string(got) != "before" {
		t.Errorf("a.pdf holds %q after a failed write, want the old content", got)
	}
}

func TestRenameNoReplace(t *testing.T) {
	for name, rename := range map[string]func(string, string) error{
		"renameat2":   renameNoReplace,
		"link+unlink": linkThenRemove,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
			os.WriteFile(from, []byte("new"), 0o640)
			os.WriteFile(to, []byte("old"), 0o640)
			if err := rename(from, to); !errors.Is(err, fs.ErrExist) {
				t.Errorf("onto an existing file: err = %v, want fs.ErrExist", err)
			}
			if got, _ := os.ReadFile(to); string(got) != "old" {
				t.Errorf("target now holds %q", got)
			}
			if err := os.Remove(to); err != nil {
				t.Fatal(err)
			}
			if err := rename(from, to); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(to); string(got) != "new" {
				t.Errorf("target holds %q, want new", got)
			}
			if _, err := os.Stat(from); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("old name still there: %v", err)
			}
		})
	}
}

func TestSuffixed(t *testing.T) {
	for _, c := range []struct {
		name string
		i    int
		want string
	}{
		{"scan.tif", 0, "scan.tif"},
		{"scan.tif", 1, "scan-1.tif"},
		{"Hồ sơ 7.tif", 12, "Hồ sơ 7-12.tif"},
		{"archive.tar.gz", 2, "archive.tar-2.gz"},
		{"noext", 3, "noext-3"},
		{".tif", 1, ".tif-1"},
	} {
		if got := suffixed(c.name, c.i); got != c.want {
			t.Errorf("suffixed(%q, %d) = %q, want %q", c.name, c.i, got, c.want)
		}
	}
}
