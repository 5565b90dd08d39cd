package console

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"scanstation/journal"
)

// session logs name in and returns the browser and the session's CSRF token.
func (s *station) session(name, password string) (*http.Client, string) {
	s.t.Helper()
	c := s.browser()
	if a := s.login(c, name, password); a.status != http.StatusSeeOther {
		s.t.Fatalf("login %s: %d", name, a.status)
	}
	home := s.do(c, "GET", "/", nil, nil)
	if home.status != http.StatusOK {
		s.t.Fatalf("GET / as %s: %d\n%s", name, home.status, home.body)
	}
	return c, csrfOf(s.t, home.body)
}

func hasCall(d *desk, want string) bool { return slices.Contains(d.called(), want) }

func TestQueuePage(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, _ := s.session("Minh", minhPassword)
	a := s.do(c, "GET", "/", nil, nil)
	// approved and built both wait for the token; awaiting_validation is signed; archived is delivered.
	for key, n := range map[string]string{"received": "1", "recognising": "2", "review": "3", "token": "3", "signed": "5", "delivered": "10", "failed": "1"} {
		if !strings.Contains(a.body, `data-count="`+key+`">`+n+`<`) {
			t.Errorf("count %s is not %s", key, n)
		}
	}
	for _, want := range []string{"Chờ duyệt", "Chờ thiết bị ký số", "Thiết bị ký số sẵn sàng: VNPT-CA", `href="/doc/1"`, `href="/doc/3"`,
		"mờ.pdf", "the page is blurred", `src="/static/console.js"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the queue page lacks %q", want)
		}
	}
	// The admin manages users and reviews nothing: no queue.
	admin, _ := s.session("Hoa", "mật khẩu của Hoa")
	if a := s.do(admin, "GET", "/", nil, nil); strings.Contains(a.body, `data-count=`) || a.status != http.StatusOK {
		t.Errorf("the admin got the queue: %d", a.status)
	}
	if a := s.do(admin, "GET", "/doc/1", nil, nil); a.status != http.StatusForbidden {
		t.Errorf("the admin opened a document: %d", a.status)
	}
}

func TestOperatorCannotApprove(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, csrf := s.session("Minh", minhPassword)
	a := s.do(c, "GET", "/doc/1", nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET /doc/1: %d", a.status)
	}
	if strings.Contains(a.body, "/approve") || strings.Contains(a.body, "/reject") || strings.Contains(a.body, "Duyệt và ký số") {
		t.Errorf("the operator's page offers approve or reject:\n%s", a.body)
	}
	// The operator's own actions are there.
	for _, want := range []string{`action="/doc/1/rotate"`, `action="/doc/1/drop"`, `action="/doc/1/correct"`, `action="/doc/1/sendback"`, `action="/doc/1/reocr"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the operator's page lacks %s", want)
		}
	}
	for _, path := range []string{"/doc/1/approve", "/doc/1/reject"} {
		a = s.do(c, "POST", path, url.Values{"csrf": {csrf}, "reason": {"mờ"}}, nil)
		if a.status != http.StatusForbidden {
			t.Errorf("POST %s as operator: %d, want 403", path, a.status)
		}
	}
	if calls := d.called(); len(calls) != 0 {
		t.Errorf("the Desk was asked: %v", calls)
	}
}

