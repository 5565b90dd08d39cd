package console

import (
	"regexp"
	"testing"
)

// TestStylesheetConfigAndSelect: the configuration page's <pre class="config"> scrolls inside
// its box (a long line must not widen the page past 1366 px), and the role <select> of the
// users page looks like the text inputs beside it.
func TestStylesheetConfigAndSelect(t *testing.T) {
	css, err := assetFiles.ReadFile("assets/console.css")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\.config\s*\{[^}]*overflow-x:\s*auto`).Match(css) {
		t.Error("console.css: .config does not scroll sideways inside its box")
	}
	if !regexp.MustCompile(`(?m)^input\[type=text\][^{]*\bselect\s*\{[^}]*border:`).Match(css) {
		t.Error("console.css: select is not styled as the text inputs are")
	}
}
