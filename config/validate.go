package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"scanstation/certify/quality"
	"scanstation/docmeta"
	"scanstation/ocr"
)

// Problem is one thing wrong with a configuration, named by its key.
type Problem struct {
	Key    string
	Reason string
}

func (p Problem) String() string { return p.Key + ": " + p.Reason }

// Validate checks the whole configuration and returns every problem found, so a sysadmin can
// fix them in one go. It looks at the machine too: folders, the PKCS#11 module, the PIN file's
// permissions, the OCR language models.
func (c *Config) Validate() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Reason: fmt.Sprintf(format, args...)})
	}

	if len(c.HotFolders) == 0 {
		add("hot_folders", "no hot-folder is configured; add at least one `- path: /folder/the/scanner/saves/into`")
	}
	for i, hf := range c.HotFolders {
		key := fmt.Sprintf("hot_folders[%d].path", i)
		if hf.Path == "" {
			add(key, "is empty")
			continue
		}
		checkDir(add, key, hf.Path, false)
		prefix := fmt.Sprintf("hot_folders[%d].", i)
		oneOf(add, prefix+"mark", hf.Mark, "decree30", "circular01")
		if hf.Mark == "circular01" && c.Mark.SealImage == "" {
			add("mark.seal_image", "hot-folder %s uses the circular01 mark, which needs the agency's seal image (a PNG file)", hf.Path)
		}
		if strings.TrimSpace(hf.CopyLabel) == "" {
			add(prefix+"copy_label", "is empty; use SAO Y, SAO LỤC or TRÍCH SAO")
		}
		if hf.MinDPI < 50 || hf.MinDPI > 2400 {
			add(prefix+"min_dpi", "must be between 50 and 2400, not %g", hf.MinDPI)
		}
		if hf.ToleranceMM < 0 || hf.ToleranceMM > 50 {
			add(prefix+"tolerance_mm", "must be between 0 and 50 mm, not %g", hf.ToleranceMM)
		}
		for _, paper := range hf.PaperSizes {
			if _, err := quality.ParsePaper(paper); err != nil {
				add(prefix+"paper_sizes", "%v", err)
			}
		}
		oneOf(add, prefix+"blank_pages", hf.BlankPages, "keep", "drop", "reject")
		oneOf(add, prefix+"on_fail", hf.OnFail, "reject", "warn")
		oneOf(add, prefix+"approval", hf.Approval, "none", "required")
		oneOf(add, prefix+"blank_backs", hf.BlankBacks, "keep", "drop")
		if _, err := hf.Capture(); err != nil {
			add(prefix+"separate", "%v", err)
		}
		if hf.Duplex && hf.BlankPages == "drop" {
			add(prefix+"blank_pages", "drop cannot be used with duplex: true, where a blank front may be a page the paper meant to show; "+
				"use blank_backs: drop to leave out blank backs (they are counted in the batch record)")
		}
		if hf.ReviewOrientationBelow > 1 {
			add(prefix+"review_orientation_below", "must be at most 1 (a confidence from 0 to 1), not %g", hf.ReviewOrientationBelow)
		}
		if err := (docmeta.Defaults{OrganID: hf.OrganID, OrganName: hf.OrganName, TypeName: hf.DocumentType, FolderPattern: hf.FolderPattern}).Check(); err != nil {
			add(prefix+"organ_id / organ_name / document_type / folder_pattern", "%v", err)
		}
	}

	outputs := map[string]string{
		"folders.outbox":  c.Folders.Outbox,
		"folders.failed":  c.Folders.Failed,
		"folders.archive": c.Folders.Archive,
		"folders.state":   c.Folders.State,
	}
	for key, dir := range outputs {
		if dir == "" {
			add(key, "is empty")
			continue
		}
		checkDir(add, key, dir, true)
		for _, hf := range c.HotFolders {
			if hf.Path != "" && (within(dir, hf.Path) || within(hf.Path, dir)) {
				add(key, "%s overlaps hot-folder %s: the station would take its own output as new scans; use separate folders", dir, hf.Path)
			}
		}
	}

	if c.Watch.Settle <= 0 {
		add("watch.settle", "must be a positive duration such as 2s")
	}
	if c.Watch.Rescan <= 0 {
		add("watch.rescan", "must be a positive duration such as 30s")
	}
	if c.Watch.IncompleteGrace <= 0 {
		add("watch.incomplete_grace", "must be a positive duration such as 2m")
	}
	oneOf(add, "watch.duplicates", c.Watch.Duplicates, "flag", "skip")
	for _, pat := range c.Watch.Ignore {
		if _, err := filepath.Match(pat, "x"); err != nil {
			add("watch.ignore", "pattern %q is not a valid glob: %v", pat, err)
		}
	}

	if len(c.OCR.Languages) == 0 {
		add("ocr.languages", "no language is configured; the default is [vie, Vietnamese]")
	}
	for _, lang := range c.OCR.Languages {
		if dir := c.tessdataDir(); dir != "" {
			if _, err := os.Stat(filepath.Join(dir, lang+".traineddata")); err != nil {
				add("ocr.languages", "no model for %q in %s (install %s or set ocr.tessdata)", lang, dir, ocr.ModelPackage(lang))
			}
		}
	}
	if c.OCR.Tessdata != "" {
		checkDir(add, "ocr.tessdata", c.OCR.Tessdata, false)
	}
	if c.OCR.Workers < 0 {
		add("ocr.workers", "must be 0 (one per core) or a positive number")
	}

	if c.PDF.JPEGQuality < 1 || c.PDF.JPEGQuality > 100 {
		add("pdf.jpeg_quality", "must be between 1 and 100, not %d", c.PDF.JPEGQuality)
	}
	if c.PDF.AssumeDPI < 50 || c.PDF.AssumeDPI > 2400 {
		add("pdf.assume_dpi", "must be between 50 and 2400, not %g", c.PDF.AssumeDPI)
	}
	checkFile(add, "pdf.icc_profile", c.PDF.ICCProfile, "install icc-profiles-free or point it at an sRGB profile")

	checkFile(add, "signing.module", c.Signing.Module, "the PKCS#11 library of the token (SoftHSM: /usr/lib/softhsm/libsofthsm2.so)")
	if c.Signing.TokenLabel == "" {
		add("signing.token_label", "is empty; it is the label of the agency's token (pkcs11-tool --list-slots shows it)")
	}
	if c.Signing.KeyLabel == "" {
		add("signing.key_label", "is empty; it is the label of the signing key on the token")
	}
	pinFromEnv := c.Signing.PINFile == "" && os.Getenv("SCANSTATION_PIN") != ""
	if !pinFromEnv && checkFile(add, "signing.pin_file", c.Signing.PINFile, "a file holding the token PIN, readable only by the station's user (or set SCANSTATION_PIN)") {
		if fi, err := os.Stat(c.Signing.PINFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			add("signing.pin_file", "%s can be read by other users (mode %04o); run: chmod 600 %s", c.Signing.PINFile, fi.Mode().Perm(), c.Signing.PINFile)
		}
	}
	if c.Signing.ChainFile != "" {
		checkFile(add, "signing.chain_file", c.Signing.ChainFile, "PEM file with the CA certificates")
	}
	if c.Signing.SoftHSM2Conf != "" {
		checkFile(add, "signing.softhsm2_conf", c.Signing.SoftHSM2Conf, "SoftHSM2 configuration file")
	}

	checkFile(add, "mark.font", c.Mark.Font, "a TrueType font for the certification mark (install fonts-liberation2)")
	if c.Mark.FontSize < 6 || c.Mark.FontSize > 24 {
		add("mark.font_size", "must be between 6 and 24 points, not %g", c.Mark.FontSize)
	}
	if _, err := time.LoadLocation(c.Mark.TimeZone); err != nil {
		add("mark.time_zone", "%q is not a known time zone (the default is Asia/Ho_Chi_Minh)", c.Mark.TimeZone)
	}
	if c.Mark.SealImage != "" {
		checkFile(add, "mark.seal_image", c.Mark.SealImage, "the agency's seal as a PNG with transparent background")
	}
	if c.Mark.SealSizeMM < 10 || c.Mark.SealSizeMM > 80 {
		add("mark.seal_size_mm", "must be between 10 and 80 mm, not %g", c.Mark.SealSizeMM)
	}
	if c.Mark.MarginMM < 0 || c.Mark.MarginMM > 50 {
		add("mark.margin_mm", "must be between 0 and 50 mm, not %g", c.Mark.MarginMM)
	}
	oneOf(add, "mark.small_pages", c.Mark.SmallPages, "shrink", "refuse")
	// A floor wider than margin_mm is no error: the margin never narrows then.
	if c.Mark.MinMarginMM < 1 || c.Mark.MinMarginMM > 50 {
		add("mark.min_margin_mm", "must be between 1 and 50 mm, not %g (a printer cannot print to the paper's edge)", c.Mark.MinMarginMM)
	}
	if c.Timestamp.URL != "" {
		if u, err := url.Parse(c.Timestamp.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("timestamp.url", "%q is not an http(s) address of a time-stamping authority", c.Timestamp.URL)
		}
	}
	if c.Timestamp.Timeout <= 0 {
		add("timestamp.timeout", "must be a positive duration such as 10s")
	}
	if c.Timestamp.RetryEvery <= 0 {
		add("timestamp.retry_every", "must be a positive duration such as 1m")
	}
	if c.Timestamp.MaxClockSkew < time.Second {
		// Below a second the whole seconds PDF dates and marks carry would refuse good copies.
		add("timestamp.max_clock_skew", "must be a duration of at least 1s, such as 120s")
	}
	oneOf(add, "timestamp.on_unavailable", c.Timestamp.OnUnavailable, "wait", "sign_without")
	if c.Signing.Level != "" {
		oneOf(add, "signing.level", c.Signing.Level, "B-B", "B-T", "B-LT", "B-LTA")
		if c.Signing.Level != "B-B" && c.Timestamp.URL == "" {
			add("signing.level", "%s needs a time-stamping authority: set timestamp.url", c.Signing.Level)
		}
	}
	if c.Renew.Before <= 0 {
		add("renew.before", "must be a positive duration such as 180d")
	}
	if c.Renew.Every <= 0 {
		add("renew.every", "must be a positive duration such as 24h")
	}
	for i, dir := range c.Renew.Folders {
		checkDir(add, fmt.Sprintf("renew.folders[%d]", i), dir, false)
	}
	if len(c.Renew.Folders) > 0 && c.Timestamp.URL == "" {
		add("renew.folders", "renewing copies needs a time-stamping authority: set timestamp.url")
	}
	if fields := strings.Fields(c.Validation.VeraPDF); len(fields) > 0 {
		if _, err := exec.LookPath(fields[0]); err != nil {
			add("validate.verapdf", "%q cannot be run: %v (scripts/setup.sh installs veraPDF)", fields[0], err)
		}
	}

	if c.Limits.MaxFileMB <= 0 {
		add("limits.max_file_mb", "must be positive")
	}
	if c.Limits.MaxPages <= 0 {
		add("limits.max_pages", "must be positive")
	}
	if c.Limits.MaxMegapixels <= 0 {
		add("limits.max_megapixels", "must be positive")
	}

	if c.EdXML.OrganID != "" && !organID.MatchString(c.EdXML.OrganID) {
		add("edxml.organ_id", "%q is not an organ code like 000.00.00.H41 (Decree 30/2020 Appendix VI)", c.EdXML.OrganID)
	}
	if c.EdXML.DocumentType != 1 && c.EdXML.DocumentType != 2 {
		add("edxml.document_type", "must be 1 (legal document) or 2 (administrative document), not %d", c.EdXML.DocumentType)
	}
	if c.EdXML.Priority < 0 || c.EdXML.Priority > 4 {
		add("edxml.priority", "must be between 0 and 4, not %d", c.EdXML.Priority)
	}
	if c.Push.URL != "" {
		if u, err := url.Parse(c.Push.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("push.url", "%q is not an http(s) address", c.Push.URL)
		}
		if (c.Push.ClientCert == "") != (c.Push.ClientKey == "") {
			add("push.client_cert", "give both push.client_cert and push.client_key, or neither")
		}
		for key, f := range map[string]string{"push.client_cert": c.Push.ClientCert, "push.client_key": c.Push.ClientKey, "push.ca_file": c.Push.CAFile} {
			if f != "" {
				checkFile(add, key, f, "a PEM file")
			}
		}
		if c.Push.Timeout <= 0 || c.Push.MinBackoff <= 0 || c.Push.MaxBackoff < c.Push.MinBackoff || c.Push.Rescan <= 0 {
			add("push", "timeout, min_backoff and rescan must be positive and max_backoff at least min_backoff")
		}
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			add("http.listen", "%q is not host:port (for example 127.0.0.1:9477): %v", c.HTTP.Listen, err)
		}
	}

	c.validateConsole(add)
	oneOf(add, "station.language", c.Station.Language, "vi", "en")

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", "%q is not text or json", c.Log.Format)
	}
	return ps
}

