// Package config reads scanstation's one YAML file into a typed Config.
//
// Viper stays at this edge: it reads the file and SCANSTATION_* environment overrides, and
// everything inside the program sees plain Go values. A Config is validated as a whole, so a
// sysadmin sees every problem at once, each named by its key.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"scanstation/capture"
)

// EnvPrefix is the prefix of environment overrides: station.name is SCANSTATION_STATION_NAME.
const EnvPrefix = "SCANSTATION"

// Config is the whole station configuration.
type Config struct {
	Station    Station     `mapstructure:"station"`
	HotFolders []HotFolder `mapstructure:"hot_folders"`
	Folders    Folders     `mapstructure:"folders"`
	Watch      Watch       `mapstructure:"watch"`
	OCR        OCR         `mapstructure:"ocr"`
	PDF        PDF         `mapstructure:"pdf"`
	Signing    Signing     `mapstructure:"signing"`
	Mark       Mark        `mapstructure:"mark"`
	Timestamp  Timestamp   `mapstructure:"timestamp"`
	Renew      Renew       `mapstructure:"renew"`
	Validation Validation  `mapstructure:"validate"`
	Limits     Limits      `mapstructure:"limits"`
	HTTP       HTTP        `mapstructure:"http"`
	Console    Console     `mapstructure:"console"`
	EdXML      EdXML       `mapstructure:"edxml"`
	Push       Push        `mapstructure:"push"`
	Log        Log         `mapstructure:"log"`

	// File is the path the configuration was read from; relative paths in it are resolved
	// against its folder.
	File string `mapstructure:"-"`
}

// Station names the station and the agency whose copies it certifies.
type Station struct {
	Name   string `mapstructure:"name"`
	Agency string `mapstructure:"agency"`
	// Language is what people at the station read: the console, and the messages that are
	// translated (vi or en). Log keys and metric names stay English, for machines.
	Language string `mapstructure:"language"`
}

// HotFolder is a folder the scanner saves into, with the rules for what is scanned there.
// Empty fields take the defaults of Decree 30/2020 (see HotFolderDefaults).
type HotFolder struct {
	Path      string `mapstructure:"path"`
	Mark      string `mapstructure:"mark"`       // decree30 or circular01
	CopyLabel string `mapstructure:"copy_label"` // SAO Y, SAO LỤC, TRÍCH SAO
	// Operator is who scans into this folder; empty means the name of the sub-folder a file
	// is in (inbox/lan/scan.jpg was scanned by "lan").
	Operator     string   `mapstructure:"operator"`
	MinDPI       float64  `mapstructure:"min_dpi"`
	RequireColor *bool    `mapstructure:"require_color"`
	PaperSizes   []string `mapstructure:"paper_sizes"`
	ToleranceMM  float64  `mapstructure:"tolerance_mm"`
	BlankPages   string   `mapstructure:"blank_pages"` // keep, drop or reject
	OnFail       string   `mapstructure:"on_fail"`     // reject or warn
	Approval     string   `mapstructure:"approval"`    // none or required

	// How a scanned batch divides into documents (docs/capture.md): none, separator_sheet,
	// barcode (a page whose code matches SeparatePattern starts a document), blank_sheet, or
	// every (SeparateEvery pages).
	Separate        string `mapstructure:"separate"`
	SeparatePattern string `mapstructure:"separate_pattern"`
	SeparateEvery   int    `mapstructure:"separate_every"`
	// Duplex says each batch holds both sides of every sheet, front then back; BlankBacks says
	// what becomes of the backs found blank (keep or drop). Either way they are counted.
	Duplex     bool   `mapstructure:"duplex"`
	BlankBacks string `mapstructure:"blank_backs"`
	// ReviewOrientationBelow sends a document to the clerk's review, whatever Approval says,
	// when the orientation of one of its pages was decided with less confidence (0..1) than
	// this; 0 takes OCR's measured default, a negative value never does.
	ReviewOrientationBelow float64 `mapstructure:"review_orientation_below"`

	// What every scan here is, unless its own sidecar (scan.yaml) or the OCR says otherwise.
	OrganID       string `mapstructure:"organ_id"`
	OrganName     string `mapstructure:"organ_name"`
	DocumentType  string `mapstructure:"document_type"`
	FolderPattern string `mapstructure:"folder_pattern"` // a regexp whose named groups supply fields from the folder name
}

