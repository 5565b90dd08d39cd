// Package pdfa writes searchable PDF/A-2u files from scanned pages: each
// page is the scanned image at its true physical size, with an invisible
// text layer from OCR on top, so the file can be searched and its text
// copied while what is seen stays exactly the scan.
//
// The writer produces the PDF objects itself (PDF/A needs XMP metadata and
// an output intent that general PDF libraries do not write) and streams
// them: images are copied to the output once and never held twice.
package pdfa

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"strings"
	"time"
)

// ColorSpace is the colour space of a page image.
type ColorSpace int

const (
	Gray ColorSpace = iota // DeviceGray, 8 bits or 1 bit (bilevel) per pixel
	RGB                    // DeviceRGB, 8 bits per component
)

func (c ColorSpace) String() string {
	switch c {
	case Gray:
		return "gray"
	case RGB:
		return "RGB"
	}
	return fmt.Sprintf("ColorSpace(%d)", int(c))
}

// Image is a page image ready to embed.
type Image struct {
	Width, Height    int     // pixels
	DPIX, DPIY       float64 // the page's physical size is Width/DPIX × Height/DPIY inches
	ColorSpace       ColorSpace
	BitsPerComponent int // 8, or 1 for bilevel gray
	// Filter says what Data holds. "DCTDecode": a JPEG file, embedded byte
	// for byte (never re-encoded). "FlateDecode": the samples, row by row,
	// each row padded to a whole byte, zlib-compressed. A scanner PDF's
	// own compressions are embedded byte for byte too, as PDF/A-2 allows
	// them: "FlateDecode DCTDecode", a JPEG file zlib-compressed (the
	// filters in the order the PDF lists them); "JBIG2Decode", an
	// embedded JBIG2 page stream (1-bit grey), with Globals; "JPXDecode",
	// a JPEG 2000 file (JP2), 8 bits per component as it decodes for OCR;
	// "CCITTFaxDecode", fax-coded 1-bit grey (see CCITT).
	Filter string
	Data   []byte
	// Globals are a JBIG2 image's shared segments (/JBIG2Globals),
	// decoded; nil when the image has none or is not JBIG2.
	Globals []byte
	// Predictor is, for FlateDecode data, the PNG predictor its rows were
	// filtered with before compression: 10-14 one filter for every row, 15
	// a filter byte in front of each row, as a PNG file's IDAT data has
	// them. A PNG's data is so embedded as it is, with the gain of its
	// filters; 0 means plain samples.
	Predictor int
	// CCITT describes "CCITTFaxDecode" data: a fax-coded bilevel image,
	// such as a TIFF's Group 4 strip, embedded byte for byte.
	CCITT CCITTParams
}

// CCITTParams are the decoding parameters of CCITT fax-coded data, as in
// ISO 32000-1 table 11.
type CCITTParams struct {
	// K is the coding: negative for Group 4, 0 for Group 3 one-dimensional,
	// positive for Group 3 mixed one- and two-dimensional.
	K int
	// BlackIs1 says the data's 1 bits are black. False, the default, is
	// how fax data is read when the TIFF says 0 is white (WhiteIsZero).
	BlackIs1 bool
	// EncodedByteAlign says each coded row (Group 4: each row) starts on
	// a byte boundary, as with TIFF's "byte-aligned" fill order options.
	EncodedByteAlign bool
}

// decodeParms returns the /DecodeParms entry the image's filter needs,
// with a leading space, or "" when it needs none (JBIG2 globals are added
// where the globals object is known).
func (img *Image) decodeParms() string {
	switch {
	case img.Filter == "FlateDecode" && img.Predictor != 0:
		colors := 1
		if img.ColorSpace == RGB {
			colors = 3
		}
		return fmt.Sprintf(" /DecodeParms <</Predictor %d /Colors %d /BitsPerComponent %d /Columns %d>>",
			img.Predictor, colors, img.BitsPerComponent, img.Width)
	case img.Filter == "CCITTFaxDecode":
		p := fmt.Sprintf(" /DecodeParms <</K %d /Columns %d /Rows %d", img.CCITT.K, img.Width, img.Height)
		if img.CCITT.BlackIs1 {
			p += " /BlackIs1 true"
		}
		if img.CCITT.EncodedByteAlign {
			p += " /EncodedByteAlign true"
		}
		return p + ">>"
	}
	return ""
}

