package scan

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"scanstation/lang"
)

// JBIG2 and JPEG 2000 pages are decoded by Debian's jbig2dec and OpenJPEG's
// opj_decompress, run as commands: both are well kept, fuzzed upstream and
// patched by Debian security, and a crash in either stays in its own
// process instead of stopping the station. Their output is read back as
// PNM and checked against the size the PDF states.

// decoderTimeout bounds one page's decode. A 300 dpi A4 page takes well
// under a second; a stream built to spin the decoder is cut off.
const decoderTimeout = 2 * time.Minute

// errNoDecoder wraps a decoder command that is not installed.
var errNoDecoder = errors.New("decoder not installed")

// runDecoder runs a decoder command in a private temporary folder holding
// the named input files, and returns the bytes it wrote to out.
func runDecoder(tool string, inputs map[string][]byte, out string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, errNoDecoder)
	}
	dir, err := os.MkdirTemp("", "scanstation-decode-")
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer os.RemoveAll(dir)
	for name, b := range inputs {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), decoderTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	runErr := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s took longer than %v", tool, decoderTimeout)
	}
	if runErr != nil {
		return nil, fmt.Errorf("%s: %v: %s", tool, runErr, msg)
	}
	// jbig2dec exits 0 after warnings such as a text region that refers to
	// symbols it never received: the page it writes then lacks characters.
	// A page that may be missing ink is refused, not certified.
	if strings.Contains(msg, "WARNING") || strings.Contains(msg, "FATAL") || strings.Contains(msg, "ERROR") {
		return nil, fmt.Errorf("%s: %s", tool, msg)
	}
	b, err := os.ReadFile(filepath.Join(dir, out))
	if err != nil {
		return nil, fmt.Errorf("%s wrote no image: %w", tool, err)
	}
	return b, nil
}

// readPNM reads the binary PBM (P4), PGM (P5) or PPM (P6) a decoder wrote
// into a raster: P4 stays 1-bit (inverted to PDF's 0 is black), 16-bit
// samples keep their high byte.
func readPNM(b []byte) (*raster, error) {
	var fields []int
	if len(b) < 2 || b[0] != 'P' || b[1] < '4' || b[1] > '6' {
		return nil, errors.New("the decoder's output is not a binary PNM image")
	}
	kind := b[1]
	want := 3
	if kind == '4' {
		want = 2
	}
	i := 2
	for len(fields) < want {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
		if i < len(b) && b[i] == '#' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		v, err := strconv.Atoi(string(b[i:j]))
		if err != nil || v <= 0 {
			return nil, errors.New("the decoder's output has a damaged PNM header")
		}
		fields = append(fields, v)
		i = j
	}
	i++ // the single white space after the header
	w, h := fields[0], fields[1]
	body := b[min(i, len(b)):]
	switch kind {
	case '4':
		row := (w + 7) / 8
		if len(body) < row*h {
			return nil, errors.New("the decoder's output is shorter than its header says")
		}
		s := make([]byte, row*h)
		for k := range s {
			s[k] = ^body[k] // PBM: 1 is black; a PDF DeviceGray sample: 0 is black
		}
		return &raster{width: w, height: h, gray: true, bilevel: true, samples: s, depth: 1}, nil
	}
	comps := 1
	if kind == '6' {
		comps = 3
	}
	bytesPer := 1
	switch maxVal := fields[2]; {
	case maxVal == 255:
	case maxVal > 255 && maxVal < 65536:
		bytesPer = 2
	default:
		return nil, fmt.Errorf("the decoder's output has samples up to %d, which is not supported", maxVal)
	}
	n := w * h * comps
	if len(body) < n*bytesPer {
		return nil, errors.New("the decoder's output is shorter than its header says")
	}
	s := make([]byte, n)
	for k := range s {
		s[k] = body[k*bytesPer]
	}
	return &raster{width: w, height: h, gray: comps == 1, samples: s, depth: 8 * comps * bytesPer}, nil
}

// decodeJBIG2 decodes an embedded JBIG2 page stream with its global
// segments (nil when the PDF has none).
func decodeJBIG2(page, globals []byte) (*raster, error) {
	inputs := map[string][]byte{"page.jb2": page}
	args := []string{"--embedded", "--format", "pbm", "--output", "page.pbm"}
	if len(globals) > 0 {
		inputs["globals.jb2"] = globals
		args = append(args, "globals.jb2")
	}
	args = append(args, "page.jb2")
	out, err := runDecoder("jbig2dec", inputs, "page.pbm", args...)
	if err != nil {
		return nil, err
	}
	return readPNM(out)
}

// decodeJPX decodes a JPEG 2000 image (a JP2 file or a bare codestream).
func decodeJPX(data []byte) (*raster, error) {
	name := "image.j2k"
	if bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cjP  ")) {
		name = "image.jp2"
	}
	out, err := runDecoder("opj_decompress", map[string][]byte{name: data}, "image.pnm",
		"-quiet", "-i", name, "-o", "image.pnm")
	if err != nil {
		return nil, err
	}
	return readPNM(out)
}

