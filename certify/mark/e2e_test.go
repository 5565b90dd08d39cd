package mark_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/certify/pdfa"
	"scanstation/internal/judge"
)

// TestSignedMark signs a PDF/A made by certify/pdfa with the mark as the
// signature's appearance, then lets the outside tools judge: veraPDF (still
// PDF/A-2u), pdfsig (the signature), pdftotext (the words are there, in the
// mark's box, top right as displayed, and read back as Vietnamese) and
// pdftoppm (something is drawn there).
func TestSignedMark(t *testing.T) {
	signer := selfSigned(t)
	when := time.Date(2020, 3, 5, 9, 43, 18, 0, time.UTC) // 05.03.2020 16:43:18 +07:00
	const agency = "Ủy ban nhân dân tỉnh Bà Rịa - Vũng Tàu"
	for _, c := range []struct {
		profile mark.Profile
		rotate  int
		words   []string // must all be found inside the box
	}{
		{mark.Decree30, 0, []string{"SAO", "LỤC", "Ủy", "Tàu", "05.03.2020", "16:43:18", "+07:00"}},
		{mark.Circular01, 180, []string{"Ủy", "Tàu", "05.03.2020", "16:43:18", "+07:00"}},
	} {
		t.Run(string(c.profile), func(t *testing.T) {
			dir := t.TempDir()
			page := mark.Page{WidthPt: 595.28, HeightPt: 841.89, Rotate: c.rotate}
			opt := mark.Options{Profile: c.profile, CopyLabel: "SAO LỤC", Agency: agency, Time: when, SealPNG: redSeal(t)}
			a, place, err := mark.Build(page, opt)
			if err != nil {
				t.Fatal(err)
			}
			var signed bytes.Buffer
			err = pades.Sign(&signed, blankPDFA(t, c.rotate), signer, pades.Options{Time: when, Appearance: a})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "signed.pdf")
			if err := os.WriteFile(file, signed.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}

			if rep := judge.PDFA(t, file); !rep.Compliant {
				t.Errorf("veraPDF does not find the signed file PDF/A-2u compliant:\n%s", rep.Summary())
			}
			if v := judge.PdfSig(t, file); v.ExitCode != 0 {
				t.Fatalf("pdfsig exits %d:\n%s", v.ExitCode, v.Stdout)
			} else if !slices.ContainsFunc(v.Signatures, func(s judge.PdfSigSignature) bool { return s.Valid }) {
				t.Errorf("pdfsig finds no valid signature:\n%s", v.Stdout)
			}

			// The box as displayed, with y down from the top as pdftotext and
			// pdftoppm give it.
			box := displayed(page, place.Rect)
			t.Logf("%s on a page turned %d°: %s, box %.1f,%.1f–%.1f,%.1f pt from the top left as displayed",
				c.profile, c.rotate, place.Where, box[0], box[1], box[2], box[3])
			words := bboxWords(t, run(t, "pdftotext", "-bbox", "-f", "1", "-l", "1", file, "-"))
			for _, w := range c.words {
				r, ok := words[w]
				if !ok {
					t.Errorf("pdftotext does not find %q on page 1 (found %v)", w, words)
					continue
				}
				if r[0] < box[0]-1 || r[1] < box[1]-1 || r[2] > box[2]+1 || r[3] > box[3]+1 {
					t.Errorf("%q at %v is outside the mark's box %v", w, r, box)
				}
				// Top right as displayed: right half, top eighth.
				if r[0] < 595.28/2 || r[3] > 841.89/8 {
					t.Errorf("%q at %v is not in the top right of the displayed page", w, r)
				}
			}
			text := run(t, "pdftotext", "-f", "1", "-l", "1", file, "-")
			for _, line := range []string{agency, "05.03.2020 16:43:18 +07:00"} {
				if !strings.Contains(text, line) {
					t.Errorf("pdftotext does not read %q back; it reads:\n%s", line, text)
				}
			}

			run(t, "pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-singlefile", "-png", file, filepath.Join(dir, "page"))
			img := readPNG(t, filepath.Join(dir, "page.png"))
			ink, red := 0, 0
			for y := int(box[1]); y < int(box[3]); y++ {
				for x := int(box[0]); x < int(box[2]); x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					if r < 0x8000 && g < 0x8000 && b < 0x8000 {
						ink++
					}
					if r > 0xa000 && g < 0x6000 && b < 0x6000 {
						red++
					}
				}
			}
			if ink < 200 {
				t.Errorf("pdftoppm renders %d dark pixels in the mark's box; want the text there", ink)
			}
			if c.profile == mark.Circular01 && red < 500 {
				t.Errorf("pdftoppm renders %d red pixels in the mark's box; want the seal there", red)
			}
			t.Logf("rendered at 72 dpi: %d dark and %d red pixels in the box; signed file %d bytes", ink, red, signed.Len())
		})
	}
}

