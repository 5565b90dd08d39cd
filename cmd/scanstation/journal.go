package main

import (
	"errors"
	"fmt"
	"io"

	"scanstation/station"
)

// cmdJournal is `scanstation journal rebuild`: a new journal from the station's folders, after
// the journal was lost or replaced (the station refuses to start then, and says so).
func cmdJournal(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	fs := newFlagSet("journal rebuild")
	path := fs.String("config", "", "configuration file")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError(2)
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	if cfg.Folders.State == "" || cfg.Folders.Outbox == "" || cfg.Folders.Archive == "" || cfg.Folders.Failed == "" {
		return errors.New("journal rebuild: the configuration must name folders.state, outbox, archive and failed")
	}
	rep, err := station.Rebuild(cfg, "scanstation journal rebuild")
	if err != nil {
		return fmt.Errorf("journal rebuild: %w", err)
	}
	fmt.Fprintf(stdout, "A new journal was made: %s (%s).\n", rep.Journal, rep.Identity)
	if rep.OldJournal != "" {
		fmt.Fprintf(stdout, "The journal that was there is kept as %s.\n", rep.OldJournal)
	}
	fmt.Fprintf(stdout, "  %d delivered (archive and outbox sidecars)\n", rep.Delivered)
	fmt.Fprintf(stdout, "  %d failed (failed folder, with their reasons)\n", rep.Failed)
	fmt.Fprintf(stdout, "  %d left in the spool and delivered already: archived now\n", rep.Finished)
	fmt.Fprintf(stdout, "  %d left in the spool and never delivered: put in %s with a reason; put them back into their hot-folder to certify them\n",
		rep.Unmatched, cfg.Folders.Failed)
	if rep.WorkAside > 0 {
		fmt.Fprintf(stdout, "  %d draft file(s) of the work folder moved aside to %s (nothing is made from them; delete them when you like)\n",
			rep.WorkAside, rep.AsideDir)
	}
	fmt.Fprintf(stdout, "New documents are numbered from %d. The station can be started.\n", rep.FirstID)
	return nil
}
