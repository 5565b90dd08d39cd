package main

// End-to-end tests of certification as the law asks: the quality gate, the visible mark in
// the top right of page 1 showing the signature's own time, the conversion record, DocMDP,
// and the clerk's approval.

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"scanstation/internal/judge"
	"scanstation/internal/samplescan"
)

// bboxWord is one word of `pdftotext -bbox` output.
type bboxWord struct {
	XMin float64 `xml:"xMin,attr"`
	YMin float64 `xml:"yMin,attr"`
	XMax float64 `xml:"xMax,attr"`
	YMax float64 `xml:"yMax,attr"`
	Text string  `xml:",chardata"`
}

type bboxPage struct {
	Width  float64    `xml:"width,attr"`
	Height float64    `xml:"height,attr"`
	Words  []bboxWord `xml:"word"`
}

func firstPageWords(t *testing.T, pdf string) bboxPage {
	t.Helper()
	out := tool(t, "pdftotext", "-bbox", "-f", "1", "-l", "1", pdf, "-")
	// The output is XHTML; pull out the page element.
	start, end := strings.Index(out, "<page"), strings.LastIndex(out, "</page>")
	if start < 0 || end < 0 {
		t.Fatalf("pdftotext -bbox gave no page:\n%s", out)
	}
	var page bboxPage
	if err := xml.Unmarshal([]byte(out[start:end+len("</page>")]), &page); err != nil {
		t.Fatalf("pdftotext -bbox output: %v", err)
	}
	return page
}

func TestMarkShowsSignatureTimeTopRightAndRecordIsInXMP(t *testing.T) {
	dir, cfg := newStation(t)
	input := filepath.Join(dir, "quyet-dinh.jpg")
	writeImage(t, input, samplescan.Options{}, "jpeg")
	if out, code := scanstation(t, nil, "process", "--config", cfg, input); code != 0 {
		t.Fatalf("process exits %d:\n%s", code, out)
	}
	pdf := filepath.Join(dir, "outbox", "quyet-dinh.pdf")
	checkSignedPDFA(t, dir, pdf)
	side := readSidecar(t, filepath.Join(dir, "outbox", "quyet-dinh.json"))

	// The mark's words, read back by poppler, in the top right of page 1.
	page := firstPageWords(t, pdf)
	want := side.SigningTime.In(vietnam(t)).Format("02.01.2006 15:04:05 -07:00")
	var label, timeWords []bboxWord
	for _, w := range page.Words {
		switch {
		case w.Text == "SAO":
			label = append(label, w)
		case strings.Contains(want, w.Text) && regexp.MustCompile(`^\d\d[.:]\d\d[.:]\d\d`).MatchString(w.Text):
			timeWords = append(timeWords, w)
		}
	}
	if len(label) == 0 {
		t.Fatalf("no SAO Y label on page 1; words: %v", page.Words)
	}
	for _, w := range append(label, timeWords...) {
		if w.XMin < page.Width/2 || w.YMax > page.Height/4 {
			t.Errorf("mark word %q at (%.0f,%.0f) is not in the top right of a %.0f×%.0f page", w.Text, w.XMin, w.YMin, page.Width, page.Height)
		}
	}
	text := tool(t, "pdftotext", "-f", "1", "-l", "1", pdf, "-")
	if !strings.Contains(text, want) {
		t.Errorf("page 1 does not show the signature's time %q; text:\n%s", want, text)
	}

	meta := tool(t, "pdfinfo", "-meta", pdf)
	for _, want := range []string{"convertedFromPaper", side.SourceSHA256, "quyet-dinh.jpg"} {
		if !strings.Contains(meta, want) {
			t.Errorf("XMP conversion record lacks %q:\n%s", want, meta)
		}
	}
	// pyHanko's own reader says whether the signature certifies the document (DocMDP).
	v := judge.PyHanko(t, pdf, judge.PyHankoOptions{Trust: []string{filepath.Join(dir, "dev-ca.pem")}})
	if len(v.Signatures) == 0 || v.Signatures[0].DocMDPLevel != "FILL_FORMS" {
		t.Errorf("pyHanko does not see a certification signature allowing form filling (DocMDP P=2):\n%s", v)
	}
}

