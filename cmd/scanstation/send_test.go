package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"scanstation/edxml"
	"scanstation/internal/samplescan"
)

// exchange is a loopback stand-in for the provincial exchange: it stores packages by their
// Idempotency-Key and can be taken down.
type exchange struct {
	mu       sync.Mutex
	down     bool
	requests int
	stored   map[string][]byte
}

func (x *exchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.requests++
	if x.down {
		http.Error(w, "bảo trì hệ thống", http.StatusServiceUnavailable)
		return
	}
	x.stored[r.Header.Get("Idempotency-Key")] = body
	w.WriteHeader(http.StatusOK)
}

func (x *exchange) set(down bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.down = down
}

func (x *exchange) counts() (int, int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.requests, len(x.stored)
}

// TestPackageFilledFromTheScanArrivesOnce drops a scan with no sidecar: its record is read from
// page 1, the .edxml next to the PDF carries it and the PDF byte for byte, and with a push
// endpoint that is down through a daemon restart the package arrives exactly once.
func TestPackageFilledFromTheScanArrivesOnce(t *testing.T) {
	dir, cfg := newStation(t)
	x := &exchange{down: true, stored: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: x}
	go srv.Serve(ln)
	defer srv.Close()
	env := []string{"SCANSTATION_PUSH_URL=http://" + ln.Addr().String() + "/edxml",
		"SCANSTATION_PUSH_MIN_BACKOFF=300ms", "SCANSTATION_PUSH_MAX_BACKOFF=1s", "SCANSTATION_PUSH_RESCAN=1s"}

	d := startDaemonEnv(t, cfg, env...)
	writeImage(t, filepath.Join(dir, "inbox", "cong-van.jpg"), samplescan.Options{}, "jpeg")
	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "the package delivered to the outbox and tried on the exchange", 3*time.Minute, func() bool {
		req, _ := x.counts()
		return req >= 2
	}, d.log)
	if _, err := os.Stat(filepath.Join(outbox, "cong-van.edxml")); err != nil {
		t.Fatalf("no .edxml while the exchange is down: %v\n%s", err, d.log)
	}
	d.kill() // a crash while the exchange is still down
	x.set(false)
	d = startDaemonEnv(t, cfg, env...)
	sent := filepath.Join(outbox, "sent")
	waitFor(t, "the package in sent/", 3*time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(sent, "cong-van.edxml"))
		return err == nil
	}, d.log)
	d.stop(t)

	if _, stored := x.counts(); stored != 1 {
		t.Errorf("the exchange stored %d packages, want exactly 1", stored)
	}
	pdf, err := os.ReadFile(filepath.Join(sent, "cong-van.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, b := range x.stored {
		body = b
	}
	doc, err := edxml.Read(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the exchange got no readable edXML: %v", err)
	}
	if len(doc.Attachments) != 1 || sha256.Sum256(doc.Attachments[0].Data) != sha256.Sum256(pdf) {
		t.Errorf("the package's attachment is not the signed PDF byte for byte")
	}
	if doc.CodeNumber != "2417" || doc.CodeNotation != "UBND-VP" || doc.PromulgationDate.Format("2006-01-02") != "2020-06-05" ||
		doc.Place != "Bà Rịa - Vũng Tàu" || doc.TypeName != "Công văn" || doc.Subject == "" {
		t.Errorf("the package's record is not what page 1 prints: %+v", doc)
	}
	if why := verifiesButForTrust(t, filepath.Join(sent, "cong-van.edxml")); why != "" {
		t.Error(why)
	}
	var side struct {
		Metadata map[string]json.RawMessage
	}
	data, _ := os.ReadFile(filepath.Join(sent, "cong-van.json"))
	if err := json.Unmarshal(data, &side); err != nil {
		t.Fatal(err)
	}
	var number struct{ Value, Source string }
	json.Unmarshal(side.Metadata["code_number"], &number)
	if number.Value != "2417" || number.Source != "extracted" {
		t.Errorf("the sidecar's record does not say the number was read from the page: %s", side.Metadata["code_number"])
	}
	var organ struct{ Value string }
	json.Unmarshal(side.Metadata["organ_name"], &organ)
	if organ.Value != "ỦY BAN NHÂN DÂN TỈNH BÀ RỊA - VŨNG TÀU" {
		t.Errorf("the issuing organ read from page 1 is %q", organ.Value)
	}
	if doc.Subject != "triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan" {
		t.Errorf("the subject read from page 1 is %q", doc.Subject)
	}
}
