package main

import (
	"fmt"
	"io"

	"scanstation/station"
)

// cmdFoldersMark writes the marker (station.MarkerName) into the outbox, failed and archive
// folders: after moving a folder, or when the station waits because one "looks empty and
// unmarked" and the sysadmin has checked that the right share is mounted there.
func cmdFoldersMark(args []string, stdout io.Writer) error {
	fs := newFlagSet("folders mark")
	cfgPath := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if err := station.MarkFolders(cfg); err != nil {
		return err
	}
	for _, d := range []string{cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		fmt.Fprintf(stdout, "marked: %s\n", d)
	}
	return nil
}
