package journal

import (
	"bytes"
	"testing"
	"time"
)

// The columns are the same every month whatever was refused, a stage outside StageOrder
// counts in refused_other, and a folder with nothing signed has no mean.
func TestWriteMonthCSV(t *testing.T) {
	r := &MonthReport{
		Folders: []Figures{
			{HotFolder: "/srv/scan/một cửa", Received: 5, Digitised: 3, Pages: 9, Signed: 3, Refused: 2,
				RefusedBy: map[string]int{"quality": 1, "spooled": 1}, ToSignature: 90 * time.Second},
			{HotFolder: "", Received: 1, Refused: 1, RefusedBy: map[string]int{"decode": 1}},
		},
		Total: Figures{Received: 6, Digitised: 3, Pages: 9, Signed: 3, Refused: 3,
			RefusedBy: map[string]int{"quality": 1, "spooled": 1, "decode": 1}, ToSignature: 90 * time.Second},
	}
	var buf bytes.Buffer
	if err := WriteMonthCSV(&buf, "2026-11", r); err != nil {
		t.Fatal(err)
	}
	want := "month,hot_folder,received,digitised,pages,signed,refused," +
		"refused_receive,refused_duplicate,refused_decode,refused_ocr,refused_quality,refused_metadata,refused_mark," +
		"refused_approval,refused_build,refused_sign,refused_validate,refused_deliver,refused_archive,refused_other," +
		"mean_seconds_to_signature\n" +
		"2026-11,/srv/scan/một cửa,5,3,9,3,2,0,0,0,0,1,0,0,0,0,0,0,0,0,1,90\n" +
		"2026-11,,1,0,0,0,1,0,0,1,0,0,0,0,0,0,0,0,0,0,0,\n" +
		"2026-11,total,6,3,9,3,3,0,0,1,0,1,0,0,0,0,0,0,0,0,1,90\n"
	if buf.String() != want {
		t.Errorf("WriteMonthCSV:\n%s\nwant:\n%s", buf.String(), want)
	}
}