// pdfFilter writes Filter as a PDF /Filter value: a name, or an array of
// names for a pipeline.
func pdfFilter(filter string) string {
	names := strings.Fields(filter)
	if len(names) == 1 {
		return "/" + names[0]
	}
	return "[/" + strings.Join(names, " /") + "]"
}

// Word is one recognised word.
type Word struct {
	Text string
	Box  image.Rectangle // in image pixels, origin top-left of the image as stored
}

// Page is one scanned page and its words.
type Page struct {
	Image Image
	Words []Word
	// Rotate is how many degrees clockwise (0, 90, 180, 270) a viewer must
	// turn the stored image to show it upright; it becomes the page's
	// /Rotate, and the text layer is written to read upright after it.
	Rotate int
	// Skew is the angle in degrees, counter-clockwise, that straightens the
	// content. It is applied as a transformation of the image and its text
	// layer about the page centre; the image is never resampled.
	Skew float64
}

// Document is everything Write needs for one PDF/A file.
type Document struct {
	Pages    []Page
	Title    string    // optional; dc:title and Info /Title
	Creator  string    // optional; xmp:CreatorTool and Info /Creator
	Producer string    // optional; pdf:Producer and Info /Producer
	Created  time.Time // creation and modification date; the zero time means now
	// OutputICC is the RGB ICC profile of the output intent, normally
	// /usr/share/color/icc/sRGB.icc. Required.
	OutputICC []byte
	// TextFont is the glyph-less TrueType font for the invisible text
	// layer, normally Tesseract's pdf.ttf. Required when any page has words.
	TextFont []byte
	// ExtraXMP adds metadata properties in custom namespaces, each with
	// the PDF/A extension schema description it needs.
	ExtraXMP []XMPSchema
}

// The output intent identifies the sRGB profile by its registered name.
const outputCondition = "sRGB IEC61966-2.1"

// fontName is the PostScript name given to the invisible text font.
const fontName = "GlyphLessFont"

