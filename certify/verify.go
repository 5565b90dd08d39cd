package certify

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"regexp"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"scanstation/certify/pades"
)

// Inspection is what `scanstation verify` reports about a file.
type Inspection struct {
	Signatures      []pades.SignatureReport
	PDFAPart        string // "2" for PDF/A-2
	PDFAConformance string // "U", "B" or "A"
}

// OK reports whether the file is what the station promises: at least one signature, every
// signature intact, the last one covering the whole file, and a PDF/A identification.
func (in *Inspection) OK() bool {
	if len(in.Signatures) == 0 || in.PDFAPart == "" {
		return false
	}
	for _, s := range in.Signatures {
		if !s.Intact {
			return false
		}
	}
	return in.Signatures[len(in.Signatures)-1].CoversWholeFile
}

// Inspect checks the signatures of pdf (with roots, also their certificate chains) and reads
// its PDF/A identification from the XMP metadata.
func Inspect(pdf []byte, roots *x509.CertPool) (*Inspection, error) {
	report, err := pades.Verify(pdf, pades.VerifyOptions{Roots: roots})
	if err != nil {
		return nil, err
	}
	in := &Inspection{Signatures: report.Signatures}
	xmp, err := catalogMetadata(pdf)
	if err != nil {
		return nil, err
	}
	in.PDFAPart = xmpProperty(xmp, "pdfaid:part")
	in.PDFAConformance = xmpProperty(xmp, "pdfaid:conformance")
	return in, nil
}

func catalogMetadata(pdf []byte) ([]byte, error) {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, fmt.Errorf("read PDF: %w", err)
	}
	catalog, err := ctx.XRefTable.Catalog()
	if err != nil {
		return nil, fmt.Errorf("read PDF catalog: %w", err)
	}
	obj, ok := catalog.Find("Metadata")
	if !ok {
		return nil, nil
	}
	sd, _, err := ctx.XRefTable.DereferenceStreamDict(obj)
	if err != nil || sd == nil {
		return nil, fmt.Errorf("read XMP metadata: %v", err)
	}
	if err := sd.Decode(); err != nil {
		return nil, fmt.Errorf("decode XMP metadata: %w", err)
	}
	return sd.Content, nil
}

// xmpProperty finds a simple property written either as an element or as an attribute.
func xmpProperty(xmp []byte, name string) string {
	q := regexp.QuoteMeta(name)
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<` + q + `>\s*([^<\s]+)\s*</` + q + `>`),
		regexp.MustCompile(q + `\s*=\s*["']([^"']+)["']`),
	} {
		if m := re.FindSubmatch(xmp); m != nil {
			return string(m[1])
		}
	}
	return ""
}
