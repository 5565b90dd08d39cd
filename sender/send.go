package sender

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const edxmlExt = ".edxml"

// siblingExts are the files that travel with <name>.edxml. They move
// before it, so that an entry is in the outbox while its .edxml is.
var siblingExts = []string{".pdf", ".json"}

// answerLimit is how much of the server's answer is kept; the rest is
// noted as cut.
const answerLimit = 8 << 10

// An Outcome says where an entry is after an attempt.
type Outcome int

const (
	Retry    Outcome = iota // still in the outbox, for another attempt
	Sent                    // accepted (2xx), in the sent folder
	Rejected                // refused (4xx), in the rejected folder with its reason
)

func (o Outcome) String() string {
	switch o {
	case Sent:
		return "sent"
	case Rejected:
		return "rejected"
	}
	return "retry"
}

// A Result describes one attempt.
type Result struct {
	Outcome    Outcome
	Key        string        // the Idempotency-Key: the SHA-256 of the .edxml, in hex
	Status     int           // the HTTP status; 0 when there was no answer
	Answer     string        // the start of the server's answer, as text
	Path       string        // where the .edxml is now
	RetryAfter time.Duration // the wait the server asked for (Retry-After), if any
}

// errIncomplete means that an entry's .edxml is there without a sibling.
var errIncomplete = errors.New("the entry is incomplete")

// A noAnswerError means that no HTTP answer came: the endpoint is down,
// unreachable, too slow, or dropped the connection.
type noAnswerError struct {
	msg string
	err error
}

func (e *noAnswerError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *noAnswerError) Unwrap() error { return e.err }

// SendOne makes one attempt at the entry whose .edxml is edxmlPath. It
// posts the .edxml and moves the entry by the answer: 2xx to the sent
// folder, 4xx (but 401, 403, 404, 408, 409 and 429) to the rejected folder
// with <name>.rejected.txt. On any other answer, on no answer, and on a
// local failure the entry stays where it is and the error says why; the
// Result still tells what is known (Status, RetryAfter). 401, 403 and 404
// are about the configuration of either side, not the package: the error
// is a *SetupError that says what to check.
//
// If an earlier attempt was answered but its move was cut short by a
// crash, SendOne finishes the move without posting again.
func (s *Sender) SendOne(ctx context.Context, edxmlPath string) (Result, error) {
	dir, base := filepath.Split(edxmlPath)
	dir = filepath.Clean(dir)
	name, ok := strings.CutSuffix(base, edxmlExt)
	res := Result{Path: edxmlPath}
	if !ok || name == "" {
		return res, fmt.Errorf("%s is not an .edxml file", edxmlPath)
	}

	in, err := readIntent(dir, name)
	if err != nil {
		return res, err
	}
	if in != nil {
		res.Outcome, res.Status, res.Key = in.outcome(), in.Status, in.Key
		res.Path, err = s.finish(dir, name, in)
		return res, err
	}

	for _, ext := range siblingExts {
		if _, err := os.Stat(filepath.Join(dir, name+ext)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return res, fmt.Errorf("%w: %s has no %s beside it", errIncomplete, edxmlPath, name+ext)
			}
			return res, err
		}
	}
	sum, size, err := hashFile(edxmlPath)
	if err != nil {
		return res, err
	}
	res.Key = hex.EncodeToString(sum)

	resp, err := s.post(ctx, edxmlPath, size, res.Key, sum)
	if err != nil {
		return res, err
	}
	res.Status = resp.status
	res.Answer = resp.answer
	res.RetryAfter = resp.retryAfter

	switch {
	case resp.status >= 200 && resp.status <= 299:
		res.Outcome = Sent
		in = &intent{To: s.cfg.SentDir, Status: resp.status, Key: res.Key}
	case setupAnswer(resp.status):
		return res, &SetupError{Status: resp.statusText, Check: s.setupAdvice(resp.status)}
	case resp.status >= 400 && resp.status <= 499 && !retryable4xx(resp.status):
		res.Outcome = Rejected
		in = &intent{To: s.cfg.RejectedDir, Status: resp.status, Key: res.Key}
		in.Reason = s.reason(name, resp, res.Key, time.Now())
	default:
		return res, fmt.Errorf("the push endpoint answered %s; the package stays in the outbox%s",
			resp.statusText, resp.hint)
	}
	res.Path, err = s.begin(dir, name, in)
	return res, err
}

// retryable4xx reports whether a 4xx answer is about the moment rather
// than the package: 408 Request Timeout, 429 Too Many Requests, and 409
// Conflict, which servers implementing Idempotency-Key answer while an
// earlier request with the same key is still being processed.
func retryable4xx(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusConflict || status == http.StatusTooManyRequests
}

// setupAnswer reports whether a status says that the two sides are not set up to talk to each
// other (who the station is, what it may do, where it sends): no package is at fault, and
// every package would get the same answer until someone fixes the configuration.
func setupAnswer(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound
}

// A SetupError is an answer that needs the configuration of the station or of the receiving
// system fixed: the package waits in the outbox and is tried again.
type SetupError struct {
	Status string // "401 Unauthorized"
	Check  string // what to check, in plain words
}

func (e *SetupError) Error() string {
	return "the push endpoint answered " + e.Status + ": " + e.Check + "; the packages wait in the outbox and are tried again"
}

