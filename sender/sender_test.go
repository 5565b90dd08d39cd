package sender_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/sender"
)

// An action is how the test server treats one request.
type action string

const (
	accept action = "200"         // store the package and answer 200
	refuse action = "400"         // answer 400 with a message in Vietnamese
	fail   action = "500"         // answer 500
	hang   action = "hang"        // never answer
	drop   action = "drop"        // read a little, then close the connection
	commit action = "commit+hang" // store the package, then never answer
)

type request struct {
	key, contentType, digest string
	length                   int64
	bodySum                  string
}

// server is an endpoint on loopback that de-duplicates by Idempotency-Key,
// as the exchange does: a key it has stored is answered 200 again and not
// stored twice.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	script  []action // what to do with each request, in order; then accept
	status  map[action]int
	reqs    []request
	stored  map[string]int // times each key was stored
	answer  string         // the body of a refusal
	onStore func()
}

func newServer(t *testing.T, script ...action) *server {
	s := unstartedServer(t, script...)
	s.Start()
	return s
}

func unstartedServer(t *testing.T, script ...action) *server {
	s := &server{script: script, stored: make(map[string]int), answer: "Gói tin thiếu chữ ký số của cơ quan"}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	act := accept
	if len(s.reqs) < len(s.script) {
		act = s.script[len(s.reqs)]
	}
	s.reqs = append(s.reqs, request{key: key, contentType: r.Header.Get("Content-Type"),
		digest: r.Header.Get("Content-Digest"), length: r.ContentLength})
	n := len(s.reqs) - 1
	s.mu.Unlock()

	if act == drop {
		io.CopyN(io.Discard, r.Body, 100)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	sum := sha256.Sum256(body)
	s.mu.Lock()
	s.reqs[n].bodySum = hex.EncodeToString(sum[:])
	seen := s.stored[key] > 0
	if !seen && (act == accept || act == commit) {
		s.stored[key]++
	}
	onStore := s.onStore
	s.mu.Unlock()

	switch {
	case seen:
		fmt.Fprintln(w, "already received")
	case act == accept:
		fmt.Fprintln(w, "received")
	case act == refuse:
		http.Error(w, s.answer, http.StatusBadRequest)
	case act == fail:
		http.Error(w, "database unavailable", http.StatusInternalServerError)
	case act == hang || act == commit:
		if act == commit && onStore != nil {
			onStore()
		}
		<-r.Context().Done()
	default:
		w.WriteHeader(mustAtoi(string(act)))
	}
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *server) storedCount() (keys, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.stored {
		keys++
		total += n
	}
	return keys, total
}

// folders is an outbox with its sent and rejected folders.
type folders struct{ outbox, sent, rejected string }

func newFolders(t *testing.T) folders {
	root := t.TempDir()
	f := folders{filepath.Join(root, "outbox"), filepath.Join(root, "outbox", "sent"), filepath.Join(root, "outbox", "rejected")}
	if err := os.Mkdir(f.outbox, 0o750); err != nil {
		t.Fatal(err)
	}
	return f
}

// addEntry writes <name>.pdf, <name>.json and, last, <name>.edxml into the
// outbox and returns the contents by extension.
func addEntry(t *testing.T, dir, name string, size int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		".pdf":   bytes.Repeat([]byte("%PDF signed "+name+" "), size/20+1),
		".json":  []byte(`{"source":"` + name + `.tif"}`),
		".edxml": append([]byte(`<?xml version="1.0"?><edXML><name>`+name+`</name>`), bytes.Repeat([]byte("QUJD"), size/4+1)...),
	}
	for _, ext := range []string{".pdf", ".json", ".edxml"} {
		if err := os.WriteFile(filepath.Join(dir, name+ext), files[ext], 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func keyOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func newSender(t *testing.T, url string, f folders, change ...func(*sender.Config)) *sender.Sender {
	t.Helper()
	cfg := sender.Config{
		URL:        url,
		Timeout:    10 * time.Second, // a guard against hangs; tests that want a timeout set a short one
		MinBackoff: time.Millisecond,
		MaxBackoff: 20 * time.Millisecond,
		Rescan:     50 * time.Millisecond,
	}
	for _, c := range change {
		c(&cfg)
	}
	s, err := sender.New(cfg, f.outbox, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testLog writes the sender's log into the test's and keeps it for
// waitLogged.
type testLog struct{ t *testing.T }

var (
	logMu  sync.Mutex
	logged = map[*testing.T][]string{}
)

func (w testLog) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	w.t.Log(line)
	logMu.Lock()
	logged[w.t] = append(logged[w.t], line)
	logMu.Unlock()
	return len(p), nil
}

// countLogged returns how many of t's log lines an operator sees (info and above) contain s.
func countLogged(t *testing.T, s string) int {
	logMu.Lock()
	defer logMu.Unlock()
	n := 0
	for _, line := range logged[t] {
		if strings.Contains(line, s) && !strings.Contains(line, "level=DEBUG") {
			n++
		}
	}
	return n
}

// countTries returns how many of t's log lines, debug ones too, contain s.
func countTries(t *testing.T, s string) int {
	logMu.Lock()
	defer logMu.Unlock()
	n := 0
	for _, line := range logged[t] {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// run starts s.Run and stops it when the test ends.
func run(t *testing.T, s *sender.Sender) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

// waitFor polls cond; the deadline only keeps a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() {
			names = append(names, de.Name())
		}
	}
	return names
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// wantMoved checks that dir holds the entry's files under name with their
// contents, and that the outbox no longer does.
func wantMoved(t *testing.T, f folders, dir, from, name string, files map[string][]byte) {
	t.Helper()
	for ext, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name+ext))
		if err != nil {
			t.Errorf("%s%s not in %s: %v", name, ext, filepath.Base(dir), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s%s in %s has other content", name, ext, filepath.Base(dir))
		}
		if exists(filepath.Join(f.outbox, from+ext)) {
			t.Errorf("%s%s is still in the outbox", from, ext)
		}
	}
}

func TestSendAccepted(t *testing.T) {
	srv := newServer(t)
	f := newFolders(t)
	files := addEntry(t, f.outbox, "Hồ sơ 001", 4000)
	s := newSender(t, srv.URL, f)

	res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "Hồ sơ 001.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sender.Sent || res.Status != 200 {
		t.Errorf("result %+v, want sent with 200", res)
	}
	if want := filepath.Join(f.sent, "Hồ sơ 001.edxml"); res.Path != want {
		t.Errorf("result path %s, want %s", res.Path, want)
	}
	wantMoved(t, f, f.sent, "Hồ sơ 001", "Hồ sơ 001", files)
	if got := list(t, f.outbox); len(got) != 0 {
		t.Errorf("outbox still holds %v", got)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	key := keyOf(files[".edxml"])
	if r.key != key || res.Key != key {
		t.Errorf("Idempotency-Key %q (result %q), want the .edxml's SHA-256 %s", r.key, res.Key, key)
	}
	if r.contentType != "application/xml" {
		t.Errorf("Content-Type %q, want application/xml", r.contentType)
	}
	if r.bodySum != key || r.length != int64(len(files[".edxml"])) {
		t.Errorf("body with SHA-256 %s and length %d, want the .edxml (%s, %d)", r.bodySum, r.length, key, len(files[".edxml"]))
	}
	if !strings.HasPrefix(r.digest, "sha-256=:") {
		t.Errorf("Content-Digest %q, want a sha-256 digest", r.digest)
	}
}

func TestRunSendsEveryEntryOnce(t *testing.T) {
	srv := newServer(t)
	f := newFolders(t)
	first := addEntry(t, f.outbox, "a", 100)
	s := newSender(t, srv.URL, f, func(c *sender.Config) { c.Rescan = time.Hour })
	run(t, s)
	waitFor(t, "a in sent/", func() bool { return exists(filepath.Join(f.sent, "a.edxml")) })

	// A new package with a name already taken in sent/ keeps its files together under a new one;
	// Notify wakes the loop (the rescan is an hour away).
	second := addEntry(t, f.outbox, "a", 200)
	s.Notify()
	waitFor(t, "the second a in sent/", func() bool { return exists(filepath.Join(f.sent, "a-1.edxml")) })
	wantMoved(t, f, f.sent, "a", "a", first)
	wantMoved(t, f, f.sent, "a", "a-1", second)
	if keys, total := srv.storedCount(); keys != 2 || total != 2 {
		t.Errorf("server stored %d packages under %d keys, want 2 and 2", total, keys)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("server got %d requests, want 2", n)
	}
}

func TestRejected(t *testing.T) {
	for _, status := range []int{400, 410, 413, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newServer(t, action(fmt.Sprint(status)))
			if status == 400 {
				srv.script[0] = refuse
			}
			f := newFolders(t)
			files := addEntry(t, f.outbox, "doc", 100)
			s := newSender(t, srv.URL, f)
			run(t, s)
			reason := filepath.Join(f.rejected, "doc.rejected.txt")
			waitFor(t, "doc in rejected/", func() bool { return exists(filepath.Join(f.rejected, "doc.edxml")) })
			wantMoved(t, f, f.rejected, "doc", "doc", files)
			text, err := os.ReadFile(reason)
			if err != nil {
				t.Fatal(err)
			}
			wants := []string{"refused", fmt.Sprint(status), "doc.edxml", srv.URL, keyOf(files[".edxml"])}
			if status == 400 {
				wants = append(wants, "Gói tin thiếu chữ ký số của cơ quan")
			}
			for _, want := range wants {
				if !strings.Contains(string(text), want) {
					t.Errorf("the reason lacks %q:\n%s", want, text)
				}
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server got %d requests for a refused package, want 1", n)
			}
			if keys, _ := srv.storedCount(); keys != 0 {
				t.Errorf("server stored a refused package")
			}
		})
	}
}

