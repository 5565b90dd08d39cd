package scan

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
)

// jpegInfo is what a JPEG's markers say before its scan data.
type jpegInfo struct {
	width, height int
	components    int
	precision     int
	sof           byte
	dpiX, dpiY    float64 // zero when the file does not say
}

// parseJPEGHeader reads markers up to the frame header (SOF). It does not
// read the entropy-coded data, so it is cheap for any file size.
func parseJPEGHeader(r io.Reader) (*jpegInfo, error) {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return nil, errors.New("missing start-of-image marker")
	}
	info := &jpegInfo{}
	var exifDPIX, exifDPIY float64
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		b, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("before the frame header: %w", noEOF(err))
		}
		if b != 0xFF {
			return nil, fmt.Errorf("expected a marker, found byte %#02x", b)
		}
		marker, err := br.ReadByte()
		for err == nil && marker == 0xFF {
			marker, err = br.ReadByte()
		}
		if err != nil {
			return nil, fmt.Errorf("before the frame header: %w", noEOF(err))
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			continue // markers without a length
		}
		if marker == 0xD9 || marker == 0xDA {
			return nil, errors.New("no frame header before the image data")
		}
		var lenBuf [2]byte
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return nil, noEOF(err)
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:])) - 2
		if n < 0 {
			return nil, fmt.Errorf("marker %#02x has an invalid length", marker)
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(br, seg); err != nil {
			return nil, noEOF(err)
		}
		switch {
		case marker == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")) && len(seg) >= 12:
			units := seg[7]
			x := float64(binary.BigEndian.Uint16(seg[8:10]))
			y := float64(binary.BigEndian.Uint16(seg[10:12]))
			switch units {
			case 1:
				info.dpiX, info.dpiY = x, y
			case 2:
				info.dpiX, info.dpiY = dpiFromMetric(x), dpiFromMetric(y)
			}
		case marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			exifDPIX, exifDPIY = exifResolution(seg[6:])
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			if len(seg) < 6 {
				return nil, errors.New("frame header too short")
			}
			info.sof = marker
			info.precision = int(seg[0])
			info.height = int(binary.BigEndian.Uint16(seg[1:3]))
			info.width = int(binary.BigEndian.Uint16(seg[3:5]))
			info.components = int(seg[5])
			if info.dpiX == 0 {
				info.dpiX, info.dpiY = exifDPIX, exifDPIY
			}
			return info, nil
		}
	}
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// exifResolution reads XResolution and YResolution from IFD0 of an EXIF
// block (a little TIFF file), in dots per inch; zero when absent.
func exifResolution(b []byte) (x, y float64) {
	t, err := newTIFFReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return 0, 0
	}
	ifd, err := t.readIFD(t.first)
	if err != nil {
		return 0, 0
	}
	return ifd.resolution()
}

func (d *Document) openJPEG() error {
	info, err := parseJPEGHeader(io.NewSectionReader(d.file, 0, d.size))
	if err != nil {
		return d.inputError(0, err, "the JPEG file is damaged or incomplete (its header cannot be read); scan the document again")
	}
	if err := d.checkJPEG(0, info); err != nil {
		return err
	}
	d.jpeg = info
	d.NumPages = 1
	return nil
}

// checkJPEG refuses JPEG variants that cannot go into the record: the same
// rules hold for a JPEG file and for a JPEG inside a scanner PDF.
func (d *Document) checkJPEG(page int, info *jpegInfo) error {
	if err := d.checkPixels(page, info.width, info.height); err != nil {
		return err
	}
	switch info.sof {
	case 0xC0, 0xC1, 0xC2:
	case 0xC3, 0xC7, 0xCB, 0xCF:
		return d.inputError(page, nil, "the image is a lossless JPEG, which PDF cannot hold; set the scanner to ordinary JPEG, PNG or TIFF")
	default:
		return d.inputError(page, nil, "the image is a JPEG variant (arithmetic or hierarchical coding) that PDF readers do not all support; set the scanner to ordinary JPEG")
	}
	if info.precision != 8 {
		return d.inputError(page, nil, "the image is a %d-bit JPEG, which is not supported; set the scanner to ordinary 8-bit JPEG", info.precision)
	}
	switch info.components {
	case 1, 3:
	case 4:
		return d.inputError(page, nil, "the image is in CMYK colour, which is not supported; set the scanner to scan in RGB colour (or greyscale) and scan again")
	default:
		return d.inputError(page, nil, "the JPEG image has %d colour components, which is not supported; scan in RGB colour or greyscale", info.components)
	}
	return nil
}

// decodeJPEG decodes the whole image: a JPEG cut short still has a valid
// header, and only decoding reaches the missing end. The pixels are not
// thrown away: the page's thumbnail is made from them, so a JPEG page is
// decoded once.
func (d *Document) decodeJPEG(page int, data []byte) (*image.Gray, error) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		// Go reports a cut-off file as unexpected EOF or as short Huffman
		// data, depending on where the cut falls; a missing end marker
		// tells the operator's case (an interrupted save) apart.
		if errors.Is(err, io.ErrUnexpectedEOF) || !bytes.HasSuffix(bytes.TrimRight(data, "\x00"), []byte{0xFF, 0xD9}) {
			return nil, d.inputError(page, err, "the JPEG image is incomplete (the file ends too early); the scan was not saved completely, scan the document again")
		}
		return nil, d.inputError(page, err, "the JPEG image is damaged and cannot be read (%v); scan the document again", err)
	}
	return thumbImage(img), nil
}

func (d *Document) jpegPage() (*Page, error) {
	data, err := d.readAll()
	if err != nil {
		return nil, err
	}
	thumb, err := d.decodeJPEG(0, data)
	if err != nil {
		return nil, err
	}
	info := d.jpeg
	p := &Page{
		Number: 1, Width: info.width, Height: info.height,
		Gray: info.components == 1, BitsPerComponent: 8,
		Filter: "DCTDecode", Data: data, OCRImage: data,
		ColorDepth: 8 * info.components,
		Thumb:      thumb, ThumbScale: 1.0 / thumbFactor,
	}
	d.setDPI(p, info.dpiX, info.dpiY)
	return p, nil
}
