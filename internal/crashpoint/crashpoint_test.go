package crashpoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The test runs itself as a child that hits three steps: with CRASH_AT=2 the child dies by
// SIGKILL at the second, and the trace names the two steps it reached.
func TestHitKillsAtTheNthStepAndTracesEachOne(t *testing.T) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		Hit("one")
		Hit("status.json write") // skipped
		Hit("two")
		Hit("three")
		os.Exit(0)
	}
	trace := filepath.Join(t.TempDir(), "trace")
	run := func(at string) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHitKillsAtTheNthStepAndTracesEachOne$")
		cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", "SCANSTATION_CRASH_AT="+at,
			"SCANSTATION_CRASH_TRACE="+trace, "SCANSTATION_CRASH_SKIP=status.json")
		return cmd.Run()
	}
	err := run("2")
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed by SIGKILL at step 2: %v", err)
	}
	data, _ := os.ReadFile(trace)
	if got := string(data); got != "1 one\n2 two\n" {
		t.Errorf("trace after a crash at step 2:\n%q", got)
	}
	os.Remove(trace)
	if err := run(""); err != nil {
		t.Fatalf("without CRASH_AT the child must run to its end: %v", err)
	}
	data, _ = os.ReadFile(trace)
	if got := strings.Count(string(data), "\n"); got != 3 {
		t.Errorf("a whole run traces %d steps, want 3:\n%s", got, data)
	}
}
