package certify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
)

const agency = "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"

// signedAt is the pinned signing time: 26.11.2026 09:43:34 +07:00.
var signedAt = time.Date(2026, 11, 26, 2, 43, 34, 0, time.UTC)

// A5 at 300 dpi.
const pageW, pageH = 1748, 2480

func TestVerifyGood(t *testing.T) {
	for _, rotate := range []int{0, 90, 180} {
		t.Run(rotateName(rotate), func(t *testing.T) {
			c := certifier(t)
			signed := sign(t, c, build(t, c, rotate, goodRecord()), rotate)
			in := inspect(t, signed, certify.InspectOptions{Roots: testKey(t).roots})
			if !in.OK() || len(in.Problems) > 0 {
				t.Fatalf("a good file is not OK: %q", in.Problems)
			}
			m := in.Mark
			if !m.Present || m.Page != 1 || !m.TopRight || !m.TimeMatches {
				t.Errorf("mark = %+v; want present on page 1, top right, time matching", m)
			}
			if m.TimeShown != "26.11.2026 09:43:34 +07:00" {
				t.Errorf("TimeShown = %q, want 26.11.2026 09:43:34 +07:00", m.TimeShown)
			}
			if m.CopyLabel != "SAO LỤC" {
				t.Errorf("CopyLabel = %q, want SAO LỤC", m.CopyLabel)
			}
			if want := "SAO LỤC\n" + agency + "\n26.11.2026 09:43:34 +07:00"; m.Text != want {
				t.Errorf("Text = %q, want %q", m.Text, want)
			}
			if m.Rect[2]-m.Rect[0] <= 0 || m.Rect[3]-m.Rect[1] <= 0 {
				t.Errorf("Rect = %v has no area", m.Rect)
			}
			if !in.ChainChecked || !in.ChainTrusted {
				t.Errorf("ChainChecked, ChainTrusted = %v, %v; want both with the signer's own certificate as root", in.ChainChecked, in.ChainTrusted)
			}
			for k, v := range map[string]string{
				"convertedFromPaper": "True", "agency": agency, "operator": "Nguyễn Thị Hoa",
				"sourceSHA256": strings.Repeat("ab", 32), "approvedBy": "Trần Văn Nam",
				"conversionTime": "2026-11-26T09:40:00+07:00",
			} {
				if in.Record[k] != v {
					t.Errorf("Record[%q] = %q, want %q", k, in.Record[k], v)
				}
			}
			if in.PDFAPart != "2" || in.PDFAConformance != "U" {
				t.Errorf("PDF/A identification %q%q, want 2U", in.PDFAPart, in.PDFAConformance)
			}
		})
	}
}

// A mark made for an upright page but signed onto a page turned 180° sits top right of
// the stored page, which is bottom left as displayed.
func TestVerifyMarkIgnoringRotation(t *testing.T) {
	c := certifier(t)
	built := build(t, c, 180, goodRecord())
	look, _, err := mark.Build(mark.Page{WidthPt: ptW(), HeightPt: ptH()}, mark.Options{Agency: agency, Time: signedAt})
	if err != nil {
		t.Fatal(err)
	}
	in := inspect(t, padesSign(t, built, look, signedAt), certify.InspectOptions{})
	if in.Mark.TopRight || in.OK() {
		t.Errorf("a mark at the bottom left as displayed is reported top right (OK %v, mark %+v)", in.OK(), in.Mark)
	}
	if !in.Mark.Present || !in.Mark.TimeMatches {
		t.Errorf("mark %+v: want present with the right time; only its place is wrong", in.Mark)
	}
	if !hasProblem(in, "not in the top right") {
		t.Errorf("no problem names the place: %q", in.Problems)
	}
}

