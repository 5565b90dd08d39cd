package revisions

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Level is the permission a change needs. The levels are ordered: a
// certification with DocMDP /P allows every change of level P or lower.
// They match pyHanko's modification levels, so that the two can be compared.
type Level int

const (
	// None: nothing changed.
	None Level = iota
	// Archival changes keep a signature verifiable over time and are allowed
	// even under P=1 (ISO 32000-2 12.8.2.2.2, ETSI EN 319 142-1 5.4): a
	// document security store (/DSS) and document timestamps, and, as
	// pyHanko and EU DSS both accept, an updated XMP metadata stream or
	// document information dictionary, cross-reference and object streams,
	// and new objects nothing uses.
	Archival
	// FormFilling changes are allowed from P=2: signing (new signature
	// fields, visible or not, their widgets on a page's /Annots) and filling
	// in form fields.
	FormFilling
	// Annotating changes are allowed only at P=3: adding, changing or
	// removing annotations other than form widgets.
	Annotating
	// Forbidden changes are allowed by no certification: content, resources,
	// the page tree, appearance streams rewritten in place, catalog entries.
	Forbidden
)

func (l Level) String() string {
	switch l {
	case None:
		return "none"
	case Archival:
		return "archival"
	case FormFilling:
		return "form filling"
	case Annotating:
		return "annotating"
	}
	return "forbidden"
}

// Change is one object a later revision added, changed or freed, and the
// judgement on it.
type Change struct {
	Revision int    // index (from 0) of the revision that made the change
	Object   string // "N G"
	// Kind says what the object is: "content stream", "page", "page tree",
	// "resources", "annotation", "annotation appearance", "catalog",
	// "signature", "document timestamp", "signature field", "DSS"...
	Kind string
	Page int // the page it is on or belongs to, from 1; 0 when none
	// Level is the permission the change needs; Allowed says whether the
	// certification gives it (and no field lock forbids it).
	Level   Level
	Allowed bool
	Why     string
}

func (c Change) String() string {
	s := fmt.Sprintf("revision %d: object %s (%s", c.Revision+1, c.Object, c.Kind)
	if c.Page > 0 {
		s += fmt.Sprintf(", page %d", c.Page)
	}
	verdict := "allowed"
	if !c.Allowed {
		verdict = "NOT allowed"
	}
	return s + fmt.Sprintf("): %s, %s", c.Why, verdict)
}

// Violations returns the changes that are not allowed.
func Violations(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if !c.Allowed {
			out = append(out, c)
		}
	}
	return out
}

// MaxLevel is the highest level among the changes: None when there are none.
// It is what pyHanko calls the modification level.
func MaxLevel(changes []Change) Level {
	l := None
	for _, c := range changes {
		l = max(l, c.Level)
	}
	return l
}

// FieldLock is a FieldMDP lock (ISO 32000-1 table 255 and 233): which form
// fields a signature forbids filling in after it.
type FieldLock struct {
	Action string   // "All", "Include" or "Exclude"
	Fields []string // fully qualified names, for Include and Exclude
}

// Locks says whether the lock covers the named field.
func (l FieldLock) Locks(field string) bool {
	switch l.Action {
	case "All":
		return true
	case "Include":
		return slices.Contains(l.Fields, field)
	case "Exclude":
		return !slices.Contains(l.Fields, field)
	}
	return false
}

// lockOf reads a FieldMDP transform parameters or /Lock dictionary.
func lockOf(x *model.XRefTable, o types.Object) *FieldLock {
	d, _ := x.DereferenceDict(o)
	if d == nil {
		return nil
	}
	a, ok := d["Action"].(types.Name)
	if !ok {
		return nil
	}
	l := &FieldLock{Action: string(a)}
	fields, _ := x.DereferenceArray(d["Fields"])
	for _, f := range fields {
		if s, err := x.DereferenceText(f); err == nil {
			l.Fields = append(l.Fields, s)
		}
	}
	return l
}

// CheckModifications judges every revision after the one ending at
// signedEnd (a signature's byte range end) against what a certification
// with DocMDP permission p (1, 2 or 3) allows, with the signature's field
// locks. Each later revision is compared object by object with the signed
// one, so that a change a further revision hides again is still seen; each
// change is reported once, in the revision that made it. Bytes after the
// last revision are a forbidden change of their own.
//
// An approval signature (no DocMDP) can be checked with p=3: the standard
// gives it no permission level, and like pyHanko's default this accepts
// anything short of a forbidden change.
func CheckModifications(pdf []byte, signedEnd int64, p int, locks ...FieldLock) ([]Change, error) {
	if p < 1 || p > 3 {
		return nil, fmt.Errorf("DocMDP permission %d is not 1, 2 or 3", p)
	}
	revs, err := Revisions(pdf)
	if err != nil {
		return nil, err
	}
	signed := -1
	for i, r := range revs {
		if r.End == signedEnd || r.EOF == signedEnd {
			signed = i
		}
	}
	if signed < 0 {
		return nil, fmt.Errorf("no revision ends at offset %d, where the signature's byte range ends", signedEnd)
	}
	base, err := read(pdf[:revs[signed].End])
	if err != nil {
		return nil, fmt.Errorf("revision %d, the signed one: %w", signed+1, err)
	}
	var changes []Change
	prev := base
	for i := signed + 1; i < len(revs); i++ {
		cur, err := read(pdf[:revs[i].End])
		if err != nil {
			return nil, fmt.Errorf("revision %d: %w", i+1, err)
		}
		a := newAnalysis(base, cur, p, locks)
		a.run()
		changes = append(changes, a.changes(i, prev)...)
		prev = cur
	}
	last := revs[len(revs)-1].End
	if rest := pdf[last:]; len(bytes.TrimLeft(rest, "\x00\t\n\f\r ")) > 0 {
		changes = append(changes, Change{
			Revision: len(revs) - 1, Object: fmt.Sprintf("bytes %d-%d", last, len(pdf)), Kind: "trailing bytes",
			Level: Forbidden, Why: fmt.Sprintf("%d bytes follow the last %%%%EOF and belong to no revision", len(rest)),
		})
	}
	return changes, nil
}

