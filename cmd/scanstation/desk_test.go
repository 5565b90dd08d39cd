package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/config"
	"scanstation/console"
	"scanstation/internal/samplescan"
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
	var buf bytes.Buffer
	if err := samplescan.WriteTIFF(&buf, []image.Image{first, second}, 200); err != nil {
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
	if len(doc.Pages) != 2 {
		t.Fatalf("the document shows %d pages, want 2", len(doc.Pages))
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
	if !strings.HasPrefix(got, "rotate") || !strings.HasSuffix(got, "rotate correct approve") {
		t.Errorf("audit trail %q, want the turn(s), the correction and the approval", got)
	}
	t.Logf("audit trail: %+v", trail)
}
