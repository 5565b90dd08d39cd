package station

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"scanstation/certify/pdfa"
	"scanstation/docmeta"
	"scanstation/edxml"
	"scanstation/journal"
	"scanstation/lang"
	"scanstation/outbox"
)

// spoolSidecar takes the operator's metadata sidecar (scan.yaml next to scan.pdf) along with
// the scan, so it is read from the spool like the scan itself.
func (s *Station) spoolSidecar(job *journal.Job, keepSource bool) error {
	path, ok, err := docmeta.SidecarPath(job.Source)
	if err != nil || !ok {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(job.Spool), filepath.Ext(job.Spool)) + filepath.Ext(path)
	if keepSource {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return outbox.WriteFileAtomic(s.spoolDir, name, data, 0o600)
	}
	_, err = outbox.Move(path, s.spoolDir, name)
	return err
}

// moveSidecar takes the spooled sidecar to where its scan went (archive or failed).
func (s *Station) moveSidecar(job *journal.Job, dir, scanName string) {
	path, ok, err := docmeta.SidecarPath(job.Spool)
	if err != nil || !ok {
		return
	}
	name := strings.TrimSuffix(scanName, filepath.Ext(scanName)) + filepath.Ext(path)
	if _, err := outbox.Move(path, dir, name); err != nil {
		s.log.Warn("cannot move the metadata sidecar with its scan", "file", path, "err", err)
	}
}

// describe works out the document's record: what page 1 prints (OCR), laid under the
// hot-folder's defaults and folder name, laid under the operator's sidecar. A bad value the
// operator supplied refuses the document; a bad value read from the page is dropped with a
// warning.
func (s *Station) describe(job *journal.Job, rec *recognition) (docmeta.Metadata, []string, error) {
	var warnings []string
	extracted := docmeta.Extract(rec.results[0], rec.pages[0].Image.Width, rec.pages[0].Image.Height)
	for _, p := range extracted.Validate() {
		if f, ok := extracted.Get(p.Field); ok {
			*f = docmeta.Field{}
		}
		warnings = append(warnings, warning{Kind: warnRecord, Page: 1,
			Text: lang.T("read from page 1 but not used: %s (%s): %s", p.Field, p.Source, lang.Text{Format: p.Format, Args: p.Args})}.String())
	}
	prof := s.profile(job)
	defaults, err := docmeta.Defaults{OrganID: prof.OrganID, OrganName: prof.OrganName, TypeName: prof.DocumentType, FolderPattern: prof.FolderPattern}.For(job.Source)
	if err != nil {
		return docmeta.Metadata{}, nil, &stageError{"metadata", err}
	}
	supplied, _, err := docmeta.ReadSupplied(job.Spool)
	if err != nil {
		return docmeta.Metadata{}, nil, &stageError{"metadata", s.suppliedRefusal(job, err)}
	}
	layers := []docmeta.Metadata{defaults}
	if job.Batch != 0 {
		// A separator sheet's fields pre-fill the record; the operator's sidecar still wins.
		sheet, err := s.sheetOf(job)
		if err != nil {
			return docmeta.Metadata{}, nil, &stageError{"capture", fmt.Errorf("%s: %w", job.SourceName, err)}
		}
		if sheet != nil {
			m, err := sheet.Metadata()
			if err != nil {
				return docmeta.Metadata{}, nil, &stageError{"metadata", fmt.Errorf("%s: %w", job.SourceName, err)}
			}
			layers = append(layers, m)
		}
	}
	meta := docmeta.Merge(extracted, append(layers, supplied)...)
	meta.Language = "vi"
	meta.PageAmount = len(rec.pages)
	return meta, warnings, nil
}

