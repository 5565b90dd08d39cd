package console

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/text/message"

	"scanstation/lang"
)

// reportPage is the data of report.html.
type reportPage struct {
	Month      string // 2026-11
	MonthWords string // in the person's language
	Prev, Next string // the months before and after, as ?month= values
	Rows       []reportRow
	Total      reportRow
	Chart      chart
}

type reportRow struct {
	Name string // the hot-folder, or words for scans given to process
	FolderFigures
	Mean string // the mean time to signature in words, "" when none was signed
}

// The chart: one horizontal bar per hot-folder, as long as the documents it received, split
// into the digitised, the refused and the rest (still in the station). Coordinates are in the
// viewBox's units; the SVG scales to the column's width.
const (
	chartWidth  = 960
	chartLabel  = 230 // the folder names' column
	chartBars   = 640 // the longest bar
	chartRow    = 34
	chartBar    = 22
	chartTop    = 8
	chartBottom = 28 // the scale
)

type chart struct {
	Width, Height int
	Label         int // x where the bars begin
	BarHeight     int
	Bars          []chartBarRow
	Ticks         []chartTick
	ScaleY        int
}

type chartBarRow struct {
	Y, TextY int
	Name     string
	Title    string // the numbers, for a tooltip and a screen reader
	Segments []chartSegment
	ValueX   int
	Value    int
}

type chartSegment struct {
	X, W  int
	Class string
}

type chartTick struct {
	X     int
	Value int
}

func drawChart(rows []reportRow, p *message.Printer) chart {
	most := 1
	for _, r := range rows {
		most = max(most, r.Received)
	}
	ch := chart{Width: chartWidth, Label: chartLabel, BarHeight: chartBar, Height: chartTop + len(rows)*chartRow + chartBottom}
	scale := func(n int) int { return n * chartBars / most }
	for i, r := range rows {
		y := chartTop + i*chartRow
		b := chartBarRow{Y: y, TextY: y + chartBar/2 + 5, Name: chartName(r.Name), Value: r.Received,
			Title: p.Sprintf("%s: %d received, %d digitised, %d refused", r.Name, r.Received, r.Digitised, r.Refused)}
		x := chartLabel
		rest := max(r.Received-r.Digitised-r.Refused, 0)
		for _, s := range []struct {
			n     int
			class string
		}{{r.Digitised, "seg-done"}, {r.Refused, "seg-refused"}, {rest, "seg-open"}} {
			if w := scale(s.n); s.n > 0 {
				w = max(w, 2) // a one-document share is still seen
				b.Segments = append(b.Segments, chartSegment{X: x, W: w, Class: s.class})
				x += w
			}
		}
		b.ValueX = x + 6
		ch.Bars = append(ch.Bars, b)
	}
	ch.ScaleY = chartTop + len(rows)*chartRow + 4
	step := max(1, niceStep(most))
	for v := 0; v <= most; v += step {
		ch.Ticks = append(ch.Ticks, chartTick{X: chartLabel + scale(v), Value: v})
	}
	return ch
}

// chartNameRunes is about as many letters as the label column holds at the chart's font size.
const chartNameRunes = 28

// chartName is a hot-folder's name as the chart's label column holds it: a longer one keeps its
// end, where paths differ, and the bar's title and the table below give it whole.
func chartName(name string) string {
	r := []rune(name)
	if len(r) <= chartNameRunes {
		return name
	}
	return "…" + string(r[len(r)-chartNameRunes+1:])
}

// niceStep is a step of 1, 2 or 5 times a power of ten giving about four ticks up to most.
func niceStep(most int) int {
	for pow := 1; ; pow *= 10 {
		for _, m := range []int{1, 2, 5} {
			if most/(m*pow) <= 4 {
				return m * pow
			}
		}
	}
}

// monthOf reads ?month=2026-11; this month when absent.
func (c *console) monthOf(r *http.Request) (time.Time, bool) {
	s := r.URL.Query().Get("month")
	if s == "" {
		now := c.now()
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), true
	}
	m, err := time.Parse("2006-01", s)
	return m, err == nil && m.Year() >= 2000 && m.Year() < 3000
}

// monthReport asks the Desk for a month.
func (c *console) monthReport(r *http.Request, month time.Time) (ReportView, error) {
	return c.desk.Report(r.Context(), midMonth(month))
}

// midMonth is the middle of month, what the console gives the Desk for it: the office's time
// zone, whatever it is, puts it in the same month.
func midMonth(month time.Time) time.Time {
	return time.Date(month.Year(), month.Month(), 15, 12, 0, 0, 0, time.UTC)
}

func (c *console) report(w http.ResponseWriter, r *http.Request) {
	month, ok := c.monthOf(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Request refused", "Write the month as 2026-11.")
		return
	}
	rv, err := c.monthReport(r, month)
	if err != nil {
		c.stationFailed(w, r, "report", err)
		return
	}
	p := lang.Printer(c.languageOf(r))
	pg := reportPage{
		Month:      month.Format("2006-01"),
		MonthWords: month.Format("01/2006"),
		Prev:       month.AddDate(0, -1, 0).Format("2006-01"),
		Next:       month.AddDate(0, 1, 0).Format("2006-01"),
		Total:      reportRow{Name: p.Sprintf("Total"), FolderFigures: rv.Total, Mean: meanWords(p, rv.Total)},
	}
	for _, f := range rv.Folders {
		pg.Rows = append(pg.Rows, reportRow{Name: folderWords(p, f.HotFolder), FolderFigures: f, Mean: meanWords(p, f)})
	}
	pg.Chart = drawChart(pg.Rows, p)
	c.render(w, r, http.StatusOK, "report.html", pg)
}

func folderWords(p *message.Printer, name string) string {
	if name == "" {
		return p.Sprintf("(given to scanstation process)")
	}
	return name
}

// meanWords is the mean time to signature as a person says it.
func meanWords(p *message.Printer, f FolderFigures) string {
	if f.Signed == 0 {
		return ""
	}
	d := f.ToSignature.Round(time.Minute)
	switch {
	case d >= time.Hour:
		return p.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d >= time.Minute:
		return p.Sprintf("%d min", int(d/time.Minute))
	}
	return p.Sprintf("under a minute")
}

// reportCSV sends the month as `scanstation report --format csv` prints it, with a UTF-8
// byte order mark first: without it Excel reads the file in the PC's code page and the
// Vietnamese folder names come out garbled.
func (c *console) reportCSV(w http.ResponseWriter, r *http.Request) {
	month, ok := c.monthOf(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Request refused", "Write the month as 2026-11.")
		return
	}
	m := month.Format("2006-01")
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	if err := c.desk.ReportCSV(r.Context(), midMonth(month), &buf); err != nil {
		c.stationFailed(w, r, "report.csv", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="scanstation-report-%s.csv"`, m))
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