// Write writes doc to w as a PDF/A-2u file. It checks the document first
// and writes nothing if something is missing or inconsistent.
func Write(w io.Writer, doc *Document) error {
	if err := doc.check(); err != nil {
		return err
	}
	created := doc.Created
	if created.IsZero() {
		created = time.Now()
	}
	// PDF dates have whole seconds; the XMP must agree to the second.
	created = created.Truncate(time.Second)
	title, creator, producer := cleanText(doc.Title), cleanText(doc.Creator), cleanText(doc.Producer)

	hasWords := false
	for i := range doc.Pages {
		if len(doc.Pages[i].Words) > 0 {
			hasWords = true
		}
	}
	var font *fontMetrics
	if hasWords {
		var err error
		if font, err = parseFontMetrics(doc.TextFont); err != nil {
			return fmt.Errorf("the font for the text layer cannot be used (%v); point the text font setting at Tesseract's pdf.ttf in its tessdata folder", err)
		}
	}

	// Lay the text out first: only when some page has text to write are
	// the font objects needed.
	geometry := make([]pageGeometry, len(doc.Pages))
	placed := make([][]placedWord, len(doc.Pages))
	hasText := false
	for i := range doc.Pages {
		p := &doc.Pages[i]
		geometry[i] = newPageGeometry(&p.Image, normalRotate(p.Rotate), p.Skew)
		if font != nil {
			placed[i] = layoutWords(p.Words, geometry[i], font.scale(font.advance)/1000)
			hasText = hasText || len(placed[i]) > 0
		}
	}

	o := newObjWriter(w)
	catalog, pagesRoot, info, metadata, icc := o.alloc(), o.alloc(), o.alloc(), o.alloc(), o.alloc()
	var type0, cidFont, descriptor, fontFile, cidToGID, toUnicode int
	if hasText {
		type0, cidFont, descriptor, fontFile, cidToGID, toUnicode = o.alloc(), o.alloc(), o.alloc(), o.alloc(), o.alloc(), o.alloc()
	}
	pageObjs := make([]int, len(doc.Pages))
	for i := range pageObjs {
		pageObjs[i] = o.alloc()
	}

	o.header()
	o.dictObj(catalog, fmt.Sprintf("<</Type /Catalog /Pages %d 0 R /Metadata %d 0 R"+
		" /OutputIntents [<</Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (%s) /Info (%s) /DestOutputProfile %d 0 R>>]>>",
		pagesRoot, metadata, outputCondition, outputCondition, icc))
	var kids strings.Builder
	for i, p := range pageObjs {
		if i > 0 {
			kids.WriteByte(' ')
		}
		fmt.Fprintf(&kids, "%d 0 R", p)
	}
	o.dictObj(pagesRoot, fmt.Sprintf("<</Type /Pages /Kids [%s] /Count %d>>", kids.String(), len(pageObjs)))

	var (
		codes   codeSet
		content bytes.Buffer
		z       deflater
	)
	for i := range doc.Pages {
		p := &doc.Pages[i]
		imgObj, contentObj := o.alloc(), o.alloc()
		g := geometry[i]

		resources := fmt.Sprintf("/XObject <</Im0 %d 0 R>>", imgObj)
		if len(placed[i]) > 0 {
			resources += fmt.Sprintf(" /Font <</F0 %d 0 R>>", type0)
		}
		o.dictObj(pageObjs[i], fmt.Sprintf("<</Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Rotate %d /Resources <<%s>> /Contents %d 0 R>>",
			pagesRoot, num(g.w), num(g.h), g.rotate, resources, contentObj))

		img := &p.Image
		imgDict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent %d /Filter %s",
			img.Width, img.Height, pdfColorSpace(img.ColorSpace), img.BitsPerComponent, pdfFilter(img.Filter))
		if len(img.Globals) > 0 {
			globals := o.alloc()
			o.streamObj(imgObj, imgDict+fmt.Sprintf(" /DecodeParms <</JBIG2Globals %d 0 R>>", globals), img.Data)
			o.streamObj(globals, " /Filter /FlateDecode", z.deflate(img.Globals))
		} else {
			o.streamObj(imgObj, imgDict+img.decodeParms(), img.Data)
		}

		content.Reset()
		writePageContent(&content, g, placed[i], &codes)
		o.streamObj(contentObj, " /Filter /FlateDecode", z.deflate(content.Bytes()))
	}

	if hasText {
		writeFont(o, &z, font, doc.TextFont, &codes, type0, cidFont, descriptor, fontFile, cidToGID, toUnicode)
	}

	var x xmpPacket
	x.add(xmpSchema{ns: nsPDFAID, prefix: "pdfaid", props: []xmpProp{{name: "part", value: "2"}, {name: "conformance", value: "U"}}})
	dc := []xmpProp{{name: "format", value: "application/pdf"}}
	if title != "" {
		dc = append(dc, xmpProp{name: "title", value: title, altLang: true})
	}
	x.add(xmpSchema{ns: nsDC, prefix: "dc", props: dc})
	date := xmpDate(created)
	xp := []xmpProp{{name: "CreateDate", value: date}, {name: "ModifyDate", value: date}, {name: "MetadataDate", value: date}}
	if creator != "" {
		xp = append(xp, xmpProp{name: "CreatorTool", value: creator})
	}
	x.add(xmpSchema{ns: nsXMP, prefix: "xmp", props: xp})
	if producer != "" {
		x.add(xmpSchema{ns: nsPDF, prefix: "pdf", props: []xmpProp{{name: "Producer", value: producer}}})
	}
	for _, s := range doc.ExtraXMP {
		xs := xmpSchema{ns: s.Namespace, prefix: s.Prefix, custom: true, description: cleanText(s.Description)}
		for _, p := range s.Properties {
			xs.props = append(xs.props, xmpProp{name: p.Name, value: cleanText(p.Value)})
			xs.propDescs = append(xs.propDescs, cleanText(p.Description))
		}
		x.add(xs)
	}
	// The metadata stream is compressed: 7.3 kB of XMP (the conversion
	// record's extension schema above all) become 1.5 kB, a fifth of what
	// a JPEG page's copy adds (issue 15: at most 5%). PDF/A-1 (6.7.2)
	// forbade a filtered one; PDF/A-2 does not (veraPDF's PDF/A-2 profile
	// has no such rule), and the readers of the packet here (verification,
	// pdfcpu, the revision checks) decode streams. A tool that scans the
	// bytes for the packet instead no longer finds it.
	o.streamObj(metadata, "/Type /Metadata /Subtype /XML /Filter /FlateDecode", z.deflate(x.bytes()))

	o.streamObj(icc, "/N 3 /Filter /FlateDecode", z.deflate(doc.OutputICC))

	infoDict := "<</CreationDate " + pdfTextString(pdfDate(created)) + " /ModDate " + pdfTextString(pdfDate(created))
	if title != "" {
		infoDict += " /Title " + pdfTextString(title)
	}
	if creator != "" {
		infoDict += " /Creator " + pdfTextString(creator)
	}
	if producer != "" {
		infoDict += " /Producer " + pdfTextString(producer)
	}
	o.dictObj(info, infoDict+">>")

	if err := o.finish(catalog, info); err != nil {
		return fmt.Errorf("write PDF: %w", err)
	}
	return nil
}