// verdict is the judgement on one object while a revision is analysed.
type verdict struct {
	level     Level
	kind      string
	page      int
	why       string
	violation bool
}

// analysis compares one later revision (cur) with the signed one (old).
type analysis struct {
	old, cur *model.XRefTable
	perm     int
	locks    []FieldLock

	changed  map[int]bool // objects added or different in cur
	added    map[int]bool // objects cur has and old has not
	freed    []int        // objects old has and cur has not
	verdicts map[int]*verdict
	roles    map[int]role // what each object is, for naming unexplained ones

	sigWidgets map[int]Level // widgets of signature fields this revision may bind to pages
}

type role struct {
	kind string
	page int
}

func newAnalysis(old, cur *model.XRefTable, perm int, locks []FieldLock) *analysis {
	a := &analysis{
		old: old, cur: cur, perm: perm, locks: locks,
		changed: map[int]bool{}, added: map[int]bool{}, verdicts: map[int]*verdict{},
		roles: map[int]role{}, sigWidgets: map[int]Level{},
	}
	for n := range cur.Table {
		o, ok := object(cur, n)
		if !ok || n == 0 {
			continue
		}
		was, had := object(old, n)
		switch {
		case !had:
			a.added[n], a.changed[n] = true, true
		case !equal(was, o):
			a.changed[n] = true
		}
	}
	for n := range old.Table {
		if _, had := object(old, n); had && n != 0 {
			if _, ok := object(cur, n); !ok {
				a.freed = append(a.freed, n)
			}
		}
	}
	return a
}

// object returns the object numbered n, false when it is free or missing.
func object(x *model.XRefTable, n int) (types.Object, bool) {
	e, ok := x.Table[n]
	if !ok || e == nil || e.Free || e.Object == nil {
		return nil, false
	}
	return e.Object, true
}

// explain records that object n is a change of the given level. A violation
// recorded for it stays; of two explanations the more demanding one holds.
func (a *analysis) explain(n int, level Level, kind string, page int, why string) {
	if !a.changed[n] {
		return
	}
	v := a.verdicts[n]
	if v == nil {
		a.verdicts[n] = &verdict{level: level, kind: kind, page: page, why: why}
		return
	}
	if !v.violation && level > v.level {
		*v = verdict{level: level, kind: kind, page: page, why: why}
	}
}

// violate records that the change to object n is forbidden.
func (a *analysis) violate(n int, kind string, page int, why string) {
	v := a.verdicts[n]
	if v != nil && v.violation {
		if !strings.Contains(v.why, why) {
			v.why += "; " + why
		}
		return
	}
	a.verdicts[n] = &verdict{level: Forbidden, kind: kind, page: page, why: why, violation: true}
}

// explainNew explains the objects new in cur that o leads to, through new
// objects only: an existing object o refers to must be explained on its own.
func (a *analysis) explainNew(o types.Object, level Level, kind string, page int, why string) {
	seen := map[int]bool{}
	var walk func(o types.Object, depth int)
	walk = func(o types.Object, depth int) {
		if depth > 64 {
			return
		}
		switch v := o.(type) {
		case types.IndirectRef:
			n := v.ObjectNumber.Value()
			if !a.added[n] || seen[n] {
				return
			}
			seen[n] = true
			a.explain(n, level, kind, page, why)
			next, _ := object(a.cur, n)
			walk(next, depth+1)
		case types.Dict:
			for _, e := range v {
				walk(e, depth+1)
			}
		case types.StreamDict:
			walk(v.Dict, depth+1)
		case types.Array:
			for _, e := range v {
				walk(e, depth+1)
			}
		}
	}
	walk(o, 0)
}

func refNumber(o types.Object) (int, bool) {
	r, ok := o.(types.IndirectRef)
	if !ok {
		return 0, false
	}
	return r.ObjectNumber.Value(), true
}

func (a *analysis) run() {
	a.nameObjects(a.cur)
	a.nameObjects(a.old)
	oldCat, _ := a.old.Catalog()
	cat, err := a.cur.Catalog()
	catNum := a.cur.Root.ObjectNumber.Value()
	if err != nil || cat == nil {
		a.violate(catNum, "catalog", 0, "the document catalog cannot be read")
		return
	}
	a.catalog(catNum, oldCat, cat)
	a.form(catNum, oldCat, cat)
	a.pages(oldCat, cat)
	a.dss(catNum, oldCat, cat)
	a.metadata(catNum, oldCat, cat)
	a.info()
	a.streamsAndOrphans()
}

// catalog allows the catalog to change only in /AcroForm, /DSS, /Metadata
// (each judged by its own rule), /Extensions and /Version: the keys both
// pyHanko and EU DSS let an update change. /Perms, which names the
// certification, must stay as signed.
func (a *analysis) catalog(catNum int, old, cur types.Dict) {
	if !a.changed[catNum] {
		return
	}
	judged := map[string]bool{"AcroForm": true, "DSS": true, "Metadata": true, "Extensions": true, "Version": true}
	bad := false
	for _, k := range unionKeys(old, cur) {
		if judged[k] || equal(old[k], cur[k]) {
			continue
		}
		bad = true
		a.violate(catNum, catalogKind(k), 0, fmt.Sprintf("the document catalog's /%s changed", k))
	}
	if !bad {
		a.explain(catNum, Archival, "catalog", 0, "the catalog changed only in entries judged on their own (/AcroForm, /DSS, /Metadata, /Extensions, /Version)")
	}
	// /Extensions and /Version are small declarations, allowed with their
	// new objects.
	for _, k := range []string{"Extensions", "Version"} {
		if !equal(old[k], cur[k]) {
			if n, ok := refNumber(cur[k]); ok && !a.added[n] && a.changed[n] {
				a.explain(n, Archival, "catalog", 0, "the catalog's /"+k+" changed")
			}
			a.explainNew(cur[k], Archival, "catalog", 0, "the catalog's /"+k+" changed")
		}
	}
}

