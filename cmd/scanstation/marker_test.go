package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"scanstation/internal/samplescan"
	"scanstation/station"
)

// The archive is a share (a tmpfs here) mounted at the configured folder. When it is
// unmounted, the folder is the empty mount point on the local disk: the station must not
// archive into it. It waits, says once that archive/ looks empty and unmarked, and archives
// into the share once it is mounted again.
func TestUnmountedShareIsNotWrittenInto(t *testing.T) {
	dir, cfg := newStation(t)
	archive := filepath.Join(dir, "archive")
	// The mount point as a sysadmin makes it: an empty folder, not marked.
	if err := os.Remove(filepath.Join(archive, station.MarkerName)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, share)
	mount := func() {
		t.Helper()
		if out, err := exec.Command("mount", "--bind", share, archive).CombinedOutput(); err != nil {
			t.Fatalf("mount --bind %s %s: %v %s", share, archive, err, out)
		}
	}
	mount()
	t.Cleanup(func() { exec.Command("umount", "-l", archive).Run() })

	d := startDaemon(t, cfg)
	waitFor(t, "the daemon to be running", time.Minute, func() bool { return strings.Contains(d.log.String(), "station running") }, d.log)
	if _, err := os.Stat(filepath.Join(share, station.MarkerName)); err != nil {
		t.Errorf("the station did not mark the empty archive share at its first start: %v", err)
	}
	inbox, outbox := filepath.Join(dir, "inbox"), filepath.Join(dir, "outbox")
	writeImage(t, filepath.Join(inbox, "mot.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	waitFor(t, "the first scan archived in the share", 3*time.Minute, func() bool {
		return len(glob(share, "mot.jpg")) == 1
	}, d.log)

	if out, err := exec.Command("umount", archive).CombinedOutput(); err != nil {
		t.Fatalf("umount %s: %v %s", archive, err, out)
	}
	writeImage(t, filepath.Join(inbox, "hai.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("CÔNG VĂN", "Số: 2/UBND-VP")}, "jpeg")
	waitFor(t, "the second scan delivered and the archive said unmarked", 3*time.Minute, func() bool {
		local, _ := os.ReadDir(archive)
		return len(glob(outbox, "hai.json")) == 1 && (strings.Contains(d.log.String(), "looks empty and unmarked") || len(local) > 0)
	}, d.log)
	// More than one try while the share is away.
	time.Sleep(25 * time.Second)
	if local, _ := os.ReadDir(archive); len(local) != 0 {
		t.Fatalf("the station wrote into the local disk beneath the unmounted share: %v\n%s", local, d.log)
	}
	if f := glob(filepath.Join(dir, "failed"), "*"); len(f) != 0 {
		t.Fatalf("an unmounted archive sent the delivered document to failed/: %v", f)
	}
	if n := strings.Count(d.log.String(), "unavailable since"); n != 1 {
		t.Errorf("said the archive is away %d times, want once:\n%s", n, d.log)
	}

	mount()
	waitFor(t, "the second scan archived in the share once it is back", 7*time.Minute, func() bool {
		return len(glob(share, "hai.jpg")) == 1
	}, d.log)
	d.stop(t)
}