func TestClerkApproves(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, csrf := s.session("Lan", lanPassword)
	page := s.do(c, "GET", "/doc/1", nil, nil)
	if !strings.Contains(page.body, `id="approve-form"`) || !strings.Contains(page.body, "Duyệt và ký số") {
		t.Fatalf("the clerk's page has no approve button:\n%s", page.body)
	}
	// Keyboard: the page names the next document in the review order; the legend is there.
	if !strings.Contains(page.body, `data-next="/doc/2"`) || !strings.Contains(page.body, "<kbd>a</kbd>") {
		t.Error("the document page lacks its next link or the keys legend")
	}
	a := s.do(c, "POST", "/doc/1/approve", url.Values{"csrf": {csrf}}, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/doc/1?done=approved" {
		t.Fatalf("approve: %d to %q", a.status, a.header.Get("Location"))
	}
	if !hasCall(d, "approve 1 by Lan/clerk") {
		t.Errorf("the Desk was not asked to approve as Lan: %v", d.called())
	}
	after := s.do(c, "GET", a.header.Get("Location"), nil, nil)
	if !strings.Contains(after.body, "Đã duyệt. Trạm đang ký số bản sao điện tử.") || !strings.Contains(after.body, "Đã duyệt, chờ thiết bị ký số") {
		t.Errorf("after approving, the page says:\n%s", after.body)
	}
	if strings.Contains(after.body, `id="approve-form"`) {
		t.Error("an approved document still offers approval")
	}
	// A second approval (another tab, another clerk) changes nothing and says why.
	again := s.do(c, "POST", "/doc/1/approve", url.Values{"csrf": {csrf}}, nil)
	if again.status != http.StatusConflict || !strings.Contains(again.body, "đã ở trạng thái “Đã duyệt, chờ thiết bị ký số” (do Lan thực hiện)") {
		t.Errorf("approving twice: %d\n%s", again.status, again.body)
	}
	// A reject needs a reason.
	a = s.do(c, "POST", "/doc/2/reject", url.Values{"csrf": {csrf}, "reason": {"  "}}, nil)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Vui lòng nêu lý do.") {
		t.Errorf("reject without a reason: %d", a.status)
	}
	a = s.do(c, "POST", "/doc/2/reject", url.Values{"csrf": {csrf}, "reason": {"bản quét mờ"}}, nil)
	if a.status != http.StatusSeeOther || !hasCall(d, "reject 2 (bản quét mờ) by Lan") {
		t.Errorf("reject: %d, calls %v", a.status, d.called())
	}
}

func TestOperatorActions(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, csrf := s.session("Minh", minhPassword)
	post := func(path string, form url.Values) answer {
		form.Set("csrf", csrf)
		return s.do(c, "POST", path, form, nil)
	}
	if a := post("/doc/1/rotate", url.Values{"page": {"2"}, "turn": {"left"}}); a.status != http.StatusSeeOther {
		t.Errorf("rotate: %d\n%s", a.status, a.body)
	}
	if !hasCall(d, "rotate 1 page 2 turns 3 by Minh/operator") {
		t.Errorf("rotate left is not 3 quarter turns: %v", d.called())
	}
	for _, form := range []url.Values{
		{"page": {"3"}, "turn": {"left"}}, {"page": {"0"}, "turn": {"left"}}, {"page": {"../1"}, "turn": {"left"}}, {"page": {"1"}, "turn": {"sideways"}},
	} {
		if a := post("/doc/1/rotate", form); a.status != http.StatusNotFound {
			t.Errorf("rotate %v: %d, want 404", form, a.status)
		}
	}
	if a := post("/doc/1/drop", url.Values{"page": {"2"}}); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Vui lòng nêu lý do.") {
		t.Errorf("drop without a reason: %d", a.status)
	}
	a := post("/doc/1/drop", url.Values{"page": {"2"}, "reason": {"trang trắng"}})
	if a.status != http.StatusSeeOther || !hasCall(d, "drop 1 page 2 (trang trắng) by Minh") {
		t.Errorf("drop: %d, calls %v", a.status, d.called())
	}
	if after := s.do(c, "GET", a.header.Get("Location"), nil, nil); !strings.Contains(after.body, "Đã bỏ trang.") {
		t.Error("no flash message after dropping a page")
	}
	// A correction typed in decomposed Unicode reaches the station in NFC.
	if a := post("/doc/1/correct", url.Values{"code_number": {"2418"}, "type_name": {"Quye\u0302\u0301t đi\u0323nh"}}); a.status != http.StatusSeeOther {
		t.Errorf("correct: %d\n%s", a.status, a.body)
	}
	if !hasCall(d, "correct 1 code_number=2418 by Minh") || !hasCall(d, "correct 1 type_name=Quyết định by Minh") {
		t.Errorf("corrections: %v", d.called())
	}
	if a := post("/doc/2/drop", url.Values{"page": {"1"}, "reason": {"trắng"}}); a.status != http.StatusConflict || !strings.Contains(a.body, "trang duy nhất còn lại") {
		t.Errorf("dropping the last page: %d", a.status)
	}
	if a := post("/doc/99/reocr", url.Values{"page": {"1"}}); a.status != http.StatusNotFound {
		t.Errorf("reocr of an unknown document: %d", a.status)
	}
}

