package pades

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"scanstation/internal/judge"
	"scanstation/internal/tsatest"
)

func TestTimestampedSignature(t *testing.T) {
	pki := rsaPKI()
	tsa := tsatest.Start(t, tsatest.Options{})
	opt := vietnameseOptions()
	opt.TSA = &TSA{URL: tsa.URL}
	signed := sign(t, minimalPDF(0), pki.signer, opt)
	if n := tsa.Requests(); n != 1 {
		t.Errorf("one signature asked the TSA %d times", n)
	}

	// Trusting the signer's CA only: the timestamp is sound, but who made
	// it is not trusted.
	r := verifyOne(t, signed, VerifyOptions{Roots: pki.roots()})
	if !r.Intact || r.Level != "B-T" || !r.TimestampValid {
		t.Errorf("Verify: intact=%v level=%q timestamp valid=%v problems=%q", r.Intact, r.Level, r.TimestampValid, r.Problems)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "timestamp authority's certificate is not trusted") {
		t.Errorf("Verify should name the untrusted TSA and nothing else: %q", r.Problems)
	}
	v := judge.PyHanko(t, writeTemp(t, "bt.pdf", signed), judge.PyHankoOptions{Trust: []string{pki.writeCA(t)}})
	if ts := pyhankoField(t, v, "Signature1").Timestamp; ts == nil || !ts.Intact || !ts.Valid {
		t.Errorf("pyhanko does not see a cryptographically sound timestamp:\n%s", v)
	}

	// The timestamp must be over this signature's value: a token moved to
	// another signature is not valid there.
	sd := signedDataOf(t, signed)
	sd.signature = bytes.Clone(sd.signature)
	sd.signature[0] ^= 1
	moved := SignatureReport{Level: "B-B"}
	checkTimestamp(sd, VerifyOptions{}, &moved)
	if moved.TimestampValid || moved.Level == "B-T" || !strings.Contains(strings.Join(moved.Problems, " "), "different signature value") {
		t.Errorf("a timestamp of another signature: valid=%v level=%q problems=%q", moved.TimestampValid, moved.Level, moved.Problems)
	}
}

// signedDataOf reads the CMS of the only signature in pdf.
func signedDataOf(t testing.TB, pdf []byte) *signedData {
	t.Helper()
	at := bytes.Index(pdf, []byte("/Contents <")) + len("/Contents <")
	end := at + bytes.IndexByte(pdf[at:], '>')
	var der []byte
	for i := at; i+1 < end; i += 2 {
		var b byte
		for _, c := range pdf[i : i+2] {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			default:
				b |= c - 'a' + 10
			}
		}
		der = append(der, b)
	}
	sd, err := parseSignedData(der)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestTSAUnavailable(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + refused.Addr().String()
	refused.Close()

	for _, c := range []struct {
		name    string
		url     string
		handler http.HandlerFunc
	}{
		{"server error", tsatest.Start(t, tsatest.Options{Fail: http.StatusInternalServerError}).URL, nil},
		{"hangs past the timeout", tsatest.Start(t, tsatest.Options{Hang: true}).URL, nil},
		{"asks to come back later", "", func(w http.ResponseWriter, r *http.Request) {
			w.Write(statusOnlyResponse(statusWaiting, "busy"))
		}},
		{"refuses connections", closedURL, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := c.url
			if c.handler != nil {
				srv := httptest.NewServer(c.handler)
				defer srv.Close()
				url = srv.URL
			}
			opt := Options{TSA: &TSA{URL: url, Timeout: 300 * time.Millisecond}}
			var out bytes.Buffer
			err := SignContext(context.Background(), &out, minimalPDF(0), rsaPKI().signer, opt)
			if !errors.Is(err, ErrTSAUnavailable) {
				t.Errorf("SignContext = %v, want ErrTSAUnavailable", err)
			}
			if out.Len() != 0 {
				t.Errorf("a failed timestamp left %d bytes of output", out.Len())
			}
		})
	}
}

