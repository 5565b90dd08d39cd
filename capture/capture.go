// Package capture decides how a scanned batch divides into documents and
// accounts for every page of it.
//
// A records office feeds paper in stacks: a morning's mail, a dossier of
// forty letters. Split takes what was found on each scanned side (codes,
// blankness) and the hot-folder's settings, and gives the documents and a
// page account: for every side that went through the scanner, what became of
// it. A document whose separator sheet names a page count it does not have
// is refused with the difference, because a certified copy missing a page is
// the worst thing the station can make.
//
// The package is pure logic: reading codes and measuring ink happen
// elsewhere.
package capture

import (
	"errors"
	"fmt"
	"regexp"

	"scanstation/lang"
)

// Mode is how a hot-folder's batches divide into documents (its separate:
// setting).
type Mode string

const (
	None           Mode = "none"            // one batch, one document
	SeparatorSheet Mode = "separator_sheet" // a sheet printed by `scanstation separator`
	Barcode        Mode = "barcode"         // a page with a code matching Pattern starts a document
	BlankSheet     Mode = "blank_sheet"     // an empty sheet, both sides when duplex
	Every          Mode = "every"           // every N pages
)

// Settings are a hot-folder's capture settings.
type Settings struct {
	Separate Mode
	// Pattern selects the codes that start a document, for Barcode. The
	// page carrying the code is the new document's first page.
	Pattern *regexp.Regexp
	// N is the number of pages of each document, for Every: pages that go
	// into documents, so dropped blank backs do not count.
	N int
	// Duplex says the batch holds both sides of each sheet, front then
	// back.
	Duplex bool
	// DropBlankBacks drops the backs of duplex sheets found blank. Blank
	// fronts, and blank pages of a simplex batch, are always kept: the
	// station never drops a side the paper meant to show.
	DropBlankBacks bool
	// Pages is the page count a sidecar gives (pages: 12) for a batch
	// that is one document; 0 when none is given. It is checked as a
	// separator sheet's is. Only separate: none makes one document of a
	// batch, so elsewhere it is refused: which document would it count?
	Pages int
}

// Check refuses settings that cannot divide a batch.
func (s Settings) Check() error {
	switch s.Separate {
	case None, SeparatorSheet, BlankSheet:
	case "":
		return errors.New("separate: not set (none, separator_sheet, barcode, blank_sheet or every)")
	case Barcode:
		if s.Pattern == nil {
			return errors.New("separate: barcode needs a pattern")
		}
	case Every:
		if s.N < 1 {
			return fmt.Errorf("separate: every %d pages: need 1 or more", s.N)
		}
	default:
		return fmt.Errorf("separate: unknown %q (none, separator_sheet, barcode, blank_sheet or every)", s.Separate)
	}
	if s.Pages < 0 || (s.Pages > 0 && s.Separate != None) {
		return fmt.Errorf("pages: %d: a page count for the whole batch needs separate: none", s.Pages)
	}
	if s.DropBlankBacks && !s.Duplex {
		return errors.New("separate: dropping blank backs needs a duplex batch")
	}
	return nil
}

// Page is what was found on one scanned side.
type Page struct {
	Codes []string // payloads of the barcodes and QR codes read from it
	Blank bool     // the blank-page test found it empty
	Ink   float64  // the ink score the blank test measured
	// Orientation is how OCR turned the side to read it (0, 90, 180, 270 degrees clockwise),
	// and OrientationConfidence how sure it was, 0..1; both go into the account as they are.
	Orientation           int
	OrientationConfidence float64
}

// What became of a scanned page.
type Fate string

const (
	InDocument Fate = "document"      // a page of a document
	BlankKept  Fate = "blank_kept"    // blank, kept as a page of a document
	BlankDrop  Fate = "blank_dropped" // blank back of a duplex sheet, dropped
	Separator  Fate = "separator"     // a side of a separator sheet, in no output
	Unassigned Fate = "unassigned"    // never left by Split: its check that no side is missed
)

