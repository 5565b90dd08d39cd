// Package pades adds a PAdES baseline signature (ETSI EN 319 142-1), level
// B-B or, with a timestamp authority, B-T, to a PDF as one incremental
// update, and checks such signatures.
//
// The original bytes are never changed: a signed file is the input followed
// by new objects (signature dictionary, signature field and widget, the
// widget's appearance with its fonts and images), re-written versions of the
// widget's page and the catalog, and a cross-reference section for them.
// The CMS inside is a detached SignedData over SHA-256 with the
// signing-certificate-v2 attribute, built here with cryptobyte; the key is
// any crypto.Signer, such as a PKCS#11 token. A B-T signature carries an
// RFC 3161 timestamp token over its signature value as an unsigned
// attribute. The first signature may certify the document (DocMDP), which
// allows later form filling and signing only.
package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Signer is a signing key with its certificate chain.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate // signing certificate first, then its CA certificates (all embedded in the CMS)
}

// Options describe one signature. The zero value signs now, invisibly, in a
// field named "Signature1" (or the next free SignatureN).
type Options struct {
	// Time is the claimed signing time, written as the signature dictionary's
	// /M in Time's own zone (PAdES has no CMS signing-time attribute). Zero
	// means now.
	Time time.Time

	// Name, Reason, Location and ContactInfo are optional and may be in any
	// language; they are written as PDF text strings.
	Name, Reason, Location, ContactInfo string

	// FieldName names the new signature field. Empty means "Signature1", or
	// the first SignatureN not yet in the document.
	FieldName string

	// Appearance, when set, makes the signature visible: its widget is
	// drawn on Appearance.Page. Nil means an invisible signature on page 1.
	Appearance *Appearance

	// Certify makes this the document's certification signature (DocMDP,
	// permission 2: later changes are limited to filling in forms and
	// signing). Only a document without signatures can be certified.
	Certify bool

	// TSA, when set, timestamps the signature (PAdES B-T). If the authority
	// cannot be reached, SignContext fails with an error wrapping
	// ErrTSAUnavailable and writes nothing.
	TSA *TSA

	// docTimestamp makes the update a document timestamp (ETSI.RFC3161) instead of a
	// signature: AddDocumentTimestamp sets it.
	docTimestamp bool
}

// timestampRoom is the room kept in /Contents for an RFC 3161 timestamp
// token (with the TSA's certificates) while the authority has sent none yet:
// the first timestamp of a TSA value. After that the room is sized from the
// largest token it sent (TSA.largestToken) plus tokenMargin.
const timestampRoom = 16 << 10

// tokenMargin is what is kept beyond the largest token a TSA has sent. One
// authority's tokens differ by a few bytes (serial number, the nonce, the
// fractions of a second in genTime, an ECDSA signature's length, and the
// DER lengths around them): 12 at most for the same certificate. A larger
// token means the authority changed certificates; see SignContext.
const tokenMargin = 32

// cmsLength returns the length of the CMS SignContext makes with s and, when
// tokenLen > 0, a timestamp token of that length. Everything in it is known
// before signing but the digest and the signature value: the digest has a
// fixed length, and so has an RSA signature (the modulus length); an ECDSA
// one is counted at its longest, so the CMS is at most a few bytes shorter.
// So the /Contents placeholder holds exactly the CMS made, without signing
// twice.
func cmsLength(s Signer, tokenLen int) (int, error) {
	sigLen, err := maxSignatureLength(s.Chain[0].PublicKey)
	if err != nil {
		return 0, err
	}
	attrs, err := signedAttributes(oidData, make([]byte, sha256.Size), s.Chain[0])
	if err != nil {
		return 0, err
	}
	si := &signerInfo{contentType: oidData, chain: s.Chain, attrs: attrs, signature: make([]byte, sigLen)}
	if tokenLen > 0 {
		si.unsigned = append(si.unsigned, attribute(oidAttrTimestamp, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, tokenLen)) }))
	}
	cms, err := si.encode()
	if err != nil {
		return 0, err
	}
	return len(cms), nil
}

// maxSignatureLength is the longest signature value the key can make.
func maxSignatureLength(pub crypto.PublicKey) (int, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.Size(), nil
	case *ecdsa.PublicKey:
		// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, each at most
		// the order's length plus a leading zero byte.
		n := (k.Curve.Params().N.BitLen()+7)/8 + 1
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for range 2 {
				b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, n)) })
			}
		})
		return len(b.BytesOrPanic()), nil
	default:
		return 0, fmt.Errorf("signing keys of type %T are not supported; use an RSA or EC key", pub)
	}
}

