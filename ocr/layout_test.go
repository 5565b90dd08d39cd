package ocr

import (
	"image"
	"math"
	"testing"
)

// fakeLines lays out lines of 10 words, 150 px wide and 50 px high, on an
// upright 2480×3508 page whose lines fall by slope (dy/dx), then maps every
// box into the image turned so that orientation turns it back upright.
func fakeLines(nLines int, slope float64, orientation int) []Word {
	const w, h, width, height = 150, 50, 2480, 3508
	var words []Word
	for l := range nLines {
		for i := range 10 {
			x := 300 + i*170
			y := 300 + l*120 + int(math.Round(slope*float64(x)))
			r := image.Rect(x, y, x+w, y+h)
			// Upright → as given: the inverse of upright().
			switch orientation {
			case 90:
				r = image.Rect(r.Min.Y, width-r.Max.X, r.Max.Y, width-r.Min.X)
			case 180:
				r = image.Rect(width-r.Max.X, height-r.Max.Y, width-r.Min.X, height-r.Min.Y)
			case 270:
				r = image.Rect(height-r.Max.Y, r.Min.X, height-r.Min.Y, r.Max.X)
			}
			words = append(words, Word{Text: "chữ", Box: r, Confidence: 90, Line: l})
		}
	}
	return words
}

func imageSizeFor(orientation int) (int, int) {
	if orientation == 90 || orientation == 270 {
		return 3508, 2480
	}
	return 2480, 3508
}

func TestOrientationAndSkewFromBoxes(t *testing.T) {
	for _, o := range []int{0, 90, 180, 270} {
		for _, deg := range []float64{0, 2, -3.5} {
			words := fakeLines(8, math.Tan(deg*math.Pi/180), o)
			if got := orientation(words); got != o {
				t.Errorf("orientation %d skew %g: got orientation %d", o, deg, got)
			}
			w, h := imageSizeFor(o)
			if got := skew(words, o, w, h); math.Abs(got-deg) > 0.05 {
				t.Errorf("orientation %d skew %g: got skew %.2f", o, deg, got)
			}
		}
	}
}

func TestSkewUnsure(t *testing.T) {
	if got := skew(fakeLines(1, 0.05, 0), 0, 2480, 3508); got != 0 {
		t.Errorf("one line: skew %.2f, want 0 (unsure)", got)
	}
	// Lines that disagree wildly: half rise, half fall.
	words := append(fakeLines(3, 0.1, 0), fakeLines(3, -0.1, 0)...)
	for i := 30; i < len(words); i++ {
		words[i].Line += 3
	}
	if got := skew(words, 0, 2480, 3508); got != 0 {
		t.Errorf("disagreeing lines: skew %.2f, want 0 (unsure)", got)
	}
	if got := skew(fakeLines(5, math.Tan(20*math.Pi/180), 0), 0, 2480, 3508); got != 0 {
		t.Errorf("20° lines: skew %.2f, want 0 (not skew)", got)
	}
	if got := skew(nil, 0, 2480, 3508); got != 0 {
		t.Errorf("no words: skew %.2f", got)
	}
}

func TestOrientationWithoutEvidence(t *testing.T) {
	one := []Word{{Text: "Số", Box: image.Rect(10, 10, 60, 40), Line: 0}}
	if got := orientation(one); got != 0 {
		t.Errorf("single word: orientation %d, want 0", got)
	}
	if got := orientation(nil); got != 0 {
		t.Errorf("no words: orientation %d, want 0", got)
	}
}

func TestMeanConfidence(t *testing.T) {
	if got := meanConfidence(nil); got != 0 {
		t.Errorf("no words: %g", got)
	}
	ws := []Word{{Confidence: 90}, {Confidence: 60}}
	if got := meanConfidence(ws); got != 75 {
		t.Errorf("mean of 90 and 60: %g", got)
	}
}

func TestResultText(t *testing.T) {
	r := Result{Words: []Word{{Text: "Độc", Line: 0}, {Text: "lập", Line: 0}, {Text: "Số:", Line: 1}}}
	if got, want := r.Text(), "Độc lập\nSố:"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}
