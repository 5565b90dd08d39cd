package revisions

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// TestRevisionsEndOfLine splits a file whose updates end in every way
// writers end them: "%%EOF" followed by LF, CRLF, CR, or nothing.
func TestRevisionsEndOfLine(t *testing.T) {
	pdf := scanPDF()
	ends := []int64{int64(len(pdf))}
	for _, eol := range []string{"\r\n", "\r", ""} {
		pdf = appendUpdate(pdf, eol)
		ends = append(ends, int64(len(pdf)))
	}
	revs, err := Revisions(pdf)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range revs {
		got = append(got, r.End)
	}
	if !slices.Equal(got, ends) {
		t.Fatalf("revision ends %v, want %v", got, ends)
	}
	// A byte range may end before or after the end-of-line.
	if i := Signed(revs, [4]int64{0, 10, 20, revs[1].EOF - 20}); i != 1 {
		t.Errorf("a range ending at the second %%%%EOF signs revision %d, want 1", i)
	}
	if i := Signed(revs, [4]int64{0, 10, 20, revs[1].End - 20}); i != 1 {
		t.Errorf("a range ending after the second %%%%EOF's CRLF signs revision %d, want 1", i)
	}
	if i := Signed(revs, [4]int64{0, 10, 20, revs[1].End - 21}); i != -1 {
		t.Errorf("a range ending inside revision 2 signs revision %d, want none", i)
	}
}

// TestRevisionsIgnoreEOFInStream: "%%EOF" inside a content stream, even
// after a "startxref", is not where a revision ends, because the offset it
// names is not a cross-reference section of its own update.
func TestRevisionsIgnoreEOFInStream(t *testing.T) {
	pdf := scanPDF()
	fake := append([]byte(nil), pdf...)
	// A stream in an update that quotes the original's trailer.
	body := "% startxref\n10\n%%EOF\n"
	fake = appendUpdateWith(fake, fmt.Sprintf("4 0 obj\n<</Length %d>>\nstream\n%s\nendstream\nendobj\n", len(body), body), "\n")
	revs, err := Revisions(fake)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].End != int64(len(pdf)) || revs[1].End != int64(len(fake)) {
		t.Errorf("revisions %+v: want two, ending at %d and %d", revs, len(pdf), len(fake))
	}
}

func TestTrailingBytesAreAChange(t *testing.T) {
	pki := newTestPKI(t)
	pdf := stationCertify(t, pki, scanPDF())
	revs, err := Revisions(pdf)
	if err != nil {
		t.Fatal(err)
	}
	end := revs[len(revs)-1].End
	changes, err := CheckModifications(append(pdf, "\n\n"...), end, 2)
	if err != nil || len(changes) != 0 {
		t.Errorf("white space after the last %%%%EOF: %v, %v", changes, err)
	}
	changes, err = CheckModifications(append(pdf, "1 0 obj\n<<>>\nendobj\n"...), end, 2)
	if err != nil || len(Violations(changes)) != 1 || changes[0].Kind != "trailing bytes" {
		t.Errorf("an object after the last %%%%EOF: %v, %v", changes, err)
	}
}

// appendUpdate adds an incremental update that re-writes the catalog
// unchanged, ending "%%EOF" with eol.
func appendUpdate(pdf []byte, eol string) []byte {
	return appendUpdateWith(pdf, "", eol)
}

func appendUpdateWith(pdf []byte, objects, eol string) []byte {
	prev := bytes.LastIndex(pdf, []byte("startxref"))
	var prevOff int
	fmt.Sscan(string(pdf[prev+len("startxref"):]), &prevOff)
	var b bytes.Buffer
	b.Write(pdf)
	if c := pdf[len(pdf)-1]; c != '\n' && c != '\r' {
		b.WriteString("\n")
	}
	obj := b.Len()
	if objects == "" {
		objects = "1 0 obj\n<</Type/Catalog/Pages 2 0 R/Metadata 5 0 R/Lang (vi-VN)>>\nendobj\n"
	}
	b.WriteString(objects)
	var num int
	fmt.Sscan(objects, &num)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n%d 1\n%010d 00000 n\r\ntrailer\n<</Size 6/Root 1 0 R/Prev %d>>\nstartxref\n%d\n%%%%EOF%s", num, obj, prevOff, xref, eol)
	return b.Bytes()
}

func TestFieldLock(t *testing.T) {
	for _, c := range []struct {
		lock  FieldLock
		field string
		want  bool
	}{
		{FieldLock{Action: "All"}, "Name", true},
		{FieldLock{Action: "Include", Fields: []string{"Name"}}, "Name", true},
		{FieldLock{Action: "Include", Fields: []string{"Name"}}, "Date", false},
		{FieldLock{Action: "Exclude", Fields: []string{"Name"}}, "Name", false},
		{FieldLock{Action: "Exclude", Fields: []string{"Name"}}, "Date", true},
		{FieldLock{Action: "Bogus"}, "Name", false},
	} {
		if got := c.lock.Locks(c.field); got != c.want {
			t.Errorf("%+v locks %q: %v, want %v", c.lock, c.field, got, c.want)
		}
	}
}
