package verify_test

// scanstation verify against EU DSS on the 14 files (internal/trustcorpus), offline,
// with only the dev CA trusted: every signature's indication must equal DSS's. Two files are
// judged by scanstation alone under DSS's default policy, on purpose: a DocMDP violation, which
// that policy only warns of and scanstation (with pyHanko) fails, and a mark whose time is 10
// minutes off the timestamp, which DSS cannot see. DSS judges every file a second time with
// internal/judge/dss/strict-policy.xml, its default policy with DocMDP and its kin raised to
// failures: there it fails the DocMDP violation as scanstation does, and changes nothing else.

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"scanstation/internal/judge"
	"scanstation/internal/trustcorpus"
	"scanstation/verify"
)

func TestAgreesWithEUDSS(t *testing.T) {
	corpus := trustcorpus.Build(t, t.TempDir())
	pemData, err := os.ReadFile(corpus.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	if !anchors.AppendCertsFromPEM(pemData) {
		t.Fatal("no dev CA")
	}
	// DSS again, on these very files: its verdicts are what is compared, not a table.
	var paths []string
	for _, f := range corpus.Files {
		paths = append(paths, f.Path)
	}
	dss := judge.DSSMany(t, paths, corpus.CAPEM)
	strict := judge.Judges{DSSPolicy: judge.StrictDSSPolicy(t)}.DSSMany(t, paths, corpus.CAPEM)
	for i, f := range corpus.Files {
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := verify.File(context.Background(), filepath.Base(f.Path), data, verify.Options{Anchors: anchors})
			if err != nil {
				t.Fatal(err)
			}
			var sigs []verify.Signature
			for _, s := range r.Signatures {
				if s.Kind == "signature" {
					sigs = append(sigs, s)
				}
			}
			theirs := dss[i].Signatures
			if len(sigs) != len(theirs) {
				t.Fatalf("%d signatures, DSS finds %d:\n%s", len(sigs), len(theirs), dss[i])
			}
			switch {
			case f.Name == "docmdp-violation":
				if sigs[0].Indication != verify.TotalFailed || sigs[0].SubIndication != verify.FormatFailure || r.Indication != verify.TotalFailed {
					t.Errorf("a change the certification forbids: %s (%s) %s, file %s; want TOTAL_FAILED (FORMAT_FAILURE)",
						sigs[0].Indication, sigs[0].SubIndication, sigs[0].Why, r.Indication)
				}
				if theirs[0].Indication != "TOTAL_PASSED" {
					t.Errorf("DSS no longer passes the DocMDP violation (%s): scanstation may now agree with it; see docs/trust.md", theirs[0].Indication)
				}
				if sigs[1].Indication != verify.Indication(theirs[1].Indication) {
					t.Errorf("the impostor's signature: %s (%s), DSS %s (%s)", sigs[1].Indication, sigs[1].SubIndication, theirs[1].Indication, theirs[1].SubIndication)
				}
				t.Logf("EU DSS, default policy:\n%sstrict policy:\n%s", dss[i], strict[i])
				// Where DSS enforces DocMDP, it fails the certification for the same reason.
				if cert := strict[i].Signatures[0]; cert.Indication != string(verify.TotalFailed) || !hasKey(cert.Errors, "BBB_FC_ISVADMDPD_ANS") ||
					sigs[0].Indication != verify.Indication(cert.Indication) || sigs[0].SubIndication != cert.SubIndication {
					t.Errorf("the certification: scanstation %s (%s), EU DSS with the strict policy %s (%s):\n%s",
						sigs[0].Indication, sigs[0].SubIndication, cert.Indication, cert.SubIndication, strict[i])
				}
			case f.MarkOnly:
				if r.Indication != verify.TotalFailed {
					t.Errorf("a mark 10 minutes off the timestamp: file %s (%s), want TOTAL_FAILED", r.Indication, r.Why)
				}
			default:
				for k, s := range sigs {
					if s.Indication != verify.Indication(theirs[k].Indication) {
						t.Errorf("signature %s: scanstation %s (%s: %s), EU DSS %s (%s)", s.Field, s.Indication, s.SubIndication, s.Why,
							theirs[k].Indication, theirs[k].SubIndication)
					}
				}
			}

			// The strict policy is stricter only where a certification was broken: every other
			// verdict, of signatures and of timestamps, is the default policy's.
			def, str := verdictLines(dss[i]), verdictLines(strict[i])
			if f.Name == "docmdp-violation" {
				def, str = def[1:], str[1:] // the certification, compared above
			}
			if fmt.Sprint(def) != fmt.Sprint(str) {
				t.Errorf("EU DSS's strict policy changed a verdict the certification does not explain:\ndefault policy:\n%sstrict policy:\n%s", dss[i], strict[i])
			}
		})
	}
}

// hasKey says whether DSS gave the message key (BBB_FC_ISVADMDPD_ANS: "Document contains
// changes restricted by /DocMDP dictionary!").
func hasKey(msgs []judge.DSSMessage, key string) bool {
	return slices.ContainsFunc(msgs, func(m judge.DSSMessage) bool { return m.Key == key })
}

// verdictLines is each indication in a DSS verdict, the first signature's first: a line for
// the signature's own, then one for each of its timestamps, then one for each timestamp that
// stands alone.
func verdictLines(v judge.DSSVerdict) []string {
	var lines []string
	ts := func(t judge.DSSTimestamp) {
		lines = append(lines, fmt.Sprintf("timestamp %s %s %s/%s", t.ID, t.Type, t.Indication, t.SubIndication))
	}
	for _, s := range v.Signatures {
		lines = append(lines, fmt.Sprintf("signature %s %s/%s", s.ID, s.Indication, s.SubIndication))
		for _, t := range s.Timestamps {
			ts(t)
		}
	}
	for _, t := range v.Timestamps {
		ts(t)
	}
	return lines
}
