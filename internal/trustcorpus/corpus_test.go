package trustcorpus

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"scanstation/internal/judge"
)

// TestDSSVerdictsOnTheCorpus builds the corpus and has EU DSS judge every file in one run,
// offline and trusting only the dev CA: each signature and its timestamps must get the verdict
// the corpus records for it.
func TestDSSVerdictsOnTheCorpus(t *testing.T) {
	start := time.Now()
	c := Build(t, t.TempDir())
	built := time.Since(start)
	if len(c.Files) != 14 {
		t.Errorf("the corpus has %d files; issue 13 lists 14", len(c.Files))
	}
	paths := make([]string, len(c.Files))
	for i, f := range c.Files {
		paths[i] = f.Path
	}
	verdicts := judge.DSSMany(t, paths, c.CAPEM)
	t.Logf("built %d files in %v; EU DSS judged them in one run in %v", len(c.Files), built.Round(time.Millisecond), (time.Since(start) - built).Round(time.Millisecond))
	for i, f := range c.Files {
		v := verdicts[i]
		if v.SignaturesCount != len(f.DSS) || len(v.Signatures) != len(f.DSS) {
			t.Errorf("%s: DSS sees %d signatures, want %d:\n%s", f.Name, len(v.Signatures), len(f.DSS), v)
			continue
		}
		for j, want := range f.DSS {
			if problem := mismatch(v.Signatures[j], want); problem != "" {
				t.Errorf("%s (%s), signature %d: %s\n%s", f.Name, f.Made, j+1, problem, v)
			}
		}
		if len(v.Timestamps) != 0 {
			t.Errorf("%s: DSS sees timestamps attached to no signature:\n%s", f.Name, v)
		}
	}
}

// mismatch says how DSS's verdict on a signature differs from want; "" when it does not.
func mismatch(got judge.DSSSignature, want Want) string {
	for _, c := range [][3]string{
		{"format", got.Format, want.Format},
		{"indication", got.Indication, want.Indication},
		{"sub-indication", got.SubIndication, want.SubIndication},
	} {
		if c[1] != c[2] {
			return c[0] + " " + c[1] + ", want " + c[2]
		}
	}
	for _, key := range want.Errors {
		if !hasKey(got.Errors, key) {
			return "no error " + key
		}
	}
	for _, key := range want.Warnings {
		if !hasKey(got.Warnings, key) {
			return "no warning " + key
		}
	}
	if len(got.Timestamps) != len(want.Timestamps) {
		return "timestamps: " + strconv.Itoa(len(got.Timestamps)) + ", want " + strconv.Itoa(len(want.Timestamps))
	}
	for i, ts := range want.Timestamps {
		g := got.Timestamps[i]
		if g.Type != ts.Type || g.Indication != ts.Indication || g.SubIndication != ts.SubIndication {
			return "timestamp " + strconv.Itoa(i+1) + " " + g.Type + " " + g.Indication + "/" + g.SubIndication +
				", want " + ts.Type + " " + ts.Indication + "/" + ts.SubIndication
		}
	}
	return ""
}

func hasKey(msgs []judge.DSSMessage, key string) bool {
	return slices.ContainsFunc(msgs, func(m judge.DSSMessage) bool { return m.Key == key })
}
