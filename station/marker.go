package station

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"scanstation/config"
	"scanstation/journal"
	"scanstation/outbox"
)

// MarkerName is the small hidden file that tells the station a folder is the one it was set up
// with. A share unmounted at the configured folder leaves the empty mount point, which looks
// like an empty folder of the local disk: without the marker the station would deliver,
// archive or refuse into the local disk beneath the mount point. The hot-folders get none:
// the scanner writes there, and the watcher takes what it finds.
const MarkerName = ".scanstation-folder"

const markerText = "This folder belongs to scanstation. The station writes here only while this file is here:\n" +
	"if it is missing (a share not mounted), the station waits. Do not remove it.\n" +
	"To mark the folder again: scanstation folders mark --config FILE\n"

// markedPlaces are the folders the station writes into and checks for the marker.
var markedPlaces = []string{"outbox", "archive", "failed"}

// Mark writes the marker into dir (which must exist), durably.
func Mark(dir string) error {
	if marked(dir) {
		return nil
	}
	if err := outbox.WriteFileAtomic(dir, MarkerName, []byte(markerText), 0o640); err != nil {
		return fmt.Errorf("mark the folder %s: %w", dir, err)
	}
	return nil
}

func marked(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, MarkerName))
	return err == nil
}

// MarkFolders marks the outbox, failed/ and archive/ of cfg.
func MarkFolders(cfg *config.Config) error {
	for _, dir := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		if err := Mark(dir); err != nil {
			return err
		}
	}
	return nil
}

// markAtStart marks the folders of an installation from before markers, or new folders of a
// configuration: a folder that holds files is the real one; an empty one is marked only if the
// journal has never put a file there (a fresh station, a new folder). An empty, unmarked
// folder the journal has used is likely an unmounted share: it is left unmarked, so the
// station waits for it and says so.
func (s *Station) markAtStart(ctx context.Context, cfg *config.Config) {
	for _, place := range markedPlaces {
		dir := placeDir(cfg, place)
		if dir == "" || marked(dir) {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // waited for when it is needed
		}
		used := len(entries) > 0
		if !used {
			if used, err = s.journalUsed(ctx, place); err != nil {
				continue
			}
			if used {
				s.log.Error(fmt.Sprintf("%s %s looks empty and unmarked: is the share mounted? Documents wait for it. If this is the right folder, mark it: scanstation folders mark --config FILE", placeWords[place], dir))
				continue
			}
		}
		if err := Mark(dir); err != nil {
			// A full disk, a read-only folder: the folder is used unchecked, as before markers.
			s.unmarkable.Store(dir, true)
			s.log.Warn("cannot mark the folder; until a start that can, it is not checked for an unmounted share", "folder", dir, "err", err)
		}
	}
}

// journalUsed reports whether a job of the journal has put a file into place's folder.
func (s *Station) journalUsed(ctx context.Context, place string) (bool, error) {
	states := map[string][]journal.State{
		"outbox":  {journal.Delivered, journal.Archived},
		"archive": {journal.Archived},
		"failed":  {journal.Failed},
	}[place]
	for _, st := range states {
		jobs, err := s.journal.InState(ctx, st)
		if err != nil {
			return false, err
		}
		if len(jobs) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// markable reports whether dir is checked for its marker: not one the station could not mark.
func (s *Station) markable(dir string) bool {
	_, no := s.unmarkable.Load(dir)
	return !no
}

func placeDir(cfg *config.Config, place string) string {
	switch place {
	case "outbox":
		return cfg.Folders.Outbox
	case "archive":
		return cfg.Folders.Archive
	case "failed":
		return cfg.Folders.Failed
	}
	return ""
}

// errUnmarked means a folder the station writes into has lost its marker: likely a share
// that is not mounted, whose empty mount point must not be written into.
var errUnmarked = fmt.Errorf("looks empty and unmarked: is the share mounted? (%w)", fs.ErrNotExist)

// checkMarked returns errUnmarked, naming the folder, when the station checks markers and
// place's folder has none.
func (s *Station) checkMarked(place string) error {
	if !s.markers {
		return nil
	}
	dir := placeDir(s.config(), place)
	if dir == "" || !s.markable(dir) || marked(dir) {
		return nil
	}
	return fmt.Errorf("%s/ %w", strings.TrimSuffix(dir, "/"), errUnmarked)
}
