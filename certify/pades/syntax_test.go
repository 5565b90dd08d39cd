package pades

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func TestTextString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Signature1", "(Signature1)"},
		{`a(b)c\d`, `(a\(b\)c\\d)`},
		{"", "()"},
		{"Sở", "<FEFF0053 1EDF>"},
		{"é\n", "<FEFF00E9000A>"},
		{"😀", "<FEFFD83DDE00>"}, // outside the BMP: a surrogate pair
	} {
		want := strings.ReplaceAll(c.want, " ", "")
		if got := textString(c.in); got != want {
			t.Errorf("textString(%q) = %s, want %s", c.in, got, want)
		}
	}
}

func TestTextStringRoundTripsThroughPDFcpu(t *testing.T) {
	for _, s := range []string{"Sao y bản chính", "Nguyễn Thị Hồng Nhung", `plain (with) \ escapes`} {
		enc := textString(s)
		var o types.Object
		if enc[0] == '<' {
			o = types.HexLiteral(enc[1 : len(enc)-1])
		} else {
			o = types.StringLiteral(enc[1 : len(enc)-1])
		}
		got, err := types.StringOrHexLiteral(o)
		if err != nil || *got != s {
			t.Errorf("%q encoded as %s reads back as %v (%v)", s, enc, got, err)
		}
	}
}

func TestPDFDate(t *testing.T) {
	hcm := time.FixedZone("", 7*3600)
	at := time.Date(2025, 3, 5, 16, 43, 18, 0, hcm)
	if got := pdfDate(at); got != "D:20250305164318+07'00'" {
		t.Errorf("pdfDate = %s", got)
	}
	if got := pdfDate(time.Date(2025, 3, 5, 1, 2, 3, 0, time.FixedZone("", -(3*3600+30*60)))); got != "D:20250305010203-03'30'" {
		t.Errorf("pdfDate west of Greenwich = %s", got)
	}
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"D:20250305164318+07'00'", at},
		{"D:20250305164318+07'00", at},
		{"D:20250305164318+0700", at},
		{"D:20250305094318Z", at},
		{"D:20250305094318", at},
		{"D:2025", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := parsePDFDate(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parsePDFDate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "D:", "D:202", "D:20251305", "D:20250305164318+7", "yesterday"} {
		if _, err := parsePDFDate(bad); err == nil {
			t.Errorf("parsePDFDate(%q) accepted a bad date", bad)
		}
	}
}

func TestWriteObjectRefusesUnknownTypes(t *testing.T) {
	var b bytes.Buffer
	err := writeObject(&b, types.Dict{"Odd": types.StreamDict{}})
	if err == nil || !strings.Contains(err.Error(), "/Odd") {
		t.Errorf("writeObject with a stream inside a dictionary: %v", err)
	}
	b.Reset()
	d := types.Dict{"A": types.Array{types.Integer(1), types.Float(0.5), types.Name("Na me"), nil, types.Boolean(true)}}
	if err := writeObject(&b, d); err != nil || b.String() != "<</A [1 0.5 /Na#20me null true]>>" {
		t.Errorf("writeObject = %s, %v", b.String(), err)
	}
}

func TestFieldNameChoosesAFreeOne(t *testing.T) {
	taken := []field{{name: "Signature1"}, {name: "Signature2"}, {name: "Text1"}}
	if got, err := fieldName("", taken); err != nil || got != "Signature3" {
		t.Errorf("fieldName = %q, %v; want Signature3", got, err)
	}
	if _, err := fieldName("Text1", taken); err == nil {
		t.Error("fieldName accepted a name already in use")
	}
	if _, err := fieldName("a.b", nil); err == nil {
		t.Error("fieldName accepted a name with a period")
	}
}

func TestSetContentsRefusesCMSTooLargeForThePlaceholder(t *testing.T) {
	u := &update{contentsAt: 0, contentsLen: 8}
	u.buf.WriteString("<00000000>")
	if err := u.setContents([]byte{1, 2, 3, 4, 5}); err == nil || !strings.Contains(err.Error(), "only 4 bytes were reserved") {
		t.Errorf("setContents with too much: %v", err)
	}
	if err := u.setContents([]byte{0xab, 0xcd}); err != nil || u.buf.String() != "<abcd0000>" {
		t.Errorf("setContents = %s, %v", u.buf.String(), err)
	}
}
