package pdfa

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"strconv"
)

// objWriter writes the low-level PDF file structure. It counts bytes as
// they go out, because the cross-reference table needs the offset of every
// object, and it hashes them, because the trailer's /ID is derived from the
// content written before it. Errors are sticky: after the first failed
// write every later call is a no-op and finish reports the error.
type objWriter struct {
	w       *bufio.Writer
	sum     hash.Hash
	n       int64
	err     error
	offsets []int64 // indexed by object number; 0 means "allocated, not yet written"
	scratch []byte
}

func newObjWriter(w io.Writer) *objWriter {
	return &objWriter{
		w:       bufio.NewWriterSize(w, 64<<10),
		sum:     sha256.New(),
		offsets: []int64{0}, // object 0 is the head of the free list
	}
}

func (o *objWriter) Write(b []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(b)
	o.sum.Write(b[:n])
	o.n += int64(n)
	if err != nil {
		o.err = err
	}
	return n, err
}

func (o *objWriter) WriteString(s string) (int, error) {
	o.scratch = append(o.scratch[:0], s...)
	return o.Write(o.scratch)
}

func (o *objWriter) printf(format string, args ...any) {
	fmt.Fprintf(o, format, args...)
}

// alloc reserves the next object number, so objects can refer to each
// other before either is written.
func (o *objWriter) alloc() int {
	o.offsets = append(o.offsets, 0)
	return len(o.offsets) - 1
}

func (o *objWriter) header() {
	// The second line is a comment of bytes above 127, so that transfer
	// programs treat the file as binary (ISO 19005-2, 6.1.2).
	o.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
}

func (o *objWriter) beginObj(num int) {
	o.offsets[num] = o.n
	o.scratch = strconv.AppendInt(o.scratch[:0], int64(num), 10)
	o.scratch = append(o.scratch, " 0 obj\n"...)
	o.Write(o.scratch)
}

func (o *objWriter) endObj() {
	o.WriteString("\nendobj\n")
}

// dictObj writes an object whose body is the dictionary dict (with its
// << >> delimiters).
func (o *objWriter) dictObj(num int, dict string) {
	o.beginObj(num)
	o.WriteString(dict)
	o.endObj()
}

// streamObj writes a stream object. dict holds the dictionary entries
// without delimiters and without /Length, which is added here from data.
func (o *objWriter) streamObj(num int, dict string, data []byte) {
	o.beginObj(num)
	o.printf("<<%s /Length %d>>\nstream\n", dict, len(data))
	o.Write(data)
	o.WriteString("\nendstream")
	o.endObj()
}

// finish writes the cross-reference table and the trailer and flushes.
func (o *objWriter) finish(root, info int) error {
	if o.err != nil {
		return o.err
	}
	for num := 1; num < len(o.offsets); num++ {
		if o.offsets[num] == 0 {
			return fmt.Errorf("internal error: PDF object %d was reserved but never written", num)
		}
	}
	id := o.sum.Sum(nil)[:16]
	xref := o.n
	o.printf("xref\n0 %d\n", len(o.offsets))
	// Each entry is exactly 20 bytes, the end-of-line included.
	o.WriteString("0000000000 65535 f\r\n")
	for _, off := range o.offsets[1:] {
		o.printf("%010d 00000 n\r\n", off)
	}
	o.printf("trailer\n<</Size %d /Root %d 0 R /Info %d 0 R /ID [<%x> <%x>]>>\nstartxref\n%d\n%%%%EOF\n",
		len(o.offsets), root, info, id, id, xref)
	if o.err != nil {
		return o.err
	}
	return o.w.Flush()
}

// appendNum appends f in the shortest plain decimal form PDF accepts (no
// exponent), rounded to 4 decimals, which is far below a device pixel.
func appendNum(b []byte, f float64) []byte {
	r := strconv.AppendFloat(b, f, 'f', 4, 64)
	digits := r[len(b):]
	// Trim trailing zeros and a trailing point.
	i := len(digits)
	for i > 0 && digits[i-1] == '0' {
		i--
	}
	if i > 0 && digits[i-1] == '.' {
		i--
	}
	digits = digits[:i]
	if len(digits) == 0 || string(digits) == "-" || string(digits) == "-0" {
		return append(b, '0')
	}
	return r[:len(b)+len(digits)]
}

func num(f float64) string { return string(appendNum(nil, f)) }
