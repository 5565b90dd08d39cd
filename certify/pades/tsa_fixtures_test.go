package pades

import (
	"testing"

	"scanstation/internal/tsatest"
)

// testTSA and testTSAPKI keep the names that docmdp_test.go and
// visible_test.go use for the loopback TSA, now in internal/tsatest. New
// tests call tsatest.Start and read the CA from the *tsatest.TSA.
type testTSA struct{ t testing.TB }

func (a *testTSA) start() *tsatest.TSA { return tsatest.Start(a.t, tsatest.Options{}) }

// testTSAPKI is the CA of every TSA that tsatest starts.
func testTSAPKI() testPKI {
	ca, caPEM := tsatest.CA()
	return testPKI{ca: ca, caPEM: caPEM}
}
