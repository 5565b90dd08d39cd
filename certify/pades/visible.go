package pades

// Appearance is a visible signature widget: a form XObject drawn in Rect on a page. It is
// what a reader shows for the signature (and what its signature panel leads to), so the
// certification mark lives here rather than in the page content.
type Appearance struct {
	Page int        // 1-based; 0 means page 1
	Rect [4]float64 // llx lly urx ury in the page's default user space (before /Rotate)

	// Content is the form's content stream in its own space, (0,0) to the rectangle's width
	// and height. On a rotated page the content turns itself (cm) so it reads upright.
	Content []byte

	Fonts  map[string]*Font  // resource name used in Content (e.g. "F1") → font
	Images map[string]*Image // resource name used in Content (e.g. "Im1") → image
}

// Font is an embedded TrueType font used through /Identity-H: every 2-byte code in Content
// is a glyph ID of Program. PDF/A needs the program embedded and a Unicode value for every
// glyph shown, so both come with it: Sign refuses a font whose Widths and ToUnicode do not
// name the same glyphs. The program is compressed into every signed file, so a subset
// keeps files small and signing fast (the whole Liberation Serif adds about 220 KB).
// Flags 0 is written as 4 (Symbolic).
type Font struct {
	BaseFont    string             // PostScript name with a subset tag, e.g. "ABCDEF+LiberationSerif"
	Program     []byte             // the TrueType (subset) font file, written as /FontFile2
	Widths      map[uint16]float64 // glyph ID → advance width in 1/1000 em, for every glyph used
	ToUnicode   map[uint16]string  // glyph ID → the text it shows, for every glyph used
	Ascent      float64            // font descriptor metrics, in 1/1000 em
	Descent     float64
	CapHeight   float64
	ItalicAngle float64
	StemV       float64
	Flags       int
	BBox        [4]float64
}

// Image is an 8-bit RGB raster, optionally with an alpha channel (a seal on a transparent
// background).
type Image struct {
	Width, Height int
	RGB           []byte // zlib-compressed samples, 3 bytes a pixel, rows top to bottom
	Alpha         []byte // zlib-compressed 8-bit alpha (written as /SMask); nil when opaque
}
