package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"scanstation/internal/browser"
	"scanstation/internal/samplescan"
)

// The console's users in these tests. Their passwords are typed into the login form; the
// clerk's name has Vietnamese letters so the approver's name is seen to reach the XMP, the
// sidecar and the page whole.
const (
	operatorName     = "nhapmay"
	operatorPassword = "mật khẩu nhập máy"
	clerkName        = "vănthư"
	clerkPassword    = "mật khẩu văn thư"
)

// The hostile record field of TestConsoleScanToSignedCopy: if the page ever put it in as
// markup, window.pwned would be set and a <b> would appear.
const hostileSubject = "<script>window.pwned=1</script><b>x</b>"

// consoleStation is a dev station whose hot-folder waits for the clerk's approval, with an
// operator and a clerk added as an administrator would (`scanstation user add
// --password-stdin`), and its daemon running with the console on a free loopback port, in
// Vietnamese, the office's language. It returns the station's folder, the running daemon and
// the console's address.
func consoleStation(t *testing.T) (dir string, d *daemon, addr string) {
	t.Helper()
	dir, cfg := newStation(t)
	yaml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	required := strings.Replace(string(yaml), `approval: "none"`, `approval: "required"`, 1)
	if required == string(yaml) {
		t.Fatalf("%s has no approval: \"none\" to change", cfg)
	}
	if err := os.WriteFile(cfg, []byte(required), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role, password string }{
		{operatorName, "operator", operatorPassword},
		{clerkName, "clerk", clerkPassword},
	} {
		cmd := exec.Command(binary, "user", "add", u.name, "--role", u.role, "--password-stdin", "--config", cfg)
		cmd.Stdin = strings.NewReader(u.password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scanstation user add %s: %v\n%s", u.name, err, out)
		}
	}
	d = startDaemonEnv(t, cfg, "SCANSTATION_CONSOLE_LISTEN=127.0.0.1:0", "SCANSTATION_STATION_LANGUAGE=vi")
	t.Cleanup(func() {
		// Not d.stop: it waits for "station running", which this daemon says in Vietnamese.
		// The console listens after main installed its signal handler, so an interrupt now
		// stops the station as systemd's would.
		if d.cmd.ProcessState == nil && addr != "" {
			d.cmd.Process.Signal(os.Interrupt)
			if err := d.cmd.Wait(); err != nil {
				t.Errorf("the daemon did not stop cleanly: %v\n%s", err, d.log)
			}
		}
	})
	listening := regexp.MustCompile(`msg="console for the operator and the clerk" address=(http://127\.0\.0\.1:\d+)`)
	waitFor(t, "the console to listen", time.Minute, func() bool {
		m := listening.FindStringSubmatch(d.log.String())
		if m != nil {
			addr = m[1]
		}
		return addr != ""
	}, d.log)
	return dir, d, addr
}

// consolePage is a browser at the console: the steps a person takes, each failing the test
// with what it waited for.
type consolePage struct {
	t    *testing.T
	b    *browser.Browser
	addr string
}

// eval runs a script on the page and returns its value.
func eval[T any](p *consolePage, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.b.Context(), chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("browser: %s: %v", js, err)
	}
	return v
}

// submit clicks a form's button and waits for the page the server answers with: the old page's
// marker gone, the new one loaded (so console.js has run and its keys work).
func (p *consolePage) submit(selector string) {
	p.t.Helper()
	eval[bool](p, "window.__oldPage = true")
	p.b.Click(selector)
	p.waitLoaded()
}