// tokenRoom is the token length to keep room for with tsa. A token longer
// than timestampRoom is never given room: such an authority is refused.
func tokenRoom(tsa *TSA) int {
	if n := tsa.largestToken(); n > 0 && n+tokenMargin <= timestampRoom {
		return n + tokenMargin
	}
	return timestampRoom
}

// Sign is SignContext without a context; a TSA request is still bounded by
// its Timeout.
func Sign(w io.Writer, pdf []byte, s Signer, opt Options) error {
	return SignContext(context.Background(), w, pdf, s, opt)
}

// SignContext writes pdf unchanged to w, followed by one incremental update
// that adds a PAdES signature over the whole result: B-B, or B-T when
// opt.TSA is set. ctx bounds the TSA request. Nothing is written to w
// unless signing succeeded.
func SignContext(ctx context.Context, w io.Writer, pdf []byte, s Signer, opt Options) error {
	if s.Key == nil {
		return errors.New("cannot sign: no signing key was given")
	}
	if len(s.Chain) == 0 {
		return errors.New("cannot sign: no signing certificate was given")
	}
	if pub, ok := s.Key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(s.Chain[0].PublicKey) {
		return fmt.Errorf("cannot sign: the signing key does not belong to the certificate %q; check which key and certificate the token holds", s.Chain[0].Subject.CommonName)
	}
	if _, _, _, err := signatureAlgorithm(s.Chain[0].PublicKey); err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	if opt.Time.IsZero() {
		opt.Time = time.Now()
	}
	doc, err := readDocument(pdf)
	if err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	var tokenLen int // room kept for the timestamp token
	if opt.TSA != nil {
		tokenLen = tokenRoom(opt.TSA)
	}
	room, err := cmsLength(s, tokenLen)
	if err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	u, err := newUpdate(doc, pdf, opt, room)
	if err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	si, err := signCMS(oidData, nil, u.digest(pdf), s.Key, s.Chain)
	if err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	var stamped int // length of the token the TSA sent
	if opt.TSA != nil {
		// The timestamp is over the signature value (ETSI EN 319 122-1 5.3).
		h := sha256.Sum256(si.signature)
		token, err := opt.TSA.Stamp(ctx, h[:])
		if err != nil {
			return fmt.Errorf("cannot sign with a timestamp: %w", err)
		}
		si.unsigned = append(si.unsigned, attribute(oidAttrTimestamp, func(b *cryptobyte.Builder) { b.AddBytes(token) }))
		stamped = len(token)
	}
	cms, err := si.encode()
	if err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	if opt.TSA != nil && 2*len(cms) > u.contentsLen {
		if stamped > timestampRoom || tokenLen == timestampRoom {
			return fmt.Errorf("cannot sign with a timestamp: with the timestamp authority's token the signature is %d bytes, which does not fit the room kept for it in the PDF (%d bytes); the TSA may send unusually many certificates. Sign without a timestamp, or use another TSA", len(cms), u.contentsLen/2)
		}
		// Signing again with the room this token needs would ask the key
		// for a second signature of the same document.
		return fmt.Errorf("cannot sign with a timestamp: %w", &tokenTooLargeError{cms: len(cms), room: u.contentsLen / 2})
	}
	if err := u.setContents(cms); err != nil {
		return fmt.Errorf("cannot sign: %w", err)
	}
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("writing the signed PDF: %w", err)
	}
	if _, err := w.Write(u.buf.Bytes()); err != nil {
		return fmt.Errorf("writing the signed PDF: %w", err)
	}
	return nil
}

// tokenTooLargeError is a timestamp token that made the CMS larger than the
// room kept for it. It is retried as an unreachable TSA is: the TSA value has
// learnt the token's length, so the next attempt keeps room for it.
type tokenTooLargeError struct{ cms, room int }

func (e *tokenTooLargeError) Error() string {
	return fmt.Sprintf("with the timestamp authority's token the signature is %d bytes, more than the %d bytes kept from the authority's earlier tokens (it may have changed certificates); try again, the next attempt keeps room for it", e.cms, e.room)
}

func (e *tokenTooLargeError) Is(target error) bool { return target == ErrTSAUnavailable }