// HotFolderDefaults are the values an empty hot-folder field takes.
var HotFolderDefaults = HotFolder{
	Mark:        "decree30",
	CopyLabel:   "SAO Y",
	MinDPI:      200,
	PaperSizes:  []string{"A5", "A4", "A3", "B4", "B5", "Letter", "Legal"},
	ToleranceMM: 7, // a flatbed's full platen is 5.9 mm wider than A4; see docs/quality.md
	BlankPages:  "keep",
	OnFail:      "reject",
	Approval:    "none",
	Separate:    "none",
	BlankBacks:  "keep",
}

// Capture is how the hot-folder's batches divide into documents, checked.
func (h HotFolder) Capture() (capture.Settings, error) {
	s := capture.Settings{
		Separate:       capture.Mode(h.Separate),
		N:              h.SeparateEvery,
		Duplex:         h.Duplex,
		DropBlankBacks: h.BlankBacks == "drop",
	}
	if s.Separate == "" {
		s.Separate = capture.None
	}
	if h.SeparatePattern != "" {
		re, err := regexp.Compile(h.SeparatePattern)
		if err != nil {
			return s, fmt.Errorf("separate_pattern %q is not a valid regular expression: %v", h.SeparatePattern, err)
		}
		s.Pattern = re
	}
	return s, s.Check()
}

// ColorRequired reports whether scans must be in colour (the default).
func (h HotFolder) ColorRequired() bool { return h.RequireColor == nil || *h.RequireColor }

func (h *HotFolder) applyDefaults() {
	d := HotFolderDefaults
	if h.Mark == "" {
		h.Mark = d.Mark
	}
	if h.CopyLabel == "" {
		h.CopyLabel = d.CopyLabel
	}
	if h.RequireColor == nil {
		color := true
		h.RequireColor = &color
	}
	if h.MinDPI == 0 {
		h.MinDPI = d.MinDPI
	}
	if len(h.PaperSizes) == 0 {
		h.PaperSizes = append([]string(nil), d.PaperSizes...)
	}
	if h.ToleranceMM == 0 {
		h.ToleranceMM = d.ToleranceMM
	}
	if h.BlankPages == "" {
		h.BlankPages = d.BlankPages
	}
	if h.OnFail == "" {
		h.OnFail = d.OnFail
	}
	if h.Approval == "" {
		h.Approval = d.Approval
	}
	if h.Separate == "" {
		h.Separate = d.Separate
	}
	if h.BlankBacks == "" {
		h.BlankBacks = d.BlankBacks
	}
}

// Folders are where results go. Operators look into them with a file manager.
type Folders struct {
	Outbox  string `mapstructure:"outbox"`
	Failed  string `mapstructure:"failed"`
	Archive string `mapstructure:"archive"`
	State   string `mapstructure:"state"`
	Review  string `mapstructure:"review"`
	// Discarded keeps the refused inputs a clerk put aside in the console, each with
	// <name>.discarded.txt saying who and why: nothing is ever deleted.
	Discarded string `mapstructure:"discarded"`
}

// Watch tunes how complete files are found.
type Watch struct {
	Settle time.Duration `mapstructure:"settle"`
	Rescan time.Duration `mapstructure:"rescan"`
	Ignore []string      `mapstructure:"ignore"`
	Events bool          `mapstructure:"events"`
	// IncompleteGrace is how long a file that is not yet a whole image (no end marker, a
	// TIFF page pointing past the end) may stay unchanged before it is taken anyway, to be
	// refused with a reason: a scanner that stopped half-way must not leave it there unseen.
	IncompleteGrace time.Duration `mapstructure:"incomplete_grace"`
	// Duplicates says what to do with a scan whose bytes (SHA-256) were taken before: "flag"
	// certifies it again and names the earlier copy in the sidecar; "skip" moves it to
	// failed/ saying where the earlier copy went.
	Duplicates string `mapstructure:"duplicates"`
}

// OCR selects the recognition languages and the number of engines.
type OCR struct {
	Languages []string `mapstructure:"languages"`
	Tessdata  string   `mapstructure:"tessdata"`
	Workers   int      `mapstructure:"workers"`
}

// PDF controls how pages are embedded.
type PDF struct {
	LosslessAsJPEG bool    `mapstructure:"lossless_as_jpeg"`
	JPEGQuality    int     `mapstructure:"jpeg_quality"`
	AssumeDPI      float64 `mapstructure:"assume_dpi"`
	ICCProfile     string  `mapstructure:"icc_profile"`
}