// TestSetupAnswersWait: 401, 403 and 404 say the station and the receiving system are not set
// up to talk (credentials, client certificate, URL), on either side. No package is at fault:
// nothing goes to rejected/, the packages wait and are tried again with backoff, and the log
// says once what to check.
func TestSetupAnswersWait(t *testing.T) {
	for _, c := range []struct {
		status int
		check  string
	}{
		{401, "check the credentials"},
		{403, "allows this station's client certificate"},
		{404, "check the URL (push.url)"},
	} {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			act := action(fmt.Sprint(c.status))
			srv := newServer(t, act, act, act)
			f := newFolders(t)
			first := addEntry(t, f.outbox, "doc-1", 100)
			second := addEntry(t, f.outbox, "doc-2", 100)

			s := newSender(t, srv.URL, f)
			res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc-1.edxml"))
			var setup *sender.SetupError
			if !errors.As(err, &setup) || res.Outcome != sender.Retry || res.Status != c.status {
				t.Fatalf("one attempt: %+v, %v; want a retry with a setup error", res, err)
			}
			if !strings.Contains(err.Error(), c.check) {
				t.Errorf("the error does not say what to check (%q): %v", c.check, err)
			}
			if got := list(t, f.rejected); len(got) != 0 {
				t.Fatalf("after a %d rejected/ holds %v", c.status, got)
			}

			run(t, s)
			waitFor(t, "both packages sent once the endpoint accepts them", func() bool {
				return exists(filepath.Join(f.sent, "doc-1.edxml")) && exists(filepath.Join(f.sent, "doc-2.edxml"))
			})
			wantMoved(t, f, f.sent, "doc-1", "doc-1", first)
			wantMoved(t, f, f.sent, "doc-2", "doc-2", second)
			if got := list(t, f.rejected); len(got) != 0 {
				t.Errorf("rejected/ holds %v; a setup answer refuses no package", got)
			}
			// One package is tried while the endpoint refuses the station, not every one of them.
			if n := len(srv.requests()); n != 5 {
				t.Errorf("the server got %d requests, want 5 (three refused tries, then each package once)", n)
			}
			if n := countLogged(t, c.check); n != 1 {
				t.Errorf("what to check was logged %d times, want once", n)
			}
			if n := countLogged(t, "no longer refuses the station"); n != 1 {
				t.Errorf("that the endpoint accepts the station again was logged %d times, want once", n)
			}
		})
	}
}