// jbig2Coding summarises the segments of embedded JBIG2 streams (the
// globals and the page). A stream is refused when a segment's stated
// length runs past its end: jbig2dec decodes a cut-off stream without
// complaint, into a page with its lower part missing.
//
// symbols reports pattern matching: a symbol dictionary, text region,
// pattern dictionary or halftone region. Such an encoder stores one
// bitmap for every glyph it judges alike and paints it wherever the
// glyph occurs, so a 6 that looks like an 8 can be painted as an 8 (the
// Xerox WorkCentre fault of 2013). The segment types JBIG2 calls
// "lossless" are only the encoder's claim, which cannot be checked from
// the stream, so they count too. Generic and refinement regions alone
// code the page's pixels themselves and are lossless.
//
// A page information segment must state the size the PDF states (w×h;
// a striped page may leave its height open), so that a stream cannot make
// the decoder allocate a page larger than the pixel limit let through.
func jbig2Coding(w, h int, streams ...[]byte) (symbols bool, err error) {
	for _, b := range streams {
		i := 0
		for i < len(b) {
			if len(b)-i < 11 {
				return symbols, fmt.Errorf("a JBIG2 segment header is cut off at byte %d of %d", i, len(b))
			}
			num := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
			flags := b[i+4]
			typ := flags & 0x3f
			i += 5
			count := int(b[i] >> 5)
			if count == 7 {
				count = int((uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])) & 0x1fffffff)
				i += 4 + (count+8)/8
			} else {
				i++
			}
			refSize := 1
			if num > 65536 {
				refSize = 4
			} else if num > 256 {
				refSize = 2
			}
			i += count * refSize
			if flags&0x40 != 0 {
				i += 4
			} else {
				i++
			}
			if i+4 > len(b) || count < 0 {
				return symbols, fmt.Errorf("a JBIG2 segment header is cut off at byte %d of %d", i, len(b))
			}
			length := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
			i += 4
			switch typ {
			case 0, 4, 6, 7, 16, 20, 22, 23:
				symbols = true
			}
			if length == 0xffffffff {
				// An immediate generic region of unknown length ends at a
				// marker only its decoder finds; jbig2dec judges the rest.
				break
			}
			if uint64(i)+uint64(length) > uint64(len(b)) {
				return symbols, fmt.Errorf("JBIG2 segment %d states %d bytes but the stream ends after %d: it is cut off", num, length, len(b)-i)
			}
			if typ == 48 { // page information
				if length < 8 {
					return symbols, fmt.Errorf("JBIG2 segment %d, the page information, is too short", num)
				}
				pw := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
				ph := uint32(b[i+4])<<24 | uint32(b[i+5])<<16 | uint32(b[i+6])<<8 | uint32(b[i+7])
				if pw != uint32(w) || (ph != uint32(h) && ph != 0xffffffff) {
					return symbols, fmt.Errorf("the JBIG2 page is %d×%d pixels but the PDF says %d×%d", pw, ph, w, h)
				}
			}
			i += int(length)
		}
	}
	return symbols, nil
}

// inflateLimited inflates zlib data, refusing output beyond limit bytes
// and a stream that is cut off.
func inflateLimited(b []byte, limit int64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("it unpacks to more than %s", byteSize(limit))
	}
	return out, nil
}

// decoderMissing words a missing decoder for the operator and the sysadmin.
func (d *Document) decoderMissing(page int, err error, kind, pkg string) *InputError {
	return d.inputError(page, err, "the page's image uses %s compression, but this station's decoder for it is not installed; ask the system administrator to install the Debian package %s, then process the scan again", kind, pkg)
}

