package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/text/message"

	"scanstation/config"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/station"
)

// officeZone is where the office's days and months begin and end.
const officeZone = "Asia/Ho_Chi_Minh"

func officeLocation() (*time.Location, error) {
	// time/tzdata is linked in (main.go), so this resolves on any system.
	return time.LoadLocation(officeZone)
}

// openJournalToRead opens the station's journal for status, history and report. It returns
// nil and no error when the station has no journal yet, rather than create one: run as
// another user, a new empty file would keep the station from opening its own.
func openJournalToRead(cfg *config.Config) (*journal.Journal, string, error) {
	path := filepath.Join(cfg.Folders.State, "journal.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	} else if err != nil {
		return nil, path, fmt.Errorf("cannot read the station's journal: %w (run the command as the station's user)", err)
	}
	j, err := journal.Open(path)
	return j, path, err
}

// stateWords is a state as people say it. A document awaiting validation is signed already,
// which is what the clerk needs to know: nothing more is asked of the token or of them.
func stateWords(s journal.State) string {
	if s == journal.AwaitingValidation {
		return "signed, awaiting validation"
	}
	return strings.ReplaceAll(string(s), "_", " ")
}

// stateIn is a state in p's language: stateWords translated, or the journal's name in English.
func stateIn(p *message.Printer, s journal.State) string {
	if w := stateWords(s); p.Sprintf(w) != w {
		return p.Sprintf(w)
	}
	return string(s)
}

// parseState takes a state as people type it: "awaiting approval", "awaiting-approval" or
// "awaiting_approval"; and as stateWords says it ("signed, awaiting validation").
func parseState(s string) (journal.State, error) {
	st := journal.State(strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s))))
	if st == "signed,_awaiting_validation" || st == "signed,awaiting_validation" {
		st = journal.AwaitingValidation
	}
	for _, known := range []journal.State{journal.Received, journal.Spooled, journal.AwaitingApproval, journal.Approved,
		journal.Built, journal.AwaitingValidation, journal.Signed, journal.Delivered, journal.Archived, journal.Failed} {
		if st == known {
			return st, nil
		}
	}
	return "", fmt.Errorf("%q is not a state; the states are received, spooled, awaiting approval, approved, built, awaiting validation (signed, waiting for the validation data or document timestamp its level needs), signed, delivered, archived and failed", s)
}

const (
	dayFormat  = "02.01.2006"
	timeFormat = "02.01.2006 15:04"
)

// waitWords says a duration the way a clerk reads it: "45 s", "12 min", "3 h 05 min", "2 d 4 h".
func waitWords(d time.Duration) string { return waitText(d).String() }