func TestRejectedLongAnswerIsCut(t *testing.T) {
	srv := newServer(t, refuse)
	srv.answer = strings.Repeat("Lỗi định dạng. ", 20000) // about 340 KB
	f := newFolders(t)
	addEntry(t, f.outbox, "doc", 100)
	s := newSender(t, srv.URL, f)
	res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc.edxml"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sender.Rejected || res.Status != 400 {
		t.Fatalf("result %+v, want rejected with 400", res)
	}
	text, err := os.ReadFile(filepath.Join(f.rejected, "doc.rejected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(text) > 16<<10 {
		t.Errorf("the reason is %d bytes; the answer was not cut", len(text))
	}
	if !strings.Contains(string(text), "Lỗi định dạng.") || !strings.Contains(string(text), "only its first") {
		t.Errorf("the reason lacks the start of the answer or the note that it was cut:\n%.600s", text)
	}
	if !bytes.Equal(bytes.ToValidUTF8(text, nil), text) {
		t.Error("the reason is not valid UTF-8: a character was cut in half")
	}
}

// Answers about the moment, not the package: the entry stays and the next
// attempt delivers it.
func TestRetryableAnswers(t *testing.T) {
	for _, act := range []action{fail, "503", "502", "408", "409", "429", "307"} {
		t.Run(string(act), func(t *testing.T) {
			srv := newServer(t, act)
			f := newFolders(t)
			files := addEntry(t, f.outbox, "doc", 100)
			s := newSender(t, srv.URL, f)
			path := filepath.Join(f.outbox, "doc.edxml")

			res, err := s.SendOne(context.Background(), path)
			if err == nil || res.Outcome != sender.Retry {
				t.Fatalf("first attempt: %+v, %v; want a retry with an error", res, err)
			}
			if !strings.Contains(err.Error(), string(act)) {
				t.Errorf("the error does not give the status: %v", err)
			}
			if got := list(t, f.outbox); !reflect.DeepEqual(got, []string{"doc.edxml", "doc.json", "doc.pdf"}) {
				t.Errorf("after a %s the outbox holds %v, want the entry", act, got)
			}
			if got := list(t, f.rejected); len(got) != 0 {
				t.Errorf("after a %s rejected/ holds %v", act, got)
			}
			res, err = s.SendOne(context.Background(), path)
			if err != nil || res.Outcome != sender.Sent {
				t.Fatalf("second attempt: %+v, %v; want sent", res, err)
			}
			wantMoved(t, f, f.sent, "doc", "doc", files)
			reqs := srv.requests()
			if len(reqs) != 2 || reqs[0].key != reqs[1].key {
				t.Errorf("requests %+v, want two with the same key", reqs)
			}
		})
	}
}

