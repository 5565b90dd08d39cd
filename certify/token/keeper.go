package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
)

// DefaultPollInterval is how often a Keeper looks for an absent token unless
// Config.PollInterval says otherwise.
const DefaultPollInterval = 2 * time.Second

// maxReconnects bounds how often one signature is retried after the token stopped
// answering: a pulled-out card costs one, a card that fails on every signature must
// not keep the station in a loop.
const maxReconnects = 3

// Keeper states, as State reports them.
const (
	stateNotOpened   = "not opened"
	stateReady       = "ready"
	stateWaiting     = "waiting for token"
	stateWrongPIN    = "wrong PIN"
	statePINLocked   = "PIN locked"
	stateExpired     = "certificate expired"
	stateNotYetValid = "certificate not yet valid"
	stateKeyMismatch = "certificate does not match key"
	stateKeyNotFound = "key not found"
	stateFailed      = "failed"
	stateClosed      = "closed"
)

// A Keeper owns the agency's token for a long-running station. It opens the token
// when first needed, waits while the token is absent (not inserted, or pulled out
// while in use), signs one signature at a time, and never presents a PIN the token
// has refused until Reset is called.
//
// Its methods may be called from several goroutines.
type Keeper struct {
	cfg  Config
	log  *slog.Logger
	poll time.Duration
	now  func() time.Time // the clock the certificate is checked against

	// turn is held by whoever talks to the module: opening, waiting for the token
	// or signing. It is a channel so that waiting for it honours a context.
	turn   chan struct{}
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex // guards the fields below
	tok      *Token
	state    string
	waiting  bool  // "waiting" has been logged and "back" has not
	lockout  error // the wrong-PIN error; no PIN is presented while it is set
	attempts int   // calls of Open, for tests
	cert     *x509.Certificate
	chain    []*x509.Certificate
	warned   *x509.Certificate // the certificate whose coming end was logged
}

// NewKeeper returns a Keeper for the token described by cfg. It does not open the
// token: the first Signer, Sign or CryptoSigner does. A nil log discards messages.
func NewKeeper(cfg Config, log *slog.Logger) *Keeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.PIN = bytes.Clone(cfg.PIN)
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	return &Keeper{
		cfg:    cfg,
		log:    log.With("token", cfg.TokenLabel),
		poll:   poll,
		now:    time.Now,
		turn:   make(chan struct{}, 1),
		closed: make(chan struct{}),
		state:  stateNotOpened,
	}
}

// say prints a log message in the station's language (Config.Say).
func (k *Keeper) say(format string, args ...any) string {
	if k.cfg.Say != nil {
		return k.cfg.Say(format, args...)
	}
	return fmt.Sprintf(format, args...)
}

// Signer returns the open token, opening it if needed. While no token with the
// configured label is present it waits, looking again every poll interval, until
// the token is inserted or ctx is done; it logs once when it starts waiting and once
// when the token is back.
//
// A PIN the token refuses is returned as ErrPINIncorrect, and from then on Signer
// returns that error at once without presenting the PIN again, until Reset. An
// expired or not yet valid certificate, a certificate of another key or a missing
// key are returned as errors; the next call looks again.
//
// The Token stays the Keeper's: use it for its certificate, and sign through Sign or
// CryptoSigner, which carry on after the token was pulled out.
func (k *Keeper) Signer(ctx context.Context) (*Token, error) {
	if err := k.acquire(ctx); err != nil {
		return nil, err
	}
	defer k.release()
	return k.ready(ctx)
}

// Sign signs digest like Token.Sign, first waiting for the token like Signer. If the
// token stops answering during the signature (pulled out, session closed, device
// error), Sign closes the dead session, waits for the token to come back and signs
// again: the caller sees a slower Sign. The certificate is checked before every
// signature. If the token comes back with another certificate, Sign returns
// ErrCertificateChanged rather than sign for a certificate the caller did not expect.
func (k *Keeper) Sign(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.sign(ctx, nil, digest, opts)
}

