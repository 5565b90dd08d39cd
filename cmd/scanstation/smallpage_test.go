package main

// End-to-end tests of small originals (a till receipt, a business card): the mark's
// mark.small_pages policy as a sysadmin sets it.

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"scanstation/internal/samplescan"
)

// smallStation is a dev station whose hot-folder takes small originals' paper sizes, with
// mark.small_pages set to policy.
func smallStation(t *testing.T, policy string) (dir, cfg string) {
	t.Helper()
	dir, cfg = newStation(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yaml := regexp.MustCompile(`paper_sizes: .*`).ReplaceAllString(string(data), `paper_sizes: ["A4", "58x150mm", "55x85mm", "40x60mm"]`)
	yaml = strings.Replace(yaml, `small_pages: "shrink"`, `small_pages: "`+policy+`"`, 1)
	// These tests are about the mark on small pages. A card's or a receipt's few words leave
	// OCR unsure which way up it reads, which sends it to the clerk
	// (TestUnsureOrientationGoesToReview); here it is signed without review.
	yaml = strings.Replace(yaml, `review_orientation_below: 0`, `review_orientation_below: -1`, 1)
	if !strings.Contains(yaml, `small_pages: "`+policy+`"`) || !strings.Contains(yaml, `"58x150mm"`) {
		t.Fatalf("the config init wrote has no small_pages or paper_sizes to set:\n%s", yaml)
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// writeSmall renders a small original at 300 dpi, with a solid black logo at logoMM (left,
// top, right, bottom in millimetres from the top left; zero: none), as a JPEG.
func writeSmall(t *testing.T, path, paper string, lines []string, logoMM [4]float64) {
	t.Helper()
	img, err := samplescan.Render(samplescan.Options{Paper: paper, Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	px := func(mm float64) int { return int(mm / 25.4 * 300) }
	logo := image.Rect(px(logoMM[0]), px(logoMM[1]), px(logoMM[2]), px(logoMM[3]))
	draw.Draw(img.(draw.Image), logo, image.NewUniform(color.RGBA{20, 20, 30, 255}), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := samplescan.WriteJPEG(&buf, img, 300, 85); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// receiptLines is a shop's till receipt: its name, room left for its logo's line, the items.
var receiptLines = []string{"HÓA ĐƠN", "", "", "", "", "", "Cà phê sữa đá 25.000", "Bánh mì thịt 20.000", "Tổng cộng 45.000", "Cảm ơn quý khách"}

// TestSmallOriginalsAreCertified certifies a 58 mm till receipt with a logo at its top right
// and an upright business card with the default policy (shrink): each is a valid signed
// PDF/A (veraPDF, pdfsig, pyHanko, qpdf, scanstation verify), its sidecar says the margin the
// mark was given, the mark's text is at least 10 pt, inside the page, in its top right, and
// off the logo and the recognised words.
func TestSmallOriginalsAreCertified(t *testing.T) {
	dir, cfg := smallStation(t, "shrink")
	for _, c := range []struct {
		name, paper string
		lines       []string
		logoMM      [4]float64
		place       string // in the sidecar's mark_place
	}{
		{"hoa-don", "58x150mm", receiptLines, [4]float64{30, 4, 52, 12}, "small page: margin 7.5 mm instead of 10"},
		{"danh-thiep", "55x85mm", []string{"", "", "", "", "", "NGUYỄN VĂN AN", "Chuyên viên", "Sở Nội vụ"}, [4]float64{}, "small page: margin 6 mm instead of 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			input := filepath.Join(dir, c.name+".jpg")
			writeSmall(t, input, c.paper, c.lines, c.logoMM)
			if out, code := scanstation(t, nil, "process", "--config", cfg, input); code != 0 {
				t.Fatalf("process exits %d:\n%s", code, out)
			}
			pdf := filepath.Join(dir, "outbox", c.name+".pdf")
			checkSignedPDFA(t, dir, pdf)
			data, err := os.ReadFile(filepath.Join(dir, "outbox", c.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var side struct {
				MarkPlace string `json:"mark_place"`
			}
			if err := json.Unmarshal(data, &side); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(side.MarkPlace, c.place) {
				t.Errorf("the sidecar's mark_place is %q; want it to say %q", side.MarkPlace, c.place)
			}

			// The mark's words (the label, the dev agency, the time) as poppler reads them.
			page := firstPageWords(t, pdf)
			markWords := map[string]bool{"SAO": true, "Y": true, "Cơ": true, "quan": true, "thử": true, "nghiệm": true, "(DEV)": true}
			timeWord := regexp.MustCompile(`^(\d\d\.\d\d\.\d{4}|\d\d:\d\d:\d\d|\+07:00)$`)
			var box [4]float64 // the mark's words' extent: xMin, yMin, xMax, yMax from the top left
			var others []bboxWord
			found := 0
			for _, w := range page.Words {
				if !markWords[w.Text] && !timeWord.MatchString(w.Text) {
					others = append(others, w)
					continue
				}
				if found == 0 {
					box = [4]float64{w.XMin, w.YMin, w.XMax, w.YMax}
				}
				box = [4]float64{min(box[0], w.XMin), min(box[1], w.YMin), max(box[2], w.XMax), max(box[3], w.YMax)}
				found++
				// Liberation Serif's ascent and descent are 1.107 em: a 10 pt line is 11.07 pt high.
				if h := w.YMax - w.YMin; h < 11 {
					t.Errorf("the mark's word %q is %.2f pt high: set below 10 pt", w.Text, h)
				}
			}
			if found < 9 {
				t.Fatalf("found %d of the mark's words on page 1: %v", found, page.Words)
			}
			if box[0] < 0 || box[1] < 0 || box[2] > page.Width || box[3] > page.Height || box[2] < page.Width/2 || box[1] > page.Height/4 {
				t.Errorf("the mark's text spans %v: not inside the top right of the %.1f × %.1f pt page", box, page.Width, page.Height)
			}
			const pt = 72 / 25.4
			logo := [4]float64{c.logoMM[0] * pt, c.logoMM[1] * pt, c.logoMM[2] * pt, c.logoMM[3] * pt}
			if c.logoMM != ([4]float64{}) && overlaps(box, logo) {
				t.Errorf("the mark's text %v is over the logo %v", box, logo)
			}
			for _, w := range others {
				if overlaps(box, [4]float64{w.XMin, w.YMin, w.XMax, w.YMax}) {
					t.Errorf("the mark's text %v is over the recognised word %q at %v", box, w.Text, w)
				}
			}
			t.Logf("%s: %s; mark text at %.1f,%.1f–%.1f,%.1f pt of %.1f × %.1f; %d other words", c.name, side.MarkPlace,
				box[0], box[1], box[2], box[3], page.Width, page.Height, len(others))
		})
	}
}

// TestSmallOriginalsRefused: with mark.small_pages: refuse, a receipt goes to failed/ with a
// reason that names the policy; with shrink, an original too small even for 3 mm margins goes
// to failed/ with the size it would need. Neither reaches the outbox, and the advice is about
// the page, not the token. Where the clerk approves each copy, the receipt is refused before
// it is put up for approval: nobody approves a copy that cannot be signed.
func TestSmallOriginalsRefused(t *testing.T) {
	for _, c := range []struct {
		policy, name, paper string
		want                []string
	}{
		{"refuse", "hoa-don", "58x150mm", []string{"too small for the certification mark", `mark.small_pages is "refuse"`, "scan it on a larger page"}},
		{"shrink", "ve-xe", "40x60mm", []string{"too small for the certification mark", "would have to be at least 48.", "scan it on a larger page"}},
	} {
		t.Run(c.policy, func(t *testing.T) {
			dir, cfg := smallStation(t, c.policy)
			if c.policy == "refuse" {
				data, err := os.ReadFile(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), `approval: "none"`, `approval: "required"`, 1)), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			input := filepath.Join(dir, c.name+".jpg")
			writeSmall(t, input, c.paper, []string{"", "", "", "", "", "", "Vé xe buýt 7.000"}, [4]float64{})
			out, code := scanstation(t, nil, "process", "--config", cfg, input)
			if code == 0 {
				t.Fatalf("process of a %s original with small_pages %s exits 0:\n%s", c.paper, c.policy, out)
			}
			reason, err := os.ReadFile(filepath.Join(dir, "failed", c.name+".jpg.error.txt"))
			if err != nil {
				t.Fatalf("no reason in failed/: %v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(reason), w) {
					t.Errorf("the reason does not say %q:\n%s", w, reason)
				}
			}
			if got := glob(filepath.Join(dir, "outbox"), "*.pdf"); len(got) != 0 {
				t.Errorf("a refused original reached the outbox: %v", got)
			}
			if got := glob(filepath.Join(dir, "review"), "*"); len(got) != 0 {
				t.Errorf("a copy that cannot be signed waits for the clerk: %v", got)
			}
			t.Logf("%s", reason)
		})
	}
}

// overlaps reports whether two rectangles (xMin, yMin, xMax, yMax) share area.
func overlaps(a, b [4]float64) bool {
	return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}