func catalogKind(key string) string {
	switch key {
	case "Pages":
		return "page tree"
	case "Perms":
		return "permissions"
	case "Names":
		return "name tree"
	case "Outlines":
		return "outlines"
	case "OpenAction", "AA":
		return "document actions"
	case "StructTreeRoot":
		return "structure tree"
	case "OutputIntents":
		return "output intents"
	}
	return "catalog"
}

func unionKeys(a, b types.Dict) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return slices.Sorted(maps.Keys(keys))
}

// dict dereferences o in x; nil when it is not a dictionary (or a stream's).
func dict(x *model.XRefTable, o types.Object) types.Dict {
	o, err := x.Dereference(o)
	if err != nil {
		return nil
	}
	switch v := o.(type) {
	case types.Dict:
		return v
	case types.StreamDict:
		return v.Dict
	}
	return nil
}

func array(x *model.XRefTable, o types.Object) types.Array {
	o, err := x.Dereference(o)
	if err != nil {
		return nil
	}
	arr, _ := o.(types.Array)
	return arr
}

// holder is the object a direct value lives in: the value's own object when
// it is indirect, else the container's.
func holder(o types.Object, container int) int {
	if n, ok := refNumber(o); ok {
		return n
	}
	return container
}

// valueKeys are what filling in a field may change in its dictionary (the
// keys pyHanko lets change: value, appearance and its state, flags, default
// appearance, quadding).
var valueKeys = map[string]bool{"V": true, "AP": true, "AS": true, "F": true, "DA": true, "Q": true, "Ff": true, "Type": true}

// form judges the interactive form: its dictionary may change in /Fields,
// /SigFlags, /DR and /DA; fields may gain signature fields and values, none
// may go, and no field a lock covers may change.
func (a *analysis) form(catNum int, oldCat, cat types.Dict) {
	oldForm, form := dict(a.old, oldCat["AcroForm"]), dict(a.cur, cat["AcroForm"])
	formNum := holder(cat["AcroForm"], catNum)
	if form == nil {
		if oldForm != nil {
			a.violate(catNum, "form", 0, "the interactive form (/AcroForm) was removed")
		}
		return
	}
	if oldForm == nil {
		oldForm = types.Dict{}
	}
	free := map[string]bool{"Fields": true, "SigFlags": true, "DR": true, "DA": true}
	formOK := true
	for _, k := range unionKeys(oldForm, form) {
		if !free[k] && !equal(oldForm[k], form[k]) {
			formOK = false
			a.violate(formNum, "form", 0, fmt.Sprintf("the form's /%s changed", k))
		}
	}
	if n, ok := refNumber(cat["AcroForm"]); ok && formOK && a.changed[n] {
		a.explain(n, Archival, "form", 0, "the form changed only in /Fields, /SigFlags, /DR or /DA")
	}
	if n, ok := refNumber(form["Fields"]); ok && a.changed[n] && !a.added[n] {
		a.explain(n, Archival, "form", 0, "the form's field list changed")
	}
	if !equal(oldForm["DR"], form["DR"]) {
		if n, ok := refNumber(form["DR"]); ok && !a.added[n] {
			a.violate(n, "resources", 0, "the form's default resources were changed in place")
		}
		a.explainNew(form["DR"], FormFilling, "resources", 0, "the form's default resources grew")
	}

	oldFields := map[int]formField{}
	for _, f := range formFields(a.old) {
		oldFields[f.ref.ObjectNumber.Value()] = f
	}
	curFields := map[int]formField{}
	for _, f := range formFields(a.cur) {
		curFields[f.ref.ObjectNumber.Value()] = f
	}
	for n, f := range oldFields {
		if _, ok := curFields[n]; !ok {
			a.violate(formNum, "form", 0, fmt.Sprintf("form field %q was removed", f.name))
		}
	}
	for n, f := range curFields {
		if old, ok := oldFields[n]; ok {
			a.changedField(n, old, f)
		} else {
			a.newField(n, f)
		}
	}
	// What is left new under the form is its own structure: after the
	// fields, so that they keep their more precise explanation.
	if len(oldForm) == 0 {
		a.explainNew(cat["AcroForm"], Archival, "form", 0, "the form was added")
	}
	a.explainNew(form["Fields"], Archival, "form", 0, "the form's field list changed")
}

func (a *analysis) locked(field string) bool {
	for _, l := range a.locks {
		if l.Locks(field) {
			return true
		}
	}
	return false
}

// widgets returns a field's widget annotations: the field itself when it
// has no kids, else its kids without /T.
func widgets(x *model.XRefTable, n int, d types.Dict) []int {
	kids := array(x, d["Kids"])
	if kids == nil {
		return []int{n}
	}
	var out []int
	for _, k := range kids {
		if kn, ok := refNumber(k); ok {
			if kd := dict(x, k); kd != nil && kd["T"] == nil {
				out = append(out, kn)
			}
		}
	}
	return out
}

// visible says whether any widget of a field has an area on the page.
func (a *analysis) visible(n int, d types.Dict) bool {
	for _, w := range widgets(a.cur, n, d) {
		wd := dict(a.cur, types.IndirectRef{ObjectNumber: types.Integer(w)})
		rect := array(a.cur, wd["Rect"])
		if len(rect) != 4 {
			continue
		}
		var v [4]float64
		for i, o := range rect {
			v[i], _ = a.cur.DereferenceNumber(o)
		}
		if (v[2]-v[0])*(v[3]-v[1]) != 0 {
			return true
		}
	}
	return false
}

