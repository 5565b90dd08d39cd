package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/message"

	"scanstation/internal/crashpoint"
)

// deliveredPerm lets the station's group (the office's readers) read what
// it delivers, and nobody else.
const deliveredPerm = 0o640

// A Box is the set of folders finished work goes to. The folders must
// exist: a missing outbox is more likely an unmounted share than a folder
// to create.
type Box struct {
	Outbox   string // signed PDFs with their sidecars
	Failed   string // originals that could not be processed, each with a reason
	Archived string // originals whose document was delivered (not "Archive": that is the method)
	// Pushed are the folders a sender moves the outbox's packages into (sent, rejected), as
	// <name>.pdf or <name>-1.pdf...: a PDF found there was delivered and taken already.
	Pushed []string
}

// A Sidecar describes a delivered PDF. It is written as <name>.json next to
// <name>.pdf, after it; a reader may take the pair once the .json exists.
// New fields may be added; readers should ignore fields they do not know.
type Sidecar struct {
	Source            string    `json:"source"`
	SourceSHA256      string    `json:"source_sha256"`
	Pages             int       `json:"pages"`
	Languages         []string  `json:"languages"`
	MeanOCRConfidence float64   `json:"mean_ocr_confidence"`
	Signer            string    `json:"signer"`
	SigningTime       time.Time `json:"signing_time"`
	OutputSHA256      string    `json:"output_sha256"` // filled in by Deliver when empty
	Station           string    `json:"station"`

	// The certification (Decree 30/2020; the conversion record of Law 20/2023 Art. 12).
	Agency         string     `json:"agency,omitempty"`
	Operator       string     `json:"operator,omitempty"`
	ConvertedAt    time.Time  `json:"converted_at,omitzero"`
	CopyLabel      string     `json:"copy_label,omitempty"`
	MarkPlace      string     `json:"mark_place,omitempty"`
	SignatureLevel string     `json:"signature_level,omitempty"` // PAdES B-B or B-T
	TimestampNote  string     `json:"timestamp_note,omitempty"`  // why a timestamp is missing
	ApprovedBy     string     `json:"approved_by,omitempty"`
	ApprovedAt     *time.Time `json:"approved_at,omitempty"`
	Warnings       []string   `json:"warnings,omitempty"`     // quality findings that did not stop it
	DuplicateOf    string     `json:"duplicate_of,omitempty"` // an earlier copy of the same scan (same SHA-256)
	// Metadata is the document's record (number, notation, date, organ, type, subject), each
	// field with its value, confidence and source (extracted or supplied).
	Metadata json.RawMessage `json:"metadata,omitempty"`
	EdXML    string          `json:"edxml,omitempty"` // the package's file name, or why there is none
	// Batch says which scanned batch the document was divided from (then Source is the batch's
	// file) and which of its pages it holds.
	Batch *BatchRef `json:"batch,omitempty"`
}

// BatchRef names a document's place in the scanned batch it was divided from.
type BatchRef struct {
	Document int   `json:"document"` // its number in the batch, from 1
	Pages    []int `json:"pages"`    // the batch's pages it holds, from 1, in order
}

// FreeName returns base, or base-1, base-2... the first name for which
// neither <name>.pdf nor <name>.json exists in the outbox.
func (b *Box) FreeName(base string) string {
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		if !exists(filepath.Join(b.Outbox, name+".pdf")) && !exists(filepath.Join(b.Outbox, name+".json")) &&
			!exists(filepath.Join(b.Outbox, name+".edxml")) {
			return name
		}
	}
}

