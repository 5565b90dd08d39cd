package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/message"

	"scanstation/config"
	"scanstation/journal"
	"scanstation/station"
)

// cliRole is the role the audit trail gives a decision made with approve or reject: the
// command line knows no console user, only the name given with --by.
const cliRole = "clerk (command line)"

// cmdApprove records the clerk's approval of documents waiting in review/ (Decree 30/2020
// Art. 32.2.c: the clerk signs personally). The running station signs them within seconds;
// this command only writes to the journal, so it needs neither the token nor the daemon's lock.
// Without IDs it lists the documents waiting.
func cmdApprove(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("approve")
	path := fs.String("config", "", "configuration file")
	by := fs.String("by", "", "the name of the clerk who approves")
	if err := fs.Parse(reorder(args)); err != nil {
		return exitError(2)
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	j, err := openJournalToDecide(cfg)
	if err != nil {
		return err
	}
	defer j.Close()
	p := printerFor(cfg)

	if fs.NArg() == 0 {
		waiting, err := j.InState(ctx, journal.AwaitingApproval)
		if err != nil {
			return err
		}
		if len(waiting) == 0 {
			p.Fprintf(stdout, "no document is waiting for approval\n")
			return nil
		}
		p.Fprintf(stdout, "%d document(s) wait for approval (review copies in %s):\n", len(waiting), cfg.Folders.Review)
		for _, job := range waiting {
			// The number as a string: it is typed back (approve 1234), never grouped (1.234).
			p.Fprintf(stdout, "  %s  %s  %d page(s)  scanned %s\n", strconv.FormatInt(job.ID, 10), job.SourceName, job.Pages, job.ConvertedAt.Local().Format("02.01.2006 15:04"))
			// What to look at on the review copy: a page turned with doubt, a blank page kept.
			for _, w := range station.WarningsIn(p, &job) {
				if w != "" {
					fmt.Fprintf(stdout, "      %s\n", w)
				}
			}
		}
		return nil
	}
	if strings.TrimSpace(*by) == "" {
		return errors.New("approve: say who approves with --by NAME; the name goes into the document's record")
	}
	failed := false
	for _, arg := range fs.Args() {
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return fmt.Errorf("approve: %q is not a document number", arg)
		}
		job, err := j.Get(ctx, id)
		if err != nil {
			fmt.Fprintf(stdout, "%d: %v\n", id, err)
			failed = true
			continue
		}
		if job.State != journal.AwaitingApproval || job.Reason != "" {
			p.Fprintf(stdout, "%s: %s was NOT approved: %s\n", strconv.FormatInt(id, 10), job.SourceName, decided(p, job))
			failed = true
			continue
		}
		d := journal.Decision{State: journal.Approved, ApprovedBy: strings.TrimSpace(*by), ApprovedAt: time.Now()}
		e := journal.AuditEntry{User: d.ApprovedBy, Role: cliRole, Action: "approve"}
		if err := j.DecideAudited(ctx, id, journal.AwaitingApproval, d, e); err != nil {
			if !errors.Is(err, journal.ErrChanged) {
				return err
			}
			p.Fprintf(stdout, "%s: %s was NOT approved: %s\n", strconv.FormatInt(id, 10), job.SourceName, decidedMeanwhile(ctx, p, j, id))
			failed = true
			continue
		}
		p.Fprintf(stdout, "%s: %s approved by %s; the station signs it now\n", strconv.FormatInt(id, 10), job.SourceName, d.ApprovedBy)
	}
	if failed {
		return exitError(1)
	}
	return nil
}

// cmdReject refuses a document waiting for approval; the station moves it to failed/ with the
// reason.
func cmdReject(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("reject")
	path := fs.String("config", "", "configuration file")
	reason := fs.String("reason", "", "why the copy is refused, in words the operator understands")
	by := fs.String("by", "", "the name of the clerk who refuses")
	if err := fs.Parse(reorder(args)); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 1 {
		return errors.New("reject: name one document number")
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("reject: give the reason with --reason TEXT; the operator reads it in failed/")
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		return fmt.Errorf("reject: %q is not a document number", fs.Arg(0))
	}
	j, err := openJournalToDecide(cfg)
	if err != nil {
		return err
	}
	defer j.Close()
	p := printerFor(cfg)
	job, err := j.Get(ctx, id)
	if err != nil {
		return err
	}
	if job.State != journal.AwaitingApproval || job.Reason != "" {
		return errors.New(p.Sprintf("document %s (%s) was NOT refused: %s", strconv.FormatInt(id, 10), job.SourceName, decided(p, job)))
	}
	// The reason goes into the reason file in failed/: in the station's language.
	d := journal.Decision{State: journal.AwaitingApproval, FailedStage: "approval",
		Reason: p.Sprintf("refused by the clerk: %s", strings.TrimSpace(*reason))}
	if *by != "" {
		d.Reason = p.Sprintf("refused by the clerk %s: %s", strings.TrimSpace(*by), strings.TrimSpace(*reason))
	}
	who := strings.TrimSpace(*by)
	if who == "" {
		who = "(not named at the command line)"
	}
	detail, err := json.Marshal(map[string]string{"reason": strings.TrimSpace(*reason)})
	if err != nil {
		return err
	}
	e := journal.AuditEntry{User: who, Role: cliRole, Action: "reject", Detail: string(detail)}
	if err := j.DecideAudited(ctx, id, journal.AwaitingApproval, d, e); err != nil {
		if errors.Is(err, journal.ErrChanged) {
			return errors.New(p.Sprintf("document %s (%s) was NOT refused: %s", strconv.FormatInt(id, 10), job.SourceName, decidedMeanwhile(ctx, p, j, id)))
		}
		return err
	}
	p.Fprintf(stdout, "%s: %s refused; the station moves it to %s with the reason\n", strconv.FormatInt(id, 10), job.SourceName, cfg.Folders.Failed)
	return nil
}

// decidedMeanwhile says what became of a document someone else decided on between our reading
// and our writing.
func decidedMeanwhile(ctx context.Context, p *message.Printer, j *journal.Journal, id int64) string {
	job, err := j.Get(ctx, id)
	if err != nil {
		return p.Sprintf("it changed meanwhile and cannot be read now: %v", err)
	}
	return decided(p, job)
}

// decided says, in the clerk's words, why a document no longer waits for a decision: another
// clerk decided on it, or the station has moved it on.
func decided(p *message.Printer, job *journal.Job) string {
	switch {
	case job.State == journal.AwaitingApproval && job.Reason != "":
		return p.Sprintf("it was already refused (%s)", job.Reason)
	case job.State == journal.Failed:
		return p.Sprintf("it is in failed/ (%s)", job.Reason)
	case job.ApprovedBy != "":
		return p.Sprintf("it was already approved by %s and is now %s", job.ApprovedBy, stateIn(p, job.State))
	}
	return p.Sprintf("it is not waiting for approval (it is %s)", stateIn(p, job.State))
}

// reorder puts flags before arguments, so `approve 12 13 --by Lan` works as people type it.
func reorder(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(flags, rest...)
}

// openJournalToDecide opens the station's journal for the clerk's decisions. It never creates
// one: an empty journal made here would stand in for a lost one, and the station would refuse
// to start beside it as if it had been replaced.
func openJournalToDecide(cfg *config.Config) (*journal.Journal, error) {
	j, path, err := openJournalToRead(cfg)
	if err == nil && j == nil {
		err = fmt.Errorf("there is no journal at %s: the station has not taken any document yet, or its journal was lost (`scanstation journal rebuild --config FILE` makes it again)", path)
	}
	return j, err
}