// update is the incremental update being built: everything after the
// original bytes.
type update struct {
	base    int64 // length of the original file: where the update starts
	buf     bytes.Buffer
	offsets map[int]int64 // object number → file offset of each object written
	gens    map[int]int   // object number → generation it was written with

	contentsAt  int // offset in buf of the '<' of the /Contents placeholder
	contentsLen int // hex digits in the placeholder
}

// byteRangeWidth is the space kept for "[0 a b c]"; three offsets of up to
// eleven digits each fit.
const byteRangeWidth = 40

func newUpdate(doc *document, pdf []byte, opt Options, reserve int) (*update, error) {
	u := &update{base: int64(len(pdf)), offsets: map[int]int64{}, gens: map[int]int{}}
	if n := len(pdf); n > 0 && pdf[n-1] != '\n' && pdf[n-1] != '\r' {
		u.buf.WriteByte('\n')
	}
	look := opt.Appearance
	if look == nil {
		look = &Appearance{} // invisible: a zero rectangle and an empty form
	} else if err := look.check(); err != nil {
		return nil, err
	}

	form, err := doc.acroForm()
	if err != nil {
		return nil, err
	}
	existing, err := doc.fields(form)
	if err != nil {
		return nil, err
	}
	if err := doc.checkMaySign(opt.Certify, existing); err != nil {
		return nil, err
	}
	name, err := fieldName(opt.FieldName, existing)
	if err != nil {
		return nil, err
	}
	pageNum := max(look.Page, 1)
	pageRef, err := doc.xref.PageDictIndRef(pageNum)
	if err != nil {
		return nil, fmt.Errorf("page %d cannot be found: %w", pageNum, err)
	}
	if pageRef == nil {
		return nil, fmt.Errorf("the signature appearance is meant for page %d, but the PDF has no such page", pageNum)
	}
	page, err := doc.xref.DereferenceDict(*pageRef)
	if err != nil || page == nil {
		return nil, fmt.Errorf("page %d cannot be read: %v", pageNum, err)
	}
	catalog, err := doc.xref.Catalog()
	if err != nil {
		return nil, fmt.Errorf("the document catalog cannot be read: %w", err)
	}

	// Every new object is numbered after the last one the file has.
	next := *doc.xref.Size
	newNum := func() int { next++; return next - 1 }
	sigNum, fieldNum, apNum := newNum(), newNum(), newNum()

	// The signature dictionary, with placeholders patched in later.
	u.begin(sigNum, 0)
	if opt.docTimestamp {
		// ETSI EN 319 142-1 5.4: no /M, no signer's words; the token says who and when.
		u.buf.WriteString("<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161")
	} else {
		u.buf.WriteString("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached")
		u.buf.WriteString("/M " + textString(pdfDate(opt.Time)))
	}
	for _, e := range []struct{ key, value string }{
		{"Name", opt.Name}, {"Reason", opt.Reason}, {"Location", opt.Location}, {"ContactInfo", opt.ContactInfo},
	} {
		if e.value != "" {
			u.buf.WriteString("/" + e.key + " " + textString(e.value))
		}
	}
	if opt.Certify {
		// ISO 32000-1 12.8.2.2. No DigestMethod, DigestValue or
		// DigestLocation: PDF/A-2 (6.4.2) forbids them in a reference.
		u.buf.WriteString("/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P 2/V/1.2>>>>]")
	}
	u.buf.WriteString("/ByteRange ")
	u.buf.WriteString(strings.Repeat(" ", byteRangeWidth))
	u.buf.WriteString("/Contents ")
	u.contentsAt = u.buf.Len()
	u.contentsLen = 2 * reserve
	u.buf.WriteByte('<')
	u.buf.WriteString(strings.Repeat("0", u.contentsLen))
	u.buf.WriteString(">>>")
	u.end()

	// The signature field merged with its widget annotation. /F 4 (Print)
	// and an /AP with only /N are what PDF/A asks of every widget.
	u.begin(fieldNum, 0)
	fmt.Fprintf(&u.buf, "<</Type/Annot/Subtype/Widget/FT/Sig/T %s/V %d 0 R/F 4/Rect %s/P %d %d R/AP<</N %d 0 R>>>>",
		textString(name), sigNum, numberArray(look.Rect), pageRef.ObjectNumber, pageRef.GenerationNumber, apNum)
	u.end()

	if err := u.writeAppearance(apNum, look, newNum); err != nil {
		return nil, err
	}

	// The page again, with the widget among its annotations.
	newPage := page.Clone().(types.Dict)
	annots, err := doc.xref.DereferenceArray(page["Annots"])
	if err != nil {
		return nil, fmt.Errorf("page %d's annotations cannot be read: %w", pageNum, err)
	}
	newPage["Annots"] = append(slices.Clone(annots), *types.NewIndirectRef(fieldNum, 0))
	if err := u.writeDict(pageRef.ObjectNumber.Value(), pageRef.GenerationNumber.Value(), newPage); err != nil {
		return nil, fmt.Errorf("page %d cannot be re-written: %w", pageNum, err)
	}

	// The catalog again, with the field added to the form.
	newForm := types.Dict{}
	if form != nil {
		newForm = form.Clone().(types.Dict)
	}
	oldFields, err := doc.xref.DereferenceArray(form["Fields"])
	if err != nil {
		return nil, fmt.Errorf("the form's field list cannot be read: %w", err)
	}
	newForm["Fields"] = append(slices.Clone(oldFields), *types.NewIndirectRef(fieldNum, 0))
	newForm["SigFlags"] = types.Integer(3) // SignaturesExist | AppendOnly
	newCatalog := catalog.Clone().(types.Dict)
	newCatalog["AcroForm"] = newForm
	if opt.Certify {
		perms := types.Dict{}
		if old, err := doc.xref.DereferenceDict(catalog["Perms"]); err == nil && old != nil {
			perms = old.Clone().(types.Dict) // keeps a usage-rights (UR3) entry
		}
		perms["DocMDP"] = *types.NewIndirectRef(sigNum, 0)
		newCatalog["Perms"] = perms
	}
	if err := u.writeDict(doc.xref.Root.ObjectNumber.Value(), doc.xref.Root.GenerationNumber.Value(), newCatalog); err != nil {
		return nil, fmt.Errorf("the document catalog cannot be re-written: %w", err)
	}

	if doc.xrefStream {
		xrefNum := newNum()
		u.writeXrefStream(xrefNum, u.trailer(doc, pdf, next, opt, name))
	} else {
		u.writeXrefTable(u.trailer(doc, pdf, next, opt, name))
	}

	// Now that the length is known, fill in the byte range.
	start := u.base + int64(u.contentsAt)
	end := start + int64(u.contentsLen) + 2
	br := fmt.Sprintf("[0 %d %d %d]", start, end, u.base+int64(u.buf.Len())-end)
	if len(br) > byteRangeWidth {
		return nil, errors.New("the PDF is too large to sign")
	}
	at := u.contentsAt - len("/Contents ") - byteRangeWidth
	copy(u.buf.Bytes()[at:], br)
	return u, nil
}

