package scan

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"scanstation/lang"
)

const notFromScanner = "this PDF was not made by a scanner"

// pdfcpuConfig is a reading configuration built here rather than with
// model.NewDefaultConfiguration, which creates a configuration directory
// in the user's home: a hardened service may have none.
func pdfcpuConfig() *model.Configuration {
	return &model.Configuration{
		Version:                   model.VersionStr,
		Reader15:                  true,
		ValidationMode:            model.ValidationRelaxed,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Offline:                   true,
		Limits:                    model.DefaultResourceLimits(),
	}
}

// readPDF reads a PDF's structure, turning a panic inside pdfcpu on a
// malformed file into an error: bad input must never stop the station.
func readPDF(r io.ReadSeeker) (ctx *model.Context, err error) {
	defer func() {
		if p := recover(); p != nil {
			ctx, err = nil, fmt.Errorf("pdfcpu: %v", p)
		}
	}()
	return pdfcpu.Read(r, pdfcpuConfig())
}

func (d *Document) openPDF() (err error) {
	// pdfcpu panics on some damaged files after Read too: EnsurePageCount
	// on a catalog without /Pages (found by FuzzOpen).
	defer func() {
		if r := recover(); r != nil {
			err = d.inputError(0, fmt.Errorf("pdfcpu: %v", r), "the PDF file is damaged and cannot be read; scan the document again")
		}
	}()
	ctx, err := readPDF(io.NewSectionReader(d.file, 0, d.size))
	if err != nil {
		if errors.Is(err, pdfcpu.ErrWrongPassword) || errors.Is(err, pdfcpu.ErrOwnerPasswordRequired) {
			return d.inputError(0, err, "the PDF is encrypted (password-protected), so it cannot be processed; save the scan again without a password")
		}
		return d.inputError(0, err, "the PDF file is damaged or incomplete and cannot be read; scan the document again")
	}
	if ctx.Encrypt != nil {
		return d.inputError(0, nil, "the PDF is encrypted (password-protected), so it cannot be processed; save the scan again without a password or encryption")
	}
	if signed, err := pdfIsSigned(ctx.XRefTable); err != nil {
		return d.inputError(0, err, "the PDF file is damaged (its form fields cannot be read); scan the document again")
	} else if signed {
		return d.inputError(0, nil, "the PDF already carries a digital signature; processing it would destroy that signature, so it was refused; send the paper original to be scanned, or file the signed PDF as it is")
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return d.inputError(0, err, "the PDF file is damaged (its page list cannot be read); scan the document again")
	}
	if err := d.checkPageCount(ctx.PageCount); err != nil {
		return err
	}
	if ctx.PageCount == 0 {
		return d.inputError(0, nil, "the PDF has no pages; scan the document again")
	}
	d.pdf = ctx
	d.NumPages = ctx.PageCount
	return nil
}

// pdfIsSigned reports whether any signature field has a value (a
// signature), or the document carries DocMDP/UR permissions, which only
// signatures set.
func pdfIsSigned(x *model.XRefTable) (bool, error) {
	root, err := x.Catalog()
	if err != nil {
		return false, err
	}
	if perms, err := x.DereferenceDict(root["Perms"]); err == nil && len(perms) > 0 {
		return true, nil
	}
	form, err := x.DereferenceDict(root["AcroForm"])
	if err != nil || form == nil {
		return false, err
	}
	fields, err := x.DereferenceArray(form["Fields"])
	if err != nil {
		return false, err
	}
	var visit func(fields types.Array, depth int) (bool, error)
	visit = func(fields types.Array, depth int) (bool, error) {
		if depth > 32 {
			return false, errors.New("form fields nested too deeply")
		}
		for _, o := range fields {
			f, err := x.DereferenceDict(o)
			if err != nil || f == nil {
				continue
			}
			if ft := f.NameEntry("FT"); ft != nil && *ft == "Sig" {
				if v, err := x.Dereference(f["V"]); err == nil && v != nil {
					return true, nil
				}
			}
			if kids, err := x.DereferenceArray(f["Kids"]); err == nil && len(kids) > 0 {
				if signed, err := visit(kids, depth+1); signed || err != nil {
					return signed, err
				}
			}
		}
		return false, nil
	}
	return visit(fields, 0)
}

