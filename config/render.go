package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/template"
	"time"
)

// Default returns the configuration of a station living in dir: hot-folder dir/inbox and
// the output folders beside it. Signing is left empty; `scanstation init --dev-token` fills it.
func Default(dir string) *Config {
	c := &Config{
		Station:    Station{Name: "scanstation", Agency: "", Language: defaults["station.language"].(string)},
		HotFolders: []HotFolder{{Path: dir + "/inbox"}},
		Folders: Folders{
			Outbox:    dir + "/outbox",
			Failed:    dir + "/failed",
			Archive:   dir + "/archive",
			State:     dir + "/state",
			Review:    dir + "/review",
			Discarded: dir + "/discarded",
		},
		Watch: Watch{Settle: 2 * time.Second, Rescan: 30 * time.Second, Events: true, IncompleteGrace: 2 * time.Minute, Duplicates: "flag"},
		OCR:   OCR{Languages: []string{"vie", "Vietnamese"}},
		PDF:   PDF{JPEGQuality: 85, AssumeDPI: 300, ICCProfile: defaults["pdf.icc_profile"].(string)},
		Signing: Signing{
			Reason:  defaults["signing.reason"].(string),
			Certify: true,
		},
		Mark: Mark{
			Font:        defaults["mark.font"].(string),
			FontSize:    10,
			TimeFormat:  defaults["mark.time_format"].(string),
			TimeZone:    defaults["mark.time_zone"].(string),
			SealSizeMM:  36,
			MarginMM:    10,
			SmallPages:  defaults["mark.small_pages"].(string),
			MinMarginMM: 3,
		},
		Timestamp: Timestamp{Timeout: 10 * time.Second, OnUnavailable: "sign_without", RetryEvery: time.Minute, MaxClockSkew: 120 * time.Second},
		Renew:     Renew{Before: 180 * 24 * time.Hour, Folders: []string{}, Every: 24 * time.Hour},
		Limits:    Limits{MaxFileMB: 500, MaxPages: 300, MaxMegapixels: 200},
		HTTP:      HTTP{Listen: defaults["http.listen"].(string)},
		Console:   Console{Listen: defaults["console.listen"].(string), SessionIdle: 15 * time.Minute},
		EdXML:     EdXML{Enabled: true, DocumentType: 2},
		Push:      Push{Timeout: 2 * time.Minute, MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute, Rescan: time.Minute},
		Log:       Log{Level: "info", Format: "text"},
	}
	c.Watch.Ignore = append([]string(nil), defaults["watch.ignore"].([]string)...)
	c.HotFolders[0].applyDefaults()
	return c
}