// checkMaySign refuses a signature that would break what the document's
// signers already fixed: a certification must be the first signature, and
// a document certified with "no changes" takes no further signature.
func (d *document) checkMaySign(certify bool, existing []field) error {
	certified, err := d.certifyingSignature()
	if err != nil {
		return fmt.Errorf("the document's permissions (/Perms) cannot be read: %w", err)
	}
	if certify {
		if certified != nil {
			return errors.New("the document is already certified; a document has only one certification signature, so sign it without certifying")
		}
		for _, f := range existing {
			if f.ft == "Sig" && f.dict["V"] != nil {
				return fmt.Errorf("the document already has a signature (field %q), and only an unsigned document can be certified; sign it without certifying", f.name)
			}
		}
		return nil
	}
	if certified != nil {
		if sig, err := d.xref.DereferenceDict(*certified); err == nil && sig != nil {
			if p, ok := d.docMDPReference(sig); ok && p == 1 {
				return errors.New("the document was certified with no changes allowed, so another signature would break that certification")
			}
		}
	}
	return nil
}

// fieldName picks the new field's name and checks it is free.
func fieldName(want string, existing []field) (string, error) {
	taken := map[string]bool{}
	for _, f := range existing {
		taken[f.name] = true
	}
	if want != "" {
		if strings.Contains(want, ".") {
			return "", fmt.Errorf("the signature field name %q contains a period, which PDF does not allow", want)
		}
		if taken[want] {
			return "", fmt.Errorf("the PDF already has a field named %q; choose another signature field name", want)
		}
		return want, nil
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("Signature%d", i); !taken[n] {
			return n, nil
		}
	}
}

func (u *update) begin(num, gen int) {
	u.offsets[num] = u.base + int64(u.buf.Len())
	u.gens[num] = gen
	fmt.Fprintf(&u.buf, "%d %d obj\n", num, gen)
}