// pdfImage is one image XObject drawn on a page, with where it is drawn.
type pdfImage struct {
	stream *types.StreamDict
	ctm    matrix
}

func (d *Document) pdfPage(i int) (p *Page, err error) {
	d.pdfMu.Lock()
	defer d.pdfMu.Unlock()
	x := d.pdf.XRefTable
	page := i + 1
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, d.inputError(page, fmt.Errorf("pdfcpu: %v", r), "the PDF page cannot be read (the file is damaged); scan the document again")
		}
	}()

	pageDict, _, inherited, err := x.PageDict(page, false)
	if err != nil {
		return nil, d.inputError(page, err, "the PDF page cannot be read (the file is damaged); scan the document again")
	}
	if inherited.MediaBox == nil {
		return nil, d.inputError(page, nil, "the PDF page has no size (MediaBox); the file is damaged, scan the document again")
	}
	budget := int64(maxPageContent)
	content, err := d.pageContent(x, pageDict, page, &budget)
	if err != nil {
		return nil, err
	}

	var sum contentSummary
	var images []pdfImage
	var contentErr error
	var follow func(content []byte, resources types.Dict, ctm matrix, depth int)
	follow = func(content []byte, resources types.Dict, ctm matrix, depth int) {
		xobjects, _ := x.DereferenceDict(resources["XObject"])
		summarizeContent(content, ctm, &sum, func(name string, ctm matrix) {
			sd, _, err := x.DereferenceStreamDict(xobjects[name])
			if err != nil || sd == nil {
				return
			}
			switch subtype := sd.Subtype(); {
			case subtype != nil && *subtype == "Image":
				images = append(images, pdfImage{stream: sd, ctm: ctm})
			case subtype != nil && *subtype == "Form" && depth < 8:
				m := identity
				if arr, err := x.DereferenceArray(sd.Dict["Matrix"]); err == nil && len(arr) == 6 {
					for k := range m {
						m[k], _ = x.DereferenceNumber(arr[k])
					}
				}
				formResources, _ := x.DereferenceDict(sd.Dict["Resources"])
				if formResources == nil {
					formResources = resources
				}
				formContent, err := decodeContent(sd, &budget)
				if errors.Is(err, errContentTooLarge) {
					contentErr = err
					return
				}
				if err != nil {
					sum.paintsVector = true // unreadable: assume it draws something
					return
				}
				follow(formContent, formResources, m.mul(ctm), depth+1)
			}
		})
	}
	follow(content, inherited.Resources, identity, 0)
	if contentErr != nil {
		return nil, d.contentTooLarge(page, contentErr)
	}

	switch {
	case len(images) == 0 && (sum.paintsVector || sum.showsText):
		return nil, d.inputError(page, nil, "the page has text or drawings but no scanned image: %s; print it and scan the paper, or save the scan as JPEG, TIFF or PDF straight from the scanner", lang.T(notFromScanner))
	case len(images) == 0 && sum.inlineImage:
		return nil, d.inputError(page, nil, "the page's image is stored inline, which is not supported; save the scan as JPEG, TIFF, or PDF with another setting")
	case len(images) == 0:
		return nil, d.inputError(page, nil, "the page has no image (it is empty): %s; scan the document again", lang.T(notFromScanner))
	case len(images) > 1 || sum.inlineImage:
		return nil, d.inputError(page, nil, "the page is made of %d images (as a scanner's \"compact\" or \"high compression\" PDF is); set the scanner to ordinary PDF, JPEG or TIFF and scan again", len(images))
	case sum.paintsVector || sum.showsText:
		return nil, d.inputError(page, nil, "the page has text or drawings on top of the scanned image: %s, or it was edited afterwards; save the scan again straight from the scanner", lang.T(notFromScanner))
	}

	img := images[0]
	box := inherited.MediaBox
	a, b, c, dd, e, f := img.ctm[0], img.ctm[1], img.ctm[2], img.ctm[3], img.ctm[4], img.ctm[5]
	if math.Abs(b) > 1e-6 || math.Abs(c) > 1e-6 || a <= 0 || dd <= 0 {
		return nil, d.inputError(page, nil, "the page's image is rotated or mirrored inside the PDF, which is not supported; save the scan as JPEG or TIFF, or as PDF with rotation off")
	}
	if !covers(e, f, e+a, f+dd, box.LL.X, box.LL.Y, box.UR.X, box.UR.Y) {
		return nil, d.inputError(page, nil, "the page's image does not cover the whole page: %s, or the page was edited; save the scan again straight from the scanner", lang.T(notFromScanner))
	}

	p = &Page{Number: page, Rotate: ((inherited.Rotate % 360) + 360) % 360}
	raster, jpegData, kept, err := d.pdfImageSamples(page, img.stream)
	if err != nil {
		return nil, err
	}
	// The image is drawn a points wide: its resolution is pixels per inch
	// of that width. Rounded to hundredths, the float noise goes.
	dpi := func(pixels int, points float64) float64 {
		return math.Round(float64(pixels)*72/points*100) / 100
	}
	if jpegData != nil {
		p.Width, p.Height = jpegData.info.width, jpegData.info.height
		p.Gray = jpegData.info.components == 1
		p.BitsPerComponent = 8
		p.Filter = "DCTDecode"
		p.Data, p.OCRImage = jpegData.bytes, jpegData.bytes
		if jpegData.flate != nil {
			p.Filter, p.Data = "FlateDecode DCTDecode", jpegData.flate
		}
		p.ColorDepth = 8 * jpegData.info.components
		p.Thumb, p.ThumbScale = jpegData.thumb, 1.0/thumbFactor
		p.DPIX, p.DPIY, p.DPIKnown = dpi(p.Width, a), dpi(p.Height, dd), true
		return p, nil
	}
	p.DPIX, p.DPIY, p.DPIKnown = dpi(raster.width, a), dpi(raster.height, dd), true
	if p, err = d.rasterPage(p, raster); err != nil || kept == nil {
		return p, err
	}
	// The scanner's JBIG2 or JPEG 2000 bytes are the record: they are
	// embedded as they are, and the decoded raster serves OCR and the
	// thumbnail only.
	p.Filter, p.Data, p.JBIG2Globals, p.JBIG2Symbols = kept.filter, kept.data, kept.globals, kept.symbols
	return p, nil
}