func vietnam(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQualityGateRefusesLowResolutionGrayAndScaledScans(t *testing.T) {
	dir, cfg := newStation(t)
	cases := []struct {
		name string
		opt  samplescan.Options
		dpi  float64 // declared in the file, when it differs from the rendering
		want string
	}{
		{"thap.jpg", samplescan.Options{DPI: 150, Paper: "A5"}, 0, "150 dpi"},
		{"xam.jpg", samplescan.Options{DPI: 200, Paper: "A5", Gray: true}, 0, "colour"},
		{"thu-nho.jpg", samplescan.Options{DPI: 200, Paper: "A4"}, 400, "scale"},
	}
	var inputs []string
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if c.dpi != 0 {
			img, err := samplescan.Render(c.opt)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := os.Create(path)
			if err := samplescan.WriteJPEG(f, img, c.dpi, 85); err != nil {
				t.Fatal(err)
			}
			f.Close()
		} else {
			writeImage(t, path, c.opt, "jpeg")
		}
		inputs = append(inputs, path)
	}
	out, code := scanstation(t, nil, append([]string{"process", "--config", cfg}, inputs...)...)
	if code == 0 {
		t.Fatalf("process of bad scans exits 0:\n%s", out)
	}
	for _, c := range cases {
		reason, err := os.ReadFile(filepath.Join(dir, "failed", c.name+".error.txt"))
		if err != nil {
			t.Errorf("%s: no reason in failed/: %v\n%s", c.name, err, out)
			continue
		}
		if !strings.Contains(string(reason), c.want) || !strings.Contains(string(reason), "quality") {
			t.Errorf("%s: the reason does not say %q:\n%s", c.name, c.want, reason)
		}
	}
	if pdfs := glob(filepath.Join(dir, "outbox"), "*.pdf"); len(pdfs) != 0 {
		t.Errorf("bad scans were signed: %v", pdfs)
	}
}

func TestApprovalModeWaitsForTheClerk(t *testing.T) {
	dir, cfg := newStation(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), `approval: "none"`, `approval: "required"`, 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	inbox := filepath.Join(dir, "inbox")
	writeImage(t, filepath.Join(inbox, "to-trinh.jpg"), samplescan.Options{DPI: 200, Paper: "A5"}, "jpeg")
	writeImage(t, filepath.Join(inbox, "sai.jpg"), samplescan.Options{DPI: 200, Paper: "A5", Lines: wordy("BẢN NHÁP", "Số: 99/UBND-VP")}, "jpeg")
	review := filepath.Join(dir, "review")
	waitFor(t, "two copies in review/", 3*time.Minute, func() bool { return len(glob(review, "*.pdf")) == 2 }, d.log)
	if pdfs := glob(filepath.Join(dir, "outbox"), "*.pdf"); len(pdfs) != 0 {
		t.Fatalf("documents were signed before the clerk approved them: %v", pdfs)
	}

	list, code := scanstation(t, nil, "approve", "--config", cfg)
	if code != 0 || !strings.Contains(list, "to-trinh.jpg") {
		t.Fatalf("approve without IDs does not list the waiting documents (%d):\n%s", code, list)
	}
	ids := map[string]string{}
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			if _, err := strconv.Atoi(f[0]); err == nil {
				ids[f[1]] = f[0]
			}
		}
	}
	if out, code := scanstation(t, nil, "approve", "--config", cfg, ids["to-trinh.jpg"], "--by", "Trần Văn Bình"); code != 0 {
		t.Fatalf("approve: %s", out)
	}
	if out, code := scanstation(t, nil, "reject", "--config", cfg, ids["sai.jpg"], "--reason", "bản nháp, không phải văn bản chính thức"); code != 0 {
		t.Fatalf("reject: %s", out)
	}
	waitFor(t, "the approved document in the outbox and the refused one in failed/", 3*time.Minute, func() bool {
		return len(glob(filepath.Join(dir, "outbox"), "*.json")) == 1 && len(glob(filepath.Join(dir, "failed"), "*.error.txt")) == 1
	}, d.log)
	d.stop(t)

	pdf := filepath.Join(dir, "outbox", "to-trinh.pdf")
	checkSignedPDFA(t, dir, pdf)
	side, _ := os.ReadFile(filepath.Join(dir, "outbox", "to-trinh.json"))
	if !strings.Contains(string(side), `"approved_by": "Trần Văn Bình"`) {
		t.Errorf("the sidecar does not say who approved:\n%s", side)
	}
	if meta := tool(t, "pdfinfo", "-meta", pdf); !strings.Contains(meta, "Trần Văn Bình") {
		t.Errorf("the XMP does not say who approved:\n%s", meta)
	}
	reason, _ := os.ReadFile(filepath.Join(dir, "failed", "sai.jpg.error.txt"))
	if !strings.Contains(string(reason), "bản nháp") {
		t.Errorf("the refusal's reason is not in failed/:\n%s", reason)
	}
	if left := glob(review, "*.pdf"); len(left) != 0 {
		t.Errorf("review copies left behind: %v", left)
	}
}
