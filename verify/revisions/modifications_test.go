package revisions

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"scanstation/certify/pades"
	"scanstation/internal/judge"
)

// pyHankoLevels are pyHanko's names of the levels.
var pyHankoLevels = map[string]Level{
	"NONE": None, "LTA_UPDATES": Archival, "FORM_FILLING": FormFilling, "ANNOTATIONS": Annotating, "OTHER": Forbidden,
}

// fileCase is a certified file with later revisions made by real tools.
type fileCase struct {
	name string
	make func(t *testing.T, pki testPKI) []byte
	p    int // the certification's DocMDP permission

	level   Level // the highest level among the changes
	allowed bool
	// violation, when set, is a forbidden change that must be reported:
	// its kind and page.
	kind string
	page int
	// pyHanko is pyHanko's modification level where it knowingly differs
	// from ours; empty means it must agree.
	pyHanko string
}

func certified(t *testing.T, pki testPKI) []byte { return stationCertify(t, pki, scanPDF()) }

func then(base func(*testing.T, testPKI) []byte, ops ...string) func(*testing.T, testPKI) []byte {
	return func(t *testing.T, pki testPKI) []byte {
		pdf := base(t, pki)
		for _, op := range ops {
			f := strings.Fields(op)
			pdf = mutate(t, pki, pdf, f[0], f[1:]...)
		}
		return pdf
	}
}

func pyCertified(p string) func(*testing.T, testPKI) []byte {
	return func(t *testing.T, pki testPKI) []byte { return mutate(t, pki, scanPDF(), "certify", p) }
}

var fileCases = []fileCase{
	{name: "certified only", make: certified, p: 2, level: None, allowed: true},
	{name: "approval by pyHanko", make: then(certified, "approve"), p: 2, level: FormFilling, allowed: true},
	{name: "approval by the station", make: func(t *testing.T, pki testPKI) []byte {
		return stationSign(t, pki, certified(t, pki))
	}, p: 2, level: FormFilling, allowed: true},
	{name: "document timestamp", make: then(certified, "timestamp"), p: 2, level: Archival, allowed: true},
	{name: "DSS", make: then(certified, "dss"), p: 2, level: Archival, allowed: true},
	{name: "DSS then timestamp", make: then(certified, "dss", "timestamp"), p: 2, level: Archival, allowed: true},
	{name: "XMP metadata updated", make: then(certified, "xmp"), p: 2, level: Archival, allowed: true},
	{name: "document information updated", make: then(certified, "info"), p: 2, level: Archival, allowed: true},
	{name: "white box over the scan", make: then(certified, "whitebox"), p: 2, level: Forbidden,
		kind: "content stream", page: 1},
	{name: "white box then an approval", make: then(certified, "whitebox", "approve"), p: 2, level: Forbidden,
		kind: "content stream", page: 1},
	{name: "content stream rewritten in place", make: then(certified, "rewrite-content"), p: 2, level: Forbidden,
		kind: "content stream", page: 1},
	{name: "page added", make: then(certified, "addpage"), p: 2, level: Forbidden, kind: "page tree", page: 1},
	// pyHanko's default policy does not implement annotation changes and
	// calls them OTHER; ISO 32000 allows them at P=3.
	{name: "annotation at P=2", make: then(certified, "annotate"), p: 2, level: Annotating,
		kind: "annotation", page: 1, pyHanko: "OTHER"},
	{name: "annotation at P=3", make: then(pyCertified("3"), "annotate"), p: 3, level: Annotating, allowed: true,
		pyHanko: "OTHER"},
	{name: "timestamp at P=1", make: then(pyCertified("1"), "timestamp"), p: 1, level: Archival, allowed: true},
	{name: "DSS at P=1", make: then(pyCertified("1"), "dss"), p: 1, level: Archival, allowed: true},
	{name: "approval at P=1", make: then(pyCertified("1"), "approve-anyway"), p: 1, level: FormFilling,
		kind: "signature", page: 0},
	// pyHanko refuses a new visible signature field after a certification
	// (stricter than Acrobat, its documentation says); ISO 32000 P=2 allows
	// signing, and a visible signature is one.
	{name: "visible approval", make: then(certified, "approve-visible"), p: 2, level: FormFilling, allowed: true,
		pyHanko: "OTHER"},
}