// keptImage is a page image embedded with the scanner's own bytes, which
// the station decodes but does not re-encode.
type keptImage struct {
	filter  string // "JBIG2Decode" or "JPXDecode"
	data    []byte
	globals []byte // JBIG2Globals, decoded; nil when none
	symbols bool   // JBIG2 pattern matching: see jbig2Coding
}

// maxPageContent bounds the drawing instructions of one page, all its
// content streams and forms together, once decompressed. A scanner writes
// one line ("q 595 0 0 842 0 0 cm /Im0 Do Q"); a few bytes of Flate can
// claim hundreds of megabytes, which must not be decoded.
const maxPageContent = 1 << 20

var errContentTooLarge = errors.New("the page's drawing instructions exceed the limit")

// pageContent returns a page's content streams, decoded and joined, taking
// what they decode to from budget.
func (d *Document) pageContent(x *model.XRefTable, pageDict types.Dict, page int, budget *int64) ([]byte, error) {
	o, _ := pageDict.Find("Contents")
	o, err := x.Dereference(o)
	if err != nil {
		return nil, d.inputError(page, err, "the PDF page's content cannot be read (the file is damaged); scan the document again")
	}
	var streams []types.StreamDict
	switch o := o.(type) {
	case nil:
		return nil, nil
	case types.StreamDict:
		streams = append(streams, o)
	case types.Array:
		for _, e := range o {
			sd, _, err := x.DereferenceStreamDict(e)
			if err != nil {
				return nil, d.inputError(page, err, "the PDF page's content cannot be read (the file is damaged); scan the document again")
			}
			if sd != nil {
				streams = append(streams, *sd)
			}
		}
	default:
		return nil, d.inputError(page, nil, "the PDF page's content cannot be read (the file is damaged); scan the document again")
	}
	var content []byte
	for _, sd := range streams {
		b, err := decodeContent(&sd, budget)
		if errors.Is(err, errContentTooLarge) {
			return nil, d.contentTooLarge(page, err)
		}
		if err != nil {
			return nil, d.inputError(page, err, "the PDF page's content cannot be read (the file is damaged); scan the document again")
		}
		content = append(content, b...)
		content = append(content, '\n') // streams join as if separated by white space
	}
	return content, nil
}