// setupAdvice says what to check for a setup answer.
func (s *Sender) setupAdvice(status int) string {
	endpoint := s.url.Redacted()
	switch status {
	case http.StatusUnauthorized:
		if s.hasCert {
			return "it does not know this station; check the credentials: that the receiving system " + endpoint +
				" accepts the client certificate " + s.cfg.ClientCert + " (push.client_cert, push.client_key)"
		}
		return "it does not know this station; check the credentials: the receiving system " + endpoint +
			" may require a client certificate (push.client_cert, push.client_key), and none is configured"
	case http.StatusForbidden:
		return "it knows this station but does not let it send; check that the receiving system " + endpoint +
			" allows this station's client certificate and account to deliver packages"
	}
	return "there is nothing to receive packages at " + endpoint + "; check the URL (push.url) with the receiving system's administrator"
}

// An answer is what the server said.
type answer struct {
	status      int
	statusText  string // "400 Bad Request"
	contentType string
	answer      string // the body, at most answerLimit bytes of it, as valid UTF-8
	cut         bool   // the body was longer
	retryAfter  time.Duration
	hint        string // a note for the operator about an unusual answer
}

// post sends the file with the key and returns the answer, or an error
// that explains in plain words why there was none.
func (s *Sender) post(ctx context.Context, path string, size int64, key string, sum []byte) (*answer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url.String(), f)
	if err != nil {
		f.Close()
		return nil, err
	}
	req.ContentLength = size
	// The transport may send the request again on a fresh connection when
	// a kept-alive one turns out dead; the key makes that safe.
	req.GetBody = func() (io.ReadCloser, error) { return os.Open(path) }
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	req.Header.Set("User-Agent", "scanstation")

	s.certAsked.Store(false)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.explain(ctx, err)
	}
	defer resp.Body.Close()

	// A body cut off by the network still says what it says; the status
	// line is the answer.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, answerLimit+1))
	a := &answer{
		status:      resp.StatusCode,
		statusText:  resp.Status,
		contentType: resp.Header.Get("Content-Type"),
		retryAfter:  parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	if a.statusText == "" {
		a.statusText = strconv.Itoa(resp.StatusCode)
	}
	if len(body) > answerLimit {
		body = cutUTF8(body, answerLimit)
		a.cut = true
	}
	a.answer = strings.ToValidUTF8(string(body), "\uFFFD")
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		a.hint = fmt.Sprintf("; it redirects to %q: set the push URL to the final address", resp.Header.Get("Location"))
	}
	return a, nil
}

// explain turns an error from the HTTP client into words an operator can
// act on.
func (s *Sender) explain(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sending was stopped: %w", ctx.Err())
	}
	endpoint := s.url.Redacted()
	var (
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		netErr   net.Error
	)
	switch {
	case s.certAsked.Load() && !s.hasCert:
		// Whatever the server did next (an alert, a reset), it is this.
		return &noAnswerError{"the push endpoint " + endpoint +
			" asks for a client certificate and none is configured (set the client certificate and key)", err}
	case errors.As(err, &alert) && s.hasCert && (alert == 42 || alert == 43 || alert == 44 || alert == 45 || alert == 46 || alert == 48 || alert == 49):
		return &noAnswerError{"the push endpoint " + endpoint + " refused our client certificate " + s.cfg.ClientCert, err}
	case errors.As(err, &unknown):
		return &noAnswerError{"the push endpoint's certificate is not from a trusted authority (set the CA file)", err}
	case errors.As(err, &hostname):
		return &noAnswerError{"the push endpoint's certificate is for another name", err}
	case errors.As(err, &invalid):
		return &noAnswerError{"the push endpoint's certificate is not valid", err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &noAnswerError{fmt.Sprintf("the push endpoint %s did not answer within %v", endpoint, s.cfg.Timeout), err}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err):
		return &noAnswerError{"the push endpoint " + endpoint + " closed the connection before answering", err}
	}
	return &noAnswerError{"could not reach the push endpoint " + endpoint, err}
}

func isReset(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}

// parseRetryAfter reads a Retry-After header, in seconds or as a date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// reason is the text of <name>.rejected.txt.
func (s *Sender) reason(name string, a *answer, key string, when time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, `The receiving system refused this package. It was not accepted and will not be sent again by itself.

Package:   %s (with %s)
Sent to:   %s
Time:      %s
Answer:    %s
Idempotency-Key: %s

What to do next: read the receiving system's answer below. If the package must change, scan or
make it again. If the receiving system was at fault and has been corrected, move the files of this
package (without this reason file) back into the outbox to send them again.

`, name+edxmlExt, strings.Join(withExts(name, siblingExts), " and "), s.url.Redacted(),
		when.Format("2006-01-02 15:04:05 -07:00"), a.statusText, key)
	ct := a.contentType
	if ct == "" {
		ct = "no type given"
	}
	switch {
	case strings.TrimSpace(a.answer) == "":
		b.WriteString("The receiving system gave no further explanation.\n")
	default:
		fmt.Fprintf(&b, "The receiving system's answer (%s):\n\n%s\n", ct, strings.TrimRight(a.answer, "\r\n"))
		if a.cut {
			fmt.Fprintf(&b, "\n[The answer was longer; only its first %d KiB are shown.]\n", answerLimit>>10)
		}
	}
	return b.String()
}

func withExts(name string, exts []string) []string {
	out := make([]string, len(exts))
	for i, ext := range exts {
		out[i] = name + ext
	}
	return out
}

// hashFile returns the SHA-256 and size of the file at path.
func hashFile(path string) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), n, nil
}

// cutUTF8 cuts b to at most n bytes without splitting a character.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return b
}