// CryptoSigner waits for the token like Signer and returns a crypto.Signer bound to
// the certificate the token carries now, for signing one document: its Public and
// Chain belong together, and its Sign waits like Keeper.Sign, using ctx.
func (k *Keeper) CryptoSigner(ctx context.Context) (*BoundSigner, error) {
	tok, err := k.Signer(ctx)
	if err != nil {
		return nil, err
	}
	return &BoundSigner{k: k, ctx: ctx, cert: tok.Certificate(), chain: tok.Chain()}, nil
}

// Certificate returns the signing certificate of the token last opened, or nil
// before the token was first opened.
func (k *Keeper) Certificate() *x509.Certificate {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cert
}

// Chain returns the signing certificate and the chain file's certificates of the
// token last opened, or nil before the token was first opened.
func (k *Keeper) Chain() []*x509.Certificate {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*x509.Certificate(nil), k.chain...)
}

// State says in a few words where the Keeper stands, for status pages and metrics:
// "not opened", "ready", "waiting for token", "wrong PIN", "PIN locked",
// "certificate expired", "certificate not yet valid", "certificate does not match
// key", "key not found", "failed" or "closed".
func (k *Keeper) State() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state
}

// Reset forgets a refused PIN, so that the next Signer or Sign presents the PIN
// again (read afresh from Config.PINFile if one is configured). Call it after the
// PIN file was corrected, for example on a service reload.
func (k *Keeper) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lockout != nil {
		k.lockout = nil
		k.state = stateNotOpened
		k.log.Info(k.say("the PIN will be tried again"))
	}
}

// Close closes the token and stops any waiting for it. Signer and Sign fail with
// ErrClosed afterwards. Calling Close twice is harmless.
func (k *Keeper) Close() error {
	k.once.Do(func() { close(k.closed) })
	// A signature in progress finishes first; waiting stops at once.
	k.turn <- struct{}{}
	defer k.release()
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.cfg.PIN)
	k.state = stateClosed
	if k.tok == nil {
		return nil
	}
	err := k.tok.Close()
	k.tok = nil
	return err
}

// acquire takes the turn to talk to the module, or gives up when ctx is done or the
// Keeper is closed.
func (k *Keeper) acquire(ctx context.Context) error {
	select {
	case <-k.closed:
		return fmt.Errorf("token %q: %w", k.cfg.TokenLabel, ErrClosed)
	default:
	}
	select {
	case k.turn <- struct{}{}:
	case <-ctx.Done():
		if k.State() == stateWaiting {
			// Another call is waiting for the absent token: this one was too.
			return fmt.Errorf("waited for token %q: %w (%w)", k.cfg.TokenLabel, ErrTokenAbsent, context.Cause(ctx))
		}
		return fmt.Errorf("wait for token %q: %w", k.cfg.TokenLabel, context.Cause(ctx))
	case <-k.closed:
		return fmt.Errorf("token %q: %w", k.cfg.TokenLabel, ErrClosed)
	}
	select {
	case <-k.closed:
		k.release()
		return fmt.Errorf("token %q: %w", k.cfg.TokenLabel, ErrClosed)
	default:
		return nil
	}
}

func (k *Keeper) release() { <-k.turn }

// ready returns the open token, opening it and waiting for it as Signer describes.
// The caller holds the turn.
func (k *Keeper) ready(ctx context.Context) (*Token, error) {
	for {
		k.mu.Lock()
		tok, lockout := k.tok, k.lockout
		k.mu.Unlock()
		if lockout != nil {
			return nil, lockout
		}
		if tok != nil {
			return tok, nil
		}

		tok, err := k.open()
		if err == nil {
			return tok, nil
		}
		if !absent(err) {
			return nil, err
		}
		k.mu.Lock()
		if !k.waiting {
			k.waiting = true
			k.state = stateWaiting
			k.log.Warn(k.say("waiting for the token %s: insert it", k.cfg.TokenLabel), "reason", err.Error())
		}
		k.mu.Unlock()

		timer := time.NewTimer(k.poll)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("waited for token %q: %w (%w)", k.cfg.TokenLabel, ErrTokenAbsent, context.Cause(ctx))
		case <-k.closed:
			timer.Stop()
			return nil, fmt.Errorf("token %q: %w", k.cfg.TokenLabel, ErrClosed)
		}
	}
}