// newField judges a field the revision added: only signature fields may be.
func (a *analysis) newField(n int, f formField) {
	if !f.terminal {
		if f.ft == "Sig" {
			a.explain(n, FormFilling, "signature field", 0, fmt.Sprintf("signature field %q was added", f.name))
		} else {
			a.violate(n, "form field", 0, fmt.Sprintf("form field %q was added; only signature fields may be", f.name))
		}
		return
	}
	if f.ft != "Sig" {
		a.violate(n, "form field", 0, fmt.Sprintf("form field %q was added; only signature fields may be", f.name))
		return
	}
	visible := a.visible(n, f.dict)
	level, how := Archival, "an invisible"
	if visible {
		level, how = FormFilling, "a visible"
	}
	if visible && a.locked(f.name) {
		a.violate(n, "signature field", 0, fmt.Sprintf("%s signature field %q was added, but the fields are locked", how, f.name))
		return
	}
	why := fmt.Sprintf("%s signature field %q was added", how, f.name)
	a.explain(n, level, "signature field", 0, why)
	for _, w := range widgets(a.cur, n, f.dict) {
		a.sigWidgets[w] = level
		a.explain(w, level, "signature widget", 0, why)
		wd := dict(a.cur, types.IndirectRef{ObjectNumber: types.Integer(w)})
		a.explainNew(wd["AP"], FormFilling, "signature appearance", 0, why)
	}
	for _, k := range []string{"AP", "Lock", "SV"} {
		a.explainNew(f.dict[k], FormFilling, "signature field", 0, why)
	}
	a.explainNew(f.dict["Kids"], level, "signature field", 0, why)
	if f.dict["V"] != nil {
		a.signatureValue(n, f, visible)
	}
}

// changedField judges a field that existed when the document was signed.
func (a *analysis) changedField(n int, old, f formField) {
	if f.ft != old.ft {
		a.violate(n, "form field", 0, fmt.Sprintf("form field %q changed its type", f.name))
		return
	}
	// A field's widgets that are objects of their own change like it.
	for _, w := range widgets(a.cur, n, f.dict) {
		if w != n && a.changed[w] && !a.added[w] {
			a.changedWidget(w, f)
		}
	}
	if !a.changed[n] {
		return
	}
	for _, k := range unionKeys(old.dict, f.dict) {
		if !valueKeys[k] && !equal(old.dict[k], f.dict[k]) {
			a.violate(n, "form field", 0, fmt.Sprintf("form field %q changed its /%s", f.name, k))
		}
	}
	if f.ft == "Sig" {
		if old.dict["V"] != nil {
			a.violate(n, "signature field", 0, fmt.Sprintf("signature field %q was already signed and changed", f.name))
			return
		}
		if f.dict["V"] == nil {
			a.explain(n, FormFilling, "signature field", 0, fmt.Sprintf("unsigned signature field %q changed its appearance", f.name))
			a.explainNew(f.dict["AP"], FormFilling, "signature appearance", 0, "")
			return
		}
		if a.locked(f.name) {
			a.violate(n, "signature field", 0, fmt.Sprintf("signature field %q is locked, and it was signed", f.name))
			return
		}
		a.signatureValue(n, f, a.visible(n, f.dict))
		return
	}
	if a.locked(f.name) {
		a.violate(n, "form field", 0, fmt.Sprintf("form field %q is locked, and it was filled in", f.name))
		return
	}
	why := fmt.Sprintf("form field %q was filled in", f.name)
	a.explain(n, FormFilling, "form field", 0, why)
	a.explainNew(f.dict["V"], FormFilling, "form field", 0, why)
	a.explainNew(f.dict["AP"], FormFilling, "form field appearance", 0, why)
}

// changedWidget judges an existing widget object of field f.
func (a *analysis) changedWidget(w int, f formField) {
	oldW := dict(a.old, types.IndirectRef{ObjectNumber: types.Integer(w)})
	curW := dict(a.cur, types.IndirectRef{ObjectNumber: types.Integer(w)})
	for _, k := range unionKeys(oldW, curW) {
		if !valueKeys[k] && !equal(oldW[k], curW[k]) {
			a.violate(w, "widget", 0, fmt.Sprintf("a widget of field %q changed its /%s", f.name, k))
		}
	}
	if a.locked(f.name) {
		a.violate(w, "widget", 0, fmt.Sprintf("field %q is locked, and its widget changed", f.name))
		return
	}
	why := fmt.Sprintf("the appearance of field %q changed", f.name)
	a.explain(w, FormFilling, "widget", 0, why)
	a.explainNew(curW["AP"], FormFilling, "form field appearance", 0, why)
}

// signatureValue judges the /V a signature field gained: a new signature
// dictionary, or a document timestamp (which, invisible, is archival).
func (a *analysis) signatureValue(field int, f formField, visible bool) {
	n, ok := refNumber(f.dict["V"])
	if !ok || !a.added[n] {
		a.violate(field, "signature field", 0, fmt.Sprintf("the value of signature field %q is not a new signature dictionary", f.name))
		return
	}
	sig := dict(a.cur, f.dict["V"])
	if sig == nil {
		a.violate(n, "signature", 0, fmt.Sprintf("the value of signature field %q is not a dictionary", f.name))
		return
	}
	typ, _ := sig["Type"].(types.Name)
	sub, _ := sig["SubFilter"].(types.Name)
	kind, level := "signature", FormFilling
	why := fmt.Sprintf("field %q was signed", f.name)
	switch {
	case typ == "DocTimeStamp" && sub == "ETSI.RFC3161" && !visible:
		kind, level, why = "document timestamp", Archival, fmt.Sprintf("a document timestamp was added in field %q", f.name)
	case typ == "DocTimeStamp":
		kind, why = "document timestamp", fmt.Sprintf("a document timestamp (visible, or not ETSI.RFC3161) was added in field %q", f.name)
	case typ != "" && typ != "Sig":
		a.violate(n, "signature", 0, fmt.Sprintf("the value of signature field %q has /Type /%s", f.name, typ))
		return
	}
	a.explain(n, level, kind, 0, why)
	a.explain(field, level, "signature field", 0, why)
	a.explainNew(sig, level, kind, 0, why)
}