// decodeContent decodes a content stream, taking what it decodes to from
// budget, and refuses it with errContentTooLarge once the budget is spent.
// The stream's cached content in the PDF is left unset, so a large stream
// is not kept for the life of the document.
func decodeContent(sd *types.StreamDict, budget *int64) ([]byte, error) {
	if *budget <= 0 { // a limit of zero would mean pdfcpu's default
		return nil, errContentTooLarge
	}
	c := *sd
	c.Content = nil
	b, err := c.DecodeLengthWithLimit(-1, *budget)
	if errors.Is(err, filter.ErrDecodeLimitExceeded) {
		return nil, errContentTooLarge
	}
	if err != nil {
		return nil, err
	}
	if *budget -= int64(len(b)); *budget < 0 {
		return nil, errContentTooLarge
	}
	return b, nil
}

func (d *Document) contentTooLarge(page int, err error) *InputError {
	return d.inputError(page, err, "the page holds far more drawing instructions than a scanned page (more than %s once unpacked): %s, or the file is damaged; save the scan again straight from the scanner", byteSize(maxPageContent), lang.T(notFromScanner))
}

// covers reports whether the image rectangle matches the page box within
// a small tolerance: scanners round the page size to whole points.
func covers(ix0, iy0, ix1, iy1, px0, py0, px1, py1 float64) bool {
	tolX := math.Max(2, 0.01*(px1-px0))
	tolY := math.Max(2, 0.01*(py1-py0))
	return ix0 <= px0+tolX && iy0 <= py0+tolY && ix1 >= px1-tolX && iy1 >= py1-tolY
}

type pdfJPEG struct {
	bytes []byte
	flate []byte // the stream as stored, when the JPEG is wrapped in Flate
	info  *jpegInfo
	thumb *image.Gray
}