func (u *update) end() { u.buf.WriteString("\nendobj\n") }

func (u *update) writeDict(num, gen int, d types.Dict) error {
	u.begin(num, gen)
	if err := writeObject(&u.buf, d); err != nil {
		return err
	}
	u.end()
	return nil
}

// trailer returns the entries of the update's trailer (or xref stream)
// dictionary apart from the cross-reference ones, in PDF syntax.
func (u *update) trailer(doc *document, pdf []byte, size int, opt Options, name string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/Size %d/Root %d %d R", size, doc.xref.Root.ObjectNumber, doc.xref.Root.GenerationNumber)
	if doc.xref.Info != nil {
		fmt.Fprintf(&b, "/Info %d %d R", doc.xref.Info.ObjectNumber, doc.xref.Info.GenerationNumber)
	}
	fmt.Fprintf(&b, "/Prev %d", doc.startxref)
	// The first ID names the document for good; the second names this
	// version of it, derived from its content so signing is repeatable.
	h := sha256.New()
	h.Write(pdf)
	fmt.Fprintf(h, "%s|%s", opt.Time.Format(time.RFC3339Nano), name)
	version := h.Sum(nil)[:16]
	first := doc.firstID()
	if first == nil {
		first = version
	}
	fmt.Fprintf(&b, "/ID[<%X><%X>]", first, version)
	return b.String()
}

// objectRuns groups the written object numbers into runs of consecutive
// numbers, the subsections of a cross-reference section.
func (u *update) objectRuns() [][]int {
	nums := make([]int, 0, len(u.offsets))
	for n := range u.offsets {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	var runs [][]int
	for i, n := range nums {
		if i > 0 && n == nums[i-1]+1 {
			runs[len(runs)-1] = append(runs[len(runs)-1], n)
		} else {
			runs = append(runs, []int{n})
		}
	}
	return runs
}

func (u *update) writeXrefTable(trailer string) {
	xrefAt := u.base + int64(u.buf.Len())
	u.buf.WriteString("xref\n")
	for _, run := range u.objectRuns() {
		fmt.Fprintf(&u.buf, "%d %d\n", run[0], len(run))
		for _, n := range run {
			fmt.Fprintf(&u.buf, "%010d %05d n\r\n", u.offsets[n], u.gens[n])
		}
	}
	fmt.Fprintf(&u.buf, "trailer\n<<%s>>\nstartxref\n%d\n%%%%EOF\n", trailer, xrefAt)
}

func (u *update) writeXrefStream(num int, trailer string) {
	xrefAt := u.base + int64(u.buf.Len())
	u.offsets[num] = xrefAt
	runs := u.objectRuns()
	offsetWidth := 4
	if xrefAt >= 1<<32 {
		offsetWidth = 8
	}
	var index strings.Builder
	var data []byte
	for _, run := range runs {
		fmt.Fprintf(&index, " %d %d", run[0], len(run))
		for _, n := range run {
			data = append(data, 1)
			var off [8]byte
			binary.BigEndian.PutUint64(off[:], uint64(u.offsets[n]))
			data = append(data, off[8-offsetWidth:]...)
			data = binary.BigEndian.AppendUint16(data, uint16(u.gens[n]))
		}
	}
	fmt.Fprintf(&u.buf, "%d 0 obj\n<</Type/XRef%s/Index[%s]/W[1 %d 2]/Length %d>>\nstream\n",
		num, trailer, strings.TrimSpace(index.String()), offsetWidth, len(data))
	u.buf.Write(data)
	fmt.Fprintf(&u.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
}

// digest is the SHA-256 of the signed byte ranges: everything but the
// /Contents hex string.
func (u *update) digest(pdf []byte) []byte {
	h := sha256.New()
	h.Write(pdf)
	b := u.buf.Bytes()
	h.Write(b[:u.contentsAt])
	h.Write(b[u.contentsAt+u.contentsLen+2:])
	return h.Sum(nil)
}

// setContents writes the CMS into the /Contents placeholder.
func (u *update) setContents(cms []byte) error {
	if 2*len(cms) > u.contentsLen {
		return fmt.Errorf("the signature is %d bytes but only %d bytes were reserved for it in the PDF; the certificate chain may be unusually large", len(cms), u.contentsLen/2)
	}
	hex.Encode(u.buf.Bytes()[u.contentsAt+1:], cms)
	return nil
}
