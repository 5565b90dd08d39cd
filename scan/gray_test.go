package scan

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

func TestGrayImageReadsEveryOCRImageKind(t *testing.T) {
	// A 16 × 2 page: left half black, right half white, in each encoding OCRImage takes.
	want := func(x int) uint8 {
		if x < 8 {
			return 0
		}
		return 255
	}
	p4 := append([]byte("P4\n16 2\n"), 0xff, 0x00, 0xff, 0x00) // PBM: 1 is black
	p5 := []byte("P5\n16 2\n255\n")
	p6 := []byte("P6\n16 2\n255\n")
	for range 2 {
		for x := range 16 {
			p5 = append(p5, want(x))
			p6 = append(p6, want(x), want(x), want(x))
		}
	}
	src := image.NewRGBA(image.Rect(0, 0, 16, 2))
	for y := range 2 {
		for x := range 16 {
			src.Set(x, y, color.Gray{want(x)})
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, src, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"P4": p4, "P5": p5, "P6": p6, "JPEG": jpg.Bytes()} {
		g, err := (&Page{Number: 1, OCRImage: data}).GrayImage()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if g.Rect.Dx() != 16 || g.Rect.Dy() != 2 {
			t.Errorf("%s: %v, want 16×2", name, g.Rect)
			continue
		}
		for _, x := range []int{1, 14} {
			got := g.GrayAt(x, 1).Y
			if d := int(got) - int(want(x)); d < -40 || d > 40 {
				t.Errorf("%s: pixel %d is %d, want about %d", name, x, got, want(x))
			}
		}
	}
	if _, err := (&Page{Number: 3, OCRImage: []byte("not an image")}).GrayImage(); err == nil {
		t.Error("a damaged OCR image gave no error")
	}
}