// pdfImageSamples returns a DCT image's JPEG bytes unchanged, or any
// other image decoded into a raster; for JBIG2 and JPEG 2000 images also
// the stream's bytes to keep.
func (d *Document) pdfImageSamples(page int, sd *types.StreamDict) (*raster, *pdfJPEG, *keptImage, error) {
	x := d.pdf.XRefTable
	intEntry := func(key string) int {
		o, err := x.Dereference(sd.Dict[key])
		if err != nil {
			return 0
		}
		if v, ok := o.(types.Integer); ok {
			return int(v)
		}
		return 0
	}
	w, h := intEntry("Width"), intEntry("Height")
	if err := d.checkPixels(page, w, h); err != nil {
		return nil, nil, nil, err
	}

	var filters []string
	for _, f := range sd.FilterPipeline {
		filters = append(filters, f.Name)
	}
	switch strings.Join(filters, " ") {
	case "DCTDecode", "FlateDecode DCTDecode":
		jpeg := sd.Raw
		var flate []byte
		if len(filters) == 2 {
			if sd.FilterPipeline[0].DecodeParms != nil {
				return nil, nil, nil, d.inputError(page, nil, "the page's JPEG image is wrapped in Flate compression with a predictor, which is not supported; %s", lang.T(notFromScanner))
			}
			// A JPEG is hardly compressible: what it inflates to is bounded
			// by a generous multiple of the file, never by what it claims.
			b, err := inflateLimited(sd.Raw, 4*d.size+1<<20)
			if err != nil {
				return nil, nil, nil, d.inputError(page, err, "the page's JPEG image, wrapped in Flate compression, is damaged or incomplete (%v); scan the document again", err)
			}
			jpeg, flate = b, sd.Raw
		}
		info, err := parseJPEGHeader(bytes.NewReader(jpeg))
		if err != nil {
			return nil, nil, nil, d.inputError(page, err, "the page's JPEG image is damaged or incomplete; scan the document again")
		}
		if err := d.checkJPEG(page, info); err != nil {
			return nil, nil, nil, err
		}
		thumb, err := d.decodeJPEG(page, jpeg)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, &pdfJPEG{bytes: jpeg, flate: flate, info: info, thumb: thumb}, nil, nil
	case "JBIG2Decode":
		r, kept, err := d.pdfJBIG2(page, sd, w, h)
		return r, nil, kept, err
	case "JPXDecode":
		r, kept, err := d.pdfJPX(page, sd, w, h)
		return r, nil, kept, err
	}
	for _, name := range filters {
		switch name {
		case "DCTDecode":
			return nil, nil, nil, d.inputError(page, nil, "the page's JPEG image is wrapped in a compression other than Flate (%s), which is not supported; %s", strings.Join(filters, ", "), lang.T(notFromScanner))
		case "JBIG2Decode", "JPXDecode":
			return nil, nil, nil, d.inputError(page, nil, "the page's %s image is wrapped in another compression (%s), which is not supported; %s", name, strings.Join(filters, ", "), lang.T(notFromScanner))
		}
	}

	imageMask := false
	if o, err := x.Dereference(sd.Dict["ImageMask"]); err == nil {
		if v, ok := o.(types.Boolean); ok {
			imageMask = bool(v)
		}
	}
	bpc := intEntry("BitsPerComponent")
	cs := pdfColorSpace{components: 1}
	if imageMask {
		bpc = 1
	} else {
		var err error
		cs, err = resolveColorSpace(x, sd.Dict["ColorSpace"], 0)
		if err != nil {
			return nil, nil, nil, d.inputError(page, err, "the page's image uses a colour space that is not supported (%v); set the scanner to RGB colour or greyscale", err)
		}
	}
	switch bpc {
	case 1, 2, 4, 8, 16:
	default:
		return nil, nil, nil, d.inputError(page, nil, "the page's image has %d bits per sample, which is not supported; set the scanner to ordinary colour, greyscale or black-and-white", bpc)
	}

	rowBytes := (w*cs.components*bpc + 7) / 8
	want := int64(rowBytes) * int64(h)
	samples, err := sd.DecodeLengthWithLimit(want, want+1<<20)
	if err != nil || int64(len(samples)) < want {
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil, d.inputError(page, err, "the page's image is incomplete (it holds less data than its size needs); scan the document again")
		}
		return nil, nil, nil, d.inputError(page, err, "the page's image cannot be decoded (%v); scan the document again", err)
	}

	invert := imageMask
	if arr, err := x.DereferenceArray(sd.Dict["Decode"]); err == nil && len(arr) >= 2 {
		lo, _ := x.DereferenceNumber(arr[0])
		hi, _ := x.DereferenceNumber(arr[1])
		invert = lo > hi
	}
	if imageMask {
		// A stencil mask paints (black) where the sample is 0 by default,
		// which is exactly 1-bit DeviceGray; Decode [1 0] flips it.
		invert = !invert
	}
	r := samplesToRaster(samples, w, h, bpc, cs, invert)
	r.depth = cs.components * bpc
	if cs.indexed {
		r.depth = bpc
	}
	return r, nil, nil, nil
}

// pdfColorSpace is a colour space reduced to what a scanner uses.
type pdfColorSpace struct {
	components int    // per sample in the image data
	indexed    bool   // samples are indices into lookup
	baseGray   bool   // for indexed: the lookup holds grey values
	lookup     []byte // for indexed
}