func pdfColorSpace(c ColorSpace) string {
	if c == RGB {
		return "DeviceRGB"
	}
	return "DeviceGray"
}

func normalRotate(r int) int { return ((r % 360) + 360) % 360 }

// writePageContent writes the page's content stream: the image filling
// the media box, turned by the skew angle when there is one, and the
// invisible text over it (already placed on the straightened page by
// layoutWords).
func writePageContent(b *bytes.Buffer, g pageGeometry, words []placedWord, codes *codeSet) {
	buf := b.AvailableBuffer()
	buf = append(buf, "q "...)
	if g.skew != 0 {
		buf = appendMatrix(buf, g.skewMatrix())
		buf = append(buf, " cm "...)
	}
	buf = appendMatrix(buf, matrix{g.w, 0, 0, g.h, 0, 0})
	buf = append(buf, " cm /Im0 Do Q\n"...)
	if len(words) > 0 {
		buf = append(buf, "q "...)
		buf = appendMatrix(buf, g.uprightToStored())
		buf = append(buf, " cm\nBT\n3 Tr\n"...)
		for _, w := range words {
			if w.lineHead {
				buf = append(buf, "/F0 "...)
				buf = appendNum(buf, w.size)
				buf = append(buf, " Tf\n"...)
			}
			buf = appendNum(buf, w.hscale)
			buf = append(buf, " Tz 1 0 0 1 "...)
			buf = appendNum(buf, w.x)
			buf = append(buf, ' ')
			buf = appendNum(buf, w.y)
			buf = append(buf, " Tm <"...)
			for _, c := range w.codes {
				codes.add(c)
				buf = appendHex16(buf, c)
			}
			buf = append(buf, "> Tj\n"...)
		}
		buf = append(buf, "ET\nQ\n"...)
	}
	b.Write(buf)
}

func appendMatrix(b []byte, m matrix) []byte {
	for i, v := range m {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendNum(b, v)
	}
	return b
}