// Account is one line of the page account.
type Account struct {
	Page     int     `json:"page"`           // the side's number in the batch, from 1
	Side     string  `json:"side,omitempty"` // "front" or "back" in a duplex batch, else ""
	Fate     Fate    `json:"fate"`
	Document int     `json:"document,omitempty"` // the document it went into (from 1), for InDocument and BlankKept
	DocPage  int     `json:"document_page,omitempty"`
	Ink      float64 `json:"ink"` // the blank test's ink score
	// How OCR turned the side to read it, and how sure it was (0..1); 0 and 0 for a side
	// without words.
	Orientation           int     `json:"orientation"`
	OrientationConfidence float64 `json:"orientation_confidence"`
}

// Document is one document found in the batch.
type Document struct {
	Number int   `json:"number"` // from 1, in batch order
	Pages  []int `json:"pages"`  // the batch's page numbers it holds, in order
	// Expected is the page count its separator sheet gave, 0 when none.
	Expected int `json:"expected_pages,omitempty"`
	// Sheet is what its separator sheet said, nil without one.
	Sheet *Sheet `json:"separator_sheet,omitempty"`
	// SheetPages are the batch's page numbers of its separator sheet.
	SheetPages []int `json:"separator_pages,omitempty"`
	// Refused says why the document must not be certified; "" when it
	// may.
	Refused string `json:"refused,omitempty"`
	// Why is Refused before it was printed, for the station to print in its own language.
	Why lang.Text `json:"-"`
}

// Batch is the result of Split.
type Batch struct {
	Documents []Document `json:"documents"`
	Pages     []Account  `json:"pages"` // one for every scanned side, in batch order
}

// Split divides a batch of scanned sides into documents. Every side ends in
// exactly one line of Batch.Pages. An error means the batch itself cannot be
// divided (settings, or a duplex batch with an odd number of sides); a
// document that is wrong is refused in Document.Refused instead, so the rest
// of the batch still goes on.
func Split(pages []Page, s Settings) (Batch, error) {
	if err := s.Check(); err != nil {
		return Batch{}, err
	}
	if len(pages) == 0 {
		return Batch{}, errors.New("the batch has no pages")
	}
	if s.Duplex && len(pages)%2 != 0 {
		return Batch{}, fmt.Errorf("a duplex batch with %d sides: one sheet lacks its back; scan the batch again", len(pages))
	}
	sp := splitter{s: s, pages: pages, acc: make([]Account, len(pages))}
	for i, p := range pages {
		sp.acc[i] = Account{Page: i + 1, Fate: Unassigned, Ink: p.Ink, Orientation: p.Orientation, OrientationConfidence: p.OrientationConfidence}
		if s.Duplex {
			sp.acc[i].Side = "front"
			if i%2 == 1 {
				sp.acc[i].Side = "back"
			}
		}
	}
	sp.run()
	for _, a := range sp.acc {
		if a.Fate == Unassigned {
			return Batch{}, fmt.Errorf("capture: page %d was left unaccounted (a bug)", a.Page)
		}
	}
	for i := range sp.docs {
		sp.docs[i].Why = refusal(sp.docs[i], sp.acc)
		if sp.docs[i].Why.Format != "" {
			sp.docs[i].Refused = sp.docs[i].Why.String()
		}
	}
	return Batch{Documents: sp.docs, Pages: sp.acc}, nil
}

type splitter struct {
	s     Settings
	pages []Page
	acc   []Account
	docs  []Document
	cur   *Document // the open document; nil before the first page
}

// unit is a sheet in a duplex batch and a page in a simplex one: the
// smallest thing a separator can be.
func (sp *splitter) unit() int {
	if sp.s.Duplex {
		return 2
	}
	return 1
}

func (sp *splitter) run() {
	u := sp.unit()
	for first := 0; first < len(sp.pages); first += u {
		sides := sp.pages[first : first+u]
		switch {
		case sp.s.Separate == SeparatorSheet && sheetCode(sides) != "":
			sp.separator(first, sides, true)
			continue
		case sp.s.Separate == BlankSheet && allBlank(sides):
			sp.separator(first, sides, false)
			continue
		}
		for k := range sides {
			sp.place(first + k)
		}
	}
}