// Render writes c as a commented YAML file a sysadmin can edit.
func Render(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	if err := yamlTemplate.Execute(&buf, c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var yamlTemplate = template.Must(template.New("yaml").Funcs(template.FuncMap{
	// JSON strings are valid YAML scalars and escape what needs escaping.
	"q": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	// Whole days are written as days, as a sysadmin counts a certificate's life.
	"days": func(d time.Duration) string {
		if d > 0 && d%(24*time.Hour) == 0 {
			return fmt.Sprintf("%dd", d/(24*time.Hour))
		}
		return d.String()
	},
}).Parse(`# scanstation configuration. Every key, its default and an example: docs/config.md.
# Any key can be overridden from the environment: signing.pin_file is SCANSTATION_SIGNING_PIN_FILE.
# Check it with: scanstation config check --config THIS_FILE

station:
  name: {{q .Station.Name}}      # shown in the sidecar of every document
  agency: {{q .Station.Agency}}  # the agency whose copies this station certifies
  language: {{q .Station.Language}}  # vi or en: the console and the messages people read

# Folders the scanner saves into. Sub-folders are watched too. Each folder has its own rules
# (defaults from Decree 30/2020); see docs/config.md.
hot_folders:
{{- range .HotFolders}}
  - path: {{q .Path}}
    mark: {{q .Mark}}               # decree30 (text mark) or circular01 (seal image + text)
    copy_label: {{q .CopyLabel}}    # SAO Y, SAO LỤC or TRÍCH SAO
    operator: {{q .Operator}}       # empty: the name of the sub-folder a scan is saved in
    min_dpi: {{.MinDPI}}            # 300 for maps and technical drawings
    require_color: {{.ColorRequired}}
    paper_sizes: {{q .PaperSizes}}
    tolerance_mm: {{.ToleranceMM}}  # how far the page may be from the paper size (100% scale)
    blank_pages: {{q .BlankPages}}  # keep, drop or reject
    on_fail: {{q .OnFail}}          # reject: to failed/; warn: sign anyway, findings in the sidecar
    approval: {{q .Approval}}       # required: the clerk approves each document before it is signed
    separate: {{q .Separate}}       # none, separator_sheet, barcode, blank_sheet or every (docs/capture.md)
    separate_pattern: {{q .SeparatePattern}}  # for barcode: a regexp the code of a document's first page matches
    separate_every: {{.SeparateEvery}}        # for every: pages per document
    duplex: {{.Duplex}}             # batches hold both sides of each sheet, front then back
    blank_backs: {{q .BlankBacks}}  # keep or drop the blank backs of a duplex batch (counted either way)
    review_orientation_below: {{.ReviewOrientationBelow}}  # 0: OCR's default; a page turned with less confidence goes to review
    organ_id: {{q .OrganID}}        # what every scan here is, unless its scan.yaml or the OCR says otherwise
    organ_name: {{q .OrganName}}
    document_type: {{q .DocumentType}}
    folder_pattern: {{q .FolderPattern}}  # e.g. ^(?P<code_notation>[^_]+)_(?P<issued_date>\d{4}-\d{2}-\d{2})$
{{- end}}

folders:
  outbox: {{q .Folders.Outbox}}    # signed PDF/A + <name>.json, ready for the exchange software
  failed: {{q .Folders.Failed}}    # inputs that could not be processed, each with <name>.error.txt
  archive: {{q .Folders.Archive}}  # originals, moved here once their copy is safely in the outbox
  state: {{q .Folders.State}}      # the journal and work files; keep on a local disk
  review: {{q .Folders.Review}}    # unsigned copies waiting for the clerk's approval
  discarded: {{q .Folders.Discarded}}  # refused inputs a clerk put aside in the console, with <name>.discarded.txt

watch:
  settle: {{.Watch.Settle}}   # a file is taken when its size and time stay unchanged this long
  rescan: {{.Watch.Rescan}}   # full rescan period (network shares send no events)
  events: {{.Watch.Events}}   # false on filesystems without inotify: rescans alone
  incomplete_grace: {{.Watch.IncompleteGrace}}   # a file not saved whole waits while it changes; unchanged this long, it is taken and refused
  ignore: {{q .Watch.Ignore}}
  duplicates: {{q .Watch.Duplicates}}  # the same scan dropped twice: flag (certify again, say so) or skip (to failed/)

ocr:
  languages: {{q .OCR.Languages}}
  tessdata: {{q .OCR.Tessdata}}  # empty: Tesseract's default models
  workers: {{.OCR.Workers}}      # 0: one single-threaded engine per core

pdf:
  lossless_as_jpeg: {{.PDF.LosslessAsJPEG}}  # true: re-encode PNG/TIFF pages as JPEG for smaller files
  jpeg_quality: {{.PDF.JPEGQuality}}
  assume_dpi: {{.PDF.AssumeDPI}}   # for files that carry no resolution
  icc_profile: {{q .PDF.ICCProfile}}

signing:
  module: {{q .Signing.Module}}           # the token's PKCS#11 library
  token_label: {{q .Signing.TokenLabel}}
  key_label: {{q .Signing.KeyLabel}}
  pin_file: {{q .Signing.PINFile}}        # must be readable by the station's user only (chmod 600)
  chain_file: {{q .Signing.ChainFile}}    # PEM: the CA certificates embedded after the agency's
  softhsm2_conf: {{q .Signing.SoftHSM2Conf}}  # SoftHSM2 only
  reason: {{q .Signing.Reason}}
  location: {{q .Signing.Location}}
  certify: {{.Signing.Certify}}           # the signature certifies the document (DocMDP)
  level: {{q .Signing.Level}}             # B-B, B-T, B-LT or B-LTA (docs/trust.md); empty: B-T with timestamp.url, else B-B

mark:
  font: {{q .Mark.Font}}        # Times New Roman-compatible; any TrueType font
  font_size: {{.Mark.FontSize}}
  time_format: {{q .Mark.TimeFormat}}
  time_zone: {{q .Mark.TimeZone}}
  seal_image: {{q .Mark.SealImage}}      # circular01: the agency's seal, PNG with transparent background
  seal_size_mm: {{.Mark.SealSizeMM}}
  margin_mm: {{.Mark.MarginMM}}
  small_pages: {{q .Mark.SmallPages}}     # a page too small for the mark (receipt, card): shrink (10 pt, then narrower margins) or refuse
  min_margin_mm: {{.Mark.MinMarginMM}}    # shrink narrows the margin no further than this

timestamp:
  url: {{q .Timestamp.URL}}     # RFC 3161 time-stamping authority; empty: no timestamp (PAdES B-B)
  timeout: {{.Timestamp.Timeout}}
  on_unavailable: {{q .Timestamp.OnUnavailable}}  # the TSA, OCSP or CRL away: wait (retry every retry_every) or sign_without (deliver at the level reached, noted in the sidecar)
  retry_every: {{.Timestamp.RetryEvery}}
  max_clock_skew: {{.Timestamp.MaxClockSkew}}  # the mark's time may be this far from the TSA's; a station clock further off stops signing (set it by NTP)

# Renewal of B-LTA copies (scanstation extend): a fresh document timestamp before the last one's
# TSA certificate expires or its algorithms weaken.
renew:
  before: {{days .Renew.Before}}    # renew when the last timestamp's TSA certificate expires within this (180d)
  folders: {{q .Renew.Folders}}     # where signed copies are kept; the daemon renews the PDFs in them (and sub-folders)
  every: {{.Renew.Every}}           # how often the daemon looks

validate:
  verapdf: {{q .Validation.VeraPDF}}  # e.g. "verapdf": every output is checked before the outbox; fails closed

limits:
  max_file_mb: {{.Limits.MaxFileMB}}
  max_pages: {{.Limits.MaxPages}}
  max_megapixels: {{.Limits.MaxMegapixels}}

# The edXML package (QCVN 102:2016) written next to every signed PDF, for the exchange.
edxml:
  enabled: {{.EdXML.Enabled}}
  organ_id: {{q .EdXML.OrganID}}     # the sending organ's code, e.g. 000.00.00.H41
  organ_name: {{q .EdXML.OrganName}}
  organ_add: {{q .EdXML.OrganAdd}}
  email: {{q .EdXML.Email}}
  telephone: {{q .EdXML.Telephone}}
  fax: {{q .EdXML.Fax}}
  website: {{q .EdXML.Website}}
  document_type: {{.EdXML.DocumentType}}  # 1 legal document, 2 administrative document
  priority: {{.EdXML.Priority}}

# Post every package to the exchange; empty url: the outbox folder is the delivery.
push:
  url: {{q .Push.URL}}
  timeout: {{.Push.Timeout}}
  client_cert: {{q .Push.ClientCert}}
  client_key: {{q .Push.ClientKey}}
  ca_file: {{q .Push.CAFile}}
  min_backoff: {{.Push.MinBackoff}}
  max_backoff: {{.Push.MaxBackoff}}
  rescan: {{.Push.Rescan}}
  sent_dir: {{q .Push.SentDir}}          # empty: <outbox>/sent
  rejected_dir: {{q .Push.RejectedDir}}  # empty: <outbox>/rejected

http:
  listen: {{q .HTTP.Listen}}  # Prometheus /metrics, /healthz, /readyz; empty: off. Keep it on loopback.

# The console in the browser for the operator and the clerk. Add its users with:
#   scanstation user add NAME --role operator|clerk|admin --config THIS_FILE
console:
  listen: {{q .Console.Listen}}        # empty: off; an address other than loopback needs tls_cert and tls_key
  tls_cert: {{q .Console.TLSCert}}     # PEM certificate (and chain) for https
  tls_key: {{q .Console.TLSKey}}       # its private key, readable by the station's user only
  session_idle: {{.Console.SessionIdle}}   # a session unused this long ends (it ends after 12h anyway)
  users_file: {{q .Console.UsersFile}}     # empty: users.json in the state folder

log:
  level: {{q .Log.Level}}    # debug, info, warn, error
  format: {{q .Log.Format}}  # text or json
`))