func TestRunRetriesAfterServerError(t *testing.T) {
	srv := newServer(t, fail, fail, "429")
	f := newFolders(t)
	files := addEntry(t, f.outbox, "doc", 100)
	s := newSender(t, srv.URL, f)
	run(t, s)
	waitFor(t, "doc in sent/", func() bool { return exists(filepath.Join(f.sent, "doc.edxml")) })
	wantMoved(t, f, f.sent, "doc", "doc", files)
	reqs := srv.requests()
	if len(reqs) != 4 {
		t.Errorf("server got %d requests, want 4 (500, 500, 429, 200)", len(reqs))
	}
	for _, r := range reqs {
		if r.key != keyOf(files[".edxml"]) {
			t.Errorf("a retry carried key %q, want %s", r.key, keyOf(files[".edxml"]))
		}
	}
	if keys, total := srv.storedCount(); keys != 1 || total != 1 {
		t.Errorf("stored %d times under %d keys, want once", total, keys)
	}
}

func TestHangingServerIsCut(t *testing.T) {
	srv := newServer(t, hang)
	f := newFolders(t)
	files := addEntry(t, f.outbox, "doc", 100)
	s := newSender(t, srv.URL, f, func(c *sender.Config) { c.Timeout = 300 * time.Millisecond })
	path := filepath.Join(f.outbox, "doc.edxml")

	res, err := s.SendOne(context.Background(), path)
	if err == nil || res.Outcome != sender.Retry || res.Status != 0 {
		t.Fatalf("against a hanging server: %+v, %v; want a retry without status", res, err)
	}
	if !strings.Contains(err.Error(), "did not answer within") {
		t.Errorf("the error does not say the endpoint did not answer in time: %v", err)
	}
	if !exists(path) {
		t.Fatal("the entry left the outbox after a timeout")
	}
	run(t, s)
	waitFor(t, "doc in sent/", func() bool { return exists(filepath.Join(f.sent, "doc.edxml")) })
	wantMoved(t, f, f.sent, "doc", "doc", files)
	if keys, total := srv.storedCount(); keys != 1 || total != 1 {
		t.Errorf("stored %d times under %d keys, want once", total, keys)
	}
}

