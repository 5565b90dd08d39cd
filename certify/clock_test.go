package certify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"scanstation/certify"
	"scanstation/certify/mark"
	"scanstation/certify/pades"
	"scanstation/internal/tsatest"
)

// signWithTSA signs a fresh copy on the machine's clock moved by stationOffset, with a test
// TSA whose clock is moved by tsaOffset.
func signWithTSA(t *testing.T, stationOffset, tsaOffset time.Duration, allowB_B bool) (*certify.Signed, *tsatest.TSA, error) {
	t.Helper()
	tsa := tsatest.Start(t, tsatest.Options{ClockOffset: tsaOffset})
	c := certifier(t)
	c.Now = func() time.Time { return time.Now().Add(stationOffset) }
	c.TSA = &pades.TSA{URL: tsa.URL, Timeout: 10 * time.Second}
	built := build(t, c, 0, goodRecord())
	k := testKey(t)
	signed, err := c.Sign(context.Background(), built, certify.Key{Signer: k.key, Chain: []*x509.Certificate{k.cert}},
		certify.Page1{WidthPt: ptW(), HeightPt: ptH()}, allowB_B)
	return signed, tsa, err
}

func TestSignRefusesWhenClocksDiffer(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		stationOffset, tsaOffset time.Duration
		allowB_B                 bool
		want                     *regexp.Regexp
	}{
		{"TSA 10 minutes ahead", 0, 10 * time.Minute, false, regexp.MustCompile(`the station's clock is (599|600) seconds behind the time-stamping authority's`)},
		// Signing without a timestamp is for a TSA that cannot be reached, not for a wrong clock.
		{"TSA 10 minutes ahead, B-B allowed", 0, 10 * time.Minute, true, regexp.MustCompile(`the station's clock is (599|600) seconds behind the time-stamping authority's`)},
		{"TSA 10 minutes behind", 0, -10 * time.Minute, false, regexp.MustCompile(`the station's clock is (599|600) seconds ahead of the time-stamping authority's`)},
		{"station 10 minutes ahead", 10 * time.Minute, 0, false, regexp.MustCompile(`the station's clock is (599|600) seconds ahead of the time-stamping authority's`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, tsa, err := signWithTSA(t, tc.stationOffset, tc.tsaOffset, tc.allowB_B)
			if err == nil {
				t.Fatalf("signed (level %s) with clocks 10 minutes apart", signed.Level)
			}
			if signed != nil {
				t.Errorf("Sign returned a copy with its error")
			}
			if !errors.Is(err, certify.ErrClockSkew) || errors.Is(err, certify.ErrTSAUnavailable) {
				t.Errorf("error %v is not ErrClockSkew alone", err)
			}
			if msg := err.Error(); !tc.want.MatchString(msg) || !strings.Contains(msg, "more than the 120 s allowed") ||
				!strings.Contains(msg, "Set the clock (NTP)") {
				t.Errorf("error %q: want %s, the 120 s allowed and to set the clock (NTP)", msg, tc.want)
			}
			// The check uses the signature's own token: no second request.
			if n := tsa.Requests(); n != 1 {
				t.Errorf("the TSA was asked %d times, want once", n)
			}
		})
	}
}

