package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/console"
	"scanstation/internal/samplescan"
	"scanstation/journal"
	"scanstation/station"
	"scanstation/users"
)

// TestDeskReviewThenApprove is the console's review of a scan, with the real station (dev
// token, Tesseract) in process: a two-page scan whose page 2 was fed upside down waits for
// approval; the clerk turns page 2, is refused a 12-digit number, corrects the number and
// approves. The signed copy has page 2 upright (its text reads in order), the corrected number
// in the XMP, the sidecar (with who typed it) and the edXML; the audit trail lists the turn,
// the correction and the approval with the clerk's name; a second approval and an edit after
// it are refused as the wrong state.
func TestDeskReviewThenApprove(t *testing.T) {
	dir, path := newStation(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HotFolders[0].Approval = "required"
	cfg.EdXML.Enabled, cfg.EdXML.OrganID, cfg.EdXML.OrganName = true, "000.00.00.H41", "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("config: %v", problems)
	}
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.DiscardHandler), Command: "desk test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		st.Close()
	}()
	desk := station.NewDesk(st, nil)
	lan := console.User{Name: "Chị Lan", Role: users.Clerk}

	page2 := []string{"DANH SÁCH CÁN BỘ THAM GIA", "Nguyễn Văn An, chuyên viên văn thư", "Trần Thị Bình, chuyên viên lưu trữ",
		"Lê Văn Cường, cán bộ công nghệ thông tin", "Phạm Thị Dung, cán bộ tổng hợp"}
	first, err := samplescan.Render(samplescan.Options{DPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	second, err := samplescan.Render(samplescan.Options{DPI: 200, Lines: page2, UpsideDown: true})
	if err != nil {
		t.Fatal(err)
	}
	third, err := samplescan.Render(samplescan.Options{DPI: 200, Lines: wordy("PHỤ LỤC", "Bản sao trùng của trang trước")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := samplescan.WriteTIFF(&buf, []image.Image{first, second, third}, 200); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inbox", "ke-hoach.tif"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	var id int64
	waitFor(t, "the scan to wait for approval", 3*time.Minute, func() bool {
		q, err := desk.Queue(ctx)
		if err == nil && len(q.Review) == 1 {
			id = q.Review[0].ID
		}
		return id != 0
	}, &strings.Builder{})

	doc, err := desk.Document(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 3 {
		t.Fatalf("the document shows %d pages, want 3", len(doc.Pages))
	}
	if doc.HotFolder != "inbox" {
		t.Errorf("the document page names its hot-folder %q, want its folder's name, inbox (not the path)", doc.HotFolder)
	}
	if o := doc.Pages[1].Orientation; o == 180 {
		// OCR found the way up itself: the clerk turns it wrong first, then right, so the
		// turn the clerk forces is what the copy gets either way.
		if err := desk.Rotate(ctx, id, 2, 2, lan); err != nil {
			t.Fatal(err)
		}
		if doc, err = desk.Document(ctx, id); err != nil || doc.Pages[1].Orientation != 0 {
			t.Fatalf("after a half turn from 180° page 2 is at %d° (%v), want 0°", doc.Pages[1].Orientation, err)
		}
		if err := desk.Rotate(ctx, id, 2, 2, lan); err != nil {
			t.Fatal(err)
		}
	} else if err := desk.Rotate(ctx, id, 2, ((180-o)/90+4)%4, lan); err != nil {
		t.Fatal(err)
	}
	if doc, err = desk.Document(ctx, id); err != nil {
		t.Fatal(err)
	}
	if p := doc.Pages[1]; p.Orientation != 180 || !strings.Contains(p.Text, "Trần Thị Bình") {
		t.Fatalf("page 2 after the turn: %d°, text %q", p.Orientation, p.Text)
	}
	if err := desk.Reocr(ctx, id, 1, lan); err != nil {
		t.Fatal(err)
	}
	if err := desk.DropPage(ctx, id, 3, "phụ lục trùng", lan); err != nil {
		t.Fatal(err)
	}
	if doc, err = desk.Document(ctx, id); err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || !strings.Contains(doc.Pages[0].Text, "2417") || doc.Pages[1].Orientation != 180 {
		t.Fatalf("after re-reading page 1 and dropping page 3: %+v", doc.Pages)
	}

	var fe *console.FieldError
	err = desk.Correct(ctx, id, map[string]string{"code_number": "123456789012"}, lan)
	if !errors.As(err, &fe) || fe.Field != "code_number" {
		t.Fatalf("a 12-digit number: %v, want a field error on code_number", err)
	}
	if err := desk.Correct(ctx, id, map[string]string{"code_number": "4242", "code_notation": "UBND-VP"}, lan); err != nil {
		t.Fatal(err)
	}
	if doc, err = desk.Document(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Record {
		if f.Name == "code_number" && (f.Value != "4242" || f.SuppliedBy != "Chị Lan" || f.Source != "console" || len(f.Problems) > 0) {
			t.Errorf("the corrected number shows as %+v", f)
		}
	}
	if _, _, err := desk.Preview(ctx, id, 1, 200); err != nil {
		t.Errorf("preview of page 1: %v", err)
	}

	if err := desk.Approve(ctx, id, lan); err != nil {
		t.Fatal(err)
	}
	if err := desk.Approve(ctx, id, console.User{Name: "Anh Minh", Role: users.Clerk}); !errors.Is(err, console.ErrWrongState) {
		t.Errorf("a second approval: %v, want ErrWrongState", err)
	} else if we := (*console.WrongStateError)(nil); errors.As(err, &we) && we.By != "Chị Lan" {
		t.Errorf("a second approval is not told who approved: %v", err)
	}
	if err := desk.Rotate(ctx, id, 1, 1, lan); !errors.Is(err, console.ErrWrongState) {
		t.Errorf("a turn after approval: %v, want ErrWrongState", err)
	}

	outbox := filepath.Join(dir, "outbox")
	pdf := filepath.Join(outbox, "ke-hoach.pdf")
	waitFor(t, "the approved copy in the outbox", 3*time.Minute, func() bool {
		return len(glob(outbox, "ke-hoach.json")) == 1
	}, &strings.Builder{})

	text := tool(t, "pdftotext", "-f", "2", "-l", "2", pdf, "-")
	if !strings.Contains(text, "Trần Thị Bình, chuyên viên lưu trữ") {
		t.Errorf("page 2 of the signed copy does not read upright:\n%s", text)
	}
	if meta := tool(t, "pdfinfo", "-meta", pdf); !strings.Contains(meta, ">4242<") || !strings.Contains(meta, "Chị Lan") {
		t.Errorf("the XMP lacks the corrected number or the clerk:\n%s", meta)
	}
	side, err := os.ReadFile(filepath.Join(outbox, "ke-hoach.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(side); !strings.Contains(s, "page 3 of the scan left out of the copy by Chị Lan: phụ lục trùng") || !strings.Contains(s, `"pages": 2,`) {
		t.Errorf("the sidecar does not say page 3 was left out, or counts the pages wrong:\n%s", side)
	}
	if info := tool(t, "pdfinfo", pdf); !regexp.MustCompile(`Pages:\s+2\n`).MatchString(info) {
		t.Errorf("the signed copy does not have 2 pages:\n%s", info)
	}
	if s := string(side); !strings.Contains(s, `"value": "4242"`) || !strings.Contains(s, `"by": "Chị Lan"`) || !strings.Contains(s, `"source": "console"`) {
		t.Errorf("the sidecar lacks the corrected number with who typed it:\n%s", side)
	}
	envelope, err := os.ReadFile(filepath.Join(outbox, "ke-hoach.edxml"))
	if err != nil {
		t.Fatalf("no edXML package: %v\n%s", err, side)
	}
	if !bytes.Contains(envelope, []byte("<edXML:CodeNumber>4242</edXML:CodeNumber>")) {
		t.Errorf("the edXML lacks the corrected number")
	}

	waitFor(t, "the document archived", time.Minute, func() bool {
		doc, err = desk.Document(ctx, id)
		return err == nil && doc.State == "archived"
	}, &strings.Builder{})
	// Signed and archived: the work files are gone and the original is in archive/, yet the
	// page shows the pages as they were certified.
	if len(doc.Pages) != 2 || !strings.Contains(doc.Pages[0].Text, "2417") ||
		doc.Pages[1].Orientation != 180 || !strings.Contains(doc.Pages[1].Text, "Trần Thị Bình") || doc.Pages[0].MeanConfidence < 50 {
		t.Errorf("the archived document's pages: %+v", doc.Pages)
	}
	for page := 1; page <= 2; page++ {
		if data, _, err := desk.Preview(ctx, id, page, 200); err != nil || len(data) == 0 {
			t.Errorf("preview of page %d of the archived document: %v", page, err)
		}
	}
	// The dev token's copy is B-T without revocation data: offline, EU DSS says INDETERMINATE
	// for that, and so does the station; a broken signature or copy would be TOTAL_FAILED.
	if v := doc.Verify; v == nil || v.Indication != "INDETERMINATE" || !strings.Contains(v.Words, "no revocation data") {
		t.Errorf("the signed copy's verification on the document page: %+v", v)
	}

	trail, err := desk.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Action)
		if e.User != "Chị Lan" {
			t.Errorf("audit entry %s by %q, want Chị Lan", e.Action, e.User)
		}
	}
	got := strings.Join(actions, " ")
	if !strings.HasPrefix(got, "rotate") || !strings.HasSuffix(got, "rotate reocr drop correct approve") {
		t.Errorf("audit trail %q, want the turn(s), the correction and the approval", got)
	}
	t.Logf("audit trail: %+v", trail)
}

// TestDeskSendBackRetryDiscard: a scan sent back for rescan and one refused go to failed/ with
// their reasons; Failed lists them, the one sent back is put back into its hot-folder (and
// waits for approval again), the refused one is put aside in discarded/ with who and why. The
// only page of a document cannot be dropped, an operator cannot approve, and a name Failed did
// not list is not found.
func TestDeskSendBackRetryDiscard(t *testing.T) {
	dir, path := newStation(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HotFolders[0].Approval = "required"
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.DiscardHandler), Command: "desk test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		st.Close()
	}()
	desk := station.NewDesk(st, nil)
	lan := console.User{Name: "Chị Lan", Role: users.Clerk}
	minh := console.User{Name: "Anh Minh", Role: users.Operator}

	inbox := filepath.Join(dir, "inbox")
	writeImage(t, filepath.Join(inbox, "mo.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	writeImage(t, filepath.Join(inbox, "nhap.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("BẢN NHÁP", "Số: 99/UBND-VP")}, "jpeg")
	ids := map[string]int64{}
	waiting := func(n int) func() bool {
		return func() bool {
			q, err := desk.Queue(ctx)
			if err != nil || len(q.Review) != n {
				return false
			}
			for _, d := range q.Review {
				ids[d.Name] = d.ID
			}
			return true
		}
	}
	waitFor(t, "two scans waiting for approval", 3*time.Minute, waiting(2), &strings.Builder{})

	if err := desk.DropPage(ctx, ids["mo.jpg"], 1, "trang trắng", minh); !errors.Is(err, console.ErrWrongState) {
		t.Errorf("dropping the only page: %v, want ErrWrongState", err)
	}
	if err := desk.Approve(ctx, ids["mo.jpg"], minh); err == nil {
		t.Error("an operator approved a copy")
	}
	if err := desk.SendBack(ctx, ids["mo.jpg"], "ảnh mờ, quét lại", minh); err != nil {
		t.Fatal(err)
	}
	if err := desk.Reject(ctx, ids["nhap.jpg"], "bản nháp", lan); err != nil {
		t.Fatal(err)
	}
	failedDir := filepath.Join(dir, "failed")
	waitFor(t, "both in failed/", time.Minute, func() bool { return len(glob(failedDir, "*.error.txt")) == 2 }, &strings.Builder{})
	reason, _ := os.ReadFile(filepath.Join(failedDir, "mo.jpg.error.txt"))
	if !strings.Contains(string(reason), "sent back for rescan by Anh Minh: ảnh mờ, quét lại") {
		t.Errorf("the reason file of the scan sent back:\n%s", reason)
	}
	list, err := desk.Failed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, f := range list {
		reasons[f.Name] = f.Stage + ": " + f.Reason
		if f.Pages != 1 || f.HotFolder != filepath.Base(inbox) {
			t.Errorf("%s listed with %d pages from %q", f.Name, f.Pages, f.HotFolder)
		}
	}
	if len(list) != 2 || !strings.Contains(reasons["mo.jpg"], "rescan: sent back for rescan by Anh Minh") ||
		!strings.Contains(reasons["nhap.jpg"], "approval: refused by the clerk Chị Lan: bản nháp") {
		t.Errorf("Failed lists %v", reasons)
	}
	if data, ctype, err := desk.FailedPreview(ctx, "nhap.jpg", 1, 200); err != nil || ctype != "image/jpeg" || !bytes.HasPrefix(data, []byte{0xff, 0xd8}) {
		t.Errorf("preview of a refused scan: %s, %d bytes, %v", ctype, len(data), err)
	}
	for _, name := range []string{"../failed/nhap.jpg", "nhap.jpg.error.txt", "none.jpg"} {
		if _, _, err := desk.FailedPreview(ctx, name, 1, 200); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("preview of %q: %v, want ErrNotFound", name, err)
		}
	}

	if err := desk.Discard(ctx, "nhap.jpg", "bản nháp, không cần số hóa", lan); err != nil {
		t.Fatal(err)
	}
	discarded := filepath.Join(dir, "discarded")
	note, err := os.ReadFile(filepath.Join(discarded, "nhap.jpg.discarded.txt"))
	if err != nil || !strings.Contains(string(note), "Chị Lan") || !strings.Contains(string(note), "bản nháp, không cần số hóa") {
		t.Errorf("the note beside the discarded scan: %v\n%s", err, note)
	}
	for _, name := range []string{"nhap.jpg", "nhap.jpg.error.txt"} {
		if _, err := os.Stat(filepath.Join(discarded, name)); err != nil {
			t.Errorf("%s is not in discarded/: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(failedDir, name)); err == nil {
			t.Errorf("%s is still in failed/", name)
		}
	}

	if err := desk.Retry(ctx, "mo.jpg", minh); err != nil {
		t.Fatal(err)
	}
	first := ids["mo.jpg"]
	waitFor(t, "the retried scan waiting for approval again", 3*time.Minute, waiting(1), &strings.Builder{})
	if ids["mo.jpg"] == first {
		t.Errorf("the retried scan kept its job %d", first)
	}
	if left := glob(failedDir, "*"); len(left) != 0 {
		t.Errorf("failed/ still holds %v", left)
	}
	trail, err := desk.Audit(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range trail {
		got = append(got, e.Action+" by "+e.User)
	}
	if strings.Join(got, ", ") != "send_back by Anh Minh, retry by Anh Minh" {
		t.Errorf("audit trail of the scan sent back: %v", got)
	}
}

// TestApproveAndRejectCommandsAreAudited: a decision at the command line is in the audit trail
// with the name given by --by, as one made in the console, and a refusal keeps its reason.
func TestApproveAndRejectCommandsAreAudited(t *testing.T) {
	cfg, state := writeConfig(t)
	j, err := journal.Open(filepath.Join(state, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"duyet.jpg", "tu-choi.jpg"} {
		job := &journal.Job{Source: "/inbox/" + name, SourceName: name, State: journal.AwaitingApproval}
		if err := j.Add(ctx, job); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(job.ID, 10))
	}
	if out, err := runCommand(t, "approve", "--config", cfg, ids[0], "--by", "Chị Lan"); err != nil {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	if out, err := runCommand(t, "reject", "--config", cfg, ids[1], "--by", "Anh Minh", "--reason", "thiếu trang 2"); err != nil {
		t.Fatalf("reject: %v\n%s", err, out)
	}
	for i, want := range []struct{ action, user, detail string }{{"approve", "Chị Lan", ""}, {"reject", "Anh Minh", "thiếu trang 2"}} {
		id, _ := strconv.ParseInt(ids[i], 10, 64)
		trail, err := j.AuditOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(trail) != 1 || trail[0].Action != want.action || trail[0].User != want.user || trail[0].Role != "clerk (command line)" ||
			!strings.Contains(trail[0].Detail, want.detail) {
			t.Errorf("audit trail of document %d: %+v, want %s by %s", id, trail, want.action, want.user)
		}
	}
}

// TestDeskTokenKnownSoonAfterStart: the queue tells the token's state within seconds of the
// start, before any document is signed, not "not checked yet" until the first signature.
func TestDeskTokenKnownSoonAfterStart(t *testing.T) {
	_, path := newStation(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.DiscardHandler), Command: "desk test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		st.Close()
	}()
	desk := station.NewDesk(st, nil)
	var q console.QueueView
	waitFor(t, "the queue to say the token is ready", 10*time.Second, func() bool {
		q, err = desk.Queue(ctx)
		return err == nil && q.Token.State == console.TokenReady
	}, &strings.Builder{})
}