// Deliver writes <name>.pdf and then <name>.json into the outbox, each
// atomically and durably, with mode 0640. It never replaces a file. If
// <name>.pdf is already there with the same bytes, and <name>.json, if
// there, describes the same bytes, this is a restart finishing its own
// delivery and Deliver completes it. If either holds something else,
// Deliver returns an error matching fs.ErrExist and changes nothing. If <name>.pdf is not in
// the outbox but in a Pushed folder with the same bytes, a sender took this delivery on
// already, and Deliver writes nothing.
//
// envelope, when not nil, is the edXML package carrying the PDF: written as <name>.edxml after
// the other two (a sender takes an entry once its .edxml is there), recognised on a restart by
// its SHA-256 since the package is deterministic.
func (b *Box) Deliver(name string, pdf []byte, sidecar *Sidecar, envelope []byte) error {
	pdfPath := filepath.Join(b.Outbox, name+".pdf")
	fail := func(err error) error { return fmt.Errorf("deliver %s: %w", pdfPath, err) }
	if b.Outbox == "" {
		return fail(errors.New("no outbox folder is set"))
	}
	if err := checkName(name + ".pdf"); err != nil {
		return fail(err)
	}

	sum := sha256.Sum256(pdf)
	hexSum := hex.EncodeToString(sum[:])
	var meta Sidecar
	if sidecar != nil {
		meta = *sidecar
	}
	if meta.OutputSHA256 == "" {
		meta.OutputSHA256 = hexSum
	} else if !strings.EqualFold(meta.OutputSHA256, hexSum) {
		return fail(fmt.Errorf("the sidecar gives checksum %s but the PDF has %s", meta.OutputSHA256, hexSum))
	}
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fail(err)
	}
	metaJSON = append(metaJSON, '\n')

	// Both names are checked before anything is written, so that a
	// conflict leaves the outbox as it was.
	jsonPath := filepath.Join(b.Outbox, name+".json")
	pdfThere, err := isOwnPDF(pdfPath, hexSum)
	if err != nil {
		return fail(err)
	}
	jsonThere, err := isOwnSidecar(jsonPath, hexSum)
	if err != nil {
		return fail(err)
	}
	if !pdfThere {
		// A restart whose journal missed the delivery, after a sender took the package on
		// (all of it, or the PDF first): written again, it would be pushed twice.
		if at, err := b.pushed(name, hexSum, int64(len(pdf))); err != nil {
			return fail(err)
		} else if at != "" {
			return nil
		}
	}
	if jsonThere && !pdfThere {
		return fail(fmt.Errorf("%s exists without its PDF; it was left untouched: %w", jsonPath, fs.ErrExist))
	}
	// Both files are written in full under temporary names before either gets its real name,
	// so a full disk never leaves a PDF without its sidecar for the exchange software to take.
	var pdfTmp, jsonTmp string
	defer func() {
		for _, tmp := range []string{pdfTmp, jsonTmp} {
			if tmp != "" {
				os.Remove(tmp)
			}
		}
	}()
	if !pdfThere {
		if pdfTmp, err = writeBytesTemp(b.Outbox, pdf); err != nil {
			return fail(err)
		}
	}
	if !jsonThere {
		if jsonTmp, err = writeBytesTemp(b.Outbox, metaJSON); err != nil {
			return fail(err)
		}
	}
	var envTmp string
	envPath := filepath.Join(b.Outbox, name+".edxml")
	if envelope != nil {
		envSum := sha256.Sum256(envelope)
		there, err := isOwnPDF(envPath, hex.EncodeToString(envSum[:]))
		if err != nil {
			return fail(err)
		}
		if !there {
			if envTmp, err = writeBytesTemp(b.Outbox, envelope); err != nil {
				return fail(err)
			}
			defer func() {
				if envTmp != "" {
					os.Remove(envTmp)
				}
			}()
		}
	}
	if pdfTmp != "" {
		if err := renameNoReplace(pdfTmp, pdfPath); err != nil {
			return fail(err)
		}
		crashpoint.Hit("outbox.rename pdf")
		pdfTmp = ""
	}
	if jsonTmp != "" {
		if err := renameNoReplace(jsonTmp, jsonPath); err != nil {
			return fail(err)
		}
		crashpoint.Hit("outbox.rename json")
		jsonTmp = ""
	}
	if envTmp != "" {
		if err := renameNoReplace(envTmp, envPath); err != nil {
			return fail(err)
		}
		crashpoint.Hit("outbox.rename edxml")
		envTmp = ""
	}
	// A restart may find names renamed by a run that died before it
	// flushed the folder; flush it in every case.
	if err := SyncDir(b.Outbox); err != nil {
		return fail(err)
	}
	crashpoint.Hit("outbox.syncdir delivered")
	return nil
}

// pushedExts are the files a sender moves or writes under a package's name; it gives a package
// the first name none of them takes.
var pushedExts = []string{".pdf", ".json", ".edxml", ".rejected.txt"}

// pushed returns the path of a PDF with the given SHA-256 and size under name, name-1... in the
// Pushed folders, or "". The names are tried up to the first that none of a package's files
// takes: the sender gave the package the first such name when it moved it.
func (b *Box) pushed(name, hexSum string, size int64) (string, error) {
	for _, dir := range b.Pushed {
		for i := 0; i < 100000; i++ {
			candidate := name
			if i > 0 {
				candidate += "-" + strconv.Itoa(i)
			}
			path := filepath.Join(dir, candidate+".pdf")
			fi, err := os.Lstat(path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("look for an earlier delivery in %s: %w", dir, err)
			}
			if err == nil {
				if !fi.Mode().IsRegular() || fi.Size() != size {
					continue
				}
				sum, err := digest(path)
				if err != nil {
					return "", fmt.Errorf("look for an earlier delivery: read %s: %w", path, err)
				}
				if strings.EqualFold(hex.EncodeToString(sum), hexSum) {
					return path, nil
				}
				continue
			}
			taken := false
			for _, ext := range pushedExts[1:] {
				taken = taken || exists(filepath.Join(dir, candidate+ext))
			}
			if !taken {
				break
			}
		}
	}
	return "", nil
}

// isOwnPDF reports whether path exists with the given SHA-256, and returns
// an error matching fs.ErrExist if it exists with other bytes.
func isOwnPDF(path, hexSum string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != hexSum {
		return false, fmt.Errorf("%s already exists with different content; it was left untouched: %w", path, fs.ErrExist)
	}
	return true, nil
}

