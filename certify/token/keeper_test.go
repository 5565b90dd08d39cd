package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestKeeper makes a Keeper that logs into the returned buffer and polls often.
// At the end of the test it closes the Keeper and checks that the token's PIN
// appears nowhere in the log.
func newTestKeeper(t *testing.T, dev *DevToken, cfg Config) (*Keeper, *syncBuffer) {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	logs := new(syncBuffer)
	k := NewKeeper(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Keeper.Close: %v", err)
		}
		pin, err := ReadPINFile(dev.PINFile)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs.String(), string(pin)) {
			t.Errorf("the log shows the PIN:\n%s", logs)
		}
		t.Logf("log:\n%s", logs)
	})
	return k, logs
}

func (k *Keeper) openAttempts() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.attempts
}

// pullOut makes the development token vanish the way SoftHSM allows: its directory
// under tokens/ is moved away. The returned function puts it back.
func pullOut(t *testing.T, dev *DevToken) (putBack func()) {
	t.Helper()
	tokens := filepath.Join(filepath.Dir(dev.SoftHSMConf), "tokens")
	entries, err := os.ReadDir(tokens)
	if err != nil || len(entries) != 1 {
		t.Fatalf("token directory %s: %v, %d entries", tokens, err, len(entries))
	}
	in := filepath.Join(tokens, entries[0].Name())
	out := filepath.Join(filepath.Dir(dev.SoftHSMConf), "pulled-out")
	if err := os.Rename(in, out); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Rename(out, in); err != nil {
			t.Fatal(err)
		}
	}
}

// waitUntil polls cond until it holds; it fails the test if ctx ends first. It only
// keeps a broken test from hanging: nothing is asserted about how long it took.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting until %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func verifySHA256(t *testing.T, cert *x509.Certificate, message string, sig []byte) {
	t.Helper()
	digest := sha256.Sum256([]byte(message))
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature of %q does not verify: %v", message, err)
	}
}

func digestOf(message string) []byte {
	d := sha256.Sum256([]byte(message))
	return d[:]
}

const (
	logWaiting = "waiting for the token scanstation-dev: insert it"
	logBack    = "the token scanstation-dev is back"
)

func TestKeeperWaitsForTokenAtStart(t *testing.T) {
	dev := newDevToken(t)
	putBack := pullOut(t, dev)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	k, logs := newTestKeeper(t, dev, cfg)
	if got := k.State(); got != "not opened" {
		t.Errorf("State before use = %q", got)
	}
	if k.Certificate() != nil || k.Chain() != nil {
		t.Error("a certificate before the token was opened")
	}

	// A caller whose context ends gets ErrTokenAbsent together with the reason.
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err = k.Signer(short)
	cancel()
	if !errors.Is(err, ErrTokenAbsent) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Signer with an ending context: err = %v, want ErrTokenAbsent and DeadlineExceeded", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	type result struct {
		tok *Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := k.Signer(ctx)
		done <- result{tok, err}
	}()
	before := k.openAttempts()
	waitUntil(t, ctx, "the Keeper looked for the token several more times", func() bool {
		return k.openAttempts() >= before+4
	})
	select {
	case r := <-done:
		t.Fatalf("Signer returned while the token was absent: %v", r.err)
	default:
	}
	if got := k.State(); got != "waiting for token" {
		t.Errorf("State while absent = %q", got)
	}

	putBack()
	r := <-done
	if r.err != nil {
		t.Fatalf("Signer after the token was inserted: %v", r.err)
	}
	if !r.tok.Certificate().Equal(k.Certificate()) || len(k.Chain()) != 2 {
		t.Error("the Keeper does not report the opened token's certificate and chain")
	}
	sig, err := k.Sign(ctx, digestOf("after insertion"), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySHA256(t, r.tok.Certificate(), "after insertion", sig)
	if got := k.State(); got != "ready" {
		t.Errorf("State = %q, want ready", got)
	}
	if n := strings.Count(logs.String(), logWaiting); n != 1 {
		t.Errorf("%q logged %d times over %d attempts, want once", logWaiting, n, k.openAttempts())
	}
	if n := strings.Count(logs.String(), logBack); n != 1 {
		t.Errorf("%q logged %d times, want once", logBack, n)
	}
}

