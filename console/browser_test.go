package console

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"scanstation/internal/browser"
)

// pictureDesk is the test desk with previews that decode: a page with a few grey lines of
// "text" and the certification mark's box on page 1, so the layout is seen with real images.
type pictureDesk struct{ *desk }

func (d pictureDesk) Preview(ctx context.Context, id int64, page, width int) ([]byte, string, error) {
	if _, _, err := d.desk.Preview(ctx, id, page, width); err != nil {
		return nil, "", err
	}
	return picture(page)
}

func (d pictureDesk) FailedPreview(ctx context.Context, name string, page, width int) ([]byte, string, error) {
	if _, _, err := d.desk.FailedPreview(ctx, name, page, width); err != nil {
		return nil, "", err
	}
	return picture(page)
}

func picture(page int) ([]byte, string, error) {
	img := image.NewGray(image.Rect(0, 0, 900, 1273))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	for y := 150; y < 1100; y += 40 {
		for x := 100; x < 800; x++ {
			img.SetGray(x, y, color.Gray{Y: 90})
		}
	}
	if page == 1 {
		for x := 560; x < 840; x++ {
			img.SetGray(x, 1150, color.Gray{Y: 0})
			img.SetGray(x, 1230, color.Gray{Y: 0})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/jpeg", nil
}

// The pages in chromium at 1366×768: no sideways scroll, the queue updates by itself within
// 2 s, and the document page's keys work (j/k move along the review list, r goes to the
// reason, a approves for a clerk). Screenshots go to $CONSOLE_SCREENSHOTS when it is set.
func TestInChromium(t *testing.T) {
	d := newDesk()
	d.report = ReportView{Folders: []FolderFigures{
		{HotFolder: "Công văn đến", Received: 40, Digitised: 31, Pages: 97, Signed: 31, Refused: 3, ToSignature: 95 * time.Minute},
		{HotFolder: "tờ trình", Received: 12, Digitised: 12, Pages: 20, Signed: 12, ToSignature: 10 * time.Minute},
	}, Total: FolderFigures{Received: 52, Digitised: 43, Pages: 117, Signed: 43, Refused: 3, ToSignature: 70 * time.Minute}}
	s := newStation(t, Options{Desk: pictureDesk{d}})
	b := browser.New(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	shot := func(name string) {
		if shots != "" {
			b.Screenshot(filepath.Join(shots, name+".png"))
		}
	}
	noSidewaysScroll := func(page string) {
		t.Helper()
		wide, err := chromedp.Run(b.Context(), chromedp.Evaluate[bool]("document.documentElement.scrollWidth > document.documentElement.clientWidth"))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("%s scrolls sideways at %d px", page, browser.Width)
		}
	}
	waitPath := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			u, err := url.Parse(b.Location())
			if err == nil && u.RequestURI() == want {
				// The keys work once console.js has run: wait for the page to be loaded.
				if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](`document.readyState === "complete"`,
					chromedp.WithPollingTimeout(5*time.Second))); err == nil {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the browser is at %s, want %s", b.Location(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	key := func(k string) {
		t.Helper()
		if _, err := chromedp.Run(b.Context(), chromedp.KeyEvent(k)); err != nil {
			t.Fatal(err)
		}
	}

	b.Navigate(s.srv.URL + "/login")
	b.SetValue("#name", "Lan")
	b.SetValue("#password", lanPassword)
	b.Click("button[type=submit]")
	b.WaitVisible("#queue")
	if got := b.Text(`[data-count="review"]`); got != "3" {
		t.Errorf("review count %q", got)
	}
	noSidewaysScroll("the queue")
	shot("queue")

	// A document arrives: the page shows it within 2 s, without a reload.
	b.WaitVisible("#live")
	start := time.Now()
	d.mu.Lock()
	d.docs[4] = &DocumentView{ID: 4, Name: "tờ trình <b>số 9</b>.pdf", State: "awaiting_approval", Pages: []PageView{{Number: 1}}}
	d.order = append(d.order, 4)
	d.mu.Unlock()
	b.WaitVisible(`#review a[href="/doc/4"]`)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the queue showed the new document after %v", took)
	}
	if got := b.Text(`[data-count="review"]`); got != "4" {
		t.Errorf("review count after a new document: %q", got)
	}
	if got := b.Text(`#review a[href="/doc/4"]`); got != "tờ trình <b>số 9</b>.pdf" {
		t.Errorf("the new document's name reads %q", got)
	}

	b.Navigate(s.srv.URL + "/doc/1")
	waitPath("/doc/1")
	b.WaitVisible("#approve")
	if n := b.Count(`img[src="/doc/1/page/2.jpg?w=900"]`); n != 1 {
		t.Errorf("%d previews of page 2", n)
	}
	noSidewaysScroll("the document page")
	shot("document")
	key("j")
	waitPath("/doc/2")
	key("k")
	waitPath("/doc/1")
	b.WaitVisible("#approve")
	key("r")
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](`document.activeElement && document.activeElement.id === "reject-reason"`,
		chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		t.Errorf("r does not go to the reason: %v", err)
	}
	// Typing in the reason is typing, not keys: an "a" there approves nothing.
	key("a")
	if hasCall(d, "approve 1 by Lan/clerk") {
		t.Fatal("an a typed in the reason approved the document")
	}
	if _, err := chromedp.Run(b.Context(), chromedp.Evaluate[bool]("document.activeElement.blur(), true")); err != nil {
		t.Fatal(err)
	}
	key("a")
	waitPath("/doc/1?done=approved")
	if !hasCall(d, "approve 1 by Lan/clerk") {
		t.Errorf("a did not approve: %v", d.called())
	}
	if got := b.Text(".flash"); got != "Đã duyệt. Trạm đang ký số bản sao điện tử." {
		t.Errorf("after a: %q", got)
	}

	for _, page := range []string{"failed", "report"} {
		b.Navigate(s.srv.URL + "/" + page)
		b.WaitVisible(".card")
		noSidewaysScroll("/" + page)
		shot(page)
	}
	if n := b.Count("svg.chart g.bar"); n != 2 {
		t.Errorf("%d bars in the chart", n)
	}
	if !strings.Contains(b.Text("h1"), "Báo cáo tháng") {
		t.Errorf("the report's title: %q", b.Text("h1"))
	}
}
