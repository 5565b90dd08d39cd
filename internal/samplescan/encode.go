package samplescan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
)

// WriteJPEG encodes img as a baseline JPEG with a JFIF APP0 segment stating
// dpi (Go's encoder writes no density, and a reader would then guess 72 dpi).
// quality is 1-100; zero means 90.
func WriteJPEG(w io.Writer, img image.Image, dpi float64, quality int) error {
	density, err := densityInch(dpi)
	if err != nil {
		return fmt.Errorf("write JPEG: %w", err)
	}
	if quality == 0 {
		quality = 90
	}
	if quality < 1 || quality > 100 {
		return fmt.Errorf("write JPEG: quality %d is outside 1-100", quality)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("write JPEG: %w", err)
	}
	data := buf.Bytes()
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return fmt.Errorf("write JPEG: encoder output does not start with SOI")
	}
	// JFIF 1.02 APP0: length 16, identifier, version, units 1 (dots per
	// inch), X and Y density, no thumbnail. It must follow SOI directly.
	app0 := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(app0[12:], density)
	binary.BigEndian.PutUint16(app0[14:], density)
	for _, part := range [][]byte{data[:2], app0, data[2:]} {
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("write JPEG: %w", err)
		}
	}
	return nil
}

func densityInch(dpi float64) (uint16, error) {
	d := math.Round(dpi)
	if !(d >= 1 && d <= math.MaxUint16) {
		return 0, fmt.Errorf("resolution %g dpi cannot be recorded (1-65535)", dpi)
	}
	return uint16(d), nil
}

// WritePNG encodes img as PNG with a pHYs chunk stating dpi (as pixels per
// metre, the only physical unit PNG knows).
func WritePNG(w io.Writer, img image.Image, dpi float64) error {
	if !(dpi >= 1 && dpi <= 100000) {
		return fmt.Errorf("write PNG: resolution %g dpi cannot be recorded", dpi)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("write PNG: %w", err)
	}
	data := buf.Bytes()
	// pHYs must come before the first IDAT; right after IHDR is always
	// allowed. The signature is 8 bytes, IHDR is 4+4+13+4.
	const ihdrEnd = 8 + 25
	if len(data) < ihdrEnd || string(data[12:16]) != "IHDR" {
		return fmt.Errorf("write PNG: encoder output does not start with IHDR")
	}
	perMetre := uint32(math.Round(dpi / 0.0254))
	chunk := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(chunk[0:], 9)
	copy(chunk[4:], "pHYs")
	binary.BigEndian.PutUint32(chunk[8:], perMetre)
	binary.BigEndian.PutUint32(chunk[12:], perMetre)
	chunk[16] = 1 // unit: metre
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	for _, part := range [][]byte{data[:ihdrEnd], chunk, data[ihdrEnd:]} {
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("write PNG: %w", err)
		}
	}
	return nil
}