// open makes one attempt to open the token and records the outcome. The caller holds
// the turn.
func (k *Keeper) open() (*Token, error) {
	k.mu.Lock()
	k.attempts++
	k.mu.Unlock()

	tok, err := Open(k.cfg)
	if err == nil {
		// Open checked the certificate against the system clock; the Keeper's clock
		// decides for the Keeper.
		if err = tok.CheckValid(k.now()); err != nil {
			tok.Close()
		}
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		if absent(err) {
			return nil, err
		}
		k.waiting = false
		k.state = stateOf(err)
		if errors.Is(err, ErrPINIncorrect) {
			k.lockout = err
			k.log.Error(k.say("the token refused the PIN; the station will not present it again until the PIN file is corrected and the service reloaded"), "error", err.Error())
		}
		return nil, err
	}
	cert := tok.Certificate()
	if k.waiting {
		k.waiting = false
		k.log.Info(k.say("the token %s is back", k.cfg.TokenLabel))
	}
	switch {
	case k.cert == nil:
		k.log.Info(k.say("token opened"), "certificate", cert.Subject.CommonName,
			"valid_until", cert.NotAfter.Local().Format(dateLayout))
	case !k.cert.Equal(cert):
		k.log.Warn(k.say("the token now carries a different certificate"), "certificate", cert.Subject.CommonName,
			"valid_until", cert.NotAfter.Local().Format(dateLayout))
	}
	k.tok, k.cert, k.chain = tok, cert, tok.Chain()
	k.state = stateReady
	return tok, nil
}

// expiryWarning is how long before its end the operator is told to renew the
// certificate: a new one from the CA takes weeks.
const expiryWarning = 30 * 24 * time.Hour

