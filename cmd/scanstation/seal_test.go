package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"scanstation/internal/samplescan"
)

// TestCircular01MarkWithSeal certifies with the older profile: the agency's red seal (a PNG with
// a transparent background) at the top right of page 1 with the agency and the signing time.
func TestCircular01MarkWithSeal(t *testing.T) {
	dir, cfg := newStation(t)
	seal := filepath.Join(dir, "con-dau.png")
	writeSeal(t, seal)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(data), `mark: "decree30"`, `mark: "circular01"`, 1)
	yaml = strings.Replace(yaml, `seal_image: ""`, `seal_image: "`+seal+`"`, 1)
	if err := os.WriteFile(cfg, []byte(yaml), 0o640); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "giay-moi.jpg")
	writeImage(t, input, samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	if out, code := scanstation(t, nil, "process", "--config", cfg, input); code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	pdf := filepath.Join(dir, "outbox", "giay-moi.pdf")
	checkSignedPDFA(t, dir, pdf)

	// The seal is drawn: red pixels in the top right of the rendered page 1.
	tool(t, "pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", pdf, filepath.Join(dir, "page"))
	f, err := os.Open(filepath.Join(dir, "page-1.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	red := 0
	for y := b.Min.Y; y < b.Min.Y+b.Dy()/3; y++ {
		for x := b.Min.X + b.Dx()/2; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r > 0xb000 && g < 0x6000 && bl < 0x6000 {
				red++
			}
		}
	}
	if red < 50 {
		t.Errorf("only %d red pixels in the top right of page 1: the seal is not drawn", red)
	}
	page := firstPageWords(t, pdf)
	found := false
	for _, w := range page.Words {
		if strings.Contains(w.Text, "(DEV)") && w.XMin > page.Width/2 && w.YMax < page.Height/3 {
			found = true
		}
	}
	if !found {
		t.Errorf("the agency's name is not beside the seal in the top right: %v", page.Words)
	}
}

// writeSeal draws a red ring with a star on a transparent background, as agencies' seals are
// scanned for the circular01 mark.
func writeSeal(t *testing.T, path string) {
	t.Helper()
	const size = 300
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	red := color.NRGBA{R: 0xd0, G: 0x10, B: 0x10, A: 0xff}
	c := float64(size) / 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)-c, float64(y)-c
			d2 := dx*dx + dy*dy
			if (d2 < 145*145 && d2 > 125*125) || (d2 < 40*40) {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