func TestTSARefusals(t *testing.T) {
	for _, c := range []struct {
		name    string
		tsa     tsatest.Options
		handler http.Handler // answers instead of the test TSA when set
		want    string
	}{
		{"wrong nonce", tsatest.Options{OtherNonce: true}, nil, "different nonce"},
		{"token too large", tsatest.Options{PadCerts: 100}, nil, "does not fit the room kept for it in the PDF"},
		{"request refused", tsatest.Options{Fail: http.StatusForbidden}, nil, "refused the request (403 Forbidden)"},
		{"timestamp rejected", tsatest.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(statusOnlyResponse(2, "unknown policy"))
		}), "did not grant the timestamp (status 2: unknown policy); check the TSA settings"},
		{"not a timestamp response", tsatest.Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>login</html>"))
		}), "not a timestamp response; check the TSA address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var url string
			if c.handler != nil {
				srv := httptest.NewServer(c.handler)
				defer srv.Close()
				url = srv.URL
			} else {
				url = tsatest.Start(t, c.tsa).URL
			}
			var out bytes.Buffer
			err := SignContext(context.Background(), &out, minimalPDF(0), rsaPKI().signer, Options{TSA: &TSA{URL: url}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("SignContext = %v, want an error saying %q", err, c.want)
			}
			if errors.Is(err, ErrTSAUnavailable) {
				t.Errorf("%v is not an outage and must not read as ErrTSAUnavailable", err)
			}
			if out.Len() != 0 {
				t.Errorf("a refused timestamp left %d bytes of output", out.Len())
			}
		})
	}
}

func TestTSACancelledIsNotAnOutage(t *testing.T) {
	tsa := tsatest.Start(t, tsatest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := SignContext(ctx, &bytes.Buffer{}, minimalPDF(0), rsaPKI().signer, Options{TSA: &TSA{URL: tsa.URL}})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTSAUnavailable) {
		t.Errorf("SignContext with a cancelled context = %v", err)
	}
	// A caller that has given up does not even ask.
	if n := tsa.Requests(); n != 0 {
		t.Errorf("a cancelled SignContext sent %d requests to the TSA", n)
	}
}

func TestTSAStampRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := (&TSA{URL: "ftp://tsa.example.vn"}).Stamp(ctx, make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "not an http or https URL") {
		t.Errorf("Stamp with an ftp URL: %v", err)
	}
	if _, err := (&TSA{URL: "http://127.0.0.1:1"}).Stamp(ctx, []byte("short")); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("Stamp with a short digest: %v", err)
	}
	// A password in the URL never reaches a message.
	_, err := (&TSA{URL: "http://user:s3cret@127.0.0.1:1/tsa", Timeout: time.Second}).Stamp(ctx, make([]byte, 32))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Stamp error shows the password: %v", err)
	}
}

func TestParseTSTInfo(t *testing.T) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(oidData)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA384) })
			b.AddASN1OctetString([]byte{1, 2, 3})
		})
		b.AddASN1Int64(99)
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("20250305094318.25Z")) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) }) // accuracy
		b.AddASN1Boolean(false)                                                       // ordering
		b.AddASN1Int64(12345)                                                         // nonce
	})
	info, err := parseTSTInfo(b.BytesOrPanic())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 3, 5, 9, 43, 18, 250_000_000, time.UTC)
	if !info.genTime.Equal(want) || info.nonce.Int64() != 12345 || !bytes.Equal(info.imprint, []byte{1, 2, 3}) || info.hash.String() != "SHA-384" {
		t.Errorf("parseTSTInfo = %v nonce %v imprint %x hash %v", info.genTime, info.nonce, info.imprint, info.hash)
	}
}

// statusOnlyResponse is a TimeStampResp without a token.
func statusOnlyResponse(status int64, text string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(status)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(text)) })
			})
		})
	})
	return b.BytesOrPanic()
}