// validateConsole checks the console's keys. A console reachable from the office network
// must speak TLS: its logins and session cookies would cross the network in clear otherwise.
func (c *Config) validateConsole(add func(string, string, ...any)) {
	cc := c.Console
	if cc.Listen != "" {
		host, _, err := net.SplitHostPort(cc.Listen)
		switch {
		case err != nil:
			add("console.listen", "%q is not host:port (for example 127.0.0.1:9470): %v", cc.Listen, err)
		case !isLoopback(host) && (cc.TLSCert == "" || cc.TLSKey == ""):
			add("console.listen", "%s can be reached from other computers, so the console needs https: set console.tls_cert and console.tls_key "+
				"(or listen on 127.0.0.1 and put a reverse proxy with TLS in front)", cc.Listen)
		}
	}
	if (cc.TLSCert == "") != (cc.TLSKey == "") {
		add("console.tls_cert", "give both console.tls_cert and console.tls_key, or neither")
	}
	if cc.TLSCert != "" {
		checkFile(add, "console.tls_cert", cc.TLSCert, "a PEM certificate for the console's https")
	}
	if cc.TLSKey != "" && checkFile(add, "console.tls_key", cc.TLSKey, "the PEM private key of console.tls_cert") {
		if fi, err := os.Stat(cc.TLSKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
			add("console.tls_key", "%s can be read by other users (mode %04o); run: chmod 600 %s", cc.TLSKey, fi.Mode().Perm(), cc.TLSKey)
		}
	}
	if cc.SessionIdle < time.Minute || cc.SessionIdle > 12*time.Hour {
		add("console.session_idle", "must be between 1m and 12h, not %v", cc.SessionIdle)
	}
	users := c.UsersFile()
	if fi, err := os.Stat(users); err == nil && fi.Mode().Perm()&0o077 != 0 {
		add("console.users_file", "%s can be read by other users (mode %04o); run: chmod 600 %s", users, fi.Mode().Perm(), users)
	}
	if cc.UsersFile != "" {
		if _, err := os.Stat(filepath.Dir(cc.UsersFile)); err != nil {
			add("console.users_file", "the folder of %s does not exist", cc.UsersFile)
		}
	}
}