func TestFieldErrorShownBesideTheField(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, csrf := s.session("Minh", minhPassword)
	form := url.Values{"csrf": {csrf}}
	for _, f := range recordFields {
		form.Set(f, "x")
	}
	form.Set("code_number", "2417")
	form.Set("issued_date", "30/11/2026")
	a := s.do(c, "POST", "/doc/1/correct", form, nil)
	if a.status != http.StatusUnprocessableEntity {
		t.Fatalf("a refused date: %d", a.status)
	}
	start := strings.Index(a.body, `id="field-issued_date"`)
	if start < 0 {
		t.Fatal("no issued_date field")
	}
	field := a.body[start:]
	field = field[:strings.Index(field, `id="field-organ_name"`)]
	if !strings.Contains(field, `class="field-error"`) || !strings.Contains(field, "write the date as yyyy-mm-dd, not 30/11/2026") {
		t.Errorf("the message is not beside the date:\n%s", field)
	}
	if !strings.Contains(field, `value="30/11/2026"`) {
		t.Errorf("the typed value is not kept:\n%s", field)
	}
	if n := strings.Count(a.body, `class="field-error"`); n != 1 {
		t.Errorf("%d field messages, want 1", n)
	}
	// The other fields show their problems (Appendix VI) and confidence.
	if !strings.Contains(a.body, "the notation has no organ abbreviation") || !strings.Contains(a.body, "61 %") {
		t.Error("a field's problem or confidence is missing")
	}
}

func TestOCRTextIsInert(t *testing.T) {
	d := newDesk()
	d.docs[1].Pages[0].Text = `<script>alert(1)</script>`
	d.docs[1].Record[5].Value = `"><img src=x onerror=alert(2)>`
	s := newStation(t, Options{Desk: d})
	c, _ := s.session("Lan", lanPassword)
	a := s.do(c, "GET", "/doc/1", nil, nil)
	if strings.Contains(a.body, "<script>alert(1)") || strings.Contains(a.body, "<img src=x") {
		t.Errorf("text from the scan reached the page as markup:\n%s", a.body)
	}
	if !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the OCR text is not shown escaped:\n%s", a.body)
	}
}

func TestBadAddressesAre404(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, _ := s.session("Lan", lanPassword)
	for _, path := range []string{
		"/doc/abc", "/doc/-1", "/doc/0", "/doc/01", "/doc/1.0", "/doc/99", "/doc/99999999999999999999",
		"/doc/1/page/../../etc/passwd", "/doc/1/page/..%2f..%2fetc%2fpasswd", "/doc/1/page/0.jpg", "/doc/1/page/3.jpg",
		"/doc/1/page/1.png", "/doc/1/page/1", "/doc/1/page/01.jpg", "/doc/1/page/1.jpg?w=-5", "/doc/1/page/1.jpg?w=99999",
		"/failed/..%2f..%2fetc%2fpasswd/page/1.jpg", "/failed/../../etc/passwd/page/1.jpg", "/failed/nothere.pdf/page/1.jpg",
		"/failed/broken.pdf/page/1.jpg", "/failed/t%E1%BB%9D%20tr%C3%ACnh%2005.pdf/page/3.jpg",
	} {
		if a := s.do(c, "GET", path, nil, nil); a.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, a.status)
		}
	}
	d.mu.Lock()
	for _, q := range d.asked {
		if strings.Contains(q, "etc") || strings.Contains(q, "nothere") || strings.Contains(q, "broken") {
			t.Errorf("the Desk was asked %s", q)
		}
	}
	d.mu.Unlock()
	// What is there is served, privately, with an ETag that answers 304.
	a := s.do(c, "GET", "/doc/1/page/2.jpg?w=900", nil, nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(a.header.Get("Cache-Control"), "private") || a.body != "\xff\xd8 page 2 of 1" {
		t.Errorf("a preview: %d %v %q", a.status, a.header, a.body)
	}
	if again := s.do(c, "GET", "/doc/1/page/2.jpg?w=900", nil, map[string]string{"If-None-Match": a.header.Get("ETag")}); again.status != http.StatusNotModified {
		t.Errorf("a preview asked again with its ETag: %d", again.status)
	}
	if a := s.do(c, "GET", "/failed/"+url.PathEscape("tờ trình 05.pdf")+"/page/2.jpg", nil, nil); a.status != http.StatusOK || a.body != "\xff\xd8 tờ trình 05.pdf" {
		t.Errorf("a refused scan's preview: %d %q", a.status, a.body)
	}
}