// blankPDFA is one A4 page, a white RGB scan at 1 pixel a millimetre with
// a grey block in its lower half, written by certify/pdfa.
func blankPDFA(t *testing.T, rotate int) []byte {
	t.Helper()
	icc, err := os.ReadFile("/usr/share/color/icc/sRGB.icc")
	if err != nil {
		t.Fatalf("the sRGB profile is missing (scripts/setup.sh installs icc-profiles-free): %v", err)
	}
	const w, h = 210, 297
	raw := bytes.Repeat([]byte{0xff}, 3*w*h)
	for y := 200; y < 260; y++ {
		for x := 30; x < 180; x++ {
			copy(raw[3*(y*w+x):], []byte{0x80, 0x80, 0x80})
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	var out bytes.Buffer
	err = pdfa.Write(&out, &pdfa.Document{
		Pages: []pdfa.Page{{Rotate: rotate, Image: pdfa.Image{Width: w, Height: h, DPIX: 25.4, DPIY: 25.4,
			ColorSpace: pdfa.RGB, BitsPerComponent: 8, Filter: "FlateDecode", Data: z.Bytes()}}},
		Title:     "Bản sao thử",
		Created:   time.Date(2020, 3, 5, 9, 40, 0, 0, time.UTC),
		OutputICC: icc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// selfSigned is an in-memory RSA key with a self-signed certificate.
func selfSigned(t *testing.T) pades.Signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(30),
		Subject:      pkix.Name{CommonName: "Văn thư Ủy ban nhân dân tỉnh", Country: []string{"VN"}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pades.Signer{Key: key, Chain: []*x509.Certificate{cert}}
}

// redSeal is a red ring with a star-less centre on a transparent background.
func redSeal(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for y := range 300 {
		for x := range 300 {
			d := (x-150)*(x-150) + (y-150)*(y-150)
			if d < 148*148 && d > 125*125 || d < 40*40 {
				img.Set(x, y, color.NRGBA{R: 0xe0, G: 0x10, B: 0x20, A: 0xff})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// displayed turns a rectangle in user space into the displayed page with
// the origin at the top left, as pdftotext -bbox and pdftoppm report it.
func displayed(page mark.Page, r [4]float64) [4]float64 {
	W, H := page.WidthPt, page.HeightPt
	dispH := H
	if page.Rotate%180 != 0 {
		dispH = W
	}
	pt := func(x, y float64) (float64, float64) {
		switch page.Rotate {
		case 90:
			return y, dispH - (W - x)
		case 180:
			return W - x, dispH - (H - y)
		case 270:
			return H - y, dispH - x
		}
		return x, dispH - y
	}
	ax, ay := pt(r[0], r[1])
	bx, by := pt(r[2], r[3])
	return [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)}
}

// bboxWords reads pdftotext -bbox output: each word and its box.
func bboxWords(t *testing.T, html string) map[string][4]float64 {
	t.Helper()
	re := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
	words := map[string][4]float64{}
	for _, m := range re.FindAllStringSubmatch(html, -1) {
		var r [4]float64
		for i := range r {
			r[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		words[m[5]] = r
	}
	return words
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// run runs an outside tool that must exit 0 and returns its stdout; a tool that is missing
// fails the test.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, ok := judge.Run(t, name, args...)
	if !ok {
		t.Fatalf("%s %s failed:\n%s", name, strings.Join(args, " "), out)
	}
	return out
}