// isLoopback reports whether a listen host is reachable from this machine only. An empty host
// (":9470") listens on every address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var organID = regexp.MustCompile(`^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$`)

func oneOf(add func(string, string, ...any), key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	add(key, "%q is not one of %s", value, strings.Join(allowed, ", "))
}

// tessdataDir is where the language models are looked for: the configured folder, or the
// Debian default when it exists (elsewhere Tesseract's own default applies and is not checked).
func (c *Config) tessdataDir() string {
	if c.OCR.Tessdata != "" {
		return c.OCR.Tessdata
	}
	const debian = "/usr/share/tesseract-ocr/5/tessdata"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	return ""
}

func checkDir(add func(string, string, ...any), key, dir string, mayCreate bool) {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		add(key, "%s is not a folder", dir)
	case os.IsNotExist(err) && mayCreate:
		// The station creates its output folders; the parent must be there.
		if _, perr := os.Stat(filepath.Dir(dir)); perr != nil {
			add(key, "%s does not exist and neither does its parent folder", dir)
		}
	case os.IsNotExist(err):
		add(key, "folder %s does not exist", dir)
	case err != nil:
		add(key, "cannot open %s: %v", dir, err)
	}
}

func checkFile(add func(string, string, ...any), key, path, what string) bool {
	if path == "" {
		add(key, "is empty; it should name %s", what)
		return false
	}
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		add(key, "%s does not exist (%s)", path, what)
		return false
	case err != nil:
		add(key, "cannot open %s: %v", path, err)
		return false
	case fi.IsDir():
		add(key, "%s is a folder, not a file", path)
		return false
	}
	return true
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