func TestVerifyMarkWrongTime(t *testing.T) {
	c := certifier(t)
	built := build(t, c, 0, goodRecord())
	look, _, err := mark.Build(mark.Page{WidthPt: ptW(), HeightPt: ptH()}, mark.Options{Agency: agency, Time: signedAt.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	in := inspect(t, padesSign(t, built, look, signedAt), certify.InspectOptions{})
	if in.OK() || in.Mark.TimeMatches {
		t.Fatalf("a mark an hour off the signature is OK: %+v", in.Mark)
	}
	if in.Mark.TimeShown != "26.11.2026 08:43:34 +07:00" || in.Mark.CopyLabel != "SAO Y" || !in.Mark.TopRight {
		t.Errorf("mark %+v: want it to show 26.11.2026 08:43:34 +07:00 under SAO Y, top right", in.Mark)
	}
	if !hasProblem(in, "shows the time 26.11.2026 08:43:34 +07:00, but the signature was made at 26.11.2026 09:43:34 +07:00") {
		t.Errorf("problems %q do not name both times", in.Problems)
	}
}

// A station with its own mark.time_format and zone: the mark shows /M in UTC, which is
// accepted (the /M's own zone), and the custom pattern only when the check is told it.
func TestVerifyCustomTimeFormat(t *testing.T) {
	c := certifier(t)
	c.Zone = time.UTC
	c.Mark.TimeFormat = "'ngày' dd/MM/yyyy 'lúc' HH:mm ±hh:mm"
	signed := sign(t, c, build(t, c, 0, goodRecord()), 0)

	in := inspect(t, signed, certify.InspectOptions{})
	if in.OK() || in.Mark.TimeMatches {
		t.Errorf("with the default format the custom mark %q matches", in.Mark.Text)
	}
	in = inspect(t, signed, certify.InspectOptions{TimeFormat: c.Mark.TimeFormat})
	if !in.OK() || in.Mark.TimeShown != "ngày 26/11/2026 lúc 02:43 +00:00" {
		t.Errorf("with the station's format: OK %v, shown %q, problems %q", in.OK(), in.Mark.TimeShown, in.Problems)
	}
}

func TestVerifyInvisible(t *testing.T) {
	c := certifier(t)
	in := inspect(t, padesSign(t, build(t, c, 0, goodRecord()), nil, signedAt), certify.InspectOptions{})
	if in.OK() {
		t.Fatal("a file with an invisible signature is OK")
	}
	if in.Mark == nil || in.Mark.Present || in.Mark.Text != "" {
		t.Errorf("mark %+v: want absent", in.Mark)
	}
	if len(in.Signatures) != 1 || !in.Signatures[0].Intact {
		t.Errorf("the invisible signature itself should be intact: %+v", in.Signatures)
	}
	if !hasProblem(in, "invisible") {
		t.Errorf("problems %q do not say the signature is invisible", in.Problems)
	}
}

func TestVerifyRecord(t *testing.T) {
	noHash := goodRecord()
	noHash.SourceSHA256 = ""
	noOperator := goodRecord()
	noOperator.Operator = ""
	for _, c := range []struct {
		name    string
		rec     *certify.Record
		ok      bool
		problem string
	}{
		{"none", nil, false, "no conversion record"},
		{"no source hash", noHash, false, "does not say the SHA-256 of the scanner's file"},
		{"no operator", noOperator, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cert := certifier(t)
			in := inspect(t, sign(t, cert, build(t, cert, 0, c.rec), 0), certify.InspectOptions{})
			if in.OK() != c.ok {
				t.Errorf("OK = %v, want %v; record %v, problems %q", in.OK(), c.ok, in.Record, in.Problems)
			}
			if !in.Mark.Present || !in.Mark.TopRight || !in.Mark.TimeMatches {
				t.Errorf("mark %+v: want it good; only the record differs", in.Mark)
			}
			if c.problem != "" && !hasProblem(in, c.problem) {
				t.Errorf("problems %q do not say %q", in.Problems, c.problem)
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	c := certifier(t)
	signed := sign(t, c, build(t, c, 0, goodRecord()), 0)
	// Change one byte of the scan's JPEG data: the file still reads, the digest differs.
	i := bytes.Index(signed, []byte{0xff, 0xd8, 0xff}) // the JPEG's start
	if i < 0 {
		t.Fatal("no JPEG in the file")
	}
	signed[i+2000] ^= 0x55
	in := inspect(t, signed, certify.InspectOptions{})
	if in.OK() || in.Signatures[0].Intact {
		t.Errorf("a tampered file: OK %v, intact %v", in.OK(), in.Signatures[0].Intact)
	}
	if !hasProblem(in, "does not check out") {
		t.Errorf("problems %q do not say the signature fails", in.Problems)
	}
}

// TestVerifyBytesAfterTheSignature: anything but validation data, document timestamps and
// metadata after the last signature is a change the signatures do not allow.
func TestVerifyBytesAfterTheSignature(t *testing.T) {
	c := certifier(t)
	signed := sign(t, c, build(t, c, 0, goodRecord()), 0)
	if in := inspect(t, signed, certify.InspectOptions{}); len(in.Forbidden) != 0 {
		t.Fatalf("the signed copy as it is has forbidden changes: %q", in.Forbidden)
	}
	appended := append(bytes.Clone(signed), "% added later\n"...)
	in := inspect(t, appended, certify.InspectOptions{})
	if in.OK() || len(in.Forbidden) == 0 || !in.Signatures[0].Intact {
		t.Errorf("bytes appended after the signature: OK %v, forbidden %q, intact %v", in.OK(), in.Forbidden, in.Signatures[0].Intact)
	}
}

func TestVerifyUntrusted(t *testing.T) {
	c := certifier(t)
	other := x509.NewCertPool()
	other.AddCert(selfSignedCert(t, "Another CA"))
	in := inspect(t, sign(t, c, build(t, c, 0, goodRecord()), 0), certify.InspectOptions{Roots: other})
	if in.OK() || !in.ChainChecked || in.ChainTrusted {
		t.Errorf("signed by a certificate outside the trust store: OK %v, checked %v, trusted %v", in.OK(), in.ChainChecked, in.ChainTrusted)
	}
}

func inspect(t *testing.T, pdf []byte, opt certify.InspectOptions) *certify.Inspection {
	t.Helper()
	in, err := certify.InspectWith(pdf, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Problems explain OK: one without the other is a bug.
	if in.OK() != (len(in.Problems) == 0) {
		t.Errorf("OK() is %v but the problems are %q", in.OK(), in.Problems)
	}
	return in
}

func hasProblem(in *certify.Inspection, part string) bool {
	for _, p := range in.Problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

func rotateName(r int) string { return fmt.Sprintf("rotate%d", r) }

func ptW() float64 { return pageW * 72.0 / 300 }
func ptH() float64 { return pageH * 72.0 / 300 }

func certifier(t *testing.T) *certify.Certifier {
	t.Helper()
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatalf("the sRGB profile is missing (scripts/setup.sh installs icc-profiles-free): %v", err)
	}
	font, err := os.ReadFile("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")
	if err != nil {
		t.Fatalf("Tesseract's pdf.ttf is missing: %v", err)
	}
	return &certify.Certifier{
		OutputICC: icc,
		TextFont:  font,
		Producer:  "scanstation test",
		Certify:   true,
		Mark:      mark.Options{Agency: agency, CopyLabel: "SAO LỤC"},
		Now:       func() time.Time { return signedAt },
	}
}

func goodRecord() *certify.Record {
	vn := certify.VietnamTime()
	return &certify.Record{
		Agency: agency, Station: "scan-01", Operator: "Nguyễn Thị Hoa",
		ConvertedAt: time.Date(2026, 11, 26, 9, 40, 0, 0, vn), SourceName: "scan1.jpg",
		SourceSHA256: strings.Repeat("ab", 32), ApprovedBy: "Trần Văn Nam", ApprovedAt: time.Date(2026, 11, 26, 9, 43, 0, 0, vn),
	}
}

// build writes an unsigned PDF/A of one A5 page, a white JPEG at 300 dpi with one word,
// with the conversion record rec (nil: none).
func build(t *testing.T, c *certify.Certifier, rotate int, rec *certify.Record) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, pageW, pageH))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 1200; y < 1260; y++ {
		for x := 300; x < 900; x++ {
			img.Set(x, y, color.Black)
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	doc := &pdfa.Document{
		Title: "Bản sao thử",
		Pages: []pdfa.Page{{Rotate: rotate,
			Image: pdfa.Image{Width: pageW, Height: pageH, DPIX: 300, DPIY: 300, ColorSpace: pdfa.RGB,
				BitsPerComponent: 8, Filter: "DCTDecode", Data: jpg.Bytes()},
			Words: []pdfa.Word{{Text: "Quyết", Box: image.Rect(300, 1200, 900, 1260)}},
		}},
	}
	if rec == nil {
		doc.OutputICC, doc.TextFont, doc.Producer, doc.Created = c.OutputICC, c.TextFont, c.Producer, signedAt
		var out bytes.Buffer
		if err := pdfa.Write(&out, doc); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	built, err := c.Build(doc, *rec)
	if err != nil {
		t.Fatal(err)
	}
	return built
}

func sign(t *testing.T, c *certify.Certifier, built []byte, rotate int) []byte {
	t.Helper()
	k := testKey(t)
	signed, err := c.Sign(context.Background(), built, certify.Key{Signer: k.key, Chain: []*x509.Certificate{k.cert}},
		certify.Page1{WidthPt: ptW(), HeightPt: ptH(), Rotate: rotate}, false)
	if err != nil {
		t.Fatal(err)
	}
	return signed.PDF
}

// padesSign signs with pades directly, with look as the appearance (nil: invisible).
func padesSign(t *testing.T, built []byte, look *pades.Appearance, when time.Time) []byte {
	t.Helper()
	k := testKey(t)
	var out bytes.Buffer
	err := pades.Sign(&out, built, pades.Signer{Key: k.key, Chain: []*x509.Certificate{k.cert}},
		pades.Options{Time: when.In(certify.VietnamTime()), Appearance: look})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type key struct {
	key   *rsa.PrivateKey
	cert  *x509.Certificate
	roots *x509.CertPool
}

var (
	keyOnce sync.Once
	theKey  key
)

// testKey is one in-memory RSA key with a self-signed certificate for all tests: making
// an RSA key is the slowest step.
func testKey(t *testing.T) key {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		theKey.key = k
		theKey.cert = certFor(k, "Văn thư Ủy ban nhân dân tỉnh")
		theKey.roots = x509.NewCertPool()
		theKey.roots.AddCert(theKey.cert)
	})
	return theKey
}

func selfSignedCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return certFor(k, name)
}

func certFor(k *rsa.PrivateKey, name string) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(30),
		Subject:               pkix.Name{CommonName: name, Country: []string{"VN"}},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}