func TestFailedPage(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d})
	c, csrf := s.session("Minh", minhPassword)
	a := s.do(c, "GET", "/failed", nil, nil)
	escaped := url.PathEscape("tờ trình 05.pdf")
	for _, want := range []string{"page 1 is blank", "the file is not a PDF", `/failed/` + escaped + `/page/1.jpg?w=200`,
		`action="/failed/` + escaped + `/discard"`, "Không xem trước được"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the failed page lacks %q", want)
		}
	}
	if strings.Contains(a.body, "/failed/broken.pdf/page/") {
		t.Error("a preview offered for a file that does not decode")
	}
	if a := s.do(c, "POST", "/failed/"+escaped+"/discard", url.Values{"csrf": {csrf}}, nil); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Vui lòng nêu lý do.") {
		t.Errorf("discard without a reason: %d", a.status)
	}
	if a := s.do(c, "POST", "/failed/..%2fx/retry", url.Values{"csrf": {csrf}}, nil); a.status != http.StatusNotFound {
		t.Errorf("retry of a made-up name: %d", a.status)
	}
	a = s.do(c, "POST", "/failed/"+escaped+"/discard", url.Values{"csrf": {csrf}, "reason": {"quét trùng"}}, nil)
	if a.status != http.StatusSeeOther || !hasCall(d, "discard tờ trình 05.pdf (quét trùng) by Minh") {
		t.Errorf("discard: %d, calls %v", a.status, d.called())
	}
	a = s.do(c, "POST", "/failed/broken.pdf/retry", url.Values{"csrf": {csrf}}, nil)
	if a.status != http.StatusSeeOther || !hasCall(d, "retry broken.pdf by Minh") {
		t.Errorf("retry: %d, calls %v", a.status, d.called())
	}
}

func TestEventsSendTheQueue(t *testing.T) {
	d := newDesk()
	s := newStation(t, Options{Desk: d, Poll: 20 * time.Millisecond})
	c, _ := s.session("Minh", minhPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/events", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() queueSnapshot {
		t.Helper()
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var q queueSnapshot
				if err := json.Unmarshal([]byte(data), &q); err != nil {
					t.Fatalf("event data %q: %v", data, err)
				}
				return q
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return queueSnapshot{}
	}
	review := func(q queueSnapshot) int {
		for _, c := range q.Counts {
			if c.Key == "review" {
				return c.N
			}
		}
		return -1
	}
	q := next()
	if review(q) != 3 || len(q.Review) != 3 || q.Review[0].Href != "/doc/1" || q.Counts[0].Label != "Đã nhận" {
		t.Errorf("first snapshot: %+v", q)
	}
	// A change at the station arrives by itself.
	d.mu.Lock()
	d.docs[4] = &DocumentView{ID: 4, Name: "<b>mới</b>.pdf", State: "awaiting_approval"}
	d.order = append(d.order, 4)
	d.mu.Unlock()
	q = next()
	if review(q) != 4 || q.Review[3].Name != "<b>mới</b>.pdf" {
		t.Errorf("after a new document: %+v", q)
	}
	// Logging out (in another tab) ends the stream: an open page keeps no session alive.
	home := s.do(c, "GET", "/", nil, nil)
	if a := s.do(c, "POST", "/logout", url.Values{"csrf": {csrfOf(t, home.body)}}, nil); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	for lines.Scan() {
	}
	if ctx.Err() != nil {
		t.Error("the stream went on after the logout")
	}
}