// waitLoaded waits until the page shown is not the one marked by submit and has loaded.
// Asking while the browser navigates fails ("target navigated"): it is asked again.
func (p *consolePage) waitLoaded() {
	p.t.Helper()
	deadline := time.Now().Add(p.b.Timeout)
	for {
		ctx, cancel := context.WithTimeout(p.b.Context(), 5*time.Second)
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__oldPage && document.readyState === "complete"`))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("browser: no new page after the form was sent (at %s): %v", p.b.Location(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *consolePage) open(path string) {
	p.t.Helper()
	p.b.Navigate(p.addr + path)
	p.waitLoaded()
}

func (p *consolePage) login(name, password string) {
	p.t.Helper()
	p.open("/login")
	p.b.SetValue("#name", name)
	p.b.SetValue("#password", password)
	p.submit("button[type=submit]")
}

func (p *consolePage) logout() {
	p.t.Helper()
	p.submit(`form[action="/logout"] button`)
	p.b.WaitVisible("#password")
}

// path is the address shown now, without the console's origin.
func (p *consolePage) path() string {
	p.t.Helper()
	u, err := url.Parse(p.b.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return u.RequestURI()
}

func (p *consolePage) csrf() string {
	p.t.Helper()
	return eval[string](p, `document.querySelector('input[name="csrf"]').value`)
}

// textOf is the text of every element matching selector, shown or not (a closed <details>).
func (p *consolePage) textOf(selector string) []string {
	p.t.Helper()
	sel, _ := json.Marshal(selector)
	return eval[[]string](p, "Array.from(document.querySelectorAll("+string(sel)+"), e => e.textContent.replace(/\\s+/g, ' ').trim())")
}

// TestConsoleScanToSignedCopy is issue 14's walk through the console in a real browser,
// against the daemon as installed (`scanstation run`, dev token, Tesseract): an operator sees
// a dropped scan arrive in the queue without reloading, turns its upside-down page 2 and
// corrects its number; the operator cannot approve; the clerk approves with the keyboard; the
// signed copy in the outbox has page 2 upright, the corrected number in XMP, sidecar and
// edXML, and the clerk as approver; the document page shows the verification and the audit
// trail. A request without a session or without its CSRF token is refused, a record field
// carrying a script stays text, and ten wrong passwords lock the login. With
// SCANSTATION_SCREENSHOTS=DIR the pages are saved there as PNGs (docs/console/).
func TestConsoleScanToSignedCopy(t *testing.T) {
	dir, d, addr := consoleStation(t)
	b := browser.New(t)
	// A step here may wait for Tesseract on a busy machine (a turned page is read again).
	b.Timeout = 2 * time.Minute
	p := &consolePage{t: t, b: b, addr: addr}
	shots := os.Getenv("SCANSTATION_SCREENSHOTS")
	shot := func(name string) {
		t.Helper()
		if shots != "" {
			b.Screenshot(filepath.Join(shots, name+".png"))
		}
	}

	p.open("/")
	if got := p.path(); got != "/login" {
		t.Fatalf("without a login the console shows %s, want /login", got)
	}
	shot("login")

	// 1. The operator logs in and watches the queue while the scans are dropped.
	p.login(operatorName, operatorPassword)
	b.WaitVisible("#queue")
	b.WaitVisible("#live")
	eval[bool](p, "window.__sameQueuePage = true")

	inbox := filepath.Join(dir, "inbox")
	page1, err := samplescan.Render(samplescan.Options{DPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	page2Lines := []string{"DANH SÁCH CÁN BỘ THAM GIA", "Nguyễn Văn An, chuyên viên văn thư", "Trần Thị Bình, chuyên viên lưu trữ",
		"Lê Văn Cường, cán bộ công nghệ thông tin", "Phạm Thị Dung, cán bộ tổng hợp"}
	page2, err := samplescan.Render(samplescan.Options{DPI: 200, Lines: page2Lines, UpsideDown: true})
	if err != nil {
		t.Fatal(err)
	}
	var tiff bytes.Buffer
	if err := samplescan.WriteTIFF(&tiff, []image.Image{page1, page2}, 200); err != nil {
		t.Fatal(err)
	}
	// The hostile scan's sidecar is written before the scan, as a scanner's software would.
	sidecar := fmt.Sprintf("subject: %q\n", hostileSubject)
	if err := os.WriteFile(filepath.Join(inbox, "to-trinh.yaml"), []byte(sidecar), 0o644); err != nil {
		t.Fatal(err)
	}
	writeImage(t, filepath.Join(inbox, "to-trinh.jpg"), samplescan.Options{DPI: 200, Paper: "A5",
		Lines: wordy("TỜ TRÌNH", "Số: 77/TTr-VP")}, "jpeg")
	if err := os.WriteFile(filepath.Join(inbox, "ke-hoach.tif"), tiff.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// And one the station refuses, for the refused scans page: text named as a TIFF.
	if err := os.WriteFile(filepath.Join(inbox, "hong.tif"), []byte("không phải ảnh quét\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	b.WaitVisible(`#review a[href^="/doc/"]`)
	waitFor(t, "both scans in the queue's review list", 4*time.Minute, func() bool {
		return len(p.textOf("#review a")) == 2
	}, d.log)
	if !eval[bool](p, "window.__sameQueuePage === true") {
		t.Error("the queue page was reloaded to show the new scans; it should update by itself")
	}
	hrefs := eval[map[string]string](p, `Object.fromEntries(Array.from(document.querySelectorAll("#review a"), a => [a.textContent, a.getAttribute("href")]))`)
	doc, hostile := hrefs["ke-hoach.tif"], hrefs["to-trinh.jpg"]
	if doc == "" || hostile == "" {
		t.Fatalf("the review list holds %v", hrefs)
	}
	waitFor(t, "the refused scan among the last errors", time.Minute, func() bool {
		return strings.Contains(strings.Join(p.textOf("#errors li"), "\n"), "hong.tif")
	}, d.log)
	if got := b.Text(`[data-count="review"]`); got != "2" {
		t.Errorf("the queue counts %s waiting for review, want 2", got)
	}
	// Times are the office's (mark.time_zone), on the queue as on the document page.
	office, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	updated := p.textOf("#review td:nth-child(4)")[0]
	if at, err := time.ParseInLocation("2006-01-02 15:04", updated, office); err != nil || time.Since(at).Abs() > 5*time.Minute {
		t.Errorf("the queue says a document was updated at %q, want about %s (office time)", updated, time.Now().In(office).Format("15:04"))
	}
	shot("queue")

	// 5. The record field carrying a script is text on the document page.
	p.submit(fmt.Sprintf(`#review a[href=%q]`, hostile))
	if got := p.path(); got != hostile {
		t.Fatalf("clicking to-trinh.jpg opened %s, want %s", got, hostile)
	}
	if pwned := eval[bool](p, `typeof window.pwned !== "undefined"`); pwned {
		t.Error("the script in the sidecar's subject ran on the document page")
	}
	if got := eval[string](p, `document.getElementById("f-subject").value`); got != hostileSubject {
		t.Errorf("the subject reads %q, want the sidecar's text as it is", got)
	}
	if n := eval[int](p, `document.querySelectorAll("main b, main script").length`); n != 0 {
		t.Errorf("the sidecar's markup became %d elements on the page", n)
	}
	// The operator sends it back, so the refused scans page has one with a preview.
	b.SetValue("#sendback-reason", "trang mờ, cần quét lại")
	p.submit("form.sendback button")

	// 1, continued. The operator opens the plan and turns page 2 the right way up. OCR may
	// have found the way up itself; then the operator turns it back and again, so the turn
	// the person forces is what the copy gets either way (as TestDeskReviewThenApprove).
	p.open(doc)
	b.WaitVisible("#page-2 img")
	half := "#page-2 button[name=turn][value=half]"
	if strings.Contains(b.Text("#page-2 figcaption"), "180°") {
		p.submit(half)
		if got := b.Text("#page-2 figcaption"); strings.Contains(got, "180°") {
			t.Fatalf("page 2 after a half turn from 180°: %q", got)
		}
	}
	p.submit(half)
	if got := p.path(); got != doc+"?done=rotated" {
		t.Errorf("after turning page 2 the browser is at %s", got)
	}
	if got := b.Text("#page-2 figcaption"); !strings.Contains(got, "đã xoay 180°") {
		t.Errorf("page 2 after the turn: %q, want it turned 180°", got)
	}
	if texts := p.textOf(".texts pre"); len(texts) != 2 || !strings.Contains(texts[1], "Trần Thị Bình") {
		t.Errorf("page 2 read after the turn: %q", texts)
	}

	// The number, through the form.
	if got := eval[string](p, `document.getElementById("f-code_number").value`); got != "2417" {
		t.Logf("OCR read the number as %q", got)
	}
	b.SetValue("#f-code_number", "4242")
	p.submit("form.record button")
	if got := p.path(); got != doc+"?done=corrected" {
		t.Errorf("after saving the record the browser is at %s: %q", got, p.textOf(".field-error"))
	}
	if got := eval[string](p, `document.getElementById("f-code_number").value`); got != "4242" {
		t.Errorf("the number after the correction: %q", got)
	}
	if got := b.Text("#field-code_number label"); !strings.Contains(got, "do "+operatorName+" nhập") {
		t.Errorf("the number's label %q does not say who typed it", got)
	}
	shot("document")

	// 2. The operator cannot approve: no button, and the POST with the page's token is 403.
	if n := b.Count("#approve"); n != 0 {
		t.Errorf("the operator's page has %d approve buttons", n)
	}
	if r := b.PostForm(addr+doc+"/approve", url.Values{"csrf": {p.csrf()}}); r.Status != http.StatusForbidden {
		t.Errorf("the operator's POST to approve: %d %s, want 403", r.Status, r.Type)
	}
	// 4. A POST without the CSRF token is refused, and changes nothing.
	if r := b.PostForm(addr+doc+"/rotate", url.Values{"page": {"1"}, "turn": {"half"}}); r.Status != http.StatusForbidden {
		t.Errorf("a turn without the CSRF token: %d %s, want 403", r.Status, r.Type)
	}
	// ... and one without a session, even carrying a live session's token.
	token := p.csrf()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(addr+doc+"/rotate", url.Values{"csrf": {token}, "page": {"1"}, "turn": {"half"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a turn without a session: %d, want 401", resp.StatusCode)
	}
	resp, err = noRedirect.Get(addr + doc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("the document page without a session: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	p.open(doc)
	if got := b.Text("#page-1 figcaption"); strings.Contains(got, "đã xoay") {
		t.Errorf("page 1 was turned by a refused request: %q", got)
	}

	p.open("/failed")
	waitFor(t, "the scan sent back among the refused scans", time.Minute, func() bool {
		p.open("/failed")
		return strings.Contains(b.Text("main"), "to-trinh.jpg") && strings.Contains(b.Text("main"), "hong.tif")
	}, d.log)
	shot("failed")

	// 3. The clerk approves with the keyboard; a POST without the token is refused first.
	p.logout()
	p.login(clerkName, clerkPassword)
	p.open(doc)
	b.WaitVisible("#approve")
	if r := b.PostForm(addr+doc+"/approve", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("the clerk's approval without the CSRF token: %d %s, want 403", r.Status, r.Type)
	}
	eval[bool](p, "window.__oldPage = true")
	if _, err := chromedp.Run(b.Context(), chromedp.KeyEvent("a")); err != nil {
		t.Fatal(err)
	}
	p.waitLoaded()
	if got := p.path(); got != doc+"?done=approved" {
		t.Fatalf("after the key a the browser is at %s: %q", got, b.Text("main"))
	}

	outbox := filepath.Join(dir, "outbox")
	pdf := filepath.Join(outbox, "ke-hoach.pdf")
	waitFor(t, "the approved copy in the outbox", 3*time.Minute, func() bool {
		return len(glob(outbox, "ke-hoach.json")) == 1
	}, d.log)
	if text := tool(t, "pdftotext", "-f", "2", "-l", "2", pdf, "-"); !strings.Contains(text, "Trần Thị Bình, chuyên viên lưu trữ") {
		t.Errorf("page 2 of the signed copy does not read upright:\n%s", text)
	}
	if meta := tool(t, "pdfinfo", "-meta", pdf); !strings.Contains(meta, ">4242<") || !strings.Contains(meta, clerkName) {
		t.Errorf("the XMP lacks the corrected number or the clerk %s:\n%s", clerkName, meta)
	}
	side, err := os.ReadFile(filepath.Join(outbox, "ke-hoach.json"))
	if err != nil {
		t.Fatal(err)
	}
	var record struct {
		ApprovedBy string `json:"approved_by"`
	}
	if err := json.Unmarshal(side, &record); err != nil {
		t.Fatal(err)
	}
	if record.ApprovedBy != clerkName {
		t.Errorf("the sidecar's approved_by is %q, want %q", record.ApprovedBy, clerkName)
	}
	if s := string(side); !strings.Contains(s, `"value": "4242"`) || !strings.Contains(s, `"by": "`+operatorName+`"`) {
		t.Errorf("the sidecar lacks the corrected number with who typed it:\n%s", side)
	}
	envelope, err := os.ReadFile(filepath.Join(outbox, "ke-hoach.edxml"))
	if err != nil {
		t.Fatalf("no edXML package: %v", err)
	}
	if !bytes.Contains(envelope, []byte("<edXML:CodeNumber>4242</edXML:CodeNumber>")) {
		t.Errorf("the edXML lacks the corrected number")
	}

	// The document page shows the signature's verification once the copy is signed.
	waitFor(t, "the verification on the document page", time.Minute, func() bool {
		p.open(doc)
		return b.Count(".verify") == 1
	}, d.log)
	// The dev token's copy is B-B without revocation data: offline, EU DSS says INDETERMINATE.
	if got := b.Text(".verify strong"); got != "INDETERMINATE" {
		t.Errorf("the verification shows %q (%s), want INDETERMINATE", got, b.Text(".verify"))
	}
	if n := b.Count("#approve"); n != 0 {
		t.Errorf("the signed document still offers %d approve buttons", n)
	}

	// 7. The audit trail names who did each step: the turn(s), the correction with before
	// and after, the approval.
	trail := p.textOf(".audit-list li")
	var steps []string
	for _, e := range trail {
		switch {
		case strings.Contains(e, operatorName+" đã xoay một trang"):
			steps = append(steps, "rotate")
		case strings.Contains(e, operatorName+" đã sửa thông tin văn bản") && strings.Contains(e, `→ "4242"`):
			steps = append(steps, "correct")
		case strings.Contains(e, clerkName+" đã duyệt"):
			steps = append(steps, "approve")
		default:
			steps = append(steps, "?")
		}
	}
	if got := strings.Join(steps, " "); got != "rotate correct approve" && got != "rotate rotate correct approve" {
		t.Errorf("the audit trail reads %q", trail)
	}

	p.open("/report")
	b.WaitVisible("svg.chart")
	shot("report")

	// 6. Ten wrong passwords lock the login; the right one is then refused too, in plain words.
	p.logout()
	for i := range 10 {
		p.login(operatorName, fmt.Sprintf("sai mật khẩu %d", i))
		want := "Sai tên đăng nhập hoặc mật khẩu."
		if i == 9 {
			want = "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút."
		}
		if got := b.Text(".alert"); got != want {
			t.Errorf("wrong password %d: %q, want %q", i+1, got, want)
		}
	}
	p.login(operatorName, operatorPassword)
	if got := p.path(); got != "/login" {
		t.Errorf("the right password after ten wrong ones let the operator in, at %s", got)
	}
	if got := b.Text(".alert"); got != "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." {
		t.Errorf("the locked login says %q", got)
	}

	if strings.Contains(d.log.String(), "panic") {
		t.Errorf("the daemon's log holds a panic:\n%s", d.log)
	}
}
