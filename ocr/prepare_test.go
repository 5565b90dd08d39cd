package ocr

import (
	"image"
	"math"
	"testing"

	"scanstation/internal/samplescan"
)

// TestRecognizeSkewedLetter reads a letter whose body Tesseract's layout
// analysis drops when it is read as scanned (4° clockwise: CER 0.79
// measured before pages were deskewed), and the same letter 3° skewed and
// fed upside down, or turned 90° counter-clockwise (CER 0.32 before the
// skew was looked for across the page too). Each must read as the straight
// letter does, report the skew that straightens it, and have its word
// boxes where the words are in the image as given.
func TestRecognizeSkewedLetter(t *testing.T) {
	e := newEngine(t, Options{})
	s := samplescan.LetterSet(24, 77)[22]
	render := func(skew float64) image.Image {
		opt := s.Options
		opt.DPI, opt.Skew, opt.Gray = 300, skew, false
		img, err := samplescan.RenderLetter(s.Letter, opt)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	straight := render(0)
	want, err := e.Recognize(encodeJPEG(t, straight))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		skew        float64
		orientation int // the page is fed turned the other way by this much
	}{
		{"4° clockwise", 4, 0},
		{"3° clockwise, upside down", 3, 180},
		{"3° clockwise, turned 90° counter-clockwise", 3, 90},
	} {
		upright := render(tt.skew)
		img := upright
		switch tt.orientation {
		case 180:
			img = samplescan.TurnedHalf(upright)
		case 90:
			img = turn90(upright, false)
		}
		res, err := e.Recognize(encodeJPEG(t, img))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := cer(want.Text(), res.Text())
		t.Logf("%s: skew %.2f, orientation %d, CER against the straight reading %.4f", tt.name, res.Skew, res.Orientation, got)
		if got > 0.02 {
			t.Errorf("%s: CER %.4f against the straight letter's reading, want ≤ 0.02:\n%s", tt.name, got, res.Text())
		}
		if math.Abs(res.Skew-tt.skew) > 0.3 {
			t.Errorf("%s: Skew %.2f, want %.1f ± 0.3", tt.name, res.Skew, tt.skew)
		}
		if res.Orientation != tt.orientation {
			t.Errorf("%s: Orientation %d, want %d", tt.name, res.Orientation, tt.orientation)
		}
		checkBoxesInside(t, res, img.Bounds())

		// Words that occur once in both readings: the straight box's
		// centre, turned as samplescan turned the page, is the skewed
		// box's centre.
		b := upright.Bounds()
		cx, cy := float64(b.Dx()-1)/2, float64(b.Dy()-1)/2
		sin, cos := math.Sincos(tt.skew * math.Pi / 180)
		straightBoxes, skewedBoxes := onlyOnce(want.Words), onlyOnce(res.Words)
		compared, off := 0, 0
		for text, sb := range straightBoxes {
			kb, ok := skewedBoxes[text]
			if !ok {
				continue
			}
			c := centre(sb)
			dx, dy := c.X-cx, c.Y-cy
			p := point{cx + dx*cos - dy*sin, cy + dx*sin + dy*cos}
			switch tt.orientation {
			case 180:
				p = point{float64(b.Dx()-1) - p.X, float64(b.Dy()-1) - p.Y}
			case 90:
				p = point{p.Y, float64(b.Dx()-1) - p.X}
			}
			compared++
			if k := centre(kb); math.Hypot(k.X-p.X, k.Y-p.Y) > 6 {
				off++
				t.Logf("%s: %q at %v, want its centre at (%.0f, %.0f)", tt.name, text, kb, p.X, p.Y)
			}
		}
		if compared < 50 || off > compared/20 {
			t.Errorf("%s: %d of %d words compared have their box more than 6 px from where the word is", tt.name, off, compared)
		}
	}
}

func onlyOnce(words []Word) map[string]image.Rectangle {
	seen := map[string]int{}
	out := map[string]image.Rectangle{}
	for _, w := range words {
		seen[w.Text]++
		out[w.Text] = w.Box
	}
	for text, n := range seen {
		if n > 1 {
			delete(out, text)
		}
	}
	return out
}

// TestUnturn: a box turned as Leptonica's pixRotate turns a page comes back
// to the box it was, and a box turned out of the image is clipped.
func TestUnturn(t *testing.T) {
	const w, h = 2480, 3508
	for _, deg := range []float64{3, -2.5, 0.5} {
		orig := image.Rect(300, 2900, 700, 2960)
		sin, cos := math.Sincos(deg * math.Pi / 180)
		cx, cy := float64(w/2), float64(h/2)
		c := centre(orig)
		dx, dy := c.X-cx, c.Y-cy
		tx, ty := cx+dx*cos-dy*sin, cy+dx*sin+dy*cos
		turned := image.Rect(int(tx)-200, int(ty)-30, int(tx)+200, int(ty)+30)
		back := unturn(turned, deg, w, h)
		if d := centre(back); math.Hypot(d.X-c.X, d.Y-c.Y) > 1.5 {
			t.Errorf("%g°: centre %v came back at (%.1f, %.1f), want (%.1f, %.1f)", deg, turned, d.X, d.Y, c.X, c.Y)
		}
		// The bounding box of a turned 400×60 box is wider and taller.
		wantH := 400*math.Abs(sin) + 60*cos
		if math.Abs(float64(back.Dy())-wantH) > 2 {
			t.Errorf("%g°: height %d, want %.0f", deg, back.Dy(), wantH)
		}
	}
	if got := unturn(image.Rect(0, 0, 100, 40), 3, w, h); got.Min.X < 0 || got.Min.Y < 0 {
		t.Errorf("a box at the corner came back as %v, outside the image", got)
	}
	if got := unturn(image.Rect(5, 6, 7, 8), 0, w, h); got != image.Rect(5, 6, 7, 8) {
		t.Errorf("no turn changed the box to %v", got)
	}
}

// TestRecognizeSealedLetter: a red seal stamped across the signature block
// made Tesseract drop the block (CER 0.06 against the truth before pages
// were handed over as their red channel). The sealed letter must read as
// the letter without the seal does.
func TestRecognizeSealedLetter(t *testing.T) {
	e := newEngine(t, Options{})
	s := samplescan.LetterSet(24, 77)[5]
	opt := s.Options
	opt.DPI, opt.Skew = 300, 0
	sealed, err := samplescan.RenderSealed(s.Letter, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Gray = true
	plain, err := samplescan.RenderLetter(s.Letter, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Recognize(encodeJPEG(t, plain))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Recognize(encodeJPEG(t, sealed))
	if err != nil {
		t.Fatal(err)
	}
	got := cer(want.Text(), res.Text())
	t.Logf("sealed: CER against the reading without the seal %.4f", got)
	if got > 0.01 {
		t.Errorf("sealed letter: CER %.4f against the reading without the seal, want ≤ 0.01:\n%s", got, res.Text())
	}
}
