package certify

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"scanstation/certify/mark"
	"scanstation/certify/pades"
)

// copyLabels are the labels Decree 30/2020 Appendix I gives a copy.
var copyLabels = []string{"SAO Y", "SAO LỤC", "TRÍCH SAO"}

// shownTime finds a date and time as the default format shows them, to say what a mark
// shows when it is not the signing time.
var shownTime = regexp.MustCompile(`\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}(:\d{2})?( [+-]\d{2}:\d{2})?`)

// readMark reads the certification mark: the widget of the first signed signature field,
// where it is on the page as displayed, and the text its appearance shows. signed is that
// signature's /M time.
func readMark(xref *model.XRefTable, signed time.Time, opt InspectOptions) (*MarkReport, []string) {
	m := &MarkReport{}
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	widget, ref, err := firstSignatureWidget(xref)
	if err != nil {
		problem("the certification mark cannot be read: %v", err)
		return m, problems
	}
	if widget == nil {
		problem("the first signature has no widget, so it shows no certification mark")
		return m, problems
	}
	if r, err := rectangle(xref, widget["Rect"]); err == nil {
		m.Rect = r
	}
	if m.Rect[2]-m.Rect[0] <= 0 || m.Rect[3]-m.Rect[1] <= 0 {
		problem("the first signature is invisible: it shows no certification mark")
		return m, problems
	}
	// Hidden (bit 2) and NoView (bit 6) widgets are not shown by readers.
	if f, err := xref.DereferenceInteger(widget["F"]); err == nil && f != nil && f.Value()&(1<<1|1<<5) != 0 {
		problem("the certification mark is marked hidden, so readers do not show it")
		return m, problems
	}

	page, pageDict, err := pageOfWidget(xref, ref)
	if err != nil {
		problem("the certification mark cannot be read: %v", err)
		return m, problems
	}
	m.Page = page
	if page == 0 {
		problem("the certification mark is on no page of the file")
		return m, problems
	}

	lines, unreadable, err := appearanceText(xref, widget)
	if err != nil {
		problem("the certification mark's text cannot be read: %v", err)
	}
	if unreadable > 0 {
		problem("%d characters of the certification mark cannot be read: its font does not say which letters they are", unreadable)
	}
	m.Text = strings.Join(lines, "\n")
	m.Present = strings.TrimSpace(m.Text) != ""
	if !m.Present {
		problem("the first signature's appearance shows no text, so it is no certification mark")
		return m, problems
	}
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); slices.Contains(copyLabels, strings.ToUpper(l)) {
			m.CopyLabel = l
			break
		}
	}

	if page != 1 {
		problem("the certification mark is on page %d; the rule puts it on page 1", page)
	} else {
		box, rotate, err := displayBox(xref, pageDict)
		if err != nil {
			problem("the certification mark's place cannot be checked: %v", err)
		} else {
			var where string
			m.TopRight, where = topRight(m.Rect, box, rotate)
			if !m.TopRight {
				problem("the certification mark is not in the top right corner of page 1 as displayed: %s", where)
			}
		}
	}

	m.TimeShown, m.TimeMatches = findTime(m.Text, signed, opt)
	switch {
	case signed.IsZero():
		problem("the first signature has no signing time (/M) to compare the mark's time with")
	case m.TimeMatches:
	case m.TimeShown != "":
		problem("the certification mark shows the time %s, but the signature was made at %s", m.TimeShown, formatOr(signed, opt))
	default:
		problem("the certification mark does not show the signing time %s", formatOr(signed, opt))
	}
	return m, problems
}

// markAgainstTimestamp compares the time the mark shows with the genTime of the first
// signature's timestamp. The station's clock makes both the mark and /M, so a wrong clock
// makes them agree with each other; only the timestamp authority's time can catch it.
func markAgainstTimestamp(m *MarkReport, s pades.SignatureReport, opt InspectOptions) []string {
	if m == nil || !m.Present || !s.TimestampValid || s.Timestamp.IsZero() {
		return nil
	}
	shown, ok := markTime(m, s.SigningTime, opt)
	if !ok {
		return nil // readMark has said the mark shows no signing time
	}
	limit := opt.MaxClockSkew
	if limit <= 0 {
		limit = DefaultMaxClockSkew
	}
	m.TimestampChecked = true
	m.TimestampSkew = shown.Sub(s.Timestamp)
	m.TimestampAgrees = m.TimestampSkew.Abs() <= limit
	if m.TimestampAgrees {
		return nil
	}
	return []string{fmt.Sprintf("the mark shows %s but the timestamp authority vouches for %s (%d s apart, more than the %d s allowed)",
		m.TimeShown, formatOr(s.Timestamp, opt), int64(m.TimestampSkew.Abs().Round(time.Second)/time.Second), int64(limit/time.Second))}
}