// suppliedRefusal says why the operator's sidecar is refused: values outside Appendix VI in
// the station's language, naming the file as the operator saved it (not its spool copy) and
// each field by its key in the file, which is what the operator corrects.
func (s *Station) suppliedRefusal(job *journal.Job, err error) error {
	var problems docmeta.Problems
	if !errors.As(err, &problems) {
		return fmt.Errorf("%s: %w", job.SourceName, err)
	}
	sidecar := "scan.yaml"
	if path, ok, _ := docmeta.SidecarPath(job.Spool); ok {
		sidecar = strings.TrimSuffix(job.SourceName, filepath.Ext(job.SourceName)) + filepath.Ext(path)
	}
	why := make([]any, len(problems))
	for i, p := range problems {
		why[i] = lang.T("%s: %s", p.Field, lang.Text{Format: p.Format, Args: p.Args})
	}
	list := lang.Text{Format: strings.Repeat("; %s", len(why))[2:], Args: why}
	return refuse("%s: its metadata file %s is refused: %s", job.SourceName, sidecar, list)
}

// metadataOf reads the record kept in the journal.
func metadataOf(job *journal.Job) docmeta.Metadata {
	var m docmeta.Metadata
	if job.Metadata != "" {
		json.Unmarshal([]byte(job.Metadata), &m) // written by recognise from the same type
	}
	return m
}

// metadataXMP are the record's fields as XMP properties of the conversion record.
func metadataXMP(m docmeta.Metadata) []pdfa.XMPProperty {
	var props []pdfa.XMPProperty
	for _, name := range docmeta.FieldNames {
		f, _ := m.Get(name)
		if f.Known() {
			desc := "Document record (Decree 30/2020 Appendix VI): " + name + ", " + f.Source
			if f.By != "" {
				desc += ", supplied by " + f.By
			}
			props = append(props, pdfa.XMPProperty{Name: xmpName(name), Value: f.Value, Description: desc})
		}
	}
	return props
}

// xmpName turns code_number into docCodeNumber.
func xmpName(field string) string {
	var b strings.Builder
	b.WriteString("doc")
	for _, part := range strings.Split(field, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// envelope builds the edXML package of a signed document, or says why there is none.
func (s *Station) envelope(job *journal.Job, pdf []byte) ([]byte, string) {
	cfg := s.config().EdXML
	if !cfg.Enabled {
		return nil, ""
	}
	if cfg.OrganID == "" || cfg.OrganName == "" {
		return nil, "not written: set edxml.organ_id and edxml.organ_name in the configuration"
	}
	m := metadataOf(job)
	date, _ := docmeta.ParseDate(m.IssuedDate.Value)
	organID := cfg.OrganID
	if m.OrganID.Known() {
		organID = m.OrganID.Value
	}
	typeName := m.TypeName.Value
	doc := &edxml.Document{
		From: edxml.Organ{OrganID: cfg.OrganID, OrganName: cfg.OrganName, OrganAdd: cfg.OrganAdd, Email: cfg.Email,
			Telephone: cfg.Telephone, Fax: cfg.Fax, Website: cfg.Website},
		CodeNumber:       m.CodeNumber.Value,
		CodeNotation:     m.CodeNotation.Value,
		Place:            m.Place.Value,
		PromulgationDate: date,
		Type:             cfg.DocumentType,
		TypeName:         typeName,
		Subject:          m.Subject.Value,
		Priority:         cfg.Priority,
		PageAmount:       job.Pages,
		DocumentID:       edxml.MakeDocumentID(organID, date, m.CodeNumber.Value, m.CodeNotation.Value),
		Trace:            edxml.Trace{OrganID: cfg.OrganID, Timestamp: job.SignedAt},
		Attachments: []edxml.Attachment{{
			ContentType: "application/pdf",
			ContentID:   job.OutputSHA256 + "@scanstation",
			Name:        job.OutName + ".pdf",
			Data:        pdf,
		}},
	}
	if problems := doc.Validate(); len(problems) > 0 {
		return nil, "not written: " + strings.Join(problems, "; ")
	}
	var buf strings.Builder
	if err := edxml.Write(&buf, doc); err != nil {
		return nil, "not written: " + err.Error()
	}
	return []byte(buf.String()), job.OutName + ".edxml"
}