// waitText is waitWords kept for any language: "3 giờ 05 phút".
func waitText(d time.Duration) lang.Text {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Minute:
		return lang.T("%d s", int(d/time.Second))
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return lang.T("%d min", m)
		}
		return lang.T("%d min %02d s", m, s)
	case d < 24*time.Hour:
		return lang.T("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return lang.T("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// printerFor prints what people read in the station's language (station.language).
func printerFor(cfg *config.Config) *message.Printer {
	tag, err := lang.Parse(cfg.Station.Language)
	if err != nil {
		tag = lang.Vietnamese // loadConfigLoose lets a wrong value through; the default then
	}
	return lang.Printer(tag)
}

// oneLine shortens a reason for a table: one line, at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func checkFormat(format string) error {
	switch format {
	case "table", "csv", "json":
		return nil
	}
	return fmt.Errorf("--format %q: say table, csv or json", format)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// statusFresh is how old the daemon's state/status.json (rewritten every 5 s) may be before it
// is no longer believed: a daemon killed outright leaves its last one behind.
const statusFresh = 30 * time.Second

// daemonState reads the running daemon's state/status.json: the token's state as the daemon's
// Keeper sees it, and whether the station takes files. Without a fresh file the token's state
// is "unknown" and note says why; its Format is "" when the station runs.
func daemonState(cfg *config.Config, now time.Time) (st station.Status, note lang.Text) {
	data, err := os.ReadFile(filepath.Join(cfg.Folders.State, "status.json"))
	if err != nil {
		return station.Status{Token: "unknown"}, lang.T("is the station running?")
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Token == "" || st.Updated.IsZero() {
		return station.Status{Token: "unknown"}, lang.T("the station's status file cannot be read; is the station running?")
	}
	if age := now.Sub(st.Updated); age > statusFresh {
		note = lang.T("the station last said %q %s ago; is the station running?", st.Token, waitText(age))
		return station.Status{Token: "unknown", Updated: st.Updated}, note
	}
	return st, lang.Text{}
}

type statusQueue struct {
	State          string     `json:"state"`
	Documents      int        `json:"documents"`
	OldestReceived *time.Time `json:"oldest_received,omitempty"`
	WaitingSeconds *int64     `json:"waiting_seconds,omitempty"`
}

type statusError struct {
	ID       int64     `json:"id"`
	FailedAt time.Time `json:"failed_at"`
	Source   string    `json:"source_name"`
	Stage    string    `json:"stage"`
	Reason   string    `json:"reason"`
}

type statusReport struct {
	Time          time.Time     `json:"time"`
	Queue         []statusQueue `json:"queue"`
	Unfinished    int           `json:"unfinished"`
	FinishedToday struct {
		Date     string `json:"date"`
		Archived int    `json:"archived"`
		Failed   int    `json:"failed"`
	} `json:"finished_today"`
	Token struct {
		State    string     `json:"state"`
		Note     string     `json:"note,omitempty"`
		Reported *time.Time `json:"reported,omitempty"` // when the running station last said so
	} `json:"token"`
	Station struct {
		Running bool   `json:"running"`
		Ready   bool   `json:"ready"`
		Why     string `json:"why,omitempty"`
	} `json:"station"`
	LastErrors []statusError `json:"last_errors"`
	// Waiting is what the running station waits for (a share away, an original it cannot
	// remove, the disk): documents are not failed for these, they wait and are tried again.
	Waiting []station.Waiting `json:"waiting"`
}

// cmdStatus shows what waits, what finished today, the token and the last refusals.
func cmdStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("status")
	path := fs.String("config", "", "configuration file")
	format := fs.String("format", "table", "table or json")
	errorsShown := fs.Int("errors", 5, "how many of the last failed documents to show")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("--format %q: say table or json", *format)
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	loc, err := officeLocation()
	if err != nil {
		return err
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)

	var r statusReport
	r.Time = now
	r.FinishedToday.Date = today.Format(time.DateOnly)
	r.LastErrors = []statusError{}
	daemon, note := daemonState(cfg, now)
	r.Token.State = daemon.Token
	if note.Format != "" {
		r.Token.Note = note.String()
	}
	if !daemon.Updated.IsZero() {
		reported := daemon.Updated.In(loc)
		r.Token.Reported = &reported
	}
	r.Station.Running = note.Format == ""
	r.Station.Ready, r.Station.Why = daemon.Ready, daemon.Why
	r.Waiting = []station.Waiting{}
	if r.Station.Running {
		// A stopped station's list is stale: it is only read while the station runs.
		if waiting, err := station.ReadWaiting(cfg.Folders.State, daemon.PID); err == nil {
			r.Waiting = append(r.Waiting, waiting...)
		}
	}

	j, _, err := openJournalToRead(cfg)
	if err != nil {
		return err
	}
	queue := make([]journal.QueueLine, len(journal.QueueStates))
	for i, st := range journal.QueueStates {
		queue[i].State = st
	}
	if j != nil {
		defer j.Close()
		if queue, err = j.Queue(ctx); err != nil {
			return err
		}
		if r.FinishedToday.Archived, r.FinishedToday.Failed, err = j.FinishedSince(ctx, today); err != nil {
			return err
		}
		failed, err := j.LastFailed(ctx, *errorsShown)
		if err != nil {
			return err
		}
		for _, job := range failed {
			r.LastErrors = append(r.LastErrors, statusError{ID: job.ID, FailedAt: job.Updated.In(loc), Source: job.SourceName, Stage: job.FailedStage, Reason: job.Reason})
		}
	}
	r.Queue = []statusQueue{}
	for _, line := range queue {
		q := statusQueue{State: stateWords(line.State), Documents: line.Count}
		if line.Count > 0 {
			oldest := line.Oldest.In(loc)
			waiting := int64(now.Sub(oldest) / time.Second)
			q.OldestReceived, q.WaitingSeconds = &oldest, &waiting
		}
		r.Unfinished += line.Count
		r.Queue = append(r.Queue, q)
	}

	if *format == "json" {
		return writeJSON(stdout, r)
	}

	// The table is for people, in the station's language; the JSON above is for programs.
	p := printerFor(cfg)
	fmt.Fprintf(stdout, "%s, %s (%s)\n\n", cfg.Station.Name, now.Format(timeFormat), officeZone)
	// The labels are ours, in NFC: widths in characters align them, as wide as the language's
	// longest label needs.
	archived, failed := "  "+p.Sprintf("archived (signed and delivered)"), "  "+p.Sprintf("failed (in the failed folder)")
	labels, counts := 34, max(9, utf8.RuneCountInString(p.Sprintf("documents")))
	for _, l := range []string{archived, failed} {
		labels = max(labels, utf8.RuneCountInString(l))
	}
	for _, q := range r.Queue {
		labels = max(labels, 2+utf8.RuneCountInString(p.Sprintf(q.State)))
	}
	line := func(label string, n int, oldest, waiting string) {
		fmt.Fprintln(stdout, strings.TrimRight(fmt.Sprintf("%-*s %*d  %-16s  %s", labels, label, counts, n, oldest, waiting), " "))
	}
	fmt.Fprintf(stdout, "%-*s %*s  %-16s  %s\n", labels, p.Sprintf("Not finished"), counts, p.Sprintf("documents"), p.Sprintf("oldest received"), p.Sprintf("waiting for"))
	var oldest *time.Time
	for _, q := range r.Queue {
		state := "  " + p.Sprintf(q.State)
		if q.Documents == 0 {
			line(state, 0, "", "")
			continue
		}
		if oldest == nil || q.OldestReceived.Before(*oldest) {
			oldest = q.OldestReceived
		}
		line(state, q.Documents, q.OldestReceived.Format(timeFormat), waitText(time.Duration(*q.WaitingSeconds)*time.Second).In(p))
	}
	if oldest != nil {
		line("  "+p.Sprintf("all"), r.Unfinished, oldest.Format(timeFormat), waitText(now.Sub(*oldest)).In(p))
	} else {
		line("  "+p.Sprintf("all"), r.Unfinished, "", "")
	}
	fmt.Fprint(stdout, "\n", p.Sprintf("Finished today (%s)", today.Format(dayFormat)), "\n")
	line(archived, r.FinishedToday.Archived, "", "")
	line(failed, r.FinishedToday.Failed, "", "")

	fmt.Fprintln(stdout)
	switch {
	case note.Format != "":
		p.Fprintf(stdout, "token: %s (%s)\n", p.Sprintf(r.Token.State), note.In(p))
	case r.Station.Ready:
		p.Fprintf(stdout, "token: %s\nstation: running, takes files\n", p.Sprintf(r.Token.State))
	default:
		p.Fprintf(stdout, "token: %s\nstation: running, NOT taking files: %s\n", p.Sprintf(r.Token.State), orDash(r.Station.Why))
	}
	for _, w := range r.Waiting {
		p.Fprintf(stdout, "waiting: %s since %s (%s); documents wait, nothing is lost\n", w.What, w.Since.In(loc).Format(timeFormat), oneLine(w.Err, 100))
	}

	fmt.Fprintln(stdout)
	if j == nil {
		p.Fprintf(stdout, "No document has been received yet (the journal %s does not exist).\n", filepath.Join(cfg.Folders.State, "journal.db"))
		return nil
	}
	if len(r.LastErrors) == 0 {
		p.Fprintf(stdout, "Last errors: none\n")
		return nil
	}
	p.Fprintf(stdout, "Last errors (newest first; the files and reasons are in %s):\n", cfg.Folders.Failed)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, p.Sprintf("  id\tfailed at\tfile\tstage\treason\n"))
	for _, e := range r.LastErrors {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", e.ID, e.FailedAt.Format(timeFormat), e.Source, station.StageWords(p, e.Stage), oneLine(e.Reason, 100))
	}
	return tw.Flush()
}