// pages walks the signed page tree and the current one side by side. The
// tree must keep its shape and every page must stay as signed, except that
// a page's /Annots may gain signature widgets (archival or form filling)
// and, at P=3, annotations.
func (a *analysis) pages(oldCat, cat types.Dict) {
	oldRoot, ok1 := oldCat["Pages"].(types.IndirectRef)
	root, ok2 := cat["Pages"].(types.IndirectRef)
	if !ok1 || !ok2 || oldRoot.ObjectNumber != root.ObjectNumber {
		return // the catalog rule has reported /Pages
	}
	page := 0
	var walk func(n int, depth int)
	walk = func(n int, depth int) {
		if depth > 64 {
			return
		}
		ref := types.IndirectRef{ObjectNumber: types.Integer(n)}
		oldNode, node := dict(a.old, ref), dict(a.cur, ref)
		if oldNode == nil || node == nil {
			return
		}
		if t, _ := oldNode["Type"].(types.Name); t == "Page" {
			page++
			a.page(n, page, oldNode, node)
			return
		}
		if a.changed[n] {
			for _, k := range unionKeys(oldNode, node) {
				if equal(oldNode[k], node[k]) {
					continue
				}
				why := fmt.Sprintf("the page tree node's /%s changed", k)
				if k == "Kids" || k == "Count" {
					why = "pages were added, removed or reordered"
				}
				a.violate(n, "page tree", page+1, why)
			}
		}
		oldKids, kids := array(a.old, oldNode["Kids"]), array(a.cur, node["Kids"])
		if n, ok := refNumber(node["Kids"]); ok && a.changed[n] {
			a.violate(n, "page tree", page+1, "pages were added, removed or reordered")
		}
		if !equal(oldKids, kids) {
			return
		}
		for _, k := range kids {
			if kn, ok := refNumber(k); ok {
				walk(kn, depth+1)
			}
		}
	}
	walk(root.ObjectNumber.Value(), 0)
}

func pageKind(key string) string {
	switch key {
	case "Contents":
		return "content stream"
	case "Resources":
		return "resources"
	}
	return "page"
}

// page judges one page object (n, page number p) and its annotations.
func (a *analysis) page(n, p int, old, cur types.Dict) {
	annotsNum, annotsIndirect := refNumber(cur["Annots"])
	if !a.changed[n] && !(annotsIndirect && a.changed[annotsNum]) {
		a.changedAnnotations(p, old, cur)
		return
	}
	pageOK := true
	for _, k := range unionKeys(old, cur) {
		if k == "Annots" || equal(old[k], cur[k]) {
			continue
		}
		pageOK = false
		a.violate(n, pageKind(k), p, fmt.Sprintf("page %d's /%s changed", p, k))
	}
	level := None
	oldAnnots, annots := array(a.old, old["Annots"]), array(a.cur, cur["Annots"])
	had := map[int]bool{}
	for _, o := range oldAnnots {
		if an, ok := refNumber(o); ok {
			had[an] = true
		}
	}
	has := map[int]bool{}
	for _, o := range annots {
		an, ok := refNumber(o)
		if !ok {
			if !slices.ContainsFunc(oldAnnots, func(e types.Object) bool { return equal(e, o) }) {
				pageOK = false
				a.violate(n, "annotation", p, fmt.Sprintf("page %d gained an annotation that is not an object of its own", p))
			}
			continue
		}
		has[an] = true
		if had[an] {
			continue
		}
		ad := dict(a.cur, o)
		sub, _ := ad["Subtype"].(types.Name)
		switch {
		case sub == "Widget":
			l, ok := a.sigWidgets[an]
			if !ok {
				pageOK = false
				a.violate(n, "annotation", p, fmt.Sprintf("page %d gained widget %d, which belongs to no new signature field", p, an))
				continue
			}
			level = max(level, min(l, Archival))
		default:
			level = max(level, Annotating)
			why := fmt.Sprintf("a /%s annotation was added to page %d", sub, p)
			a.explain(an, Annotating, "annotation", p, why)
			a.explainNew(ad, Annotating, "annotation", p, why)
		}
	}
	for an := range had {
		if has[an] {
			continue
		}
		od := dict(a.old, types.IndirectRef{ObjectNumber: types.Integer(an)})
		if sub, _ := od["Subtype"].(types.Name); sub == "Widget" {
			pageOK = false
			a.violate(n, "annotation", p, fmt.Sprintf("widget %d was removed from page %d", an, p))
			continue
		}
		level = max(level, Annotating)
	}
	a.changedAnnotations(p, old, cur)
	if !pageOK {
		return
	}
	why := fmt.Sprintf("page %d's annotations changed", p)
	if level == Archival {
		why = fmt.Sprintf("page %d gained signature widgets", p)
	}
	a.explain(n, max(level, Archival), "page", p, why)
	if annotsIndirect {
		a.explain(annotsNum, max(level, Archival), "annotations", p, why)
	}
}