// separator closes the open document and, for a separator sheet, opens the
// next one with what the sheet says.
func (sp *splitter) separator(first int, sides []Page, sheet bool) {
	var nums []int
	for k := range sides {
		sp.acc[first+k].Fate = Separator
		sp.acc[first+k].Ink = sides[k].Ink
		nums = append(nums, first+k+1)
	}
	sp.cur = nil
	if !sheet {
		return
	}
	d := Document{SheetPages: nums}
	parsed, err := ParseSheet(sheetCode(sides))
	if err != nil {
		d.Why = lang.T("the separator sheet on page %d cannot be read: %v", nums[0], err)
		d.Refused = d.Why.String()
	} else {
		d.Sheet = &parsed
		d.Expected = parsed.Pages
	}
	sp.open(d)
}

func (sp *splitter) open(d Document) {
	d.Number = len(sp.docs) + 1
	sp.docs = append(sp.docs, d)
	sp.cur = &sp.docs[len(sp.docs)-1]
}

// place puts page i into a document, or drops it as a blank back.
func (sp *splitter) place(i int) {
	p := sp.pages[i]
	a := &sp.acc[i]
	a.Ink = p.Ink
	if p.Blank && sp.s.DropBlankBacks && a.Side == "back" {
		a.Fate = BlankDrop
		return
	}
	switch sp.s.Separate {
	case Barcode:
		if matches(p.Codes, sp.s.Pattern) || sp.cur == nil {
			sp.open(Document{})
		}
	case Every:
		if sp.cur == nil || len(sp.cur.Pages) >= sp.s.N {
			sp.open(Document{})
		}
	default:
		if sp.cur == nil {
			sp.open(Document{Expected: sp.s.Pages})
		}
	}
	sp.cur.Pages = append(sp.cur.Pages, i+1)
	if sheetCode([]Page{p}) != "" && sp.cur.Refused == "" {
		// A station's separator sheet in a hot-folder that does not
		// separate with them would be certified as a page of the letter.
		sp.cur.Why = lang.T("page %d is a separator sheet, but this hot-folder is set to separate: %s", i+1, string(sp.s.Separate))
		sp.cur.Refused = sp.cur.Why.String()
	}
	a.Document, a.DocPage = sp.cur.Number, len(sp.cur.Pages)
	a.Fate = InDocument
	if p.Blank {
		a.Fate = BlankKept
	}
}

// refusal says why d must not be certified; its Format is "" when it may.
func refusal(d Document, acc []Account) lang.Text {
	if d.Refused != "" {
		return d.Why
	}
	if len(d.Pages) == 0 {
		switch {
		case d.Expected > 0 && len(d.SheetPages) > 0:
			return lang.T("%d pages expected, none scanned after the separator sheet on page %d", d.Expected, d.SheetPages[0])
		case d.Expected > 0:
			return lang.T("%d pages expected, none scanned", d.Expected)
		case len(d.SheetPages) > 0:
			return lang.T("no pages scanned after the separator sheet on page %d", d.SheetPages[0])
		}
		return lang.T("no pages scanned")
	}
	if d.Expected == 0 {
		return lang.Text{}
	}
	// The count a clerk writes on the sheet is of pages with something on
	// them: blank backs, dropped or kept, are not pages of the letter.
	content := 0
	for _, n := range d.Pages {
		if acc[n-1].Fate == InDocument {
			content++
		}
	}
	switch {
	case content < d.Expected:
		return lang.T("%d pages expected, %d scanned: a sheet may have been double-fed", d.Expected, content)
	case content > d.Expected:
		return lang.T("%d pages expected, %d scanned: a sheet may have been fed twice, or a page from another document slipped in", d.Expected, content)
	}
	return lang.Text{}
}

// sheetCode returns the first separator-sheet code on any side of a sheet:
// a sheet fed upside down shows its code on the back.
func sheetCode(sides []Page) string {
	for _, p := range sides {
		for _, c := range p.Codes {
			if IsSheet(c) {
				return c
			}
		}
	}
	return ""
}

func allBlank(sides []Page) bool {
	for _, p := range sides {
		if !p.Blank {
			return false
		}
	}
	return true
}

func matches(codes []string, re *regexp.Regexp) bool {
	for _, c := range codes {
		if re.MatchString(c) {
			return true
		}
	}
	return false
}