func TestModificationsOfRealFiles(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			pdf := tc.make(t, pki)
			path := writeTemp(t, "case.pdf", pdf)
			sigs, err := Signatures(pdf)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(sigs, func(s Signature) bool { return s.Certification })
			if i < 0 {
				t.Fatalf("no certification signature among %+v", sigs)
			}
			cert := sigs[i]
			if cert.DocMDP != tc.p || cert.Revision < 0 {
				t.Fatalf("certification %+v: want P=%d and a revision", cert, tc.p)
			}
			revs, _ := Revisions(pdf)
			var locks []FieldLock
			if cert.Lock != nil {
				locks = append(locks, *cert.Lock)
			}
			changes, err := CheckModifications(pdf, revs[cert.Revision].End, cert.DocMDP, locks...)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range changes {
				t.Log(c)
			}
			bad := Violations(changes)
			if got := MaxLevel(changes); got != tc.level || (len(bad) == 0) != tc.allowed {
				t.Errorf("level %v, %d violations; want level %v, allowed %v", got, len(bad), tc.level, tc.allowed)
			}
			if tc.kind != "" && !slices.ContainsFunc(bad, func(c Change) bool { return c.Kind == tc.kind && c.Page == tc.page }) {
				t.Errorf("no violation names the %s on page %d: %v", tc.kind, tc.page, bad)
			}

			v := judge.PyHanko(t, path, judge.PyHankoOptions{Trust: []string{pki.ca}})
			ph, err := v.Field(cert.Field)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.pyHanko
			if want == "" {
				want = tc.level.pyHankoName()
				if ph.DocMDPOK == nil || *ph.DocMDPOK != tc.allowed {
					t.Errorf("pyHanko's docmdp_ok is %v, ours %v:\n%s", ph.DocMDPOK, tc.allowed, v)
				}
			}
			if ph.ModificationLevel != want {
				t.Errorf("pyHanko's modification level is %s, want %s:\n%s", ph.ModificationLevel, want, v)
			}
		})
	}
}

func (l Level) pyHankoName() string {
	for name, level := range pyHankoLevels {
		if level == l {
			return name
		}
	}
	return ""
}

// stationSign adds an approval signature with the station's own signer.
func stationSign(t *testing.T, pki testPKI, pdf []byte) []byte {
	t.Helper()
	var out strings.Builder
	if err := pades.Sign(&out, pdf, pki.signer, pades.Options{Reason: "Phê duyệt"}); err != nil {
		t.Fatalf("approving: %v", err)
	}
	return []byte(out.String())
}

// TestModificationsWithXRefStreams certifies a file whose cross-reference
// sections are streams (qpdf rewrites it so), then adds a timestamp and a
// white box: the revisions must still be found and judged.
func TestModificationsWithXRefStreams(t *testing.T) {
	pki := newTestPKI(t)
	in := writeTemp(t, "plain.pdf", scanPDF())
	streamed := filepath.Join(filepath.Dir(in), "streamed.pdf")
	if out, err := exec.Command("qpdf", "--object-streams=generate", in, streamed).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	base, err := os.ReadFile(streamed)
	if err != nil {
		t.Fatal(err)
	}
	pdf := stationCertify(t, pki, base)
	pdf = mutate(t, pki, pdf, "timestamp")
	stamped := len(pdf)
	pdf = mutate(t, pki, pdf, "whitebox")
	revs, err := Revisions(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 4 || !revs[0].XRefStream || !revs[1].XRefStream {
		t.Fatalf("revisions %+v: want 4, the first two with cross-reference streams", revs)
	}
	if revs[2].End != int64(stamped) {
		t.Errorf("the timestamp's revision ends at %d, the file it was written to at %d", revs[2].End, stamped)
	}
	sigs, err := Signatures(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || sigs[0].Revision != 1 || sigs[1].Revision != 2 || sigs[1].Type != "DocTimeStamp" {
		t.Fatalf("signatures %+v: want the certification in revision 2, the timestamp in 3", sigs)
	}
	changes, err := CheckModifications(pdf, revs[1].End, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		t.Log(c)
		if c.Revision == 2 && !c.Allowed {
			t.Errorf("the timestamp's revision has a violation: %v", c)
		}
	}
	bad := Violations(changes)
	if !slices.ContainsFunc(bad, func(c Change) bool { return c.Revision == 3 && c.Kind == "content stream" && c.Page == 1 }) {
		t.Errorf("the white box is not reported as a content stream change on page 1: %v", bad)
	}
}

// TestFieldLocks: a lock on all fields lets an invisible signature (or a
// document timestamp) in, as pyHanko does, but not a visible one, which
// fills in the form.
func TestFieldLocks(t *testing.T) {
	pki := newTestPKI(t)
	base := certified(t, pki)
	revs, err := Revisions(base)
	if err != nil {
		t.Fatal(err)
	}
	end := revs[len(revs)-1].End
	all := FieldLock{Action: "All"}
	for _, c := range []struct {
		op      string
		allowed bool
	}{{"approve", true}, {"timestamp", true}, {"approve-visible", false}} {
		pdf := mutate(t, pki, base, c.op)
		changes, err := CheckModifications(pdf, end, 2, all)
		if err != nil {
			t.Fatal(err)
		}
		bad := Violations(changes)
		if (len(bad) == 0) != c.allowed {
			t.Errorf("%s under a lock of all fields: violations %v, want allowed=%v", c.op, bad, c.allowed)
		}
		if !c.allowed && !slices.ContainsFunc(bad, func(c Change) bool { return c.Kind == "signature field" && strings.Contains(c.Why, "locked") }) {
			t.Errorf("%s: no violation says the fields are locked: %v", c.op, bad)
		}
	}
}
