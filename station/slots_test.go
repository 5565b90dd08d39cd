package station

import (
	"context"
	"testing"
)

// The daemon's documents share one set of decoded-page slots (Run puts them in the context),
// and a document whose context ends never keeps one: a slot lost there would be lost to every
// later document, and the daemon would stop reading once all were lost.
func TestPageSlotsSharedAndGivenBack(t *testing.T) {
	ctx := withPageSlots(context.Background(), 2)
	a, b := pageSlots(ctx, 5), pageSlots(ctx, 5)
	if a != b || cap(a) != 2 {
		t.Fatalf("two documents under Run got different slots (or %d of them); want the same 2", cap(a))
	}
	if own := pageSlots(context.Background(), 3); own == a || cap(own) != 3 {
		t.Fatalf("outside Run, a document got %d slots (shared: %v); want 3 of its own", cap(own), own == a)
	}

	if !takeSlot(ctx, a) || !takeSlot(ctx, a) {
		t.Fatal("could not take the 2 free slots")
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if takeSlot(ended, a) {
		t.Fatal("took a slot with every slot taken and the context ended")
	}
	<-a // one page done: its slot is free, and the ended context must not keep it
	if takeSlot(ended, a) {
		t.Fatal("took a slot after the context ended")
	}
	if len(a) != 1 {
		t.Fatalf("%d slots taken; want 1 (the ended document gave back what it took)", len(a))
	}
}