func resolveColorSpace(x *model.XRefTable, o types.Object, depth int) (pdfColorSpace, error) {
	if depth > 4 {
		return pdfColorSpace{}, errors.New("colour space nested too deeply")
	}
	o, err := x.Dereference(o)
	if err != nil {
		return pdfColorSpace{}, err
	}
	switch v := o.(type) {
	case types.Name:
		switch v {
		case "DeviceGray", "G", "CalGray":
			return pdfColorSpace{components: 1}, nil
		case "DeviceRGB", "RGB", "CalRGB":
			return pdfColorSpace{components: 3}, nil
		case "DeviceCMYK", "CMYK":
			return pdfColorSpace{}, errors.New("CMYK")
		}
		return pdfColorSpace{}, fmt.Errorf("%s", v)
	case types.Array:
		if len(v) == 0 {
			break
		}
		family, _ := x.Dereference(v[0])
		name, _ := family.(types.Name)
		switch name {
		case "CalGray", "CalRGB":
			return resolveColorSpace(x, name, depth+1)
		case "ICCBased":
			if len(v) < 2 {
				break
			}
			sd, _, err := x.DereferenceStreamDict(v[1])
			if err != nil || sd == nil {
				return pdfColorSpace{}, errors.New("unreadable ICC profile")
			}
			switch n := sd.IntEntry("N"); {
			case n != nil && *n == 1:
				return pdfColorSpace{components: 1}, nil
			case n != nil && *n == 3:
				return pdfColorSpace{components: 3}, nil
			case n != nil && *n == 4:
				return pdfColorSpace{}, errors.New("CMYK")
			}
		case "Indexed", "I":
			if len(v) < 4 {
				break
			}
			base, err := resolveColorSpace(x, v[1], depth+1)
			if err != nil || base.indexed {
				return pdfColorSpace{}, fmt.Errorf("indexed on an unsupported base: %v", err)
			}
			lookup, err := x.Dereference(v[3])
			if err != nil {
				return pdfColorSpace{}, err
			}
			var table []byte
			switch l := lookup.(type) {
			case types.StringLiteral:
				table, err = types.Unescape(string(l))
			case types.HexLiteral:
				table, err = l.Bytes()
			case types.StreamDict:
				err = l.Decode()
				table = l.Content
			default:
				err = errors.New("unreadable palette")
			}
			if err != nil {
				return pdfColorSpace{}, err
			}
			return pdfColorSpace{components: 1, indexed: true, baseGray: base.components == 1, lookup: table}, nil
		}
		return pdfColorSpace{}, fmt.Errorf("%s", name)
	}
	return pdfColorSpace{}, errors.New("missing or unknown colour space")
}

// samplesToRaster turns decoded image samples of any depth into 8-bit
// grey or RGB, or keeps them 1-bit when they are 1-bit grey.
func samplesToRaster(samples []byte, w, h, bpc int, cs pdfColorSpace, invert bool) *raster {
	rowBytes := (w*cs.components*bpc + 7) / 8
	if bpc == 1 && !cs.indexed {
		r := &raster{width: w, height: h, gray: true, bilevel: true, samples: samples[:rowBytes*h]}
		if invert {
			for k := range r.samples {
				r.samples[k] = ^r.samples[k]
			}
		}
		return r
	}
	gray := cs.components == 1 && (!cs.indexed || cs.baseGray)
	r := &raster{width: w, height: h, gray: gray}
	r.newSamples()
	maxVal := (1 << bpc) - 1
	out := 0
	for y := 0; y < h; y++ {
		row := samples[y*rowBytes : (y+1)*rowBytes]
		for k := 0; k < w*cs.components; k++ {
			var v int
			switch bpc {
			case 8:
				v = int(row[k])
			case 16:
				v = int(row[2*k])
			default:
				bit := k * bpc
				v = int(row[bit/8]>>(8-bpc-bit%8)) & maxVal
			}
			if cs.indexed {
				if gray {
					r.samples[out] = lookupAt(cs.lookup, v)
					out++
				} else {
					r.samples[out] = lookupAt(cs.lookup, 3*v)
					r.samples[out+1] = lookupAt(cs.lookup, 3*v+1)
					r.samples[out+2] = lookupAt(cs.lookup, 3*v+2)
					out += 3
				}
				continue
			}
			if bpc != 8 && bpc != 16 {
				v = v * 255 / maxVal
			}
			if invert {
				v = 255 - v
			}
			r.samples[out] = uint8(v)
			out++
		}
	}
	return r
}

func lookupAt(table []byte, i int) byte {
	if i < len(table) {
		return table[i]
	}
	return 0
}
