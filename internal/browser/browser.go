// Package browser drives Debian's chromium, headless, for the console's
// end-to-end tests: a person's clicks and keystrokes in a real browser, not
// HTTP requests that skip the page's own forms, scripts and cookies.
//
// It is test support only: no production package imports it. Every helper
// takes the test and fails it (t.Fatalf) when the browser cannot do what was
// asked within Timeout, naming the selector or address, so a test reads as
// a list of steps.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Width and Height are the window every test sees: a typical office PC's
// screen (issue 14: "It must work at 1366×768").
const (
	Width  = 1366
	Height = 768
)

// Browser is one headless chromium with one tab and its own empty profile,
// so cookies never leak from one test to another.
type Browser struct {
	t   testing.TB
	ctx context.Context

	// Timeout bounds each step. A selector that never appears fails the
	// test after this long instead of hanging until the test binary's
	// deadline. Default 15 s: chromium's first start on a busy 2-core
	// machine takes a few seconds.
	Timeout time.Duration
}

// New starts chromium for t and stops it when t ends. A machine without
// chromium fails the test (never skips it): scripts/setup.sh installs it.
func New(t testing.TB) *Browser {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("browser: Debian's chromium is not installed (%v); scripts/setup.sh installs it (apt-get install chromium)", err)
	}
	// chromium's helper processes may still write to the profile for a
	// moment after the browser exits; the profile is removed below, after
	// they are gone, and before t.TempDir's own cleanup would complain.
	profile := filepath.Join(t.TempDir(), "profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatalf("browser: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(Width, Height),
		chromedp.DisableGPU,
		// The console must serve every asset itself (the office network has
		// no internet): no name other than localhost resolves, so a page
		// that reaches for a CDN shows it in the test. chromium applies the
		// rules to address literals too, hence the loopback addresses.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]"),
		chromedp.Flag("lang", "vi-VN"),
	)
	if os.Geteuid() == 0 {
		// chromium's sandbox refuses to run as root, which CI containers are.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx, Timeout: 15 * time.Second}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		var err error
		for range 50 {
			if err = os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("browser: removing chromium's profile %s: %v", profile, err)
	})
	// The first action starts the browser, and the context it runs in is the
	// browser's lifetime (so no timeout here: chromedp gives up on its own if
	// chromium does not answer within 20 s). Starting it here makes a broken
	// chromium fail in New, where the message says so, not in the first step.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height)); err != nil {
		t.Fatalf("browser: starting %s: %v", exe, err)
	}
	return b
}

// Context is the tab's context, for chromedp actions the helpers do not
// cover: chromedp.Run(b.Context(), ...).
func (b *Browser) Context() context.Context { return b.ctx }

// run runs one step under Timeout; what says what the step was, for the
// failure message.
func run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("not done within %v", b.Timeout)
		}
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Navigate opens the address and waits until the page has loaded.
func (b *Browser) Navigate(address string) {
	b.t.Helper()
	run(b, "opening "+address, chromedp.Navigate(address))
}

// Location is the address of the page shown now.
func (b *Browser) Location() string {
	b.t.Helper()
	return run(b, "reading the address", chromedp.Location())
}

// Click clicks the first element matching the CSS selector, once it is
// visible.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	run(b, "clicking "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// SetValue sets the value of the input, textarea or select matching the
// CSS selector, as if typed.
func (b *Browser) SetValue(selector, value string) {
	b.t.Helper()
	run(b, "setting "+selector, chromedp.SetValue(chromedp.CSS(selector), value, chromedp.NodeVisible))
}

// SendKeys types text into the element matching the CSS selector, key by
// key (keyboard shortcuts, too: kb.Enter and friends from
// github.com/chromedp/chromedp/kb).
func (b *Browser) SendKeys(selector, text string) {
	b.t.Helper()
	run(b, "typing into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// Text is the visible text of the first element matching the CSS selector,
// as a person reads it (innerText).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return run(b, "reading "+selector, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible))
}

// WaitVisible waits until an element matching the CSS selector is shown.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	run(b, "waiting for "+selector+" to be shown", chromedp.WaitVisible(chromedp.CSS(selector)))
}

// WaitNotPresent waits until no element matches the CSS selector.
func (b *Browser) WaitNotPresent(selector string) {
	b.t.Helper()
	run(b, "waiting for "+selector+" to go", chromedp.WaitNotPresent(chromedp.CSS(selector)))
}

// Count is how many elements match the CSS selector now, without waiting:
// for "the approve button is absent".
func (b *Browser) Count(selector string) int {
	b.t.Helper()
	sel, err := json.Marshal(selector)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return run(b, "counting "+selector, chromedp.Evaluate[int]("document.querySelectorAll("+string(sel)+").length"))
}

// Screenshot saves the whole page, Width pixels wide and as tall as the
// page (at least Height), as a PNG at path.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	png := run(b, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browser: saving the screenshot: %v", err)
	}
}

// Cookies are the cookies the browser would send to the page shown now,
// HttpOnly ones included.
func (b *Browser) Cookies() []*network.Cookie {
	b.t.Helper()
	return run(b, "reading cookies", chromedp.Action[[]*network.Cookie](
		func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
			r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
			if err != nil {
				return nil, err
			}
			return r.Cookies, nil
		}))
}

// Response is what a request made from the page got back.
type Response struct {
	Status int    // 0 when Type is "opaqueredirect"
	Type   string // fetch's Response.type: "basic", or "opaqueredirect" for a redirect
	Body   string
}

// PostForm sends a form POST from the page, with the page's cookies, as a
// script on the page could: for checking that the server refuses it (no
// CSRF token, a role not allowed). Redirects are not followed, so a
// refusal that redirects to the login page shows as Type
// "opaqueredirect" rather than as the login page's 200.
func (b *Browser) PostForm(address string, form url.Values) Response {
	b.t.Helper()
	return b.Fetch("POST", address, "application/x-www-form-urlencoded", form.Encode())
}

// Fetch sends a request from the page with fetch() (same-origin
// credentials, redirects not followed) and returns the answer.
func (b *Browser) Fetch(method, address, contentType, body string) Response {
	b.t.Helper()
	args, err := json.Marshal(struct {
		Method, Address, ContentType, Body string
	}{method, address, contentType, body})
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	js := `(async (a) => {
		const init = {method: a.Method, credentials: "same-origin", redirect: "manual", headers: {}};
		if (a.Method !== "GET" && a.Method !== "HEAD") {
			init.headers["Content-Type"] = a.ContentType;
			init.body = a.Body;
		}
		const r = await fetch(a.Address, init);
		return {Status: r.status, Type: r.type, Body: await r.text()};
	})(` + string(args) + `)`
	return run(b, method+" "+address, chromedp.Evaluate[Response](js, chromedp.EvalAwaitPromise))
}
