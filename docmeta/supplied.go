package docmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"
)

// SidecarPatterns are the names of sidecar files, for the watcher to leave
// alone (they are not scans).
var SidecarPatterns = []string{"*.yaml", "*.yml", "*.json"}

var sidecarExts = []string{".yaml", ".yml", ".json"}

// SidecarPath returns the operator's sidecar of the scan at scanPath
// (scan.pdf → scan.yaml, scan.yml or scan.json), or false when there is
// none. More than one is an error: which one counts would be a guess.
func SidecarPath(scanPath string) (string, bool, error) {
	base := strings.TrimSuffix(scanPath, filepath.Ext(scanPath))
	var found []string
	for _, ext := range sidecarExts {
		p := base + ext
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", false, fmt.Errorf("sidecar %s: %w", p, err)
		}
	}
	switch len(found) {
	case 0:
		return "", false, nil
	case 1:
		return found[0], true, nil
	}
	return "", false, fmt.Errorf("%s has %d sidecars (%s); keep one", filepath.Base(scanPath), len(found),
		strings.Join(found, ", "))
}

// ReadSupplied reads the operator's sidecar next to the scan (see
// SidecarPath): a flat YAML or JSON object whose keys are FieldNames and
// whose values are strings (numbers are taken as written):
//
//	code_number: 2417
//	code_notation: UBND-VP
//	issued_date: 2020-06-05
//	subject: Triển khai số hóa hồ sơ, tài liệu lưu trữ
//
// The fields it gives have Source "sidecar" and confidence 1. It reports
// false when there is no sidecar. An unknown key, a value that is not text
// and a value outside the limits of Appendix VI are errors naming the file
// and the field; nothing is truncated or dropped silently.
func ReadSupplied(scanPath string) (Metadata, bool, error) {
	values, path, ok, err := sidecarValues(scanPath)
	if err != nil || !ok {
		return Metadata{}, false, err
	}
	delete(values, PagesKey) // not a record field: SuppliedPages reads it
	m, err := supplied(values, SourceSidecar)
	if err != nil {
		return Metadata{}, false, fmt.Errorf("sidecar %s: %w", path, err)
	}
	return m, true, nil
}

// PagesKey is the sidecar key for the number of pages the paper has (pages: 12): a scan
// that does not hold as many is refused, since a sheet may have been double-fed.
const PagesKey = "pages"

// SuppliedPages reads the page count the operator's sidecar gives, 0 when it gives none.
func SuppliedPages(scanPath string) (int, error) {
	values, path, ok, err := sidecarValues(scanPath)
	if err != nil || !ok || values[PagesKey] == "" {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(values[PagesKey]))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("sidecar %s: %s: want the number of pages of the paper (a whole number from 1), not %q", path, PagesKey, values[PagesKey])
	}
	return n, nil
}

func sidecarValues(scanPath string) (map[string]string, string, bool, error) {
	path, ok, err := SidecarPath(scanPath)
	if err != nil || !ok {
		return nil, "", false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, false, fmt.Errorf("sidecar: %w", err)
	}
	var values map[string]string
	if filepath.Ext(path) == ".json" {
		values, err = jsonValues(data)
	} else {
		values, err = yamlValues(data)
	}
	if err != nil {
		return nil, path, false, fmt.Errorf("sidecar %s: %w", path, err)
	}
	return values, path, true, nil
}

func yamlValues(data []byte) (map[string]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file supplies nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want key: value pairs", root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: want text, not a list or a map", v.Line, k.Value)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s given twice", k.Line, k.Value)
		}
		if v.Tag == "!!null" {
			v.Value = ""
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

func jsonValues(data []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		var s string
		switch {
		case bytes.Equal(v, []byte("null")):
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			s = string(v)
		default:
			return nil, fmt.Errorf("%s: want text, not %s", k, v)
		}
		out[k] = s
	}
	return out, nil
}

// supplied turns key-value text into Metadata with the given source,
// refusing unknown keys and values that fail Validate.
func supplied(values map[string]string, source string) (Metadata, error) {
	var m Metadata
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := m.Get(k)
		if !ok {
			return Metadata{}, fmt.Errorf("unknown field %q (known: %s)", k, strings.Join(FieldNames, ", "))
		}
		v := norm.NFC.String(values[k])
		if v == "" {
			continue
		}
		if k == "issued_date" {
			if t, err := ParseDate(v); err == nil {
				v = t.Format("2006-01-02")
			}
		}
		*f = Field{Value: v, Confidence: 1, Source: source}
	}
	if problems := m.Validate(); len(problems) > 0 {
		return Metadata{}, Problems(problems)
	}
	return m, nil
}

// Defaults are what a hot-folder says of every scan put into it.
type Defaults struct {
	OrganID, OrganName, TypeName string

	// FolderPattern is a regular expression matched against the name of
	// the folder the scan is in; its named groups, called after
	// FieldNames, supply those fields. `^(?P<code_notation>[^_]+)_(?P<issued_date>\d{4}-\d{2}-\d{2})$`
	// reads "UBND-VP_2020-06-05". A folder that does not match supplies
	// nothing.
	FolderPattern string
}

// Check compiles the pattern, checks its group names and the fixed values;
// call it when the configuration is read.
func (d Defaults) Check() error {
	_, err := d.pattern()
	if err != nil {
		return err
	}
	_, err = supplied(map[string]string{"organ_id": d.OrganID, "organ_name": d.OrganName, "type_name": d.TypeName},
		SourceHotFolder)
	return err
}

func (d Defaults) pattern() (*regexp.Regexp, error) {
	if d.FolderPattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(d.FolderPattern)
	if err != nil {
		return nil, fmt.Errorf("folder pattern: %w", err)
	}
	named := 0
	for _, name := range re.SubexpNames()[1:] {
		if name == "" {
			continue
		}
		named++
		if !slices.Contains(FieldNames, name) {
			return nil, fmt.Errorf("folder pattern: group %q is not a field (known: %s)", name, strings.Join(FieldNames, ", "))
		}
	}
	if named == 0 {
		return nil, errors.New("folder pattern: no named group, so it supplies nothing; name groups like (?P<code_notation>...)")
	}
	return re, nil
}

// For returns what the hot-folder supplies for the scan at scanPath: the
// fixed defaults (Source "hot-folder") and, laid over them, the fields the
// folder pattern reads from the name of the folder holding the scan (Source
// "folder-name"). A value the pattern reads that fails Validate is an error
// naming the folder and the field.
func (d Defaults) For(scanPath string) (Metadata, error) {
	fixed, err := supplied(map[string]string{"organ_id": d.OrganID, "organ_name": d.OrganName, "type_name": d.TypeName},
		SourceHotFolder)
	if err != nil {
		return Metadata{}, fmt.Errorf("hot-folder defaults: %w", err)
	}
	re, err := d.pattern()
	if err != nil || re == nil {
		return fixed, err
	}
	folder := filepath.Base(filepath.Dir(scanPath))
	match := re.FindStringSubmatch(folder)
	if match == nil {
		return fixed, nil
	}
	values := map[string]string{}
	for i, name := range re.SubexpNames() {
		if i > 0 && name != "" {
			values[name] = match[i]
		}
	}
	fromName, err := supplied(values, SourceFolderName)
	if err != nil {
		return Metadata{}, fmt.Errorf("folder name %q: %w", folder, err)
	}
	return Merge(fixed, fromName), nil
}