// Signing says which PKCS#11 token signs.
type Signing struct {
	Module       string `mapstructure:"module"`
	TokenLabel   string `mapstructure:"token_label"`
	KeyLabel     string `mapstructure:"key_label"`
	PINFile      string `mapstructure:"pin_file"`
	ChainFile    string `mapstructure:"chain_file"`
	SoftHSM2Conf string `mapstructure:"softhsm2_conf"`
	Reason       string `mapstructure:"reason"`
	Location     string `mapstructure:"location"`
	// Certify makes the first signature a certification signature (DocMDP: only form
	// filling and further signatures allowed afterwards).
	Certify bool `mapstructure:"certify"`
	// Level is the PAdES baseline level copies are delivered at: B-B, B-T (a signature
	// timestamp), B-LT (and the validation data: certificates, OCSP responses or CRLs, in a
	// /DSS) or B-LTA (and a document timestamp over it all). Empty: B-T when timestamp.url is
	// set, else B-B. When the TSA, OCSP or CRL cannot be reached, timestamp.on_unavailable
	// decides: wait, or deliver at the level reached, said in the sidecar.
	Level string `mapstructure:"level"`
}

// SigningLevel is the level in force: signing.level, or the one timestamp.url implies.
func (c *Config) SigningLevel() string {
	switch {
	case c.Signing.Level != "":
		return c.Signing.Level
	case c.Timestamp.URL != "":
		return "B-T"
	}
	return "B-B"
}

// Mark is the visible certification mark on page 1.
type Mark struct {
	Font       string  `mapstructure:"font"`
	FontSize   float64 `mapstructure:"font_size"`
	TimeFormat string  `mapstructure:"time_format"`
	TimeZone   string  `mapstructure:"time_zone"`
	SealImage  string  `mapstructure:"seal_image"`
	SealSizeMM float64 `mapstructure:"seal_size_mm"`
	MarginMM   float64 `mapstructure:"margin_mm"`
	// SmallPages is what a page too small for the mark inside margin_mm gets (a receipt, a
	// card): "shrink" (the font down to the decree's 10 pt, then the margin down to
	// MinMarginMM) or "refuse".
	SmallPages  string  `mapstructure:"small_pages"`
	MinMarginMM float64 `mapstructure:"min_margin_mm"`
}

// Timestamp configures the RFC 3161 time-stamping authority (PAdES B-T).
type Timestamp struct {
	URL     string        `mapstructure:"url"`
	Timeout time.Duration `mapstructure:"timeout"`
	// OnUnavailable is "wait" (keep the document and try again every RetryEvery) or
	// "sign_without" (sign B-B and say so in the sidecar).
	OnUnavailable string        `mapstructure:"on_unavailable"`
	RetryEvery    time.Duration `mapstructure:"retry_every"`
	// MaxClockSkew is how far the time a certification mark shows may lie from the time the
	// TSA vouches for in the signature's timestamp (genTime). The mark is signed before the
	// TSA answers, so a station whose clock is further off refuses to deliver the copy, and
	// `scanstation verify` refuses copies whose mark is.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`
}

// Renew keeps B-LTA copies verifiable (scanstation extend): a copy whose last timestamp's
// TSA certificate expires within Before, or whose algorithms are weakened, gets that TSA's
// validation data and a fresh document timestamp.
type Renew struct {
	// Before is how long before the expiry a renewal is due. The file may say days: 180d.
	Before time.Duration `mapstructure:"before"`
	// Folders are where signed copies are kept; the daemon renews the PDFs in them (and in
	// their sub-folders) every Every. Empty: the daemon renews nothing.
	Folders []string      `mapstructure:"folders"`
	Every   time.Duration `mapstructure:"every"`
}

// ParseDuration reads a Go duration (90m, 36h) or a number of days (180d).
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.IsNaN(n) || math.Abs(n) > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days such as 180d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 36h or 180d", s)
	}
	return d, nil
}

// daysHook lets every duration key be given in days: a certificate's life is counted so.
func daysHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	if s := data.(string); strings.HasSuffix(strings.TrimSpace(s), "d") {
		return ParseDuration(s)
	}
	return data, nil
}

