package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// A crash in the middle of moving an answered entry: the next Sender
// finishes the move under the name chosen before, without posting again.
func TestCrashDuringMove(t *testing.T) {
	for _, status := range []int{200, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var mu sync.Mutex
			posts := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				posts++
				mu.Unlock()
				http.Error(w, "trả lời của máy chủ", status)
			}))
			t.Cleanup(srv.Close)

			out := t.TempDir()
			dest := filepath.Join(out, "sent")
			if status == 400 {
				dest = filepath.Join(out, "rejected")
			}
			if err := os.Mkdir(dest, 0o750); err != nil {
				t.Fatal(err)
			}
			// An earlier package took the name: this one becomes doc-1.
			for _, ext := range []string{".pdf", ".json", ".edxml"} {
				write(t, filepath.Join(dest, "doc"+ext), "earlier "+ext)
				write(t, filepath.Join(out, "doc"+ext), "this "+ext)
			}
			cfg := Config{URL: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}

			crash := errors.New("power cut")
			testHookMoved = func(string) error { return crash }
			t.Cleanup(func() { testHookMoved = nil })
			first, err := New(cfg, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := first.SendOne(context.Background(), filepath.Join(out, "doc.edxml")); !errors.Is(err, crash) {
				t.Fatalf("err = %v, want the crash", err)
			}
			if got := names(t, out); !slices.Contains(got, ".doc.sending") || !slices.Contains(got, "doc.edxml") || slices.Contains(got, "doc.pdf") {
				t.Fatalf("after the crash the outbox holds %v, want the .edxml, the record and no .pdf", got)
			}

			testHookMoved = nil
			second, err := New(cfg, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- second.Run(ctx) }()
			deadline := time.Now().Add(30 * time.Second)
			for len(names(t, out)) > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done

			if got := names(t, out); len(got) != 0 {
				t.Errorf("the outbox still holds %v", got)
			}
			want := []string{"doc-1.edxml", "doc-1.json", "doc-1.pdf", "doc.edxml", "doc.json", "doc.pdf"}
			if status == 400 {
				want = []string{"doc-1.edxml", "doc-1.json", "doc-1.pdf", "doc-1.rejected.txt", "doc.edxml", "doc.json", "doc.pdf"}
			}
			if got := names(t, dest); !slices.Equal(got, want) {
				t.Errorf("%s holds %v, want %v", filepath.Base(dest), got, want)
			}
			for _, ext := range []string{".pdf", ".json", ".edxml"} {
				if got, _ := os.ReadFile(filepath.Join(dest, "doc-1"+ext)); string(got) != "this "+ext {
					t.Errorf("doc-1%s holds %q", ext, got)
				}
				if got, _ := os.ReadFile(filepath.Join(dest, "doc"+ext)); string(got) != "earlier "+ext {
					t.Errorf("the earlier doc%s was changed to %q", ext, got)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if posts != 1 {
				t.Errorf("the server got %d posts, want 1: finishing a move must not post again", posts)
			}
		})
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o640); err != nil {
		t.Fatal(err)
	}
}

// names lists the regular files in dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() {
			out = append(out, de.Name())
		}
	}
	return out
}

func TestBackoffGrowsToTheCap(t *testing.T) {
	s := &Sender{cfg: Config{MinBackoff: time.Second, MaxBackoff: 10 * time.Minute}}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 11: 10 * time.Minute, 1000: 10 * time.Minute} {
		for range 20 {
			if got := s.backoff(attempts); got < want/2 || got > want {
				t.Errorf("backoff after %d attempts = %v, want between %v and %v", attempts, got, want/2, want)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"soon":                          0,
		"Tue, 04 Mar 2025 09:31:00 GMT": time.Minute,
		"Tue, 04 Mar 2025 09:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCutUTF8(t *testing.T) {
	s := []byte("aĐ") // Đ is two bytes
	if got := string(cutUTF8(s, 2)); got != "a" {
		t.Errorf("cutUTF8 = %q, want a", got)
	}
	if got := string(cutUTF8(s, 3)); got != "aĐ" {
		t.Errorf("cutUTF8 = %q, want aĐ", got)
	}
}
