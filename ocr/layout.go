package ocr

import (
	"image"
	"math"
	"slices"
)

// orientation derives the page orientation from the words as Tesseract
// returned them: in reading order, with boxes in the coordinates of the image
// as given. On an upright page successive words of a line run left to right;
// on a page turned 180° they run right to left; on a page turned 90°
// clockwise (Orientation 270 undoes it) they run downwards, and on one
// turned 90° counter-clockwise (Orientation 90) upwards. Each line with two
// or more words votes with its word count; no votes means 0.
func orientation(words []Word) int {
	votes := map[int]int{}
	for _, line := range lines(words) {
		if len(line) < 2 {
			continue
		}
		first, last := centre(line[0].Box), centre(line[len(line)-1].Box)
		dx, dy := last.X-first.X, last.Y-first.Y
		var o int
		switch {
		case math.Abs(dx) >= math.Abs(dy) && dx >= 0:
			o = 0
		case math.Abs(dx) >= math.Abs(dy):
			o = 180
		case dy > 0:
			o = 270
		default:
			o = 90
		}
		votes[o] += len(line)
	}
	best := 0
	for _, o := range []int{0, 180, 90, 270} {
		if votes[o] > votes[best] {
			best = o
		}
	}
	return best
}

type point struct{ X, Y float64 }

func centre(r image.Rectangle) point {
	return point{float64(r.Min.X+r.Max.X) / 2, float64(r.Min.Y+r.Max.Y) / 2}
}

// upright maps a point of the image as given (width×height pixels) into the
// page turned clockwise by orientation degrees.
func upright(p point, orientation int, width, height float64) point {
	switch orientation {
	case 90:
		return point{height - p.Y, p.X}
	case 180:
		return point{width - p.X, height - p.Y}
	case 270:
		return point{p.Y, width - p.X}
	}
	return p
}

// lines groups words by Line, keeping their order.
func lines(words []Word) [][]Word {
	var out [][]Word
	for i, w := range words {
		if i == 0 || w.Line != words[i-1].Line {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], w)
	}
	return out
}

// Skew is estimated only from lines long enough to show it, and reported
// only when the lines agree: a wrong correction is worse than none.
const (
	skewMinWords     = 3    // words a line needs to take part
	skewMinLines     = 2    // lines that must take part
	skewAgreement    = 0.5  // share of lines within skewTolerance of the median
	skewToleranceDeg = 0.75 //
	skewMaxDeg       = 10   // larger angles are not skew but a misreading
)

// skew estimates the counter-clockwise angle in degrees that straightens
// the text lines once the page is turned upright, or 0 when unsure.
//
// Word box centres are used rather than bottoms: on a skewed line a word's
// axis-aligned box grows symmetrically about its centre, and descenders,
// Vietnamese dots below and tone marks above move a centre by only half
// their height. Per line the slope is the Theil-Sen estimate (median of
// the slopes between word pairs that are far enough apart), robust to a
// word or two with odd marks; the page's skew is the median over lines.
func skew(words []Word, orientation int, width, height int) float64 {
	var slopes []float64
	for _, line := range lines(words) {
		if len(line) < skewMinWords {
			continue
		}
		pts := make([]point, len(line))
		var heights []float64
		for i, w := range line {
			pts[i] = upright(centre(w.Box), orientation, float64(width), float64(height))
			h := float64(w.Box.Dy())
			if orientation == 90 || orientation == 270 {
				h = float64(w.Box.Dx())
			}
			heights = append(heights, h)
		}
		minGap := 2 * median(heights)
		var pair []float64
		for i := range pts {
			for j := i + 1; j < len(pts); j++ {
				dx := pts[j].X - pts[i].X
				if math.Abs(dx) < minGap {
					continue
				}
				pair = append(pair, (pts[j].Y-pts[i].Y)/dx)
			}
		}
		if len(pair) > 0 {
			slopes = append(slopes, median(pair))
		}
	}
	if len(slopes) < skewMinLines {
		return 0
	}
	m := median(slopes)
	deg := math.Atan(m) * 180 / math.Pi
	agree := 0
	for _, s := range slopes {
		if math.Abs(math.Atan(s)*180/math.Pi-deg) <= skewToleranceDeg {
			agree++
		}
	}
	if float64(agree) < skewAgreement*float64(len(slopes)) || math.Abs(deg) >= skewMaxDeg {
		return 0
	}
	// Lines falling to the right (y grows with x, y pointing down) are
	// turned clockwise; the straightening turn is counter-clockwise.
	return math.Round(deg*100) / 100
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func meanConfidence(words []Word) float64 {
	if len(words) == 0 {
		return 0
	}
	sum := 0.0
	for _, w := range words {
		sum += w.Confidence
	}
	return sum / float64(len(words))
}
