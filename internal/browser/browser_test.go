package browser

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

const vietnamese = "Văn thư — bản sao điện tử"

// page is a tiny console stand-in: Vietnamese text, a button whose script
// changes it, an input, an HttpOnly cookie, and a form POST that insists on
// a CSRF token, which the page's own script never sends.
const page = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thử</title></head>
<body>
<h1 id="title">` + vietnamese + `</h1>
<input id="number" name="number">
<button id="turn" onclick="document.getElementById('title').textContent = 'Đã xoay trang 2 — ' + document.getElementById('number').value">Xoay</button>
</body></html>`

func server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cr3t", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("POST /approve", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		switch {
		case err != nil || c.Value != "s3cr3t":
			http.Error(w, "no session", http.StatusUnauthorized)
		case r.PostFormValue("csrf") != "good":
			http.Error(w, "không có mã CSRF", http.StatusForbidden)
		default:
			io.WriteString(w, "approved "+r.PostFormValue("id"))
		}
	})
	mux.HandleFunc("POST /elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHarness(t *testing.T) {
	srv := server(t)
	b := New(t)
	b.Navigate(srv.URL + "/")

	if got := b.Text("#title"); got != vietnamese {
		t.Errorf("title reads %q, want %q", got, vietnamese)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	b.Screenshot(shot)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != Width || h < Height {
		t.Errorf("the screenshot is %d×%d, want %d wide and at least %d tall", w, h, Width, Height)
	}

	b.SetValue("#number", "42/UBND")
	b.Click("#turn")
	if got, want := b.Text("#title"), "Đã xoay trang 2 — 42/UBND"; got != want {
		t.Errorf("after the click the title reads %q, want %q", got, want)
	}
	if n := b.Count("#approve"); n != 0 {
		t.Errorf("%d elements #approve, want none", n)
	}
	if n := b.Count("button"); n != 1 {
		t.Errorf("%d buttons, want 1", n)
	}

	var session bool
	for _, c := range b.Cookies() {
		if c.Name == "session" {
			session = c.HTTPOnly && c.Value == "s3cr3t"
		}
	}
	if !session {
		t.Errorf("the browser does not hold the HttpOnly session cookie: %+v", b.Cookies())
	}

	// The page's cookie goes with a POST from the page; the missing CSRF
	// token is what the server refuses.
	r := b.PostForm(srv.URL+"/approve", url.Values{"id": {"7"}})
	if r.Status != http.StatusForbidden || r.Body != "không có mã CSRF\n" {
		t.Errorf("POST without a CSRF token: %d %q, want 403", r.Status, r.Body)
	}
	r = b.PostForm(srv.URL+"/approve", url.Values{"id": {"7"}, "csrf": {"good"}})
	if r.Status != http.StatusOK || r.Body != "approved 7" {
		t.Errorf("POST with the token: %d %q, want 200 \"approved 7\"", r.Status, r.Body)
	}
	r = b.PostForm(srv.URL+"/elsewhere", nil)
	if r.Type != "opaqueredirect" {
		t.Errorf("a redirect answered %+v, want it not followed (type opaqueredirect)", r)
	}
}

// A page may only reach the station itself: a name on the internet does not
// resolve, so an asset from a CDN shows as missing.
func TestNoInternetNames(t *testing.T) {
	srv := server(t)
	b := New(t)
	b.Navigate(srv.URL + "/")
	r := b.Fetch("GET", "/", "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("fetching the page itself: %+v", r)
	}
	js := `fetch("http://cdn.example.com/app.js", {mode: "no-cors"}).then(() => "reached", () => "refused")`
	if got := run(b, "fetching from a CDN", chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise)); got != "refused" {
		t.Errorf("fetching from cdn.example.com: %s, want refused", got)
	}
}