// changedAnnotations judges existing non-widget annotations of a page that
// the revision changed: allowed at P=3, with new appearance streams only.
func (a *analysis) changedAnnotations(p int, old, cur types.Dict) {
	oldAnnots := array(a.old, old["Annots"])
	for _, o := range array(a.cur, cur["Annots"]) {
		an, ok := refNumber(o)
		if !ok || !a.changed[an] || a.added[an] || !slices.ContainsFunc(oldAnnots, func(e types.Object) bool { return equal(e, o) }) {
			continue
		}
		ad := dict(a.cur, o)
		if sub, _ := ad["Subtype"].(types.Name); sub == "Widget" {
			continue // the form rule judges widgets
		}
		why := fmt.Sprintf("an annotation on page %d changed", p)
		a.explain(an, Annotating, "annotation", p, why)
		a.explainNew(ad, Annotating, "annotation appearance", p, why)
	}
}

var vriKey = regexp.MustCompile(`^[0-9A-F]{40}$`)

// dss judges the document security store (ETSI EN 319 142-1 5.4.2): it may
// be added or grow with certificates, OCSP responses, CRLs and VRI entries,
// as new objects; signed entries must stay.
func (a *analysis) dss(catNum int, oldCat, cat types.Dict) {
	oldDSS, cur := dict(a.old, oldCat["DSS"]), dict(a.cur, cat["DSS"])
	if cur == nil {
		if oldDSS != nil {
			a.violate(catNum, "DSS", 0, "the document security store was removed")
		}
		return
	}
	if oldDSS == nil {
		oldDSS = types.Dict{}
	}
	dssNum := holder(cat["DSS"], catNum)
	ok := true
	bad := func(n int, why string) {
		ok = false
		a.violate(n, "DSS", 0, why)
	}
	streams := func(container int, o types.Object, what string) {
		if n, isRef := refNumber(o); isRef {
			container = n
			if a.changed[n] && !a.added[n] {
				a.explain(n, Archival, "DSS", 0, "the document security store's "+what+" grew")
			}
		}
		arr := array(a.cur, o)
		if arr == nil {
			bad(container, fmt.Sprintf("the document security store's %s is not an array", what))
			return
		}
		for _, e := range arr {
			n, isRef := refNumber(e)
			if !isRef {
				bad(container, fmt.Sprintf("the document security store's %s holds a direct object, not a stream", what))
				continue
			}
			if _, isStream := types.Object(mustDeref(a.cur, e)).(types.StreamDict); !isStream {
				bad(n, fmt.Sprintf("the document security store's %s holds object %d, which is not a stream", what, n))
				continue
			}
			a.explainNew(e, Archival, "DSS", 0, "validation data ("+what+") was added to the document security store")
		}
	}
	for _, k := range unionKeys(oldDSS, cur) {
		switch k {
		case "Type":
			if !equal(oldDSS[k], cur[k]) && cur[k] != types.Name("DSS") {
				bad(dssNum, "the document security store's /Type is not /DSS")
			}
		case "Certs", "OCSPs", "CRLs":
			if cur[k] == nil {
				bad(dssNum, fmt.Sprintf("the document security store's /%s was removed", k))
			} else if !equal(oldDSS[k], cur[k]) || a.changedRef(cur[k]) {
				streams(dssNum, cur[k], "/"+k)
			}
		case "VRI":
			a.vri(dssNum, oldDSS[k], cur[k], streams, bad)
		default:
			bad(dssNum, fmt.Sprintf("the document security store has an unexpected /%s", k))
		}
	}
	if ok {
		a.explain(dssNum, Archival, "DSS", 0, "validation data was added to the document security store")
	}
}

func (a *analysis) changedRef(o types.Object) bool {
	n, ok := refNumber(o)
	return ok && a.changed[n]
}

func mustDeref(x *model.XRefTable, o types.Object) types.Object {
	d, _ := x.Dereference(o)
	return d
}

// vri judges /VRI: signed entries stay as they were, new ones are keyed by
// an upper-case hex SHA-1 and hold validation data streams.
func (a *analysis) vri(dssNum int, oldO, curO types.Object, streams func(int, types.Object, string), bad func(int, string)) {
	if curO == nil {
		if oldO != nil {
			bad(dssNum, "the document security store's /VRI was removed")
		}
		return
	}
	container := holder(curO, dssNum)
	cur := dict(a.cur, curO)
	if cur == nil {
		bad(container, "the document security store's /VRI is not a dictionary")
		return
	}
	old := dict(a.old, oldO)
	if n, ok := refNumber(curO); ok && a.changed[n] && !a.added[n] {
		a.explain(n, Archival, "DSS", 0, "the document security store's /VRI grew")
	}
	a.explain(container, Archival, "DSS", 0, "the document security store's /VRI grew")
	for k, v := range old {
		if !equal(v, cur[k]) {
			bad(container, fmt.Sprintf("the signed VRI entry %s was changed or removed", k))
		}
	}
	for k, v := range cur {
		if _, had := old[k]; had {
			continue
		}
		entry := container
		if n, ok := refNumber(v); ok {
			entry = n
			if !a.added[n] {
				bad(container, fmt.Sprintf("the new VRI entry %s reuses an existing object", k))
				continue
			}
			a.explain(n, Archival, "DSS", 0, "a VRI entry was added to the document security store")
		}
		if !vriKey.MatchString(k) {
			bad(entry, fmt.Sprintf("the VRI key %s is not an upper-case hex SHA-1", k))
		}
		d := dict(a.cur, v)
		if d == nil {
			bad(entry, fmt.Sprintf("the VRI entry %s is not a dictionary", k))
			continue
		}
		for ek, ev := range d {
			switch ek {
			case "Type", "TU":
			case "Cert", "CRL", "OCSP":
				streams(entry, ev, "VRI /"+ek)
			case "TS":
				a.explainNew(ev, Archival, "DSS", 0, "a VRI entry's timestamp was added")
			default:
				bad(entry, fmt.Sprintf("the VRI entry %s has an unexpected /%s", k, ek))
			}
		}
	}
}

