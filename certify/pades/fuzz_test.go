package pades

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary bytes to Verify, which reads whatever PDF a
// user asks `scanstation verify` about. It must never panic or hang: a file
// it cannot read is an error, a bad signature is a report with problems.
//
// The seed corpus in testdata/fuzz/FuzzVerify holds real signed scanner
// PDFs (img2pdf, qpdf's object streams; RSA and ECDSA signers; certified,
// signed twice, appended to, truncated, tampered with) and an encrypted
// one. The seeds added here are signed afresh with an in-memory key, with
// cut and altered variants aimed at the byte range and the CMS.
func FuzzVerify(f *testing.F) {
	signed := sign(f, minimalPDF(0), ecPKI().signer, Options{
		Time:    time.Date(2025, 3, 5, 16, 43, 18, 0, hanoi),
		Reason:  "Sao y bản chính",
		Certify: true,
	})
	f.Add(signed)
	for _, n := range []int{len(signed) - 1, len(signed) * 9 / 10, len(signed) / 2, 100} {
		f.Add(signed[:n])
	}
	for _, v := range fuzzVariants(signed) {
		f.Add(v)
	}
	f.Add(minimalPDF(0))
	f.Add([]byte("%PDF-1.7\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		timer := time.AfterFunc(30*time.Second, func() {
			panic(fmt.Sprintf("Verify still running after 30s on %d bytes (a hang)", len(data)))
		})
		defer timer.Stop()

		rep, err := Verify(data, VerifyOptions{})
		if err != nil {
			if rep != nil {
				t.Fatalf("Verify returned both a report and an error: %v", err)
			}
			return
		}
		if rep == nil {
			t.Fatal("Verify returned neither a report nor an error")
		}
		for _, s := range rep.Signatures {
			if s.Intact && s.Signer == nil {
				t.Fatalf("signature %q is intact without a signer", s.Field)
			}
		}
	})
}

// fuzzVariants alters a signed PDF where Verify is most exposed: the
// numbers of /ByteRange (huge, negative, overlapping, too few) and the hex
// of /Contents. Each change keeps the file's length, so the
// cross-reference offsets stay right and the altered dictionary is read.
func fuzzVariants(signed []byte) [][]byte {
	var out [][]byte
	i := bytes.LastIndex(signed, []byte("/ByteRange ["))
	if i < 0 {
		return nil
	}
	// The placeholder is padded with spaces for the real numbers.
	end := i + bytes.IndexByte(signed[i:], ']') + 1
	for end < len(signed) && signed[end] == ' ' {
		end++
	}
	for _, br := range []string{
		"/ByteRange [0 1 9223372036854775000 9000]",
		"/ByteRange [9223372036854775000 9000 0 1]",
		"/ByteRange [0 -5 10 20]",
		"/ByteRange [100 50 0 10]",
		"/ByteRange [0 1 2]",
	} {
		if len(br) > end-i {
			continue
		}
		v := bytes.Clone(signed)
		copy(v[i:end], br+string(bytes.Repeat([]byte(" "), end-i-len(br))))
		out = append(out, v)
	}
	if j := bytes.LastIndex(signed, []byte("/Contents <30")); j >= 0 {
		v := bytes.Clone(signed)
		v[j+len("/Contents <3")] = 'G'
		out = append(out, v)
	}
	return out
}