// Validation names an outside PDF/A validator run on every output before it enters the
// outbox; a file it rejects goes to failed/ with its findings.
type Validation struct {
	VeraPDF string `mapstructure:"verapdf"`
}

// Limits protect the station from hostile or broken files.
type Limits struct {
	MaxFileMB     int64 `mapstructure:"max_file_mb"`
	MaxPages      int   `mapstructure:"max_pages"`
	MaxMegapixels int64 `mapstructure:"max_megapixels"`
}

// EdXML describes the sending organ of the edXML package (QCVN 102:2016) written next to every
// signed PDF.
type EdXML struct {
	Enabled      bool   `mapstructure:"enabled"`
	OrganID      string `mapstructure:"organ_id"`
	OrganName    string `mapstructure:"organ_name"`
	OrganAdd     string `mapstructure:"organ_add"`
	Email        string `mapstructure:"email"`
	Telephone    string `mapstructure:"telephone"`
	Fax          string `mapstructure:"fax"`
	Website      string `mapstructure:"website"`
	DocumentType int    `mapstructure:"document_type"` // 1 legal, 2 administrative
	Priority     int    `mapstructure:"priority"`
}

// Push posts every package to the exchange or document-management software; empty URL keeps
// delivery a folder.
type Push struct {
	URL         string        `mapstructure:"url"`
	Timeout     time.Duration `mapstructure:"timeout"`
	ClientCert  string        `mapstructure:"client_cert"`
	ClientKey   string        `mapstructure:"client_key"`
	CAFile      string        `mapstructure:"ca_file"`
	MinBackoff  time.Duration `mapstructure:"min_backoff"`
	MaxBackoff  time.Duration `mapstructure:"max_backoff"`
	Rescan      time.Duration `mapstructure:"rescan"`
	SentDir     string        `mapstructure:"sent_dir"`
	RejectedDir string        `mapstructure:"rejected_dir"`
}

// HTTP is the daemon's small web endpoint: Prometheus /metrics, /healthz and /readyz.
type HTTP struct {
	// Listen is host:port; empty switches it off. It stays on loopback unless a sysadmin
	// writes another address here.
	Listen string `mapstructure:"listen"`
}

// Console is the browser console of the operator and the clerk (package console).
type Console struct {
	// Listen is host:port; empty switches it off. An address other than loopback needs
	// TLSCert and TLSKey: passwords and session cookies must not cross the office network
	// in clear.
	Listen  string `mapstructure:"listen"`
	TLSCert string `mapstructure:"tls_cert"`
	TLSKey  string `mapstructure:"tls_key"`
	// SessionIdle ends a session nobody used for this long.
	SessionIdle time.Duration `mapstructure:"session_idle"`
	// UsersFile holds the users and their password hashes; empty: users.json in the state
	// folder, next to the journal.
	UsersFile string `mapstructure:"users_file"`
}

// UsersFile is the users file in force: console.users_file, or users.json in the state folder.
func (c *Config) UsersFile() string {
	if c.Console.UsersFile != "" {
		return c.Console.UsersFile
	}
	return filepath.Join(c.Folders.State, "users.json")
}

