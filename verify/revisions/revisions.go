// Package revisions is the first building block of signature validation: the
// structure of a signed PDF. It splits a file into its revisions (the
// original and each incremental update), finds which revision each signature
// signs, and judges what later revisions changed against what a
// certification signature allows (DocMDP /P, and FieldMDP locks).
//
// It reads PDFs with pdfcpu and checks no cryptography: whether a signature's
// bytes are intact is another building block's question. What this one
// answers is "which bytes does the signature speak for, and is everything
// after them a change its signer permitted?".
package revisions

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Revision is one version of a PDF: the file's first End bytes.
type Revision struct {
	// EOF is the offset just past this revision's %%EOF marker; End is EOF
	// plus the end-of-line that follows it, if any. A signature whose byte
	// range ends at either one signs this revision.
	EOF, End int64
	// XRef is the offset of the revision's cross-reference section, as its
	// startxref says; XRefStream tells a cross-reference stream from a table.
	XRef       int64
	XRefStream bool
}

// Revisions splits pdf into its revisions, oldest first. Each incremental
// update ends with "startxref", the offset of its cross-reference section,
// and "%%EOF"; a "%%EOF" not preceded by that (one inside a stream, for
// instance) ends no revision. Bytes after the last revision's End are not a
// revision: the caller decides whether trailing bytes matter.
func Revisions(pdf []byte) ([]Revision, error) {
	var revs []Revision
	marker := []byte("%%EOF")
	for from := 0; ; {
		i := bytes.Index(pdf[from:], marker)
		if i < 0 {
			break
		}
		at := from + i
		from = at + len(marker)
		xref, ok := startxrefBefore(pdf, at)
		if !ok {
			continue
		}
		var prevEnd int64
		if len(revs) > 0 {
			prevEnd = revs[len(revs)-1].End
		}
		// An update's cross-reference section is part of the update; an
		// offset pointing back into an earlier revision is not a new one.
		if xref < prevEnd || xref >= int64(at) {
			continue
		}
		r := Revision{EOF: int64(from), End: int64(from), XRef: xref}
		rest := pdf[xref:]
		switch {
		case bytes.HasPrefix(rest, []byte("xref")):
		case isObjectHeader(rest):
			r.XRefStream = true
		default:
			continue
		}
		if r.End < int64(len(pdf)) && pdf[r.End] == '\r' {
			r.End++
		}
		if r.End < int64(len(pdf)) && pdf[r.End] == '\n' {
			r.End++
		}
		revs = append(revs, r)
		from = int(r.End)
	}
	if len(revs) == 0 {
		return nil, errors.New("the PDF has no startxref and %%EOF: it is not a complete PDF file")
	}
	return revs, nil
}

// startxrefBefore reads "startxref <offset>" ending, up to white space, at end.
func startxrefBefore(pdf []byte, end int) (int64, bool) {
	i := end
	for i > 0 && isSpace(pdf[i-1]) {
		i--
	}
	j := i
	for j > 0 && pdf[j-1] >= '0' && pdf[j-1] <= '9' {
		j--
	}
	if j == i || i-j > 18 {
		return 0, false
	}
	off, err := strconv.ParseInt(string(pdf[j:i]), 10, 64)
	if err != nil {
		return 0, false
	}
	k := j
	for k > 0 && isSpace(pdf[k-1]) {
		k--
	}
	if k == j || !bytes.HasSuffix(pdf[:k], []byte("startxref")) {
		return 0, false
	}
	return off, true
}

