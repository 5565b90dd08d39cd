package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"scanstation/lang"
)

// stageKey is the message key that names a stage that refused a scan.
func stageKey(stage string) string {
	switch stage {
	case "receive":
		return "receiving"
	case "duplicate":
		return "the duplicate check"
	case "decode":
		return "reading the file"
	case "ocr":
		return "recognition"
	case "quality":
		return "the quality check"
	case "metadata":
		return "reading the record"
	case "mark":
		return "placing the certification mark"
	case "approval":
		return "the clerk's approval"
	case "rescan":
		return "review (sent back for rescanning)"
	case "build":
		return "building the PDF/A"
	case "sign":
		return "signing"
	case "validate":
		return "validation"
	case "deliver":
		return "delivery"
	case "archive":
		return "archiving"
	}
	return stage
}

// failedPage is the data of failed.html.
type failedPage struct {
	Inputs []failedInput
	Flash  string
	Errors map[string]string // a discard reason's message, by the input's name
}

type failedInput struct {
	FailedView
	Path     string // the name escaped for an address: /failed/{Path}/...
	Previews []string
}

// failedPreviews is how many pages of a refused input the failed page previews.
const failedPreviews = 3

func (c *console) failedPage(w http.ResponseWriter, r *http.Request) {
	pg := failedPage{Errors: map[string]string{}}
	if key, ok := done[r.URL.Query().Get("done")]; ok {
		pg.Flash = lang.Printer(c.languageOf(r)).Sprintf(key)
	}
	c.showFailed(w, r, http.StatusOK, pg)
}

func (c *console) showFailed(w http.ResponseWriter, r *http.Request, status int, pg failedPage) {
	list, err := c.desk.Failed(r.Context())
	if err != nil {
		c.stationFailed(w, r, "failed", err)
		return
	}
	for _, f := range list {
		in := failedInput{FailedView: f, Path: url.PathEscape(f.Name)}
		for n := 1; n <= min(f.Pages, failedPreviews); n++ {
			in.Previews = append(in.Previews, "/failed/"+in.Path+"/page/"+strconv.Itoa(n)+".jpg?w=200")
		}
		pg.Inputs = append(pg.Inputs, in)
	}
	c.render(w, r, status, "failed.html", pg)
}

// failedName is the {name} of the request when it is one the Desk lists: the console passes
// on only names the station gave it, never a path a request made up.
func (c *console) failedName(r *http.Request) (FailedView, bool, error) {
	list, err := c.desk.Failed(r.Context())
	if err != nil {
		return FailedView{}, false, err
	}
	name := r.PathValue("name")
	i := slices.IndexFunc(list, func(f FailedView) bool { return f.Name == name })
	if i < 0 {
		return FailedView{}, false, nil
	}
	return list[i], true, nil
}

func (c *console) failedPreview(w http.ResponseWriter, r *http.Request) {
	page, pok := parsePageFile(r.PathValue("file"))
	width, wok := previewWidthOf(r)
	if !pok || !wok {
		c.notFound(w, r)
		return
	}
	f, ok, err := c.failedName(r)
	switch {
	case err != nil:
		c.previewFailed(w, r, err)
		return
	case !ok || page > f.Pages:
		c.notFound(w, r)
		return
	}
	data, ct, err := c.desk.FailedPreview(r.Context(), f.Name, page, width)
	if err != nil {
		c.previewFailed(w, r, err)
		return
	}
	sendPreview(w, r, data, ct)
}

// failedAction is a POST on a refused input; act returns the form's own refusals, if any.
func (c *console) failedAction(w http.ResponseWriter, r *http.Request, flash string, act func(name string, by User) (map[string]string, error)) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Request refused", "The form could not be read. Reload the page and try again.")
		return
	}
	f, ok, err := c.failedName(r)
	switch {
	case err != nil:
		c.stationFailed(w, r, "failed", err)
		return
	case !ok:
		c.notFound(w, r)
		return
	}
	by := userOf(r)
	refused, err := act(f.Name, by)
	switch {
	case len(refused) > 0:
		c.showFailed(w, r, http.StatusUnprocessableEntity, failedPage{Errors: refused})
		return
	case errors.Is(err, ErrNotFound):
		c.notFound(w, r)
		return
	case err != nil:
		c.stationFailed(w, r, flash, err)
		return
	}
	c.log.Info("console: action", "action", flash, "input", f.Name, "user", by.Name, "role", by.Role)
	http.Redirect(w, r, "/failed?done="+flash, http.StatusSeeOther)
}

func (c *console) retry(w http.ResponseWriter, r *http.Request) {
	c.failedAction(w, r, "retried", func(name string, by User) (map[string]string, error) {
		return nil, c.desk.Retry(r.Context(), name, by)
	})
}

func (c *console) discard(w http.ResponseWriter, r *http.Request) {
	c.failedAction(w, r, "discarded", func(name string, by User) (map[string]string, error) {
		reason, refused := c.reasonOf(r, name)
		if refused != nil {
			return refused, nil
		}
		return nil, c.desk.Discard(r.Context(), name, reason, by)
	})
}