// parseDay reads a day as 2026-11-30, 30.11.2026 or 30/11/2026, in the office's time zone.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "02.01.2006", "02/01/2006", "2.1.2006", "2/1/2006"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a day; write it as 2026-11-30 or 30.11.2026", s)
}

// historyLine is one document in `history --format json`.
type historyLine struct {
	ID          int64     `json:"id"`
	Received    time.Time `json:"received"`
	SourceName  string    `json:"source_name"`
	Pages       int       `json:"pages"`
	State       string    `json:"state"`
	OutboxName  string    `json:"outbox_name"`
	FailedStage string    `json:"failed_stage"`
	Reason      string    `json:"reason"`
	Signer      string    `json:"signer"`
	Operator    string    `json:"operator"`
	HotFolder   string    `json:"hot_folder"`
}

// cmdHistory lists documents, newest first.
func cmdHistory(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("history")
	path := fs.String("config", "", "configuration file")
	since := fs.String("since", "", "documents received on or after this day (2026-11-01)")
	until := fs.String("until", "", "documents received on or before this day (2026-11-30)")
	state := fs.String("state", "", "only documents in this state")
	hotFolder := fs.String("hot-folder", "", "only documents from this hot-folder")
	operator := fs.String("operator", "", "only documents scanned by this operator")
	search := fs.String("search", "", "only documents whose file name, outbox name, reason, operator, signer or SHA-256 contains this text")
	limit := fs.Int("limit", 50, "at most this many documents; 0 for all")
	format := fs.String("format", "table", "table, csv or json")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("history: unexpected %q; every choice is a --flag", fs.Arg(0))
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if *limit < 0 {
		return errors.New("--limit: give a number of documents, or 0 for all")
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	loc, err := officeLocation()
	if err != nil {
		return err
	}
	f := journal.Filter{Operator: strings.TrimSpace(*operator), Search: *search, Limit: *limit}
	if *since != "" {
		if f.Since, err = parseDay(*since, loc); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if *until != "" {
		day, err := parseDay(*until, loc)
		if err != nil {
			return fmt.Errorf("--until: %w", err)
		}
		f.Until = day.AddDate(0, 0, 1) // the whole of that day
	}
	if *state != "" {
		if f.State, err = parseState(*state); err != nil {
			return fmt.Errorf("--state: %w", err)
		}
	}
	if *hotFolder != "" {
		if f.HotFolder, err = filepath.Abs(*hotFolder); err != nil {
			return err
		}
	}

	j, jpath, err := openJournalToRead(cfg)
	if err != nil {
		return err
	}
	var jobs []journal.Job
	if j != nil {
		defer j.Close()
		if jobs, err = j.History(ctx, f); err != nil {
			return err
		}
	}
	lines := make([]historyLine, len(jobs))
	for i, job := range jobs {
		lines[i] = historyLine{ID: job.ID, Received: job.Created.In(loc), SourceName: job.SourceName, Pages: job.Pages,
			State: stateWords(job.State), FailedStage: job.FailedStage, Reason: job.Reason,
			Signer: job.Signer, Operator: job.Operator, HotFolder: job.HotFolder}
		if job.OutName != "" {
			lines[i].OutboxName = job.OutName + ".pdf"
		}
	}

	switch *format {
	case "json":
		return writeJSON(stdout, lines)
	case "csv":
		w := csv.NewWriter(stdout)
		w.Write([]string{"id", "received", "source_name", "pages", "state", "outbox_name", "failed_stage", "reason", "signer", "operator", "hot_folder"})
		for _, l := range lines {
			w.Write([]string{strconv.FormatInt(l.ID, 10), l.Received.Format(time.RFC3339), l.SourceName, strconv.Itoa(l.Pages), l.State,
				l.OutboxName, l.FailedStage, l.Reason, l.Signer, l.Operator, l.HotFolder})
		}
		w.Flush()
		return w.Error()
	}
	// The table is for people, in the station's language; the CSV and JSON above are for
	// programs and keep the journal's English words.
	p := printerFor(cfg)
	if len(lines) == 0 {
		if j == nil {
			p.Fprintf(stdout, "No document has been received yet (the journal %s does not exist).\n", jpath)
		} else {
			p.Fprintf(stdout, "No document matches.\n")
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, p.Sprintf("id\treceived\tfile\tpages\tstate\toutbox file or reason\tsigner\toperator\n"))
	for _, l := range lines {
		result := l.OutboxName
		if l.Reason != "" {
			result = oneLine(station.StageWords(p, l.FailedStage)+": "+l.Reason, 80)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", l.ID, l.Received.Format(timeFormat), l.SourceName, l.Pages, p.Sprintf(l.State),
			orDash(result), orDash(l.Signer), orDash(l.Operator))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *limit > 0 && len(lines) == *limit {
		p.Fprintf(stdout, "(the newest %d; --limit 0 shows all)\n", *limit)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
