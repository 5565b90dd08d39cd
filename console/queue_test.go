package console

import (
	"testing"
	"time"

	"scanstation/lang"
)

// TestQueueErrorNamesTheFileOnce: a refusal's reason starts with the file's name, which the
// line shows before it; the line says it once.
func TestQueueErrorNamesTheFileOnce(t *testing.T) {
	q := QueueView{Errors: []ErrorView{
		{At: time.Now(), Document: 3, Name: "hong.tif", Reason: "hong.tif: đây là tệp văn bản thuần (text), không phải bản quét"},
		{At: time.Now(), Document: 4, Name: "a.tif", Reason: "page 2 of a.tif: cannot be read"},
	}}
	s := snapshotOf(q, lang.Printer(lang.Vietnamese))
	if got := s.Errors[0].Reason; got != "đây là tệp văn bản thuần (text), không phải bản quét" {
		t.Errorf("the reason shown after the name: %q", got)
	}
	if got := s.Errors[1].Reason; got != "page 2 of a.tif: cannot be read" {
		t.Errorf("a reason that names the file inside it is cut: %q", got)
	}
}