// pdfJBIG2 decodes a JBIG2 image of w×h pixels for OCR and keeps its bytes.
func (d *Document) pdfJBIG2(page int, sd *types.StreamDict, w, h int) (*raster, *keptImage, error) {
	x := d.pdf.XRefTable
	if o, _ := x.Dereference(sd.Dict["ImageMask"]); o == types.Boolean(true) {
		return nil, nil, d.inputError(page, nil, "the page's JBIG2 image is a stencil mask, which is not supported; %s", lang.T(notFromScanner))
	}
	cs, err := resolveColorSpace(x, sd.Dict["ColorSpace"], 0)
	if err != nil || cs.components != 1 || cs.indexed {
		return nil, nil, d.inputError(page, err, "the page's JBIG2 image uses a colour space other than plain greyscale (%v), which is not supported; set the scanner to ordinary black-and-white and scan again", err)
	}
	if arr, err := x.DereferenceArray(sd.Dict["Decode"]); err == nil && len(arr) >= 2 {
		if lo, _ := x.DereferenceNumber(arr[0]); lo != 0 {
			return nil, nil, d.inputError(page, nil, "the page's JBIG2 image is stored inverted (a Decode array), which is not supported; set the scanner to ordinary black-and-white and scan again")
		}
	}
	var globals []byte
	if len(sd.FilterPipeline) == 1 && sd.FilterPipeline[0].DecodeParms != nil {
		if ref := sd.FilterPipeline[0].DecodeParms["JBIG2Globals"]; ref != nil {
			gd, _, err := x.DereferenceStreamDict(ref)
			if err != nil || gd == nil {
				return nil, nil, d.inputError(page, err, "the page's JBIG2 image refers to shared symbols that cannot be read (the file is damaged); scan the document again")
			}
			c := *gd
			c.Content = nil
			if globals, err = c.DecodeLengthWithLimit(-1, 64<<20); err != nil {
				return nil, nil, d.inputError(page, err, "the page's JBIG2 image refers to shared symbols that cannot be read (%v; the file is damaged); scan the document again", err)
			}
		}
	}
	symbols, err := jbig2Coding(w, h, globals, sd.Raw)
	if err != nil {
		return nil, nil, d.inputError(page, err, "the page's JBIG2 image is incomplete or damaged (%v); scan the document again", err)
	}
	r, err := decodeJBIG2(sd.Raw, globals)
	if errors.Is(err, errNoDecoder) {
		return nil, nil, d.decoderMissing(page, err, "JBIG2", "jbig2dec")
	}
	if err != nil {
		return nil, nil, d.inputError(page, err, "the page's JBIG2 image cannot be decoded (%v); scan the document again", err)
	}
	if r.width != w || r.height != h {
		return nil, nil, d.inputError(page, nil, "the page's JBIG2 image decodes to %s pixels but the PDF says %s (the file is damaged); scan the document again", dims(r.width, r.height), dims(w, h))
	}
	return r, &keptImage{filter: "JBIG2Decode", data: sd.Raw, globals: globals, symbols: symbols}, nil
}

// pdfJPX decodes a JPEG 2000 image of w×h pixels for OCR and keeps its bytes.
func (d *Document) pdfJPX(page int, sd *types.StreamDict, w, h int) (*raster, *keptImage, error) {
	x := d.pdf.XRefTable
	if o, _ := x.Dereference(sd.Dict["SMaskInData"]); o != nil && o != types.Integer(0) {
		return nil, nil, d.inputError(page, nil, "the page's JPEG 2000 image carries transparency, which is not supported; %s", lang.T(notFromScanner))
	}
	want := 0 // the PDF may leave the colour space to the JPEG 2000 file
	if sd.Dict["ColorSpace"] != nil {
		cs, err := resolveColorSpace(x, sd.Dict["ColorSpace"], 0)
		if err != nil || cs.indexed {
			return nil, nil, d.inputError(page, err, "the page's JPEG 2000 image uses a colour space that is not supported (%v); set the scanner to RGB colour or greyscale", err)
		}
		want = cs.components
	}
	if jw, jh, ok := jpxSize(sd.Raw); !ok || jw != w || jh != h {
		return nil, nil, d.inputError(page, nil, "the page's JPEG 2000 image is damaged or is not %s pixels as the PDF says; scan the document again", dims(w, h))
	}
	r, err := decodeJPX(sd.Raw)
	if errors.Is(err, errNoDecoder) {
		return nil, nil, d.decoderMissing(page, err, "JPEG 2000", "libopenjp2-tools")
	}
	if err != nil {
		return nil, nil, d.inputError(page, err, "the page's JPEG 2000 image is damaged or incomplete and cannot be decoded (%v); scan the document again", err)
	}
	got := 3
	if r.gray {
		got = 1
	}
	if want != 0 && want != got {
		return nil, nil, d.inputError(page, nil, "the page's JPEG 2000 image has %d colour components but the PDF says %d (the file is damaged); scan the document again", got, want)
	}
	if r.width != w || r.height != h {
		return nil, nil, d.inputError(page, nil, "the page's JPEG 2000 image decodes to %s pixels but the PDF says %s (the file is damaged); scan the document again", dims(r.width, r.height), dims(w, h))
	}
	return r, &keptImage{filter: "JPXDecode", data: sd.Raw}, nil
}

// jpxSize reads the image size from a JPEG 2000 codestream's SIZ marker
// (in a JP2 file, the first one in its codestream box), so that a stream
// claiming more pixels than the PDF states is refused before OpenJPEG
// allocates them.
func jpxSize(b []byte) (w, h int, ok bool) {
	i := bytes.Index(b, []byte{0xff, 0x4f, 0xff, 0x51})
	if i < 0 || len(b) < i+4+2+2+16 {
		return 0, 0, false
	}
	u32 := func(k int) int64 {
		return int64(b[k])<<24 | int64(b[k+1])<<16 | int64(b[k+2])<<8 | int64(b[k+3])
	}
	siz := i + 4 + 2 + 2 // past SOC, SIZ, Lsiz and Rsiz
	xs, ys, xo, yo := u32(siz), u32(siz+4), u32(siz+8), u32(siz+12)
	if xo > xs || yo > ys {
		return 0, 0, false
	}
	return int(xs - xo), int(ys - yo), true
}
