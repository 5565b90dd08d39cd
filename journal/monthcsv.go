package journal

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteMonthCSV writes r as `scanstation report --format csv` prints it and the console's
// /report.csv sends it: one row per hot-folder, named as given in r, and a total row. The
// columns are the same every month, one per stage of StageOrder, so that months can be put side
// by side; a refusal at any other stage counts in refused_other. The column names stay English:
// the file is read by spreadsheets and programs. month is the month as 2026-11.
func WriteMonthCSV(w io.Writer, month string, r *MonthReport) error {
	c := csv.NewWriter(w)
	header := []string{"month", "hot_folder", "received", "digitised", "pages", "signed", "refused"}
	for _, s := range StageOrder {
		header = append(header, "refused_"+s)
	}
	c.Write(append(header, "refused_other", "mean_seconds_to_signature"))
	row := func(name string, f Figures) {
		rec := []string{month, name, strconv.Itoa(f.Received), strconv.Itoa(f.Digitised), strconv.Itoa(f.Pages),
			strconv.Itoa(f.Signed), strconv.Itoa(f.Refused)}
		other := f.Refused
		for _, s := range StageOrder {
			rec = append(rec, strconv.Itoa(f.RefusedBy[s]))
			other -= f.RefusedBy[s]
		}
		mean := ""
		if f.Signed > 0 {
			mean = strconv.FormatInt(int64(f.ToSignature/time.Second), 10)
		}
		c.Write(append(rec, strconv.Itoa(other), mean))
	}
	for _, f := range r.Folders {
		row(f.HotFolder, f)
	}
	row("total", r.Total)
	c.Flush()
	if err := c.Error(); err != nil {
		return fmt.Errorf("write the report of %s as CSV: %w", month, err)
	}
	return nil
}