// metadata allows the XMP metadata stream to be replaced by well-formed XMP,
// as pyHanko (MetadataUpdateRule) and EU DSS (an "extension" change) do; it
// may not go, and must not declare XML entities.
func (a *analysis) metadata(catNum int, oldCat, cat types.Dict) {
	if equal(oldCat["Metadata"], cat["Metadata"]) && !a.changedRef(cat["Metadata"]) {
		return
	}
	if cat["Metadata"] == nil {
		a.violate(catNum, "XMP metadata", 0, "the XMP metadata was removed")
		return
	}
	n, ok := refNumber(cat["Metadata"])
	if !ok {
		a.violate(catNum, "XMP metadata", 0, "the catalog's /Metadata is not a stream object")
		return
	}
	sd, isStream := mustDeref(a.cur, cat["Metadata"]).(types.StreamDict)
	if !isStream {
		a.violate(n, "XMP metadata", 0, "the catalog's /Metadata is not a stream")
		return
	}
	if err := checkXMP(&sd); err != nil {
		a.violate(n, "XMP metadata", 0, fmt.Sprintf("the new XMP metadata is not accepted: %v", err))
		return
	}
	a.explain(n, Archival, "XMP metadata", 0, "the XMP metadata was updated with well-formed XMP")
	a.explainNew(sd.Dict, Archival, "XMP metadata", 0, "the XMP metadata was updated")
}

// checkXMP says whether a metadata stream is well-formed XML without a
// document type (so without entities) and rooted in x:xmpmeta.
func checkXMP(sd *types.StreamDict) error {
	if err := sd.Decode(); err != nil {
		return fmt.Errorf("its stream cannot be decoded: %w", err)
	}
	dec := xml.NewDecoder(bytes.NewReader(sd.Content))
	dec.Strict = true
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("it is not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("it has a document type declaration")
		case xml.StartElement:
			if root == "" {
				root = t.Name.Space + " " + t.Name.Local
			}
		}
	}
	if root != "adobe:ns:meta/ xmpmeta" {
		return fmt.Errorf("its root element is not x:xmpmeta but %q", strings.TrimSpace(root))
	}
	return nil
}

// info allows the trailer's document information dictionary to change, as
// pyHanko (DocInfoRule) does; it is not part of what a reader shows.
func (a *analysis) info() {
	if a.cur.Info == nil {
		return
	}
	n := a.cur.Info.ObjectNumber.Value()
	if !a.changed[n] {
		return
	}
	if _, isStream := mustDeref(a.cur, *a.cur.Info).(types.StreamDict); isStream {
		a.violate(n, "document information", 0, "the document information is a stream")
		return
	}
	a.explain(n, Archival, "document information", 0, "the document information dictionary was updated")
	a.explainNew(mustDeref(a.cur, *a.cur.Info), Archival, "document information", 0, "the document information dictionary was updated")
}

// streamsAndOrphans allows new cross-reference and object streams (the
// objects inside are judged one by one), and new objects that nothing in
// the document uses: they cannot change what it shows.
func (a *analysis) streamsAndOrphans() {
	reach := map[int]bool{}
	var walk func(o types.Object, depth int)
	walk = func(o types.Object, depth int) {
		if depth > 256 {
			return
		}
		switch v := o.(type) {
		case types.IndirectRef:
			n := v.ObjectNumber.Value()
			if reach[n] {
				return
			}
			reach[n] = true
			next, _ := object(a.cur, n)
			walk(next, depth+1)
		case types.Dict:
			for _, e := range v {
				walk(e, depth+1)
			}
		case types.StreamDict:
			walk(v.Dict, depth+1)
		case types.Array:
			for _, e := range v {
				walk(e, depth+1)
			}
		}
	}
	walk(*a.cur.Root, 0)
	if a.cur.Info != nil {
		walk(*a.cur.Info, 0)
	}
	for n := range a.added {
		o, _ := object(a.cur, n)
		switch t := typeOf(o); {
		case t == "XRef":
			a.explain(n, Archival, "cross-reference stream", 0, "a cross-reference stream was added")
		case t == "ObjStm":
			a.explain(n, Archival, "object stream", 0, "an object stream was added")
		case !reach[n]:
			a.explain(n, Archival, "unused object", 0, "an object nothing in the document uses was added")
		}
	}
}

func typeOf(o types.Object) string {
	var d types.Dict
	switch v := o.(type) {
	case types.Dict:
		d = v
	case types.StreamDict:
		d = v.Dict
	case types.ObjectStreamDict:
		d = v.Dict
	case types.XRefStreamDict:
		d = v.Dict
	default:
		return ""
	}
	t, _ := d["Type"].(types.Name)
	return string(t)
}

