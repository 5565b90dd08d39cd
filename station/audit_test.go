package station

import (
	"strings"
	"testing"

	"scanstation/docmeta"
	"scanstation/lang"
	"scanstation/verify"
)

// TestDeskWordsInVietnamese: what the desk says on a Vietnamese page is Vietnamese: an audit
// entry's turn and correction (the field by its label on the form, not its docmeta name), the
// verification's common verdicts, and the formats of a scan sent back and of signing stopped.
func TestDeskWordsInVietnamese(t *testing.T) {
	vi := lang.Printer(lang.Vietnamese)
	before, after := 180, 0
	turn := auditDetail{Page: 2, Before: &before, After: &after}
	if got, want := turn.words(vi), "trang 2; xoay từ 180° sang 0°"; got != want {
		t.Errorf("a turn in the trail: %q, want %q", got, want)
	}
	fix := auditDetail{Fields: map[string]fieldChange{"code_number": {Before: docmeta.Field{Value: "2417"}, After: docmeta.Field{Value: "4242"}}}}
	if got, want := fix.words(vi), `Số: "2417" → "4242"`; got != want {
		t.Errorf("a correction in the trail: %q, want %q", got, want)
	}
	if got := (auditDetail{Page: 1, ScanPage: 3}).words(lang.Printer(lang.English)); got != "page 1 (page 3 of the scan)" {
		t.Errorf("in English: %q", got)
	}

	for _, r := range []*verify.Report{
		{Indication: verify.Indeterminate, SubIndication: verify.ChainGeneralFailure, Why: `signature "Sig1": no revocation data for "CN=Station": the file carries no OCSP response or CRL for it`},
		{Indication: verify.Indeterminate, SubIndication: verify.NoChainFound, Why: "x509: certificate signed by unknown authority"},
		{Indication: verify.Indeterminate, SubIndication: verify.OutOfBoundsNoPOE, Why: "expired"},
		{Indication: verify.TotalFailed, SubIndication: verify.HashFailure, Why: "the signed bytes changed after signing"},
		{Indication: verify.TotalPassed},
	} {
		// A key: the console prints it in the reader's language.
		words := verifyWords(vi, r)
		if !lang.Has(words) || vi.Sprintf(words) == words {
			t.Errorf("%s %s: %q is not a key with Vietnamese", r.Indication, r.SubIndication, words)
		}
	}
	copyFails := &verify.Report{Indication: verify.TotalFailed, Copy: []string{"no certification mark on page 1"}}
	if got := verifyWords(vi, copyFails); !strings.HasPrefix(got, "bản sao chứng thực thiếu") {
		t.Errorf("a copy without its mark: %q", got)
	}
	for _, key := range []string{"sent back for rescan by %s: %s", "signing stopped: %s"} {
		if !lang.Has(key) {
			t.Errorf("%q is not a lang key", key)
		}
	}
}
