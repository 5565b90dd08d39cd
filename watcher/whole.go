package watcher

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Whole reports whether the file at path is a whole image of the kinds scanners write, and if
// not, what is missing, in plain words; the watcher waits on it, and the station refuses with
// the same words a file that stayed unfinished. It reads only structure (markers, chunk and IFD
// headers), never pixels. A kind it does not know, and a file it cannot read, count as whole:
// the station decides about those and says why it refuses them.
//
// A file between two pages of a multi-page TIFF is whole by this test (libtiff makes each page
// a valid TIFF before it starts the next); that is what the write lease and the settle time
// are for.
func Whole(path string) (bool, string) {
	f, err := os.Open(path)
	if err != nil {
		return true, ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return true, ""
	}
	size := info.Size()
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	var why string
	switch h := head[:n]; {
	case bytes.HasPrefix(h, []byte{0xFF, 0xD8}):
		why = jpegGap(f)
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		why = pngGap(f, size)
	case bytes.HasPrefix(h, []byte("%PDF")):
		why = pdfGap(f, size)
	case bytes.HasPrefix(h, []byte("II*\x00")):
		why = tiffGap(f, size, binary.LittleEndian)
	case bytes.HasPrefix(h, []byte("MM\x00*")):
		why = tiffGap(f, size, binary.BigEndian)
	}
	return why == "", why
}

// jpegGap walks the JPEG's segments and scans from the start: it is whole once the end marker
// (EOI) follows the last scan. An EOI inside an embedded thumbnail sits within its APP
// segment, which is skipped by its length, so it does not count.
func jpegGap(f *os.File) string {
	if _, err := f.Seek(2, io.SeekStart); err != nil {
		return ""
	}
	r := bufio.NewReaderSize(f, 64<<10)
	const missing = "the JPEG has no end marker (EOI)"
	for {
		b, err := r.ReadByte()
		if err != nil {
			return missing
		}
		if b != 0xFF {
			continue // entropy-coded data of a scan
		}
		m, err := r.ReadByte()
		for err == nil && m == 0xFF { // fill bytes
			m, err = r.ReadByte()
		}
		switch {
		case err != nil:
			return missing
		case m == 0xD9:
			return ""
		case m == 0x00, m >= 0xD0 && m <= 0xD7, m == 0x01:
			// A stuffed 0xFF in scan data, a restart marker, TEM: no length follows.
		default:
			var l [2]byte
			if _, err := io.ReadFull(r, l[:]); err != nil {
				return missing
			}
			n := int(binary.BigEndian.Uint16(l[:])) - 2
			if n < 0 {
				return "" // damaged; the station says so
			}
			if _, err := r.Discard(n); err != nil {
				return missing
			}
		}
	}
}

// pngGap follows the PNG's chunks by their lengths; it is whole once IEND is reached.
func pngGap(f *os.File, size int64) string {
	const missing = "the PNG has no end chunk (IEND)"
	at := int64(8)
	for {
		var h [8]byte
		if _, err := f.ReadAt(h[:], at); err != nil {
			return missing
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		if string(h[4:]) == "IEND" {
			return ""
		}
		at += 12 + n
		if at > size {
			return missing
		}
	}
}

// pdfGap looks at the end of the PDF: whole once %%EOF follows the last startxref. Readers
// accept some bytes after %%EOF, so the last KiBs are searched, not just the last line.
func pdfGap(f *os.File, size int64) string {
	const tail = 8 << 10
	start := max(size-tail, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	x := bytes.LastIndex(buf, []byte("startxref"))
	if x < 0 || !bytes.Contains(buf[x:], []byte("%%EOF")) {
		return "the PDF has no end (%%EOF after its last startxref)"
	}
	return ""
}

// TIFF tag numbers and types this check needs.
const (
	tagStripOffsets    = 273
	tagStripByteCounts = 279
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	maxTIFFPages       = 100_000 // far above limits.max_pages; only stops a loop
)

// tiffGap follows the chain of image directories (one a page) and checks that every directory,
// every value it points to and every strip or tile of image data lies inside the file.
func tiffGap(f *os.File, size int64, bo binary.ByteOrder) string {
	var b [4]byte
	if _, err := f.ReadAt(b[:], 4); err != nil {
		return "the TIFF has no page"
	}
	next := int64(bo.Uint32(b[:]))
	if next == 0 {
		return "the TIFF has no page"
	}
	seen := map[int64]bool{}
	used := int64(8) // the end of what the pages use: header, directories, values, strips
	page := 1
	for ; next != 0; page++ {
		if seen[next] || page > maxTIFFPages {
			return "" // a loop: damaged, not unfinished; the station says so
		}
		seen[next] = true
		short := fmt.Sprintf("page %d of the TIFF is not all there (%s before it)", page, pages(page-1))
		var c [2]byte
		if _, err := f.ReadAt(c[:], next); err != nil {
			return short
		}
		n := int64(bo.Uint16(c[:]))
		ifd := make([]byte, n*12+4)
		if _, err := f.ReadAt(ifd, next+2); err != nil {
			return short
		}
		used = max(used, next+2+n*12+4)
		var offsets, counts []int64
		for i := range n {
			e := ifd[i*12 : i*12+12]
			tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), int64(bo.Uint32(e[4:]))
			width := map[uint16]int64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8}[typ]
			if width == 0 {
				continue // unknown type: its size is unknown, readers skip it too
			}
			var values []byte
			if count*width <= 4 {
				values = e[8 : 8+count*width]
			} else {
				at := int64(bo.Uint32(e[8:]))
				if at+count*width > size {
					return short
				}
				used = max(used, at+count*width)
				if tag != tagStripOffsets && tag != tagStripByteCounts && tag != tagTileOffsets && tag != tagTileByteCounts {
					continue
				}
				values = make([]byte, count*width)
				if _, err := f.ReadAt(values, at); err != nil {
					return short
				}
			}
			var list []int64
			for k := range count {
				switch width {
				case 2:
					list = append(list, int64(bo.Uint16(values[k*2:])))
				case 4:
					list = append(list, int64(bo.Uint32(values[k*4:])))
				}
			}
			switch tag {
			case tagStripOffsets, tagTileOffsets:
				offsets = list
			case tagStripByteCounts, tagTileByteCounts:
				counts = list
			}
		}
		for i := range min(len(offsets), len(counts)) {
			if offsets[i]+counts[i] > size {
				return short
			}
			used = max(used, offsets[i]+counts[i])
		}
		next = int64(bo.Uint32(ifd[n*12:]))
	}
	// libtiff links a page only once it is written: a writer that stopped in the middle of a
	// page leaves a valid TIFF of the pages before it and that page's pixels after them,
	// used by no page. A little slack is left for padding and small unlinked metadata.
	if unused := size - used; unused > tiffSlack {
		return fmt.Sprintf("page %d of the TIFF is not all there (%s before it; the last %d bytes belong to no page)", page, pages(page-1), unused)
	}
	return ""
}

// tiffSlack is how many bytes after everything the pages use are taken for padding or small
// metadata a writer did not link (an EXIF block, say) rather than a page left unfinished.
const tiffSlack = 64 << 10

func pages(n int) string {
	if n == 1 {
		return "1 whole page"
	}
	return fmt.Sprintf("%d whole pages", n)
}
