package pades

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// document is an existing PDF as far as signing and verifying need it.
type document struct {
	xref       *model.XRefTable
	startxref  int64 // offset of the last cross-reference section
	xrefStream bool  // the last section is a cross-reference stream, not a table
}

// readConfig is a fixed pdfcpu configuration. pdfcpu's default one would read
// (and create) a config.yml under the user's home, which a hardened service
// may not have and which we do not need just to read.
func readConfig() *model.Configuration {
	return &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Limits:         model.DefaultResourceLimits(),
		Offline:        true,
	}
}

func readDocument(pdf []byte) (doc *document, err error) {
	// pdfcpu panics on some malformed input; a bad file must not stop the station.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the PDF is damaged and cannot be read (%v)", r)
		}
	}()
	ctx, err := pdfcpu.Read(bytes.NewReader(pdf), readConfig())
	if err != nil {
		return nil, fmt.Errorf("the PDF cannot be read: %w", err)
	}
	if ctx.Encrypt != nil {
		return nil, errors.New("the PDF is encrypted; only unencrypted PDFs can be signed or checked")
	}
	if ctx.Root == nil {
		return nil, errors.New("the PDF has no document catalog (/Root)")
	}
	off, err := lastXrefOffset(pdf)
	if err != nil {
		return nil, err
	}
	doc = &document{xref: ctx.XRefTable, startxref: off}
	rest := pdf[off:]
	switch {
	case bytes.HasPrefix(rest, []byte("xref")):
	case len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9':
		doc.xrefStream = true
	default:
		return nil, fmt.Errorf("the PDF's startxref (%d) does not point at a cross-reference section", off)
	}
	return doc, nil
}

// lastXrefOffset reads the number after the last "startxref". pdfcpu finds it
// too but does not tell; an incremental update must name it as /Prev.
func lastXrefOffset(pdf []byte) (int64, error) {
	tail := pdf[max(0, len(pdf)-2048):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, errors.New("the PDF has no startxref at its end; it may be truncated")
	}
	f := bytes.Fields(tail[i+len("startxref"):])
	if len(f) == 0 {
		return 0, errors.New("the PDF's startxref has no offset")
	}
	off, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || off < 0 || off >= int64(len(pdf)) {
		return 0, fmt.Errorf("the PDF's startxref offset %q is not inside the file", f[0])
	}
	return off, nil
}

// firstID returns the first element of the trailer's /ID, the document's
// permanent identifier, or nil when there is none.
func (d *document) firstID() []byte {
	if len(d.xref.ID) == 0 {
		return nil
	}
	switch id := d.xref.ID[0].(type) {
	case types.HexLiteral:
		b, err := id.Bytes()
		if err == nil {
			return b
		}
	case types.StringLiteral:
		b, err := types.Unescape(id.Value())
		if err == nil {
			return b
		}
	}
	return nil
}

// text returns the text string in d[key], or "" when it is absent.
func (d *document) text(dict types.Dict, key string) string {
	o, err := d.xref.Dereference(dict[key])
	if err != nil || o == nil {
		return ""
	}
	s, err := types.StringOrHexLiteral(o)
	if err != nil {
		return ""
	}
	return *s
}

// acroForm returns the catalog's interactive form dictionary, nil when the
// document has none.
func (d *document) acroForm() (types.Dict, error) {
	cat, err := d.xref.Catalog()
	if err != nil {
		return nil, fmt.Errorf("the PDF's document catalog cannot be read: %w", err)
	}
	form, err := d.xref.DereferenceDict(cat["AcroForm"])
	if err != nil {
		return nil, fmt.Errorf("the PDF's form (/AcroForm) cannot be read: %w", err)
	}
	return form, nil
}

// field is one terminal form field.
type field struct {
	name string // fully qualified, parts joined by "."
	dict types.Dict
	ft   string // field type, inherited from parents when absent
}

// fields walks the form's field tree and returns its terminal fields.
func (d *document) fields(form types.Dict) ([]field, error) {
	var out []field
	seen := map[int]bool{}
	var walk func(o types.Object, parentName, parentFT string, depth int) error
	walk = func(o types.Object, parentName, parentFT string, depth int) error {
		if depth > 32 {
			return errors.New("the PDF's form fields nest too deeply")
		}
		if ref, ok := o.(types.IndirectRef); ok {
			if seen[ref.ObjectNumber.Value()] {
				return nil
			}
			seen[ref.ObjectNumber.Value()] = true
		}
		dict, err := d.xref.DereferenceDict(o)
		if err != nil {
			return fmt.Errorf("a form field cannot be read: %w", err)
		}
		if dict == nil {
			return nil // a dangling reference names no field
		}
		name := parentName
		if t := d.text(dict, "T"); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		ft := parentFT
		if n, ok := dict["FT"].(types.Name); ok {
			ft = string(n)
		}
		kids, err := d.xref.DereferenceArray(dict["Kids"])
		if err != nil {
			return fmt.Errorf("the kids of form field %q cannot be read: %v", name, err)
		}
		// Kids without /T are widgets of this field, not fields of their own.
		hasFieldKids := false
		for _, k := range kids {
			kd, err := d.xref.DereferenceDict(k)
			if err == nil && kd != nil && kd["T"] != nil {
				hasFieldKids = true
				if err := walk(k, name, ft, depth+1); err != nil {
					return err
				}
			}
		}
		if !hasFieldKids {
			out = append(out, field{name: name, dict: dict, ft: ft})
		}
		return nil
	}
	topLevel, err := d.xref.DereferenceArray(form["Fields"])
	if err != nil {
		return nil, fmt.Errorf("the PDF's form field list cannot be read: %w", err)
	}
	for _, f := range topLevel {
		if err := walk(f, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}
