package pades

import (
	"bytes"
	"fmt"
	"strconv"
)

// appearance is what the signature widget shows on page 1. The zero value is
// the invisible signature: a zero-sized widget whose normal appearance is an
// empty form XObject, which PDF/A still requires (ISO 19005-2 6.3.3).
//
// A visible certification mark (the copy label, agency and signing time in an
// embedded font, or a seal image) fills in rect, content and resources; the
// objects its resources refer to (font, image) will need numbers from the
// same update, which is the one thing this type does not do yet.
type appearance struct {
	rect      [4]float64 // on page 1, in default user space: llx lly urx ury
	content   []byte     // the form XObject's content stream, drawn in the rect's own coordinates
	resources string     // the form's resource dictionary in PDF syntax; empty means <<>>
}

// bbox is the form's bounding box: the widget's rectangle moved to the origin.
func (a appearance) bbox() [4]float64 {
	return [4]float64{0, 0, a.rect[2] - a.rect[0], a.rect[3] - a.rect[1]}
}

// formXObject writes the appearance as the body of a form XObject (a
// dictionary and its stream), unfiltered so it stays readable.
func (a appearance) formXObject(b *bytes.Buffer) {
	res := a.resources
	if res == "" {
		res = "<<>>"
	}
	fmt.Fprintf(b, "<</Type/XObject/Subtype/Form/BBox %s/Resources %s/Length %d>>\nstream\n",
		numberArray(a.bbox()), res, len(a.content))
	b.Write(a.content)
	b.WriteString("\nendstream")
}

func numberArray(v [4]float64) string {
	var b []byte
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return string(append(b, ']'))
}
