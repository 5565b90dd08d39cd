package certify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"scanstation/certify"
	"scanstation/certify/pdfa"
	"scanstation/internal/samplescan"
	"scanstation/ocr"
)

// TestJPEGPageGrowsAtMostFivePercent: a single-page JPEG scan (samplescan's A4 letter at 300
// dpi, quality 85, read by the real Tesseract) certified at PAdES B-B with the mark, the text
// layer, the conversion record and a two-certificate chain as the station signs, is at most 5%
// larger than the JPEG (issue 15). The JPEG is embedded as it is, so everything above it is
// what the station adds.
func TestJPEGPageGrowsAtMostFivePercent(t *testing.T) {
	img, err := samplescan.Render(samplescan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer
	if err := samplescan.WriteJPEG(&jpg, img, 300, 85); err != nil {
		t.Fatal(err)
	}
	engine, err := ocr.NewEngine(ocr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	res, err := engine.Recognize(jpg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Words) < 100 {
		t.Fatalf("Tesseract read %d words on a letter page; the text layer would not be a real one", len(res.Words))
	}
	words := make([]pdfa.Word, len(res.Words))
	for i, w := range res.Words {
		words[i] = pdfa.Word{Text: w.Text, Box: w.Box}
	}
	b := img.Bounds()
	doc := &pdfa.Document{
		Title: "scan1.jpg",
		Pages: []pdfa.Page{{
			Image: pdfa.Image{Width: b.Dx(), Height: b.Dy(), DPIX: 300, DPIY: 300, ColorSpace: pdfa.RGB,
				BitsPerComponent: 8, Filter: "DCTDecode", Data: jpg.Bytes()},
			Words: words,
		}},
	}
	c := certifier(t)
	built, err := c.Build(doc, *goodRecord())
	if err != nil {
		t.Fatal(err)
	}
	k := testKey(t)
	chain := []*x509.Certificate{k.cert, selfSignedCert(t, "CA thử nghiệm")}
	signed, err := c.Sign(context.Background(), built, certify.Key{Signer: k.key, Chain: chain},
		certify.Page1{WidthPt: float64(b.Dx()) * 72 / 300, HeightPt: float64(b.Dy()) * 72 / 300}, false)
	if err != nil {
		t.Fatal(err)
	}
	in, out := jpg.Len(), len(signed.PDF)
	growth := float64(out-in) / float64(in) * 100
	t.Logf("JPEG %d bytes, %d words; PDF/A %d bytes, signed %d bytes: +%d bytes (+%.2f%%)", in, len(words), len(built), out, out-in, growth)
	if growth > 5 {
		t.Errorf("the signed copy is %d bytes, %.2f%% more than the %d-byte JPEG; want at most 5%%", out, growth, in)
	}
}
