package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/text/message"

	"scanstation/journal"
	"scanstation/station"
)

// noHotFolder names, in the report, documents given to `scanstation process` from outside
// the hot-folders.
const noHotFolder = "(given to scanstation process)"

type reportFigures struct {
	HotFolder              string         `json:"hot_folder"` // "" for scans given to process; "total" in the total row of CSV only
	Received               int            `json:"received"`
	Digitised              int            `json:"digitised"`
	Pages                  int            `json:"pages"`
	Signed                 int            `json:"signed"`
	Refused                int            `json:"refused"`
	RefusedByStage         map[string]int `json:"refused_by_stage"`
	MeanSecondsToSignature *int64         `json:"mean_seconds_to_signature"` // null when nothing was signed
}

type reportJSON struct {
	Month      string          `json:"month"`
	TimeZone   string          `json:"time_zone"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	HotFolders []reportFigures `json:"hot_folders"`
	Total      reportFigures   `json:"total"`
}

func figuresOf(f journal.Figures) reportFigures {
	r := reportFigures{HotFolder: f.HotFolder, Received: f.Received, Digitised: f.Digitised, Pages: f.Pages,
		Signed: f.Signed, Refused: f.Refused, RefusedByStage: f.RefusedBy}
	if r.RefusedByStage == nil {
		r.RefusedByStage = map[string]int{}
	}
	if f.Signed > 0 {
		s := int64(f.ToSignature / time.Second)
		r.MeanSecondsToSignature = &s
	}
	return r
}

// cmdReport prints the month's figures per hot-folder: documents received in the month
// (by the office's calendar), digitised, pages, signed, refused by stage, and the mean time
// from scan to signature.
func cmdReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report")
	path := fs.String("config", "", "configuration file")
	monthFlag := fs.String("month", "", "the month, as 2026-11 (default: this month)")
	format := fs.String("format", "table", "table, csv or json")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected %q; name the month with --month 2026-11", fs.Arg(0))
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	loc, err := officeLocation()
	if err != nil {
		return err
	}
	month := time.Now().In(loc)
	if *monthFlag != "" {
		if month, err = time.ParseInLocation("2006-01", *monthFlag, loc); err != nil {
			return fmt.Errorf("--month %q: write the month as 2026-11", *monthFlag)
		}
	}
	cfg, err := loadConfigLoose(*path)
	if err != nil {
		return err
	}
	j, _, err := openJournalToRead(cfg)
	if err != nil {
		return err
	}
	var r *journal.MonthReport
	if j != nil {
		defer j.Close()
		if r, err = j.Month(ctx, month.Year(), month.Month(), loc); err != nil {
			return err
		}
	} else {
		from := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
		r = &journal.MonthReport{From: from, To: from.AddDate(0, 1, 0)}
	}
	from, to := r.From.In(loc), r.To.In(loc)

	switch *format {
	case "json":
		out := reportJSON{Month: from.Format("2006-01"), TimeZone: officeZone, From: from, To: to,
			HotFolders: []reportFigures{}, Total: figuresOf(r.Total)}
		out.Total.HotFolder = ""
		for _, f := range r.Folders {
			out.HotFolders = append(out.HotFolders, figuresOf(f))
		}
		return writeJSON(stdout, out)
	case "csv":
		return journal.WriteMonthCSV(stdout, from.Format("2006-01"), r)
	}

	// The tables are for people, in the station's language; the CSV and JSON above are for
	// programs and keep their English names.
	p := printerFor(cfg)
	p.Fprintf(stdout, "Documents received from %s to %s (%s), by hot-folder\n",
		from.Format(dayFormat), to.AddDate(0, 0, -1).Format(dayFormat), officeZone)
	fmt.Fprintln(stdout)
	// The labels are ours, in NFC: fmt pads by characters, so a count is as wide as its label.
	labels := strings.Split(strings.TrimSuffix(p.Sprintf("hot-folder\treceived\tdigitised\tpages\tsigned\trefused\tmean time from scan to signature\n"), "\n"), "\t")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, labels[0])
	for _, l := range labels[1:6] {
		fmt.Fprintf(tw, "\t%*s", countWidth(l), l)
	}
	fmt.Fprintf(tw, "\t%s\n", labels[6])
	row := func(name string, f journal.Figures) {
		mean := "-"
		if f.Signed > 0 {
			mean = waitText(f.ToSignature).In(p)
		}
		fmt.Fprint(tw, name)
		for i, n := range []int{f.Received, f.Digitised, f.Pages, f.Signed, f.Refused} {
			fmt.Fprintf(tw, "\t%*d", countWidth(labels[1+i]), n)
		}
		fmt.Fprintf(tw, "\t%s\n", mean)
	}
	for _, f := range r.Folders {
		row(folderIn(p, f.HotFolder), f)
	}
	total := p.Sprintf("total")
	row(total, r.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	stages := journal.RefusalStages(r.Total.RefusedBy)
	if len(stages) == 0 {
		p.Fprintf(stdout, "No document was refused.\n")
		return nil
	}
	p.Fprintf(stdout, "Refused documents, by the stage that refused them\n")
	fmt.Fprintln(stdout)
	words := make([]string, len(stages))
	for i, s := range stages {
		words[i] = station.StageWords(p, s)
	}
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	// The last count is the line's trailing cell: no padding after it.
	fmt.Fprint(tw, labels[0])
	for _, w := range words {
		fmt.Fprintf(tw, "\t%*s", countWidth(w), w)
	}
	fmt.Fprintln(tw)
	refusals := func(name string, f journal.Figures) {
		fmt.Fprint(tw, name)
		for i, s := range stages {
			fmt.Fprintf(tw, "\t%*d", countWidth(words[i]), f.RefusedBy[s])
		}
		fmt.Fprintln(tw)
	}
	for _, f := range r.Folders {
		if f.Refused > 0 {
			refusals(folderIn(p, f.HotFolder), f)
		}
	}
	refusals(total, r.Total)
	return tw.Flush()
}

// countWidth is how wide a column of counts under label is: the label's width, at least 9.
func countWidth(label string) int { return max(9, utf8.RuneCountInString(label)) }

// folderIn names a hot-folder in p's language: its path, or words for scans given to process.
func folderIn(p *message.Printer, hotFolder string) string {
	if hotFolder == "" {
		return p.Sprintf(noHotFolder)
	}
	return hotFolder
}