func appendHex16(b []byte, c uint16) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, hex[c>>12], hex[c>>8&15], hex[c>>4&15], hex[c&15])
}

// writeFont writes the Type 0 font of the text layer. Character codes are
// UTF-16 code units (Identity-H), every one drawn with glyph 1 of the
// glyph-less font, so the font needs no cmap and any character can be
// written; the ToUnicode map names each code's character.
func writeFont(o *objWriter, z *deflater, m *fontMetrics, ttf []byte, codes *codeSet, type0, cidFont, descriptor, fontFile, cidToGID, toUnicode int) {
	o.dictObj(type0, fmt.Sprintf("<</Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R>>",
		fontName, cidFont, toUnicode))
	// Every code has glyph 1's width, so the default width says it all.
	o.dictObj(cidFont, fmt.Sprintf("<</Type /Font /Subtype /CIDFontType2 /BaseFont /%s"+
		" /CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> /FontDescriptor %d 0 R /DW %s /CIDToGIDMap %d 0 R>>",
		fontName, descriptor, num(m.scale(m.advance)), cidToGID))
	flags := 4 // symbolic: the font's glyphs are not a standard Latin set
	if m.fixedPitch {
		flags |= 1
	}
	o.dictObj(descriptor, fmt.Sprintf("<</Type /FontDescriptor /FontName /%s /Flags %d /FontBBox [%s %s %s %s] /ItalicAngle %s"+
		" /Ascent %s /Descent %s /CapHeight %s /StemV 80 /FontFile2 %d 0 R>>",
		fontName, flags, num(m.scale(m.bbox[0])), num(m.scale(m.bbox[1])), num(m.scale(m.bbox[2])), num(m.scale(m.bbox[3])),
		num(m.italicAngle), num(m.scale(m.ascent)), num(m.scale(m.descent)), num(m.scale(m.ascent)), fontFile))
	o.streamObj(fontFile, fmt.Sprintf("/Length1 %d /Filter /FlateDecode", len(ttf)), z.deflate(ttf))

	// CIDToGIDMap: two bytes per CID from 0 to the highest used, all glyph 1.
	gids := bytes.Repeat([]byte{0, 1}, codes.max+1)
	o.streamObj(cidToGID, "/Filter /FlateDecode", z.deflate(gids))

	var cmap bytes.Buffer
	cmap.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	// Each code is its own character, so a run of consecutive codes is one
	// bfrange entry (within one high byte, where ranges must stay): half
	// as many entries as codes on a Vietnamese page.
	var singles, ranges [][2]uint16
	codes.each(func(c uint16) {
		if n := len(ranges); n > 0 && ranges[n-1][1]+1 == c && c&0xFF != 0 {
			ranges[n-1][1] = c
			return
		}
		if n := len(singles); n > 0 && singles[n-1][0]+1 == c && c&0xFF != 0 {
			ranges = append(ranges, [2]uint16{singles[n-1][0], c})
			singles = singles[:n-1]
			return
		}
		singles = append(singles, [2]uint16{c, c})
	})
	// A bfchar or bfrange block may hold at most 100 entries.
	for len(singles) > 0 {
		n := min(len(singles), 100)
		fmt.Fprintf(&cmap, "%d beginbfchar\n", n)
		for _, r := range singles[:n] {
			fmt.Fprintf(&cmap, "<%04X> <%04X>\n", r[0], r[0])
		}
		cmap.WriteString("endbfchar\n")
		singles = singles[n:]
	}
	for len(ranges) > 0 {
		n := min(len(ranges), 100)
		fmt.Fprintf(&cmap, "%d beginbfrange\n", n)
		for _, r := range ranges[:n] {
			fmt.Fprintf(&cmap, "<%04X> <%04X> <%04X>\n", r[0], r[1], r[0])
		}
		cmap.WriteString("endbfrange\n")
		ranges = ranges[n:]
	}
	cmap.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	o.streamObj(toUnicode, "/Filter /FlateDecode", z.deflate(cmap.Bytes()))
}