func TestSignAndVerifyWithTSA(t *testing.T) {
	signed, tsa, err := signWithTSA(t, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if signed.Level != "B-T" || tsa.Requests() != 1 {
		t.Errorf("level %s after %d TSA requests, want B-T after 1", signed.Level, tsa.Requests())
	}
	in := inspect(t, signed.PDF, certify.InspectOptions{Roots: testKey(t).roots})
	if !in.OK() || len(in.Problems) > 0 {
		t.Fatalf("a copy signed with the right clock is not OK: %q", in.Problems)
	}
	m := in.Mark
	if !m.TimeMatches || !m.TimestampChecked || !m.TimestampAgrees || m.TimestampSkew.Abs() > 2*time.Second {
		t.Errorf("mark %+v: want its time to match /M and to agree with the timestamp within 2 s", m)
	}
}

// A TSA slow enough that its time is further from the mark than allowed, while the station's
// clock agrees with it when the answer arrives, is a TSA that cannot be used now, not a wrong
// clock: on_unavailable decides.
func TestSignSlowTSA(t *testing.T) {
	tsa := tsatest.Start(t, tsatest.Options{ClockOffset: 4 * time.Minute})
	c := certifier(t)
	// The station's clock jumps five minutes while the TSA works: the answer comes
	// "five minutes" after the request, stamped four minutes after it.
	var calls atomic.Int32
	c.Now = func() time.Time {
		if calls.Add(1) == 1 {
			return time.Now()
		}
		return time.Now().Add(5 * time.Minute)
	}
	c.TSA = &pades.TSA{URL: tsa.URL, Timeout: 10 * time.Second}
	built := build(t, c, 0, goodRecord())
	k := testKey(t)
	key := certify.Key{Signer: k.key, Chain: []*x509.Certificate{k.cert}}
	page1 := certify.Page1{WidthPt: ptW(), HeightPt: ptH()}

	// The mark's time is cut to the second, so 240 s can read 241.
	took := regexp.MustCompile(`took (240|241) s to answer`)
	_, err := c.Sign(context.Background(), built, key, page1, false)
	if !errors.Is(err, certify.ErrTSAUnavailable) || errors.Is(err, certify.ErrClockSkew) || !took.MatchString(err.Error()) {
		t.Errorf("slow TSA, B-B not allowed: %v; want ErrTSAUnavailable saying it took 240 s", err)
	}
	calls.Store(0)
	signed, err := c.Sign(context.Background(), built, key, page1, true)
	if err != nil {
		t.Fatal(err)
	}
	if signed.Level != "B-B" || !took.MatchString(signed.TimestampNote) {
		t.Errorf("slow TSA, B-B allowed: level %s, note %q; want B-B saying why", signed.Level, signed.TimestampNote)
	}
}

// A copy whose mark and /M were made by a clock 10 minutes slow, with a true timestamp, as a
// station without the check would have made it: /M and the mark agree, the timestamp does not.
func TestVerifyMarkFarFromTimestamp(t *testing.T) {
	tsa := tsatest.Start(t, tsatest.Options{})
	c := certifier(t)
	built := build(t, c, 0, goodRecord())
	when := time.Now().Add(-10 * time.Minute).In(certify.VietnamTime()).Truncate(time.Second)
	look, _, err := mark.Build(mark.Page{WidthPt: ptW(), HeightPt: ptH()}, mark.Options{Agency: agency, CopyLabel: "SAO LỤC", Time: when})
	if err != nil {
		t.Fatal(err)
	}
	k := testKey(t)
	var out bytes.Buffer
	err = pades.SignContext(context.Background(), &out, built, pades.Signer{Key: k.key, Chain: []*x509.Certificate{k.cert}},
		pades.Options{Time: when, Certify: true, Appearance: look, TSA: &pades.TSA{URL: tsa.URL, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}

	in := inspect(t, out.Bytes(), certify.InspectOptions{Roots: k.roots})
	m := in.Mark
	if in.OK() {
		t.Fatalf("a mark 10 minutes before its timestamp is OK: %+v", m)
	}
	if !m.TimeMatches || !m.TimestampChecked || m.TimestampAgrees {
		t.Errorf("mark %+v: want its time to match /M, checked against the timestamp and not agreeing", m)
	}
	shown, _ := mark.FormatTime(when, nil, "")
	want := regexp.MustCompile(`^the mark shows ` + regexp.QuoteMeta(shown) +
		` but the timestamp authority vouches for \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d \+07:00 \((600|601) s apart, more than the 120 s allowed\)$`)
	found := false
	for _, p := range in.Problems {
		found = found || want.MatchString(p)
	}
	if !found || len(in.Problems) != 1 {
		t.Errorf("problems %q: want exactly one matching %s", in.Problems, want)
	}

	// With a station that allows 15 minutes, the same copy is good.
	in = inspect(t, out.Bytes(), certify.InspectOptions{Roots: k.roots, MaxClockSkew: 15 * time.Minute})
	if !in.OK() || !in.Mark.TimestampAgrees {
		t.Errorf("with 15 minutes allowed: OK %v, problems %q", in.OK(), in.Problems)
	}
}
