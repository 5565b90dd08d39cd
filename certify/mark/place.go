package mark

import (
	"fmt"
	"image"
	"math"
	"sort"
)

// Ink search: how far the mark may wander from the top right corner, in
// what steps, how much clear paper it wants around it, and how much ink
// under it is still "free" (dust and scanner noise are a few dark pixels).
const (
	searchStep = 2 * mm
	clearance  = 1 * mm
	inkLimit   = 0.01 // fraction of dark pixels
	darkLevel  = 128  // a pixel darker than this is ink
)

// placeMark puts a bw × bh box (as displayed) in the top right corner of the
// displayed page inside the margin, or, when page.Ink shows ink there, in
// the nearest place of the top right region free of ink: the box's right
// edge stays in the right half of the page and its top edge in the top quarter.
func placeMark(page Page, rotate int, dispW, dispH, bw, bh, margin float64) Placement {
	x0, y0 := dispW-margin-bw, dispH-margin-bh
	rect := func(left, down float64) [4]float64 {
		return toUser(page, rotate, [4]float64{x0 - left, y0 - down, x0 - left + bw, y0 - down + bh})
	}
	home := Placement{Rect: rect(0, 0), Where: "top right"}
	if page.Ink == nil {
		return home
	}
	ink := newInkMap(page.Ink)
	free := func(r [4]float64) bool {
		r = [4]float64{r[0] - clearance, r[1] - clearance, r[2] + clearance, r[3] + clearance}
		return ink.fraction(page, r) <= inkLimit
	}
	if free(home.Rect) {
		return home
	}
	// The mark keeps its margin from the left and bottom too, reaches into the right half and
	// starts in the top quarter, where certify's Inspect (scanstation verify) looks for it.
	maxLeft := min(dispW/2-margin, x0-margin)
	maxDown := min(dispH/4-margin, y0-margin)
	type step struct{ left, down int }
	var steps []step
	for i := 0; float64(i)*searchStep <= maxLeft; i++ {
		for j := 0; float64(j)*searchStep <= maxDown; j++ {
			if i+j > 0 {
				steps = append(steps, step{i, j})
			}
		}
	}
	// Nearest first; at equal distance, left before down, so the mark keeps
	// to the top edge where a reader looks for it.
	sort.SliceStable(steps, func(a, b int) bool {
		da := steps[a].left*steps[a].left + steps[a].down*steps[a].down
		db := steps[b].left*steps[b].left + steps[b].down*steps[b].down
		if da != db {
			return da < db
		}
		return steps[a].down < steps[b].down
	})
	for _, s := range steps {
		left, down := float64(s.left)*searchStep, float64(s.down)*searchStep
		r := rect(left, down)
		if free(r) {
			return Placement{Rect: r, Moved: true, Where: movedWords(left, down)}
		}
	}
	home.Where = "top right, over ink: no free place nearby"
	return home
}

func movedWords(left, down float64) string {
	l, d := math.Round(left/mm), math.Round(down/mm)
	var where string
	switch {
	case d == 0:
		where = fmt.Sprintf("moved %.0f mm left of the top right corner", l)
	case l == 0:
		where = fmt.Sprintf("moved %.0f mm down from the top right corner", d)
	default:
		where = fmt.Sprintf("moved %.0f mm left and %.0f mm down from the top right corner", l, d)
	}
	return where + ": ink under the usual place"
}

// toUser turns a rectangle on the displayed page (origin at its lower left)
// into the page's default user space, undoing a clockwise /Rotate.
func toUser(page Page, rotate int, r [4]float64) [4]float64 {
	W, H := page.WidthPt, page.HeightPt
	pt := func(dx, dy float64) (float64, float64) {
		switch rotate {
		case 90:
			return W - dy, dx
		case 180:
			return W - dx, H - dy
		case 270:
			return dy, H - dx
		}
		return dx, dy
	}
	ax, ay := pt(r[0], r[1])
	bx, by := pt(r[2], r[3])
	return [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)}
}

// inkMap counts dark pixels in any rectangle in constant time (a summed-area
// table), so the search can try many places on a full-resolution scan.
type inkMap struct {
	w, h int
	sum  []int32 // (w+1) × (h+1): dark pixels above and left of each corner
}

func newInkMap(g *image.Gray) inkMap {
	b := g.Rect
	m := inkMap{w: b.Dx(), h: b.Dy()}
	m.sum = make([]int32, (m.w+1)*(m.h+1))
	for y := 0; y < m.h; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+m.w]
		var run int32
		for x, v := range row {
			if v < darkLevel {
				run++
			}
			m.sum[(y+1)*(m.w+1)+x+1] = m.sum[y*(m.w+1)+x+1] + run
		}
	}
	return m
}

// fraction is the share of dark pixels under r, a rectangle in the page's
// user space; the image spans the MediaBox with its first row at the top.
func (m inkMap) fraction(page Page, r [4]float64) float64 {
	sx, sy := float64(m.w)/page.WidthPt, float64(m.h)/page.HeightPt
	clamp := func(v float64, hi int) int { return max(0, min(hi, int(v))) }
	x0 := clamp(math.Floor(r[0]*sx), m.w)
	x1 := clamp(math.Ceil(r[2]*sx), m.w)
	y0 := clamp(math.Floor((page.HeightPt-r[3])*sy), m.h)
	y1 := clamp(math.Ceil((page.HeightPt-r[1])*sy), m.h)
	area := (x1 - x0) * (y1 - y0)
	if area == 0 {
		return 0
	}
	at := func(x, y int) int32 { return m.sum[y*(m.w+1)+x] }
	dark := at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0)
	return float64(dark) / float64(area)
}