// warnExpiry logs once per certificate when it ends within expiryWarning. It is
// called at every signature because a station runs for months without reopening.
func (k *Keeper) warnExpiry(cert *x509.Certificate, now time.Time) {
	if cert.NotAfter.Sub(now) > expiryWarning {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.warned != nil && k.warned.Equal(cert) {
		return
	}
	k.warned = cert
	k.log.Warn(k.say("the agency's certificate expires on %s; ask the CA for a new one now", cert.NotAfter.Local().Format(dateLayout)))
}

// drop closes a token that stopped answering. The caller holds the turn.
func (k *Keeper) drop(state string) {
	k.mu.Lock()
	tok := k.tok
	k.tok = nil
	k.state = state
	k.mu.Unlock()
	if tok != nil {
		// A pulled-out token cannot log out or close its session; finalising the
		// module is what frees it, and its complaint is expected.
		tok.Close()
	}
}

// sign is Sign for a signature prepared for want, or for whichever certificate the
// token has when the call starts if want is nil.
func (k *Keeper) sign(ctx context.Context, want *x509.Certificate, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := k.acquire(ctx); err != nil {
		return nil, err
	}
	defer k.release()
	for reconnects := 0; ; reconnects++ {
		tok, err := k.ready(ctx)
		if err != nil {
			return nil, err
		}
		if want == nil {
			want = tok.Certificate()
		} else if !want.Equal(tok.Certificate()) {
			return nil, fmt.Errorf("token %q: the signature was prepared for the certificate %q (serial %x), but the token now carries %q (serial %x): %w; the document will have to be signed again",
				k.cfg.TokenLabel, want.Subject.CommonName, want.SerialNumber, tok.Certificate().Subject.CommonName, tok.Certificate().SerialNumber, ErrCertificateChanged)
		}
		now := k.now()
		if err := tok.CheckValid(now); err != nil {
			// Closed, so that the next call reads the certificate again: the
			// agency may load a renewed one onto the token or insert a renewed card.
			k.drop(stateOf(err))
			return nil, err
		}
		k.warnExpiry(tok.Certificate(), now)
		sig, err := tok.Sign(nil, digest, opts)
		if err == nil {
			return sig, nil
		}
		switch {
		case errors.Is(err, ErrPINIncorrect):
			// A key that asks for the PIN at each signature refused it.
			k.mu.Lock()
			k.lockout = err
			k.mu.Unlock()
			k.drop(stateWrongPIN)
			return nil, err
		case !lost(err):
			return nil, err
		case reconnects >= maxReconnects:
			k.drop(stateFailed)
			return nil, fmt.Errorf("token %q failed %d times in a row during a signature: %w; remove it, insert it again and check that it works with the card's own tool", k.cfg.TokenLabel, reconnects+1, err)
		}
		k.log.Warn(k.say("the token stopped answering during a signature; it will sign again once it answers"), "error", err.Error())
		k.drop(stateWaiting)
	}
}

// lost reports whether err means that the token or the session is gone, so that
// reopening the token is the way on. Whether the token is really absent, or present
// but changed, the next Open tells.
func lost(err error) bool {
	if errors.Is(err, ErrClosed) {
		return true // someone closed the Token that Signer handed out
	}
	var code pkcs11.Error
	if !errors.As(err, &code) {
		return false
	}
	switch code {
	case pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_SLOT_ID_INVALID,
		pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_GENERAL_ERROR, pkcs11.CKR_USER_NOT_LOGGED_IN,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
		// SoftHSM 2.6 answers with these once the token's files are gone: the session
		// stays, its objects do not.
		pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID:
		return true
	}
	return false
}

// absent reports whether an error from Open means the token is not there to be
// used: not inserted, or answering like a card half pulled out. Waiting is the answer
// to both; the log says which it was.
func absent(err error) bool {
	return errors.Is(err, ErrTokenAbsent) || lost(err)
}

// stateOf names the state an error from Open or CheckValid leaves the Keeper in.
func stateOf(err error) string {
	for _, s := range []struct {
		err   error
		state string
	}{
		{ErrPINIncorrect, stateWrongPIN},
		{ErrPINLocked, statePINLocked},
		{ErrCertificateExpired, stateExpired},
		{ErrCertificateNotYetValid, stateNotYetValid},
		{ErrKeyMismatch, stateKeyMismatch},
		{ErrKeyNotFound, stateKeyNotFound},
		{ErrTokenAbsent, stateWaiting},
		{ErrClosed, stateClosed},
	} {
		if errors.Is(err, s.err) {
			return s.state
		}
	}
	return stateFailed
}

// A BoundSigner is a crypto.Signer on a Keeper's token, bound to one certificate:
// Public is that certificate's key, and Sign refuses with ErrCertificateChanged if
// the token came back with another one. Made by Keeper.CryptoSigner for one
// document, it carries that document's context, because crypto.Signer has none.
type BoundSigner struct {
	k     *Keeper
	ctx   context.Context
	cert  *x509.Certificate
	chain []*x509.Certificate
}

// Public returns the public key of the bound certificate.
func (s *BoundSigner) Public() crypto.PublicKey { return s.cert.PublicKey }

// Sign signs like Keeper.Sign with the context given to CryptoSigner. rand is not
// used: the token has its own random source.
func (s *BoundSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.sign(s.ctx, s.cert, digest, opts)
}

// Certificate returns the bound signing certificate.
func (s *BoundSigner) Certificate() *x509.Certificate { return s.cert }

// Chain returns the bound certificate and its chain, in the order to embed them.
func (s *BoundSigner) Chain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), s.chain...)
}