// markTime is the time the mark shows: the /M time when it shows that (as precisely as the
// mark's format shows it, /M is that time), else the date and time in the default format.
func markTime(m *MarkReport, signed time.Time, opt InspectOptions) (time.Time, bool) {
	if m.TimeMatches {
		return signed, true
	}
	zone := opt.Zone
	if zone == nil {
		zone = VietnamTime()
	}
	for _, layout := range []string{"02.01.2006 15:04:05 -07:00", "02.01.2006 15:04 -07:00"} {
		if t, err := time.Parse(layout, m.TimeShown); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"02.01.2006 15:04:05", "02.01.2006 15:04"} {
		if t, err := time.ParseInLocation(layout, m.TimeShown, zone); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// findTime looks in text for the signing time formatted as the mark formats it, in the
// station's zone or in the /M's own zone.
func findTime(text string, signed time.Time, opt InspectOptions) (string, bool) {
	if !signed.IsZero() {
		for _, zone := range []*time.Location{opt.Zone, signed.Location()} {
			s, err := mark.FormatTime(signed, zone, opt.TimeFormat)
			if err == nil && strings.Contains(text, s) {
				return s, true
			}
		}
	}
	return shownTime.FindString(text), false
}

func formatOr(t time.Time, opt InspectOptions) string {
	if s, err := mark.FormatTime(t, opt.Zone, opt.TimeFormat); err == nil {
		return s
	}
	return t.Format(time.RFC3339)
}

// topRight reports whether rect (in the page's default user space) lies inside the
// displayed page, reaching into its right half and starting in its top quarter: a circular01
// mark (seal and text) on an A5 page is wider than half the page, and certify/mark moves a
// mark left and down (up to a quarter of the page) to keep it off the scan's ink. The page is shown turned rotate
// degrees clockwise, so what is top right as displayed is another corner of box; where
// says in millimetres where the rectangle is as displayed.
func topRight(rect, box [4]float64, rotate int) (bool, string) {
	W, H := box[2]-box[0], box[3]-box[1]
	// Displayed coordinates, x to the right and y down from the top left corner.
	pt := func(x, y float64) (float64, float64) {
		x, y = x-box[0], y-box[1]
		switch rotate {
		case 90:
			return y, x
		case 180:
			return W - x, y
		case 270:
			return H - y, W - x
		}
		return x, H - y
	}
	dw, dh := W, H
	if rotate == 90 || rotate == 270 {
		dw, dh = H, W
	}
	ax, ay := pt(rect[0], rect[1])
	bx, by := pt(rect[2], rect[3])
	left, top, right, bottom := min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)
	const tol = 0.5 // points: rounding in the written numbers
	inside := left >= -tol && top >= -tol && right <= dw+tol && bottom <= dh+tol
	ok := inside && right >= dw/2-tol && top <= dh/4+tol
	const mm = 72 / 25.4
	where := fmt.Sprintf("it is %.0f mm from the left edge and %.0f mm from the top edge of the %.0f × %.0f mm page",
		left/mm, top/mm, dw/mm, dh/mm)
	if !inside {
		where += ", reaching outside it"
	}
	return ok, where
}

// firstSignatureWidget finds the first signed signature field, in the order of the
// form's fields as pades.Verify reports them, and returns its widget and the widget's
// object reference (nil when the widget is not an indirect object).
func firstSignatureWidget(xref *model.XRefTable) (types.Dict, *types.IndirectRef, error) {
	cat, err := xref.Catalog()
	if err != nil {
		return nil, nil, fmt.Errorf("the document catalog cannot be read: %w", err)
	}
	form, err := xref.DereferenceDict(cat["AcroForm"])
	if err != nil || form == nil {
		return nil, nil, errors.New("the file has no form, so no signature field")
	}
	fields, err := xref.DereferenceArray(form["Fields"])
	if err != nil {
		return nil, nil, fmt.Errorf("the form's fields cannot be read: %w", err)
	}
	seen := map[int]bool{}
	var walk func(o types.Object, ft string, depth int) (types.Dict, *types.IndirectRef)
	walk = func(o types.Object, ft string, depth int) (types.Dict, *types.IndirectRef) {
		ref, isRef := o.(types.IndirectRef)
		if depth > 32 || isRef && seen[ref.ObjectNumber.Value()] {
			return nil, nil
		}
		if isRef {
			seen[ref.ObjectNumber.Value()] = true
		}
		d, err := xref.DereferenceDict(o)
		if err != nil || d == nil {
			return nil, nil
		}
		if n, ok := d["FT"].(types.Name); ok {
			ft = string(n)
		}
		kids, _ := xref.DereferenceArray(d["Kids"])
		var widgets []types.Object
		for _, k := range kids {
			kd, err := xref.DereferenceDict(k)
			if err != nil || kd == nil {
				continue
			}
			if kd["T"] != nil {
				if w, r := walk(k, ft, depth+1); w != nil {
					return w, r
				}
			} else {
				widgets = append(widgets, k) // kids without /T are this field's widgets
			}
		}
		if ft != "Sig" || d["V"] == nil || len(kids) > len(widgets) {
			return nil, nil
		}
		if len(widgets) == 0 { // the field and its one widget are one dictionary
			if isRef {
				return d, &ref
			}
			return d, nil
		}
		w, _ := xref.DereferenceDict(widgets[0])
		if r, ok := widgets[0].(types.IndirectRef); ok {
			return w, &r
		}
		return w, nil
	}
	for _, f := range fields {
		if w, r := walk(f, "", 0); w != nil {
			return w, r, nil
		}
	}
	return nil, nil, nil
}

// pageOfWidget finds the page (from 1) whose /Annots holds the widget, which is what
// readers show; 0 when none does.
func pageOfWidget(xref *model.XRefTable, ref *types.IndirectRef) (int, types.Dict, error) {
	if ref == nil {
		return 0, nil, nil // a widget that is no object of its own cannot be in a page's /Annots
	}
	root, err := xref.Pages()
	if err != nil {
		return 0, nil, fmt.Errorf("the page tree cannot be read: %w", err)
	}
	n := 0
	var walk func(o types.Object, depth int) (int, types.Dict)
	walk = func(o types.Object, depth int) (int, types.Dict) {
		d, err := xref.DereferenceDict(o)
		if err != nil || d == nil || depth > 64 {
			return 0, nil
		}
		if t, _ := d["Type"].(types.Name); t == "Pages" || d["Kids"] != nil && t != "Page" {
			kids, _ := xref.DereferenceArray(d["Kids"])
			for _, k := range kids {
				if p, pd := walk(k, depth+1); p != 0 {
					return p, pd
				}
			}
			return 0, nil
		}
		n++
		annots, _ := xref.DereferenceArray(d["Annots"])
		for _, a := range annots {
			ar, isRef := a.(types.IndirectRef)
			if isRef && ar.ObjectNumber == ref.ObjectNumber && ar.GenerationNumber == ref.GenerationNumber {
				return n, d
			}
		}
		return 0, nil
	}
	p, d := walk(*root, 0)
	return p, d, nil
}

// displayBox returns the page's visible box (its CropBox, else its MediaBox, both
// inheritable) and its /Rotate as 0, 90, 180 or 270.
func displayBox(xref *model.XRefTable, page types.Dict) ([4]float64, int, error) {
	var media, crop *[4]float64
	rotate, haveRotate := 0, false
	for d, depth := page, 0; d != nil && depth < 64; depth++ {
		if media == nil {
			if r, err := rectangle(xref, d["MediaBox"]); err == nil {
				media = &r
			}
		}
		if crop == nil {
			if r, err := rectangle(xref, d["CropBox"]); err == nil {
				crop = &r
			}
		}
		if !haveRotate {
			if r, err := xref.DereferenceInteger(d["Rotate"]); err == nil && r != nil {
				rotate, haveRotate = r.Value(), true
			}
		}
		parent, err := xref.DereferenceDict(d["Parent"])
		if err != nil {
			break
		}
		d = parent
	}
	if media == nil {
		return [4]float64{}, 0, errors.New("page 1 has no size (MediaBox)")
	}
	box := *media
	if crop != nil {
		// What is shown is the crop box clipped to the media box.
		box = [4]float64{max(box[0], crop[0]), max(box[1], crop[1]), min(box[2], crop[2]), min(box[3], crop[3])}
	}
	rotate = (rotate%360 + 360) % 360
	if rotate%90 != 0 {
		return box, 0, fmt.Errorf("page 1 has a rotation of %d degrees; PDF allows only multiples of 90", rotate)
	}
	return box, rotate, nil
}

// rectangle reads a PDF rectangle, normalised so that the first corner is the lower left.
func rectangle(xref *model.XRefTable, o types.Object) ([4]float64, error) {
	var r [4]float64
	a, err := xref.DereferenceArray(o)
	if err != nil || len(a) != 4 {
		return r, errors.New("not a rectangle")
	}
	for i, v := range a {
		f, err := xref.DereferenceNumber(v)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return r, errors.New("not a rectangle")
		}
		r[i] = f
	}
	return [4]float64{min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])}, nil
}
