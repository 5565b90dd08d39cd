package pades

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

const liberationSerif = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"

// markRect is where the test mark goes: the top right of an A4 page,
// inside the margin, as Decree 30/2020 places the copy mark.
var markRect = [4]float64{355, 742, 575, 817}

// markLines are the words the test mark shows.
func markLines(at time.Time) []string {
	return []string{"SAO Y", "Cơ quan thử nghiệm", at.Format("02.01.2006 15:04:05 -07:00")}
}

// testAppearance builds a certification mark the way certify/mark will:
// Liberation Serif embedded whole, glyph IDs from its cmap, three lines of
// 10 pt black text, and a small red seal with a transparent background.
func testAppearance(t testing.TB, at time.Time) *Appearance {
	t.Helper()
	program, err := os.ReadFile(liberationSerif)
	if err != nil {
		t.Fatalf("Liberation Serif is missing (scripts/setup.sh installs fonts-liberation2): %v", err)
	}
	sf, err := sfnt.Parse(program)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	upem := float64(sf.UnitsPerEm())
	ppem := fixed.Int26_6(sf.UnitsPerEm()) // makes every metric come out in font units
	scale := func(v fixed.Int26_6) float64 { return float64(v) * 1000 / upem }
	psName, err := sf.Name(&buf, sfnt.NameIDPostScript)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sf.Metrics(&buf, ppem, font.HintingNone)
	if err != nil {
		t.Fatal(err)
	}
	bounds, err := sf.Bounds(&buf, ppem, font.HintingNone)
	if err != nil {
		t.Fatal(err)
	}
	f := &Font{
		BaseFont:  psName, // the whole font, so no subset tag
		Program:   program,
		Widths:    map[uint16]float64{},
		ToUnicode: map[uint16]string{},
		Ascent:    scale(m.Ascent),
		Descent:   -scale(m.Descent),
		CapHeight: scale(m.CapHeight),
		StemV:     80,
		Flags:     2 | 32, // Serif, Nonsymbolic
		// sfnt's y grows downwards; a font box's grows upwards.
		BBox: [4]float64{scale(bounds.Min.X), -scale(bounds.Max.Y), scale(bounds.Max.X), -scale(bounds.Min.Y)},
	}
	show := func(s string) string {
		var hex strings.Builder
		for _, r := range s {
			gid, err := sf.GlyphIndex(&buf, r)
			if err != nil || gid == 0 {
				t.Fatalf("Liberation Serif has no glyph for %q (%v)", r, err)
			}
			adv, err := sf.GlyphAdvance(&buf, gid, ppem, font.HintingNone)
			if err != nil {
				t.Fatal(err)
			}
			f.Widths[uint16(gid)] = scale(adv)
			f.ToUnicode[uint16(gid)] = string(r)
			fmt.Fprintf(&hex, "%04X", uint16(gid))
		}
		return "<" + hex.String() + ">"
	}

	var content bytes.Buffer
	content.WriteString("q 0 0 0 rg BT /F1 10 Tf 12 TL 6 58 Td\n")
	for i, line := range markLines(at) {
		if i > 0 {
			content.WriteString("T* ")
		}
		fmt.Fprintf(&content, "%s Tj\n", show(line))
	}
	content.WriteString("ET Q\nq 56 0 0 56 158 10 cm /Seal Do Q\n")

	return &Appearance{
		Page:    1,
		Rect:    markRect,
		Content: content.Bytes(),
		Fonts:   map[string]*Font{"F1": f},
		Images:  map[string]*Image{"Seal": redSeal(48)},
	}
}

// redSeal is an n×n red disc on a transparent background.
func redSeal(n int) *Image {
	rgb := make([]byte, 0, 3*n*n)
	alpha := make([]byte, 0, n*n)
	r := float64(n) / 2
	for y := range n {
		for x := range n {
			dx, dy := float64(x)+0.5-r, float64(y)+0.5-r
			rgb = append(rgb, 0xd0, 0x10, 0x10)
			if dx*dx+dy*dy <= r*r {
				alpha = append(alpha, 0xff)
			} else {
				alpha = append(alpha, 0)
			}
		}
	}
	return &Image{Width: n, Height: n, RGB: deflate(rgb), Alpha: deflate(alpha)}
}

func deflate(b []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}