func TestDroppedConnectionIsRetried(t *testing.T) {
	srv := newServer(t, drop, drop)
	f := newFolders(t)
	files := addEntry(t, f.outbox, "doc", 1<<20) // large enough to be cut mid-body
	s := newSender(t, srv.URL, f)
	path := filepath.Join(f.outbox, "doc.edxml")

	res, err := s.SendOne(context.Background(), path)
	if err == nil || res.Outcome != sender.Retry {
		t.Fatalf("with the connection dropped: %+v, %v; want a retry", res, err)
	}
	if !exists(path) {
		t.Fatal("the entry left the outbox after a dropped connection")
	}
	run(t, s)
	waitFor(t, "doc in sent/", func() bool { return exists(filepath.Join(f.sent, "doc.edxml")) })
	wantMoved(t, f, f.sent, "doc", "doc", files)
	if n := len(srv.requests()); n != 3 {
		t.Errorf("server got %d requests, want 3 (two dropped, one accepted)", n)
	}
	if keys, total := srv.storedCount(); keys != 1 || total != 1 {
		t.Errorf("stored %d times under %d keys, want once", total, keys)
	}
}

// The endpoint is down (nothing listens), then comes back on the same
// address: the entries wait in the outbox and then all arrive once.
func TestEndpointDownThenBack(t *testing.T) {
	srv := newServer(t)
	url := srv.URL
	addr := srv.Listener.Addr().String()
	srv.Close()

	f := newFolders(t)
	var all []map[string][]byte
	for _, name := range []string{"a", "b", "c"} {
		all = append(all, addEntry(t, f.outbox, name, 100))
	}
	s := newSender(t, url, f)
	res, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "a.edxml"))
	if err == nil || res.Outcome != sender.Retry || !strings.Contains(err.Error(), "could not reach") {
		t.Fatalf("with the endpoint down: %+v, %v; want a retry saying it could not be reached", res, err)
	}
	run(t, s)
	waitFor(t, "Run to try several times", func() bool { return countTries(t, "could not reach") >= 3 })
	// Said once for the endpoint, not at every try (the tries are in the debug log).
	if n := countLogged(t, "could not reach"); n != 1 {
		t.Errorf("an endpoint that gives no answer was said %d times, want once", n)
	}
	if n := countLogged(t, "gives no answer"); n != 1 {
		t.Errorf("\"gives no answer\" said %d times, want once", n)
	}

	// While it is down, nothing is lost: the entries are still in the outbox.
	if got := list(t, f.outbox); len(got) != 9 {
		t.Fatalf("with the endpoint down the outbox holds %v, want the three entries", got)
	}
	back := unstartedServer(t)
	back.Listener.Close()
	waitFor(t, "the old address to be free again", func() bool {
		l, err := net.Listen("tcp", addr)
		back.Listener = l
		return err == nil
	})
	back.Start()

	waitFor(t, "all in sent/", func() bool { return len(list(t, f.sent)) == 9 })
	for i, name := range []string{"a", "b", "c"} {
		wantMoved(t, f, f.sent, name, name, all[i])
	}
	if keys, total := back.storedCount(); keys != 3 || total != 3 {
		t.Errorf("stored %d packages under %d keys, want 3 and 3", total, keys)
	}
}