// nameObjects records what each object of x is, for naming changes no rule
// explains. Pages come first, so an object shared by a page and something
// else is named by the page.
func (a *analysis) nameObjects(x *model.XRefTable) {
	name := func(o types.Object, kind string, page int, deep bool) {
		var walk func(o types.Object, depth int)
		walk = func(o types.Object, depth int) {
			if depth > 64 {
				return
			}
			switch v := o.(type) {
			case types.IndirectRef:
				n := v.ObjectNumber.Value()
				if _, ok := a.roles[n]; ok {
					return
				}
				a.roles[n] = role{kind, page}
				if deep {
					next, _ := object(x, n)
					walk(next, depth+1)
				}
			case types.Dict:
				if deep {
					for _, e := range v {
						walk(e, depth+1)
					}
				}
			case types.StreamDict:
				walk(v.Dict, depth)
			case types.Array:
				for _, e := range v {
					walk(e, depth+1)
				}
			}
		}
		walk(o, 0)
	}
	cat, err := x.Catalog()
	if err != nil {
		return
	}
	page := 0
	var pages func(o types.Object, depth int)
	pages = func(o types.Object, depth int) {
		d := dict(x, o)
		if d == nil || depth > 64 {
			return
		}
		if t, _ := d["Type"].(types.Name); t == "Page" {
			page++
			name(o, "page", page, false)
			name(d["Contents"], "content stream", page, false)
			name(d["Annots"], "annotations", page, false)
			for _, an := range array(x, d["Annots"]) {
				ad := dict(x, an)
				kind := "annotation"
				if sub, _ := ad["Subtype"].(types.Name); sub == "Widget" {
					kind = "widget"
				}
				name(an, kind, page, false)
				name(ad["AP"], "annotation appearance", page, true)
			}
			name(d["Resources"], "resources", page, true)
			return
		}
		name(o, "page tree", page+1, false)
		name(d["Kids"], "page tree", page+1, false)
		for _, k := range array(x, d["Kids"]) {
			pages(k, depth+1)
		}
		name(d["Resources"], "resources", 0, true)
	}
	pages(cat["Pages"], 0)
	name(*x.Root, "catalog", 0, false)
	for _, f := range formFields(x) {
		kind := "form field"
		if f.ft == "Sig" {
			kind = "signature field"
			if sig := dict(x, f.dict["V"]); sig != nil {
				if t, _ := sig["Type"].(types.Name); t == "DocTimeStamp" {
					name(f.dict["V"], "document timestamp", 0, true)
				} else {
					name(f.dict["V"], "signature", 0, true)
				}
			}
		}
		name(f.ref, kind, 0, false)
		name(f.dict["AP"], "form field appearance", 0, true)
	}
	name(cat["AcroForm"], "form", 0, true)
	name(cat["DSS"], "DSS", 0, true)
	name(cat["Metadata"], "XMP metadata", 0, true)
	if x.Info != nil {
		name(*x.Info, "document information", 0, true)
	}
	for _, k := range slices.Sorted(maps.Keys(cat)) {
		name(cat[k], catalogKind(k), 0, true)
	}
}

// changes turns the analysis into the changes revision rev made: objects it
// touched (different from the revision before, prev) that differ from the
// signed revision.
func (a *analysis) changes(rev int, prev *model.XRefTable) []Change {
	var out []Change
	for n := range a.changed {
		cur, _ := object(a.cur, n)
		if before, ok := object(prev, n); ok && equal(before, cur) {
			continue
		}
		gen := 0
		if e := a.cur.Table[n]; e != nil && e.Generation != nil {
			gen = *e.Generation
		}
		c := Change{Revision: rev, Object: fmt.Sprintf("%d %d", n, gen)}
		if v := a.verdicts[n]; v != nil {
			c.Kind, c.Page, c.Level, c.Why = v.kind, v.page, v.level, v.why
			if c.Page == 0 {
				c.Page = a.roles[n].page
			}
			c.Allowed = !v.violation && int(v.level) <= a.perm
			if !c.Allowed && !v.violation {
				c.Why += fmt.Sprintf(", which the certification's P=%d does not allow", a.perm)
			}
		} else {
			r := a.roles[n]
			c.Kind, c.Page, c.Level = r.kind, r.page, Forbidden
			if c.Kind == "" {
				c.Kind = "object"
			}
			if a.added[n] {
				c.Why = fmt.Sprintf("a %s was added, which no certification allows", c.Kind)
			} else {
				c.Why = fmt.Sprintf("the %s was changed in place, which no certification allows", c.Kind)
			}
		}
		out = append(out, c)
	}
	for _, n := range a.freed {
		if _, ok := object(prev, n); !ok {
			continue
		}
		r := a.roles[n]
		kind := r.kind
		if kind == "" {
			kind = "object"
		}
		out = append(out, Change{
			Revision: rev, Object: fmt.Sprintf("%d 0", n), Kind: kind, Page: r.page, Level: Forbidden,
			Why: fmt.Sprintf("the %s was deleted (its object freed)", kind),
		})
	}
	sort.Slice(out, func(i, j int) bool { return objLess(out[i].Object, out[j].Object) })
	return out
}

func objLess(a, b string) bool {
	var an, bn int
	fmt.Sscan(a, &an)
	fmt.Sscan(b, &bn)
	return an < bn
}

// equal compares two PDF objects by value: references by number, streams by
// dictionary and encoded bytes.
func equal(x, y types.Object) bool {
	switch a := x.(type) {
	case nil:
		return y == nil
	case types.Dict:
		b, ok := y.(types.Dict)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case types.Array:
		b, ok := y.(types.Array)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case types.StreamDict:
		b, ok := y.(types.StreamDict)
		return ok && equal(a.Dict, b.Dict) && bytes.Equal(a.Raw, b.Raw)
	case types.ObjectStreamDict:
		b, ok := y.(types.ObjectStreamDict)
		return ok && equal(a.Dict, b.Dict) && bytes.Equal(a.Raw, b.Raw)
	case types.XRefStreamDict:
		b, ok := y.(types.XRefStreamDict)
		return ok && equal(a.Dict, b.Dict) && bytes.Equal(a.Raw, b.Raw)
	case types.IndirectRef:
		b, ok := y.(types.IndirectRef)
		return ok && a.ObjectNumber == b.ObjectNumber && a.GenerationNumber == b.GenerationNumber
	case types.StringLiteral, types.HexLiteral:
		// Writers choose between (...) and <...> freely; the bytes count.
		sa, oka := stringBytes(x)
		sb, okb := stringBytes(y)
		return oka && okb && bytes.Equal(sa, sb)
	}
	return reflect.DeepEqual(x, y)
}

func stringBytes(o types.Object) ([]byte, bool) {
	switch s := o.(type) {
	case types.StringLiteral:
		b, err := types.Unescape(s.Value())
		return b, err == nil
	case types.HexLiteral:
		b, err := s.Bytes()
		return b, err == nil
	}
	return nil, false
}