// isObjectHeader says whether b starts with "N G obj".
func isObjectHeader(b []byte) bool {
	f := bytes.Fields(b[:min(len(b), 40)])
	if len(f) < 3 {
		return false
	}
	_, err1 := strconv.Atoi(string(f[0]))
	_, err2 := strconv.Atoi(string(f[1]))
	return err1 == nil && err2 == nil && bytes.HasPrefix(f[2], []byte("obj"))
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// Signed returns the index of the revision a byte range signs: the one whose
// end (with or without the end-of-line after %%EOF) is where the range ends.
// It returns -1 when the range ends where no revision does; such a signature
// signs part of a revision, which no verifier should accept.
func Signed(revs []Revision, byteRange [4]int64) int {
	end := byteRange[2] + byteRange[3]
	for i, r := range revs {
		if end == r.End || end == r.EOF {
			return i
		}
	}
	return -1
}

// Signature is a signed signature field as the last revision shows it.
type Signature struct {
	Field     string // fully qualified field name
	Object    string // the signature dictionary, "N G"
	Type      string // "Sig" or "DocTimeStamp" (/Type, "Sig" when absent)
	SubFilter string // e.g. "ETSI.CAdES.detached", "ETSI.RFC3161"
	ByteRange [4]int64
	// Revision is the index of the revision the byte range signs, -1 when
	// it ends where no revision does.
	Revision int
	// Certification says the catalog's /Perms /DocMDP names this signature;
	// DocMDP is its /P (2 when the transform gives none), 0 when there is no
	// DocMDP reference.
	Certification bool
	DocMDP        int
	// Lock is the FieldMDP lock the signature's reference or its field's
	// /Lock declares, nil when none does.
	Lock *FieldLock
}

// Signatures lists the signed signature fields of pdf, in the form's order,
// each mapped to the revision it signs.
func Signatures(pdf []byte) ([]Signature, error) {
	revs, err := Revisions(pdf)
	if err != nil {
		return nil, err
	}
	x, err := read(pdf)
	if err != nil {
		return nil, err
	}
	cat, err := x.Catalog()
	if err != nil {
		return nil, fmt.Errorf("the PDF's document catalog cannot be read: %w", err)
	}
	var certRef *types.IndirectRef
	if perms, _ := x.DereferenceDict(cat["Perms"]); perms != nil {
		if r, ok := perms["DocMDP"].(types.IndirectRef); ok {
			certRef = &r
		}
	}
	var out []Signature
	for _, f := range formFields(x) {
		if f.ft != "Sig" {
			continue
		}
		ref, ok := f.dict["V"].(types.IndirectRef)
		if !ok {
			continue
		}
		sig, err := x.DereferenceDict(ref)
		if err != nil || sig == nil {
			return nil, fmt.Errorf("the signature dictionary %s of field %q cannot be read", objectName(ref), f.name)
		}
		s := Signature{Field: f.name, Object: objectName(ref), Type: "Sig", Revision: -1}
		if t, ok := sig["Type"].(types.Name); ok {
			s.Type = string(t)
		}
		if sf, ok := sig["SubFilter"].(types.Name); ok {
			s.SubFilter = string(sf)
		}
		if br, err := x.DereferenceArray(sig["ByteRange"]); err == nil && len(br) == 4 {
			valid := true
			for i, o := range br {
				n, ok := o.(types.Integer)
				valid = valid && ok && n >= 0
				if ok {
					s.ByteRange[i] = int64(n)
				}
			}
			if valid {
				s.Revision = Signed(revs, s.ByteRange)
			}
		}
		s.DocMDP, s.Lock = references(x, sig)
		if s.Lock == nil {
			s.Lock = lockOf(x, f.dict["Lock"])
		}
		s.Certification = certRef != nil && certRef.ObjectNumber == ref.ObjectNumber && certRef.GenerationNumber == ref.GenerationNumber && s.DocMDP != 0
		out = append(out, s)
	}
	return out, nil
}

// references reads a signature dictionary's /Reference array: the DocMDP
// permission (2 by default, ISO 32000-1 table 254) and the FieldMDP lock.
func references(x *model.XRefTable, sig types.Dict) (int, *FieldLock) {
	refs, err := x.DereferenceArray(sig["Reference"])
	if err != nil {
		return 0, nil
	}
	p := 0
	var lock *FieldLock
	for _, o := range refs {
		sr, err := x.DereferenceDict(o)
		if err != nil || sr == nil {
			continue
		}
		params, _ := x.DereferenceDict(sr["TransformParams"])
		switch m, _ := sr["TransformMethod"].(types.Name); m {
		case "DocMDP":
			p = 2
			if params != nil {
				if v, err := x.DereferenceInteger(params["P"]); err == nil && v != nil {
					p = v.Value()
				}
			}
		case "FieldMDP":
			lock = lockOf(x, params)
		}
	}
	return p, lock
}

// read parses a PDF (or a revision of one) with pdfcpu.
func read(pdf []byte) (x *model.XRefTable, err error) {
	// pdfcpu panics on some malformed input; a bad file is an error here.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the PDF is damaged and cannot be read (%v)", r)
		}
	}()
	ctx, err := pdfcpu.Read(bytes.NewReader(pdf), &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Limits:         model.DefaultResourceLimits(),
		Offline:        true,
	})
	if err != nil {
		return nil, fmt.Errorf("the PDF cannot be read: %w", err)
	}
	if ctx.Encrypt != nil {
		return nil, errors.New("the PDF is encrypted; only unencrypted PDFs can be checked")
	}
	if ctx.Root == nil {
		return nil, errors.New("the PDF has no document catalog (/Root)")
	}
	return ctx.XRefTable, nil
}

func objectName(r types.IndirectRef) string {
	return fmt.Sprintf("%d %d", r.ObjectNumber, r.GenerationNumber)
}

// formField is one field of the interactive form.
type formField struct {
	name     string // fully qualified
	ref      types.IndirectRef
	dict     types.Dict
	ft       string // field type, inherited
	terminal bool
}

// formFields walks the form's field tree, parents before their kids. Kids
// without /T are widgets, not fields.
func formFields(x *model.XRefTable) []formField {
	cat, err := x.Catalog()
	if err != nil {
		return nil
	}
	form, _ := x.DereferenceDict(cat["AcroForm"])
	if form == nil {
		return nil
	}
	top, _ := x.DereferenceArray(form["Fields"])
	var out []formField
	seen := map[int]bool{}
	var walk func(a types.Array, parent, ft string, depth int)
	walk = func(a types.Array, parent, ft string, depth int) {
		if depth > 32 {
			return
		}
		for _, o := range a {
			ref, ok := o.(types.IndirectRef)
			if !ok || seen[ref.ObjectNumber.Value()] {
				continue
			}
			seen[ref.ObjectNumber.Value()] = true
			d, _ := x.DereferenceDict(ref)
			if d == nil {
				continue
			}
			name := parent
			if t, err := x.DereferenceText(d["T"]); err == nil && t != "" {
				if name != "" {
					name += "."
				}
				name += t
			} else if depth > 0 {
				continue // a widget of its parent
			}
			fieldType := ft
			if n, ok := d["FT"].(types.Name); ok {
				fieldType = string(n)
			}
			kids, _ := x.DereferenceArray(d["Kids"])
			hasFieldKids := false
			for _, k := range kids {
				if kd, _ := x.DereferenceDict(k); kd != nil && kd["T"] != nil {
					hasFieldKids = true
				}
			}
			out = append(out, formField{name: name, ref: ref, dict: d, ft: fieldType, terminal: !hasFieldKids})
			if hasFieldKids {
				walk(kids, name, fieldType, depth+1)
			}
		}
	}
	walk(top, "", "", 0)
	return out
}
