package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
)

// TestTokenPulledOutPausesSigningAndResumes takes the SoftHSM token away from a running
// station (its folder moved out of SoftHSM's token directory, as a card leaves its reader)
// and gives it back: signing waits with one message, and the document arrives with nothing
// lost.
func TestTokenPulledOutPausesSigningAndResumes(t *testing.T) {
	dir, cfg := newStation(t)
	inbox, outbox := filepath.Join(dir, "inbox"), filepath.Join(dir, "outbox")
	d := startDaemon(t, cfg)

	writeImage(t, filepath.Join(inbox, "truoc.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the first document signed", 3*time.Minute, func() bool { return len(glob(outbox, "*.json")) == 1 }, d.log)

	tokens := filepath.Join(dir, "softhsm", "tokens")
	held := filepath.Join(t.TempDir(), "pulled-out")
	entries, err := os.ReadDir(tokens)
	if err != nil || len(entries) != 1 {
		t.Fatalf("expected one SoftHSM token in %s: %v %v", tokens, entries, err)
	}
	tokenDir := filepath.Join(tokens, entries[0].Name())
	if err := os.Rename(tokenDir, held); err != nil {
		t.Fatal(err)
	}

	writeImage(t, filepath.Join(inbox, "trong-khi.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the station to say it waits for the token", 3*time.Minute, func() bool {
		return strings.Contains(d.log.String(), "waiting for the token")
	}, d.log)
	// Give it a few polls more: it must neither sign, nor fail the document, nor repeat itself.
	time.Sleep(5 * time.Second)
	if n := len(glob(outbox, "*.json")); n != 1 {
		t.Fatalf("%d documents in the outbox while the token was away, want 1", n)
	}
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Fatalf("a document failed while the token was away: %v", f)
	}
	if n := strings.Count(d.log.String(), "waiting for the token"); n != 1 {
		t.Errorf("said it waits for the token %d times, want once:\n%s", n, d.log)
	}

	if err := os.Rename(held, tokenDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the waiting document signed once the token is back", 3*time.Minute, func() bool {
		return len(glob(outbox, "*.json")) == 2
	}, d.log)
	d.stop(t)
	checkSignedPDFA(t, dir, filepath.Join(outbox, "trong-khi.pdf"))
	if !strings.Contains(d.log.String(), "is back") {
		t.Errorf("the station did not say the token is back:\n%s", d.log)
	}
}