// A crash after the server stored the package but before the answer came
// back (the context is cut as a crash would cut it): a new Sender on the
// same folders sends the same key again, the server knows it, and the
// package ends in sent/ once.
func TestRestartAfterCrashDuringPost(t *testing.T) {
	srv := newServer(t, commit)
	f := newFolders(t)
	files := addEntry(t, f.outbox, "doc", 5000)
	path := filepath.Join(f.outbox, "doc.edxml")

	ctx, crash := context.WithCancel(context.Background())
	srv.onStore = crash
	first := newSender(t, srv.URL, f)
	if res, err := first.SendOne(ctx, path); err == nil || res.Outcome != sender.Retry {
		t.Fatalf("the crashed attempt: %+v, %v; want it unfinished", res, err)
	}
	if keys, _ := srv.storedCount(); keys != 1 {
		t.Fatalf("the server did not store the package before the crash")
	}
	if got := list(t, f.outbox); !reflect.DeepEqual(got, []string{"doc.edxml", "doc.json", "doc.pdf"}) {
		t.Fatalf("after the crash the outbox holds %v, want the entry", got)
	}

	second := newSender(t, srv.URL, f)
	run(t, second)
	waitFor(t, "doc in sent/", func() bool { return exists(filepath.Join(f.sent, "doc.edxml")) })
	wantMoved(t, f, f.sent, "doc", "doc", files)
	if got := list(t, f.sent); !reflect.DeepEqual(got, []string{"doc.edxml", "doc.json", "doc.pdf"}) {
		t.Errorf("sent/ holds %v, want the entry once", got)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[0].key != keyOf(files[".edxml"]) || reqs[1].key != reqs[0].key {
		t.Errorf("requests %+v, want two with the .edxml's key", reqs)
	}
	if keys, total := srv.storedCount(); keys != 1 || total != 1 {
		t.Errorf("stored %d times under %d keys, want once", total, keys)
	}
}

// An .edxml without its siblings is not taken.
func TestIncompleteEntryWaits(t *testing.T) {
	srv := newServer(t)
	f := newFolders(t)
	addEntry(t, f.outbox, "doc", 100)
	os.Remove(filepath.Join(f.outbox, "doc.json"))
	s := newSender(t, srv.URL, f)
	if _, err := s.SendOne(context.Background(), filepath.Join(f.outbox, "doc.edxml")); err == nil || !strings.Contains(err.Error(), "doc.json") {
		t.Errorf("an entry without its .json: err = %v, want one naming doc.json", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server got %d requests for an incomplete entry", n)
	}
	if got := list(t, f.outbox); !reflect.DeepEqual(got, []string{"doc.edxml", "doc.pdf"}) {
		t.Errorf("outbox holds %v, want it untouched", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFolders(t)
	for name, cfg := range map[string]sender.Config{
		"no URL":            {},
		"ftp":               {URL: "ftp://127.0.0.1/"},
		"cert without key":  {URL: "https://127.0.0.1/", ClientCert: "/nonexistent/c.pem"},
		"missing cert file": {URL: "https://127.0.0.1/", ClientCert: "/nonexistent/c.pem", ClientKey: "/nonexistent/k.pem"},
		"missing CA file":   {URL: "https://127.0.0.1/", CAFile: "/nonexistent/ca.pem"},
		"negative timeout":  {URL: "https://127.0.0.1/", Timeout: -time.Second},
		"max below min":     {URL: "https://127.0.0.1/", MinBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		if _, err := sender.New(cfg, f.outbox, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := sender.New(sender.Config{URL: "http://127.0.0.1/"}, filepath.Join(f.outbox, "missing"), nil); err == nil {
		t.Error("New accepted a missing outbox")
	}
	if _, err := sender.New(sender.Config{URL: "http://127.0.0.1/"}, f.outbox, nil); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{f.sent, f.rejected} {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("New did not make %s: %v", dir, err)
		}
	}
}

// A package the station is still delivering (Settled says no) is left in the outbox, not
// posted, while the others go; once the station says it is settled and notifies, it goes.
func TestUnsettledEntryWaits(t *testing.T) {
	srv := newServer(t)
	f := newFolders(t)
	addEntry(t, f.outbox, "done", 100)
	files := addEntry(t, f.outbox, "delivering", 100)
	var settled sync.Map // name → true
	settled.Store("done", true)
	s := newSender(t, srv.URL, f, func(c *sender.Config) {
		c.Rescan = time.Hour
		c.Settled = func(_ context.Context, name string) bool { _, ok := settled.Load(name); return ok }
	})
	run(t, s)
	waitFor(t, "done in sent/", func() bool { return exists(filepath.Join(f.sent, "done.edxml")) })
	waitFor(t, "the unsettled package to be passed over", func() bool {
		return countTries(t, "until the station records its delivery") > 0
	})
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server got %d requests, want 1 (the unsettled package is not posted)", n)
	}
	if !exists(filepath.Join(f.outbox, "delivering.edxml")) {
		t.Fatal("the unsettled package left the outbox")
	}
	settled.Store("delivering", true)
	s.Notify()
	waitFor(t, "delivering in sent/", func() bool { return exists(filepath.Join(f.sent, "delivering.edxml")) })
	wantMoved(t, f, f.sent, "delivering", "delivering", files)
}
