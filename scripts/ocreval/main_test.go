package main

import "testing"

// The skew variants' names share prefixes ("skew+2", "skew+2.5"): a file
// must go to its own page, also when the station added "-1" to its name.
func TestPageOfSkewNames(t *testing.T) {
	var pages []page
	for _, n := range []string{"skew+2-1", "skew+2.5-1", "skew-2-1", "skew-2.5-1", "seal-1", "seal-10"} {
		pages = append(pages, page{Name: n})
	}
	for file, want := range map[string]string{
		"skew+2.5-1.pdf":    "skew+2.5-1",
		"skew+2-1.pdf":      "skew+2-1",
		"skew+2-1-1.pdf":    "skew+2-1",
		"/x/skew-2.5-1.txt": "skew-2.5-1",
		"seal-10.pdf":       "seal-10",
		"seal-1-1.pdf":      "seal-1",
	} {
		p, ok := pageOf(pages, file)
		if !ok || p.Name != want {
			t.Errorf("pageOf(%q) = %q, %v; want %q", file, p.Name, ok, want)
		}
	}
	if p, ok := pageOf(pages, "skew+3-1.pdf"); ok {
		t.Errorf("pageOf(skew+3-1.pdf) = %q, want no page", p.Name)
	}
}

// Every variant takes its own block of letters, and the blocks of the
// variants made before the skews were added keep their places.
func TestVariantSlots(t *testing.T) {
	seen := map[int]string{}
	for _, v := range variants {
		if other, ok := seen[v.slot]; ok {
			t.Errorf("%s and %s take the same letters (slot %d)", v.name, other, v.slot)
		}
		seen[v.slot] = v.name
	}
	for slot, name := range []string{"clean", "noise", "skew+3", "skew-2", "upside-down", "jpeg60", "200dpi-greyish", "seal", "two-column"} {
		if seen[slot] != name {
			t.Errorf("slot %d is %q, want %q as in the first corpus", slot, seen[slot], name)
		}
	}
}