// deflater compresses streams with one reused zlib writer: a new writer
// costs some 700 KB of state, which would dominate the allocations.
type deflater struct {
	zw  *zlib.Writer
	out bytes.Buffer
}

// deflate returns data zlib-compressed. The result is valid until the
// next call.
func (d *deflater) deflate(data []byte) []byte {
	d.out.Reset()
	if d.zw == nil {
		d.zw = zlib.NewWriter(&d.out)
	} else {
		d.zw.Reset(&d.out)
	}
	// Writing to a bytes.Buffer cannot fail.
	d.zw.Write(data)
	d.zw.Close()
	return d.out.Bytes()
}

// check finds what would make the file unreadable or not PDF/A, and says
// it in words an operator can act on.
func (doc *Document) check() error {
	if len(doc.Pages) == 0 {
		return errors.New("the document has no pages")
	}
	if len(doc.OutputICC) < 132 || string(doc.OutputICC[36:40]) != "acsp" {
		return errors.New("the output colour profile is missing or not an ICC profile; give the sRGB profile (/usr/share/color/icc/sRGB.icc)")
	}
	if string(doc.OutputICC[16:20]) != "RGB " {
		return fmt.Errorf("the output colour profile is for %q colour, not RGB; give the sRGB profile (/usr/share/color/icc/sRGB.icc)", strings.TrimSpace(string(doc.OutputICC[16:20])))
	}
	for i := range doc.Pages {
		p := &doc.Pages[i]
		if err := p.Image.check(); err != nil {
			return fmt.Errorf("page %d: %w", i+1, err)
		}
		if p.Rotate%90 != 0 {
			return fmt.Errorf("page %d: rotation %d° is not a multiple of 90°", i+1, p.Rotate)
		}
		if math.IsNaN(p.Skew) || math.IsInf(p.Skew, 0) || math.Abs(p.Skew) > 45 {
			return fmt.Errorf("page %d: skew angle %v° is not plausible (more than 45°); the page orientation step gave a wrong answer", i+1, p.Skew)
		}
	}
	return validateExtraXMP(doc.ExtraXMP)
}

