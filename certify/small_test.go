package certify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"image"
	"image/jpeg"
	"math"
	"strings"
	"testing"

	"scanstation/certify"
	"scanstation/certify/pdfa"
)

// TestVerifySmallPages signs small originals (a 58 mm till receipt, a business card, A8) with
// the default small-page policy and inspects them as scanstation verify does: the mark, on a
// narrower margin, is found top right with the signing time, and the copy's place note says
// what the mark gave up.
func TestVerifySmallPages(t *testing.T) {
	c := certifier(t)
	k := testKey(t)
	for _, p := range []struct {
		name string
		w, h float64 // mm
	}{{"receipt 58 mm", 58, 150}, {"business card, upright", 55, 85}, {"A8", 52, 74}} {
		t.Run(p.name, func(t *testing.T) {
			pxW, pxH := int(math.Round(p.w/25.4*300)), int(math.Round(p.h/25.4*300))
			img := image.NewRGBA(image.Rect(0, 0, pxW, pxH))
			for i := range img.Pix {
				img.Pix[i] = 0xff
			}
			var jpg bytes.Buffer
			if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 75}); err != nil {
				t.Fatal(err)
			}
			built, err := c.Build(&pdfa.Document{Title: p.name, Pages: []pdfa.Page{{
				Image: pdfa.Image{Width: pxW, Height: pxH, DPIX: 300, DPIY: 300, ColorSpace: pdfa.RGB,
					BitsPerComponent: 8, Filter: "DCTDecode", Data: jpg.Bytes()},
			}}}, *goodRecord())
			if err != nil {
				t.Fatal(err)
			}
			page1 := certify.Page1{WidthPt: float64(pxW) * 72 / 300, HeightPt: float64(pxH) * 72 / 300}
			signed, err := c.Sign(context.Background(), built, certify.Key{Signer: k.key, Chain: []*x509.Certificate{k.cert}}, page1, false)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(signed.MarkPlace, "small page: margin ") {
				t.Errorf("the mark's place %q does not say what the small page changed", signed.MarkPlace)
			}
			in := inspect(t, signed.PDF, certify.InspectOptions{Roots: k.roots})
			if !in.OK() || !in.Mark.TopRight || !in.Mark.TimeMatches {
				t.Errorf("the signed %s is not OK: mark %+v, problems %q", p.name, in.Mark, in.Problems)
			}
			t.Logf("%s: %s", p.name, signed.MarkPlace)
		})
	}
}