func TestReportChartAndCSV(t *testing.T) {
	d := newDesk()
	d.report = ReportView{
		Folders: []FolderFigures{
			{HotFolder: "Công văn đến", Received: 40, Digitised: 31, Pages: 97, Signed: 31, Refused: 3,
				RefusedBy: map[string]int{"quality": 2, "approval": 1}, ToSignature: 95 * time.Minute},
			{HotFolder: "tờ trình", Received: 12, Digitised: 12, Pages: 20, Signed: 12, ToSignature: 10 * time.Minute},
			{HotFolder: "", Received: 1, Refused: 1, RefusedBy: map[string]int{"odd": 1}},
		},
		Total: FolderFigures{Received: 53, Digitised: 43, Pages: 117, Signed: 43, Refused: 4,
			RefusedBy: map[string]int{"quality": 2, "approval": 1, "odd": 1}, ToSignature: 70 * time.Minute},
	}
	s := newStation(t, Options{Desk: d})
	c, _ := s.session("Minh", minhPassword)
	a := s.do(c, "GET", "/report?month=2026-11", nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET /report: %d", a.status)
	}
	if n := strings.Count(a.body, `<g class="bar">`); n != 3 {
		t.Errorf("%d bars, want one per hot-folder (3)", n)
	}
	if m := d.months[len(d.months)-1]; m.Year() != 2026 || m.Month() != time.November {
		t.Errorf("the Desk was asked for %v", m)
	}
	// The longest bar is the folder that received most; the rest are to scale.
	widths := regexp.MustCompile(`<rect class="seg-done" x="\d+" y="\d+" width="(\d+)"`).FindAllStringSubmatch(a.body, -1)
	if len(widths) != 2 || widths[0][1] != "496" || widths[1][1] != "192" {
		t.Errorf("digitised segments %v, want 496 and 192 (31 and 12 of 40 on 640)", widths)
	}
	for _, want := range []string{"Công văn đến", "1 giờ 35 phút", "(đưa vào bằng lệnh scanstation process)", "Báo cáo tháng 11/2026", `href="/report.csv?month=2026-11"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the report page lacks %q", want)
		}
	}
	if a := s.do(c, "GET", "/report?month=2026-13", nil, nil); a.status != http.StatusBadRequest {
		t.Errorf("month 2026-13: %d", a.status)
	}

	a = s.do(c, "GET", "/report.csv?month=2026-11", nil, nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET /report.csv: %d %v", a.status, a.header)
	}
	body, ok := strings.CutPrefix(a.body, "\ufeff")
	if !ok {
		t.Fatalf("the CSV does not begin with a BOM: %q", a.body[:min(20, len(a.body))])
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[1][1] != "Công văn đến" || rows[4][1] != "total" {
		t.Fatalf("rows: %q", rows)
	}
	// The columns of `scanstation report --format csv`.
	if len(rows[0]) != 7+len(journal.StageOrder)+2 || rows[0][len(rows[0])-1] != "mean_seconds_to_signature" {
		t.Errorf("header %q", rows[0])
	}
	col := slices.Index(rows[0], "refused_quality")
	if col < 0 || rows[1][col] != "2" || rows[3][len(rows[3])-2] != "1" || rows[1][len(rows[1])-1] != "5700" {
		t.Errorf("figures: %q", rows)
	}
}