// Log selects the log format.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// defaults lists every key with its default. docs/config.md documents the same list; a test
// keeps them in step.
var defaults = map[string]any{
	"station.name":             "scanstation",
	"station.agency":           "",
	"station.language":         "vi",
	"folders.outbox":           "outbox",
	"folders.failed":           "failed",
	"folders.archive":          "archive",
	"folders.state":            "state",
	"folders.review":           "review",
	"folders.discarded":        "discarded",
	"watch.settle":             "2s",
	"watch.rescan":             "30s",
	"watch.ignore":             []string{"*.tmp", "~*", ".*", "*.part", "*.crdownload", "*.yaml", "*.yml", "*.json"},
	"watch.events":             true,
	"watch.incomplete_grace":   "2m",
	"watch.duplicates":         "flag",
	"ocr.languages":            []string{"vie", "Vietnamese"},
	"ocr.tessdata":             "",
	"ocr.workers":              0,
	"pdf.lossless_as_jpeg":     false,
	"pdf.jpeg_quality":         85,
	"pdf.assume_dpi":           300.0,
	"pdf.icc_profile":          "/usr/share/color/icc/sRGB.icc",
	"signing.module":           "",
	"signing.token_label":      "",
	"signing.key_label":        "",
	"signing.pin_file":         "",
	"signing.chain_file":       "",
	"signing.softhsm2_conf":    "",
	"signing.reason":           "Sao y từ văn bản giấy (số hóa)",
	"signing.location":         "",
	"signing.certify":          true,
	"signing.level":            "",
	"mark.font":                "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
	"mark.font_size":           10.0,
	"mark.time_format":         "dd.MM.yyyy HH:mm:ss ±hh:mm",
	"mark.time_zone":           "Asia/Ho_Chi_Minh",
	"mark.seal_image":          "",
	"mark.seal_size_mm":        36.0,
	"mark.margin_mm":           10.0,
	"mark.small_pages":         "shrink",
	"mark.min_margin_mm":       3.0,
	"timestamp.url":            "",
	"timestamp.timeout":        "10s",
	"timestamp.on_unavailable": "sign_without",
	"timestamp.retry_every":    "1m",
	"timestamp.max_clock_skew": "120s",
	"renew.before":             "180d",
	"renew.folders":            []string{},
	"renew.every":              "24h",
	"validate.verapdf":         "",
	"limits.max_file_mb":       500,
	"limits.max_pages":         300,
	"limits.max_megapixels":    200,
	"http.listen":              "127.0.0.1:9477",
	"console.listen":           "127.0.0.1:9470",
	"console.tls_cert":         "",
	"console.tls_key":          "",
	"console.session_idle":     "15m",
	"console.users_file":       "",
	"edxml.enabled":            true,
	"edxml.organ_id":           "",
	"edxml.organ_name":         "",
	"edxml.organ_add":          "",
	"edxml.email":              "",
	"edxml.telephone":          "",
	"edxml.fax":                "",
	"edxml.website":            "",
	"edxml.document_type":      2,
	"edxml.priority":           0,
	"push.url":                 "",
	"push.timeout":             "2m",
	"push.client_cert":         "",
	"push.client_key":          "",
	"push.ca_file":             "",
	"push.min_backoff":         "5s",
	"push.max_backoff":         "10m",
	"push.rescan":              "1m",
	"push.sent_dir":            "",
	"push.rejected_dir":        "",
	"log.level":                "info",
	"log.format":               "text",
}

// Keys returns every configuration key that has a default, sorted as in docs/config.md.
func Keys() []string {
	keys := make([]string, 0, len(defaults)+1)
	for k := range defaults {
		keys = append(keys, k)
	}
	keys = append(keys, "hot_folders")
	return keys
}

// Load reads the YAML file at path, applies SCANSTATION_* environment overrides and
// resolves relative paths against the file's folder. It does not validate: call Validate.
func Load(path string) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		var notFound *os.PathError
		if errors.As(err, &notFound) {
			return nil, fmt.Errorf("config %s: %w", path, notFound.Err)
		}
		return nil, fmt.Errorf("config %s: not valid YAML: %w", path, err)
	}
	var c Config
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true // a typo in a key must not be silently ignored
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			daysHook,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.File = abs
	c.resolvePaths(filepath.Dir(abs))
	for i := range c.HotFolders {
		c.HotFolders[i].applyDefaults()
	}
	return &c, nil
}

func (c *Config) resolvePaths(base string) {
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	for i := range c.HotFolders {
		resolve(&c.HotFolders[i].Path)
	}
	for i := range c.Renew.Folders {
		resolve(&c.Renew.Folders[i])
	}
	for _, p := range []*string{&c.Folders.Outbox, &c.Folders.Failed, &c.Folders.Archive, &c.Folders.State, &c.Folders.Review, &c.Folders.Discarded,
		&c.Push.ClientCert, &c.Push.ClientKey, &c.Push.CAFile, &c.Push.SentDir, &c.Push.RejectedDir,
		&c.Console.TLSCert, &c.Console.TLSKey, &c.Console.UsersFile,
		&c.Mark.Font, &c.Mark.SealImage,
		&c.OCR.Tessdata, &c.PDF.ICCProfile, &c.Signing.PINFile, &c.Signing.ChainFile, &c.Signing.SoftHSM2Conf} {
		resolve(p)
	}
}

// OCRWorkers is the number of Tesseract engines to run: one per core unless configured.
func (c *Config) OCRWorkers() int {
	if c.OCR.Workers > 0 {
		return c.OCR.Workers
	}
	return runtime.NumCPU()
}