// isOwnSidecar reports whether path exists and describes the PDF with the
// given SHA-256. Its other fields may differ from a fresh sidecar (a time
// read back from the journal in another zone), and that is still ours.
func isOwnSidecar(path, hexSum string) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var there Sidecar
	if json.Unmarshal(data, &there) != nil || !strings.EqualFold(there.OutputSHA256, hexSum) {
		return false, fmt.Errorf("%s already exists and describes another file; it was left untouched: %w", path, fs.ErrExist)
	}
	return true, nil
}

// placeNew writes dir/name atomically and durably, failing with an error
// matching fs.ErrExist, and leaving nothing behind, if name exists.
func writeBytesTemp(dir string, data []byte) (string, error) {
	tmp, err := writeTemp(dir, deliveredPerm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err == nil {
		crashpoint.Hit("outbox.temp written")
	}
	return tmp, err
}

func placeNew(dir, name string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(dir, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := renameNoReplace(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	crashpoint.Hit("failed.rename reason " + name)
	return SyncDir(dir)
}

// A Failure says, in words an operator can act on, why a file was not
// processed.
type Failure struct {
	File   string    // the file as the operator knows it, usually its hot-folder path
	Stage  string    // what the station was doing
	Reason string    // what went wrong
	Advice string    // what to do next; a general hint if empty
	When   time.Time // now if zero
	// Printer writes the file's headings in the station's language (package lang holds them,
	// ReasonLayout as the key); nil writes English. File, Stage, Reason and Advice are
	// written as given: the caller has put them in that language.
	Printer *message.Printer
}

const defaultAdvice = "Check the file and the reason above. To try again, put the file back into the scanner folder."

// ReasonLayout is the reason file's text. "Stage:", "Reason:" and "Time:" are read back by
// scanstation journal rebuild, as are their translations.
const ReasonLayout = `The station could not process this file.

File:      %s
Stage:     %s
Reason:    %s
What to do next: %s

Time:      %s
The original is kept in this folder as: %s
`

// Fail moves the original src into the failed folder as name (or name-1...
// before the extension, when taken) and writes <that name>.error.txt beside
// it explaining the failure. It returns the original's new path.
//
// The original is moved first: should the station stop in between, the
// document is safe and only the explanation is missing.
func (b *Box) Fail(src, name string, f Failure) (string, error) {
	if b.Failed == "" {
		return "", fmt.Errorf("move %s to the failed folder: no failed folder is set", src)
	}
	dst, err := move(src, b.Failed, name, func(n string) []string { return []string{n + reasonSuffix} })
	if err != nil {
		return dst, err
	}
	if f.File == "" {
		f.File = src
	}
	if err := b.WriteReason(dst, f); err != nil {
		return dst, fmt.Errorf("moved %s to %s but could not write the reason: %w", src, dst, err)
	}
	return dst, nil
}

// reasonSuffix names the reason file beside an original in the failed folder.
const reasonSuffix = ".error.txt"

// WriteReason writes <original>.error.txt beside an original already in the failed folder:
// Fail's second step, and on its own the mending of a reason a crash or an error lost.
func (b *Box) WriteReason(original string, f Failure) error {
	if f.File == "" {
		f.File = filepath.Base(original)
	}
	if f.When.IsZero() {
		f.When = time.Now()
	}
	sprintf := fmt.Sprintf
	if f.Printer != nil {
		sprintf = func(format string, a ...any) string { return f.Printer.Sprintf(format, a...) }
	}
	if f.Advice == "" {
		f.Advice = sprintf(defaultAdvice)
	}
	text := sprintf(ReasonLayout, f.File, f.Stage, f.Reason, f.Advice, f.When.Format("2006-01-02 15:04:05 -07:00"), filepath.Base(original))
	return placeNew(filepath.Dir(original), filepath.Base(original)+reasonSuffix, []byte(text), deliveredPerm)
}

// Unexplained returns the original in the failed folder named name (or name-1...) that has the
// given SHA-256 and no reason file beside it, or "" if there is none: an original whose reason
// was lost when the station stopped between moving it and writing why.
func (b *Box) Unexplained(name, sha256Hex string) (string, error) {
	entries, err := os.ReadDir(b.Failed)
	if err != nil {
		return "", fmt.Errorf("look for %s in the failed folder: %w", name, err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		candidate := e.Name()
		if !isSuffixed(candidate, name) || have[candidate+reasonSuffix] || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(b.Failed, candidate)
		sum, err := digest(path)
		if err != nil {
			return "", err
		}
		if strings.EqualFold(hex.EncodeToString(sum), sha256Hex) {
			return path, nil
		}
	}
	return "", nil
}

// Archive moves the original src into the archive folder as name (or
// name-1... before the extension, when taken) and returns its new path.
func (b *Box) Archive(src, name string) (string, error) {
	if b.Archived == "" {
		return "", fmt.Errorf("move %s to the archive: no archive folder is set", src)
	}
	return Move(src, b.Archived, name)
}