func TestKeeperTokenPulledOutBetweenSignatures(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	k, logs := newTestKeeper(t, dev, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	first, err := k.Sign(ctx, digestOf("first"), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySHA256(t, k.Certificate(), "first", first)
	bound, err := k.CryptoSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var _ crypto.Signer = bound

	putBack := pullOut(t, dev)
	// Two documents are being signed when the token is pulled out: both wait, and
	// the operator is told once.
	type result struct {
		i   int
		sig []byte
		err error
	}
	done := make(chan result, 2)
	go func() {
		sig, err := k.Sign(ctx, digestOf("second"), crypto.SHA256)
		done <- result{0, sig, err}
	}()
	go func() {
		sig, err := bound.Sign(nil, digestOf("third"), crypto.SHA256)
		done <- result{1, sig, err}
	}()
	before := k.openAttempts()
	waitUntil(t, ctx, "the Keeper looked for the token several times", func() bool {
		return k.openAttempts() >= before+4
	})
	if got := k.State(); got != "waiting for token" {
		t.Errorf("State while pulled out = %q", got)
	}
	if len(done) > 0 {
		r := <-done
		t.Fatalf("signature %d finished while the token was out: %v", r.i, r.err)
	}

	putBack()
	sigs := make([][]byte, 2)
	for range 2 {
		r := <-done
		if r.err != nil {
			t.Fatalf("signature %d after the token came back: %v", r.i, r.err)
		}
		sigs[r.i] = r.sig
	}
	verifySHA256(t, k.Certificate(), "second", sigs[0])
	verifySHA256(t, bound.Certificate(), "third", sigs[1])
	if n := strings.Count(logs.String(), logWaiting); n != 1 {
		t.Errorf("%q logged %d times, want once", logWaiting, n)
	}
	if n := strings.Count(logs.String(), logBack); n != 1 {
		t.Errorf("%q logged %d times, want once", logBack, n)
	}
	if got := k.State(); got != "ready" {
		t.Errorf("State = %q, want ready", got)
	}
}

func TestKeeperWrongPIN(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	right := string(cfg.PIN)
	wrong := strings.Repeat("0", len(right)) // of a length the token accepts
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.PIN, cfg.PINFile = nil, pinFile
	k, logs := newTestKeeper(t, dev, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	_, err = k.Signer(ctx)
	if !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("Signer with a wrong PIN: err = %v, want ErrPINIncorrect", err)
	}
	errs := []error{err}
	if got := k.State(); got != "wrong PIN" {
		t.Errorf("State = %q, want wrong PIN", got)
	}

	// The PIN file is corrected but the service not reloaded: the station must still
	// not present a PIN. Had it tried, it would now succeed.
	if err := os.WriteFile(pinFile, []byte(right+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := k.Signer(ctx)
		errs = append(errs, err)
		if !errors.Is(err, ErrPINIncorrect) {
			t.Fatalf("Signer after a refused PIN: err = %v, want ErrPINIncorrect", err)
		}
	}
	_, err = k.Sign(ctx, digestOf("x"), crypto.SHA256)
	errs = append(errs, err)
	if !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("Sign after a refused PIN: err = %v, want ErrPINIncorrect", err)
	}
	if n := k.openAttempts(); n != 1 {
		t.Errorf("the token was opened %d times, want once", n)
	}

	k.Reset()
	tok, err := k.Signer(ctx)
	if err != nil {
		t.Fatalf("Signer after Reset with the corrected PIN file: %v", err)
	}
	sig, err := k.Sign(ctx, digestOf("after reset"), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySHA256(t, tok.Certificate(), "after reset", sig)
	for _, err := range errs {
		if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), right) {
			t.Errorf("error shows a PIN: %v", err)
		}
	}
	if strings.Contains(logs.String(), wrong) {
		t.Error("the log shows the wrong PIN")
	}
}

// issueWithValidity issues a certificate for public from a fresh test CA, valid from
// notBefore to notAfter.
func issueWithValidity(t *testing.T, public crypto.PublicKey, notBefore, notAfter time.Time) []byte {
	t.Helper()
	ca, caKey, err := newDevCA()
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: testSerial(t),
		Subject:      pkix.Name{CommonName: "Văn thư — chứng thư đã hết hạn (TEST)"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, public, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func testSerial(t *testing.T) *big.Int {
	t.Helper()
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	return serial
}

// replaceCertificate removes the key's certificate from the development token and
// stores der in its place.
func replaceCertificate(t *testing.T, dev *DevToken, der []byte) {
	t.Helper()
	withSession(t, dev, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) {
		certs, err := findObjects(ctx, session, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
			pkcs11.NewAttribute(pkcs11.CKA_ID, devKeyID),
		})
		if err != nil || len(certs) != 1 {
			t.Fatalf("find the certificate: %v, %d objects", err, len(certs))
		}
		if err := ctx.DestroyObject(session, certs[0]); err != nil {
			t.Fatal(err)
		}
		if err := storeCertificate(ctx, session, der, DevKeyLabel, devKeyID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExpiredCertificateIsRefused(t *testing.T) {
	dev := newDevToken(t)
	agency, err := readCertificates(dev.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	replaceCertificate(t, dev, issueWithValidity(t, agency[0].PublicKey, notAfter.AddDate(-1, 0, 0), notAfter))
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ChainFile = "" // the new certificate comes from another test CA

	if _, err := Open(cfg); !errors.Is(err, ErrCertificateExpired) {
		t.Fatalf("Open: err = %v, want ErrCertificateExpired", err)
	}
	k, _ := newTestKeeper(t, dev, cfg)
	_, err = k.Signer(t.Context())
	if !errors.Is(err, ErrCertificateExpired) {
		t.Fatalf("Keeper.Signer: err = %v, want ErrCertificateExpired", err)
	}
	if !strings.Contains(err.Error(), "expired on 05.03.2024") || !strings.Contains(err.Error(), "ask the CA") {
		t.Errorf("the message does not give the date and what to do: %v", err)
	}
	if got := k.State(); got != "certificate expired" {
		t.Errorf("State = %q, want certificate expired", got)
	}
	t.Logf("operator sees: %v", err)
}

func TestKeeperCertificateExpiresWhileRunning(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	k, logs := newTestKeeper(t, dev, cfg)
	ctx := t.Context()
	if _, err := k.Sign(ctx, digestOf("today"), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	// The station keeps running into the certificate's last weeks: the operator is
	// told once, not at every signature.
	notAfter := k.Certificate().NotAfter
	k.now = func() time.Time { return notAfter.AddDate(0, 0, -10) }
	for range 2 {
		if _, err := k.Sign(ctx, digestOf("last weeks"), crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "expires on "+notAfter.Local().Format("02.01.2006")); n != 1 {
		t.Errorf("the coming end of the certificate was logged %d times, want once", n)
	}
	// And past the certificate's end.
	k.now = func() time.Time { return notAfter.Add(time.Minute) }
	_, err = k.Sign(ctx, digestOf("too late"), crypto.SHA256)
	if !errors.Is(err, ErrCertificateExpired) {
		t.Fatalf("Sign after the certificate ended: err = %v, want ErrCertificateExpired", err)
	}
	if !strings.Contains(err.Error(), notAfter.Local().Format("02.01.2006")) {
		t.Errorf("the message does not give the date: %v", err)
	}
	if got := k.State(); got != "certificate expired" {
		t.Errorf("State = %q", got)
	}
	// Once the certificate is valid again (here: the clock), signing resumes.
	k.now = time.Now
	sig, err := k.Sign(ctx, digestOf("renewed"), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySHA256(t, k.Certificate(), "renewed", sig)
}

func TestKeeperCertificateChanged(t *testing.T) {
	dev := newDevToken(t)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ChainFile = "" // the renewed certificate comes from another test CA
	k, logs := newTestKeeper(t, dev, cfg)
	ctx := t.Context()
	tok, err := k.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := k.CryptoSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := bound.Certificate()

	// The agency's key and certificate are renewed on the token while the station
	// runs (the Token is closed here so that the test may use the module).
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	withSession(t, dev, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) {
		objects, err := findObjects(ctx, session, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, devKeyID)})
		if err != nil || len(objects) != 3 {
			t.Fatalf("find the key pair and certificate: %v, %d objects", err, len(objects))
		}
		for _, o := range objects {
			if err := ctx.DestroyObject(session, o); err != nil {
				t.Fatal(err)
			}
		}
		pub, err := generateRSAKeyPair(ctx, session, DevKeyLabel, devKeyID, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := storeCertificate(ctx, session, issueForTest(t, pub), DevKeyLabel, devKeyID); err != nil {
			t.Fatal(err)
		}
	})

	_, err = bound.Sign(nil, digestOf("prepared for the old certificate"), crypto.SHA256)
	if !errors.Is(err, ErrCertificateChanged) {
		t.Fatalf("Sign for the old certificate: err = %v, want ErrCertificateChanged", err)
	}
	if k.Certificate().Equal(old) {
		t.Fatal("the Keeper still reports the old certificate")
	}
	sig, err := k.Sign(ctx, digestOf("new"), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySHA256(t, k.Certificate(), "new", sig)
	if !strings.Contains(logs.String(), "the token now carries a different certificate") {
		t.Error("the change of certificate was not logged")
	}
}

func TestKeeperCloseStopsWaiting(t *testing.T) {
	dev := newDevToken(t)
	pullOut(t, dev)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	k, _ := newTestKeeper(t, dev, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := k.Signer(t.Context())
		done <- err
	}()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	waitUntil(t, ctx, "the Keeper waits", func() bool { return k.State() == "waiting for token" })
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Signer when closed while waiting: err = %v, want ErrClosed", err)
	}
	if _, err := k.Sign(ctx, digestOf("x"), crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close: err = %v, want ErrClosed", err)
	}
	if got := k.State(); got != "closed" {
		t.Errorf("State = %q, want closed", got)
	}
}

func TestCheckValidity(t *testing.T) {
	cert := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "Văn thư"},
		NotBefore: time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2029, 3, 5, 12, 0, 0, 0, time.UTC),
	}
	for _, tc := range []struct {
		now  time.Time
		want error
		text string
	}{
		{cert.NotBefore.Add(-time.Hour), ErrCertificateNotYetValid, "valid only from 05.03.2026"},
		{cert.NotBefore, nil, ""},
		{cert.NotAfter, nil, ""},
		{cert.NotAfter.Add(time.Second), ErrCertificateExpired, "expired on 05.03.2029"},
	} {
		err := checkValidity("agency", cert, tc.now)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("at %v: err = %v, want %v", tc.now, err, tc.want)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.text) {
			t.Errorf("at %v: %q does not say %q", tc.now, err, tc.text)
		}
	}
	var zero Token
	if err := zero.CheckValid(time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("CheckValid on a zero Token: %v", err)
	}
}

func TestConfigHidesPIN(t *testing.T) {
	cfg := Config{TokenLabel: "agency", KeyLabel: "sign", PIN: []byte("4711-secret")}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("open", "config", cfg)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("open", "config", cfg)
	for name, s := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%s": fmt.Sprintf("%s", cfg),
		"JSON log": jsonLog.String(), "text log": textLog.String(),
	} {
		if strings.Contains(s, "4711") {
			t.Errorf("%s shows the PIN: %s", name, s)
		}
		if !strings.Contains(s, "agency") {
			t.Errorf("%s does not describe the config: %s", name, s)
		}
	}
	if !json.Valid(jsonLog.Bytes()) {
		t.Errorf("JSON log is not JSON: %s", jsonLog.String())
	}
}

func TestLost(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{explain("sign", "t", pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED)), true},
		{explain("sign", "t", pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID)), true},
		{explain("sign", "t", pkcs11.Error(pkcs11.CKR_OBJECT_HANDLE_INVALID)), true},
		{fmt.Errorf("sign: %w", ErrClosed), true},
		{explain("sign", "t", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)), false},
		{explain("sign", "t", pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID)), false},
		{errors.New("digest of the wrong length"), false},
	} {
		if got := lost(tc.err); got != tc.want {
			t.Errorf("lost(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// BenchmarkKeeperSign measures what the Keeper adds to a signature: the turn, the
// validity check and the bookkeeping around Token.Sign (compare BenchmarkSign).
func BenchmarkKeeperSign(b *testing.B) {
	dev := newDevToken(b)
	cfg, err := dev.Config()
	if err != nil {
		b.Fatal(err)
	}
	k := NewKeeper(cfg, nil)
	defer k.Close()
	digest := digestOf("benchmark")
	ctx := context.Background()
	for b.Loop() {
		if _, err := k.Sign(ctx, digest, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeeperReconnect measures how long the station needs to get signing again
// once a pulled-out token is back: close the dead session, initialise the module
// afresh, log in, find key and certificate, check them, and sign.
func BenchmarkKeeperReconnect(b *testing.B) {
	dev := newDevToken(b)
	cfg, err := dev.Config()
	if err != nil {
		b.Fatal(err)
	}
	k := NewKeeper(cfg, nil)
	defer k.Close()
	digest := digestOf("benchmark")
	ctx := context.Background()
	for b.Loop() {
		tok, err := k.Signer(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tok.Close() // the session dies as if the token had been pulled out
		if _, err := k.Sign(ctx, digest, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
