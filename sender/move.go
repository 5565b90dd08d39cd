package sender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"scanstation/outbox"
)

// An intent records, before an answered entry is moved, where it goes and
// under which name. It lives in the outbox as .<name>.sending until the
// move is complete, so that a crash in the middle of the move is finished
// by the next attempt, under the same name and without posting again.
type intent struct {
	To     string `json:"to"`               // the sent or rejected folder
	Name   string `json:"name"`             // the entry's name there
	Status int    `json:"status"`           // the HTTP status that decided it
	Key    string `json:"idempotency_key"`  // what was sent as Idempotency-Key
	Reason string `json:"reason,omitempty"` // the text of <Name>.rejected.txt, for a refusal
}

const (
	intentSuffix = ".sending"
	reasonExt    = ".rejected.txt"
)

func (in *intent) outcome() Outcome {
	if in.Reason != "" {
		return Rejected
	}
	return Sent
}

func intentName(name string) string { return "." + name + intentSuffix }

// intentEntry returns the entry name of an intent file name.
func intentEntry(file string) (string, bool) {
	name, ok := strings.CutSuffix(file, intentSuffix)
	if !ok || !strings.HasPrefix(name, ".") || len(name) < 2 {
		return "", false
	}
	return name[1:], true
}

// testHookMoved, when set, runs after each file of an entry is moved; an
// error stops the move there, as a crash would.
var testHookMoved func(dst string) error

func readIntent(dir, name string) (*intent, error) {
	path := filepath.Join(dir, intentName(name))
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var in intent
	if err := json.Unmarshal(data, &in); err != nil || in.To == "" || in.Name == "" {
		return nil, fmt.Errorf("%s does not say where the entry goes; remove it to send the entry again", path)
	}
	return &in, nil
}

// begin chooses a free name in the destination, records the intent and
// moves the entry. It returns the .edxml's new path.
func (s *Sender) begin(dir, name string, in *intent) (string, error) {
	free, err := freeName(in.To, name)
	if err != nil {
		return filepath.Join(dir, name+edxmlExt), err
	}
	in.Name = free
	data, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return "", err
	}
	if err := outbox.WriteFileAtomic(dir, intentName(name), append(data, '\n'), 0o600); err != nil {
		return filepath.Join(dir, name+edxmlExt), fmt.Errorf("the endpoint answered %d but the entry could not be moved: %w", in.Status, err)
	}
	return s.finish(dir, name, in)
}

// finish moves what of the entry is still in dir to in.To as in.Name:
// the reason first for a refusal, then the siblings, the .edxml last; then
// it removes the intent. Files moved by an earlier, interrupted run are
// skipped. It returns the .edxml's new path.
func (s *Sender) finish(dir, name string, in *intent) (string, error) {
	src := filepath.Join(dir, name+edxmlExt)
	fail := func(err error) (string, error) {
		return src, fmt.Errorf("the endpoint answered %d but %s could not be moved to %s: %w", in.Status, src, in.To, err)
	}
	if in.Reason != "" {
		reason := in.Name + reasonExt
		if _, err := os.Lstat(filepath.Join(in.To, reason)); errors.Is(err, fs.ErrNotExist) {
			if err := outbox.WriteFileAtomic(in.To, reason, []byte(in.Reason), 0o640); err != nil {
				return fail(err)
			}
		}
	}
	dst := filepath.Join(in.To, in.Name+edxmlExt)
	for _, ext := range append(siblingExts[:len(siblingExts):len(siblingExts)], edxmlExt) {
		from := filepath.Join(dir, name+ext)
		if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
			continue // moved before a crash
		}
		to := filepath.Join(in.To, in.Name+ext)
		got, err := moveOnce(from, in.To, in.Name+ext)
		if err != nil {
			return fail(err)
		}
		if got != to {
			s.log.Warn("a file of a pushed package had to take another name", "file", from, "now_at", got, "wanted", to)
		}
		if ext == edxmlExt {
			dst = got
		}
		if testHookMoved != nil {
			if err := testHookMoved(got); err != nil {
				return fail(err)
			}
		}
	}
	if err := os.Remove(filepath.Join(dir, intentName(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dst, fmt.Errorf("entry moved to %s, but its record could not be removed: %w", in.To, err)
	}
	if err := outbox.SyncDir(dir); err != nil {
		return dst, err
	}
	return dst, nil
}

// moveOnce moves src into dir as name. If name is already there with the
// same bytes, an interrupted copy across filesystems got that far, and src
// is only removed.
func moveOnce(src, dir, name string) (string, error) {
	dst := filepath.Join(dir, name)
	if same, err := sameContent(src, dst); err != nil {
		return "", err
	} else if same {
		if err := os.Remove(src); err != nil {
			return "", err
		}
		return dst, outbox.SyncDir(filepath.Dir(src))
	}
	return outbox.Move(src, dir, name)
}

func sameContent(a, b string) (bool, error) {
	fb, err := os.Lstat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fa, err := os.Lstat(a)
	if err != nil {
		return false, err
	}
	if !fa.Mode().IsRegular() || !fb.Mode().IsRegular() || fa.Size() != fb.Size() {
		return false, nil
	}
	ha, _, err := hashFile(a)
	if err != nil {
		return false, err
	}
	hb, _, err := hashFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ha, hb), nil
}

// freeName returns name, or name-1, name-2... the first under which none
// of an entry's files, nor a reason, is in dir, so that they keep one name.
func freeName(dir, name string) (string, error) {
	exts := append(siblingExts[:len(siblingExts):len(siblingExts)], edxmlExt, reasonExt)
	for i := 0; i < 100000; i++ {
		candidate := name
		if i > 0 {
			candidate += "-" + strconv.Itoa(i)
		}
		taken := false
		for _, ext := range exts {
			if _, err := os.Lstat(filepath.Join(dir, candidate+ext)); err == nil {
				taken = true
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		if !taken {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

// dropFinishedIntent removes the intent of an entry whose .edxml has
// left the outbox: the .edxml moves last, so the move was complete.
func (s *Sender) dropFinishedIntent(name string) {
	if _, err := os.Lstat(filepath.Join(s.outbox, name+edxmlExt)); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	path := filepath.Join(s.outbox, intentName(name))
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("could not remove the record of a finished move", "file", path, "error", err)
	}
}