func (img *Image) check() error {
	if img.Width <= 0 || img.Height <= 0 {
		return fmt.Errorf("image size %d×%d pixels is empty", img.Width, img.Height)
	}
	if !(img.DPIX > 0) || !(img.DPIY > 0) || math.IsInf(img.DPIX, 0) || math.IsInf(img.DPIY, 0) {
		return fmt.Errorf("image resolution %v×%v dpi is missing or invalid, so the paper size is unknown; set the scanner's dpi", img.DPIX, img.DPIY)
	}
	if img.ColorSpace != Gray && img.ColorSpace != RGB {
		return fmt.Errorf("unknown colour space %v", img.ColorSpace)
	}
	switch {
	case img.BitsPerComponent == 8:
	case img.BitsPerComponent == 1 && img.ColorSpace == Gray:
	default:
		return fmt.Errorf("%d bits per component for a %v image is not supported (8, or 1 for black and white)", img.BitsPerComponent, img.ColorSpace)
	}
	if len(img.Data) == 0 {
		return errors.New("image has no data")
	}
	if len(img.Globals) > 0 && img.Filter != "JBIG2Decode" {
		return fmt.Errorf("JBIG2 globals were given for a %s image", img.Filter)
	}
	if img.Predictor != 0 && (img.Filter != "FlateDecode" || img.Predictor < 10 || img.Predictor > 15) {
		return fmt.Errorf("predictor %d for a %s image is not supported (PNG predictors 10-15, with FlateDecode)", img.Predictor, img.Filter)
	}
	switch img.Filter {
	case "FlateDecode DCTDecode":
		// The scan read the JPEG inside; reading it again here checks the
		// wrapping and the frame as for a bare JPEG.
		zr, err := zlib.NewReader(bytes.NewReader(img.Data))
		if err != nil {
			return errors.New("image data is not zlib-compressed as FlateDecode requires")
		}
		jpeg, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("Flate-wrapped JPEG image: %w", err)
		}
		unwrapped := *img
		unwrapped.Filter, unwrapped.Data = "DCTDecode", jpeg
		return unwrapped.check()
	case "JBIG2Decode":
		if img.BitsPerComponent != 1 || img.ColorSpace != Gray {
			return errors.New("a JBIG2 image must be 1-bit grey")
		}
	case "JPXDecode":
		// PDF/A-2 (6.2.8.3) asks for the JP2 file format; a bare codestream
		// carries no colour specification.
		if !bytes.HasPrefix(img.Data, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")) {
			return errors.New("a JPEG 2000 image must be a JP2 file, not a bare codestream")
		}
		if img.BitsPerComponent != 8 {
			return errors.New("a JPEG 2000 image must be given as 8 bits per component")
		}
	case "FlateDecode":
		// The data would have to be inflated in full to check it; a zlib
		// header at least shows the caller compressed it the right way.
		if len(img.Data) < 2 || img.Data[0]&0x0F != 8 || (uint16(img.Data[0])<<8|uint16(img.Data[1]))%31 != 0 {
			return errors.New("image data is not zlib-compressed as FlateDecode requires")
		}
	case "CCITTFaxDecode":
		if img.BitsPerComponent != 1 || img.ColorSpace != Gray {
			return errors.New("a CCITT fax-coded image must be 1-bit grey")
		}
	case "DCTDecode":
		if img.BitsPerComponent != 8 {
			return errors.New("a JPEG image must have 8 bits per component")
		}
		w, h, comps, err := jpegFrame(img.Data)
		if err != nil {
			return fmt.Errorf("JPEG image: %w", err)
		}
		if w != img.Width || h != img.Height {
			return fmt.Errorf("JPEG image is %d×%d pixels but %d×%d was given", w, h, img.Width, img.Height)
		}
		want := map[ColorSpace]int{Gray: 1, RGB: 3}[img.ColorSpace]
		if comps != want {
			return fmt.Errorf("JPEG image has %d colour components but a %v image was given (CMYK JPEGs are not supported)", comps, img.ColorSpace)
		}
	default:
		return fmt.Errorf("image filter %q is not supported (DCTDecode, FlateDecode, FlateDecode DCTDecode, CCITTFaxDecode, JBIG2Decode or JPXDecode)", img.Filter)
	}
	return nil
}

// jpegFrame reads the frame header of a JPEG file: size and number of
// components. Only the baseline, extended and progressive Huffman-coded
// processes with 8-bit samples are accepted, which is what PDF readers
// decode.
func jpegFrame(b []byte) (width, height, components int, err error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, 0, 0, errors.New("not a JPEG file")
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 0, 0, 0, errors.New("damaged file structure")
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		length := int(binary.BigEndian.Uint16(b[i+2:]))
		if length < 2 || i+2+length > len(b) {
			return 0, 0, 0, errors.New("damaged file structure")
		}
		seg := b[i+4 : i+2+length]
		switch marker {
		case 0xC0, 0xC1, 0xC2:
			if len(seg) < 6 {
				return 0, 0, 0, errors.New("damaged frame header")
			}
			if seg[0] != 8 {
				return 0, 0, 0, fmt.Errorf("%d-bit samples are not supported", seg[0])
			}
			return int(binary.BigEndian.Uint16(seg[3:])), int(binary.BigEndian.Uint16(seg[1:])), int(seg[5]), nil
		case 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
			return 0, 0, 0, errors.New("lossless, hierarchical or arithmetic-coded JPEG is not supported")
		case 0xD9, 0xDA:
			return 0, 0, 0, errors.New("no frame header before the image data")
		}
		i += 2 + length
	}
	return 0, 0, 0, errors.New("no frame header found")
}
