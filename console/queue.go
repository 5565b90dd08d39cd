package console

import (
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/text/message"

	"scanstation/lang"
	"scanstation/users"
)

// stage is one count of the queue page: the words people use for a step, and the journal
// states it gathers.
type stage struct {
	key    string // for the page's data-count and the events' JSON
	label  string // message key
	states []string
}

// stages are the queue's counts, in the order a document passes them. The journal has more
// states than a person needs to tell apart: approved and built both wait for the token, and a
// signed copy awaiting validation is signed.
var stages = []stage{
	{"received", "Received", []string{"received"}},
	{"recognising", "Recognising", []string{"spooled"}},
	{"review", "Waiting for review", []string{"awaiting_approval"}},
	{"token", "Waiting for the signing device", []string{"approved", "built"}},
	{"signed", "Signed", []string{"awaiting_validation", "signed"}},
	{"delivered", "Delivered", []string{"delivered", "archived"}},
	{"failed", "Refused", []string{"failed"}},
}

// stateKey is the message key that names a journal state to people.
func stateKey(state string) string {
	switch state {
	case "received":
		return "Received"
	case "spooled":
		return "Recognising"
	case "awaiting_approval":
		return "Waiting for review"
	case "approved", "built":
		return "Approved, waiting for the signing device"
	case "awaiting_validation":
		return "Signed, awaiting validation"
	case "signed":
		return "Signed"
	case "delivered", "archived":
		return "Delivered"
	case "failed":
		return "Refused"
	}
	return state
}

// queueSnapshot is the queue as the page shows it, words already in the person's language:
// the template renders it and /events sends it as JSON for console.js to put in place.
type queueSnapshot struct {
	Counts []stateCount `json:"counts"`
	Token  tokenWords   `json:"token"`
	Errors []errorLine  `json:"errors"`
	Review []reviewLine `json:"review"`
}

type stateCount struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	N     int    `json:"n"`
}

type tokenWords struct {
	State string `json:"state"`
	Text  string `json:"text"`
}

type errorLine struct {
	At     string `json:"at"`
	Href   string `json:"href"` // the document's page, "" when none
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

type reviewLine struct {
	Href    string `json:"href"`
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Folder  string `json:"folder"`
	Pages   int    `json:"pages"`
	Updated string `json:"updated"`
}

func snapshotOf(q QueueView, p *message.Printer) queueSnapshot {
	s := queueSnapshot{Errors: []errorLine{}, Review: []reviewLine{}}
	for _, st := range stages {
		n := 0
		for _, name := range st.states {
			n += q.Counts[name]
		}
		s.Counts = append(s.Counts, stateCount{Key: st.key, Label: p.Sprintf(st.label), N: n})
	}
	s.Token = tokenWords{State: q.Token.State}
	switch q.Token.State {
	case TokenReady:
		s.Token.Text = p.Sprintf("Signing device ready")
		if q.Token.Label != "" {
			s.Token.Text = p.Sprintf("Signing device ready: %s", q.Token.Label)
		}
	case TokenAbsent:
		s.Token.Text = p.Sprintf("No signing device: plug in the token")
	case TokenError:
		s.Token.Text = p.Sprintf("Signing device unusable: %s", say(p, q.Token.Detail))
	default:
		s.Token.State = TokenUnknown
		s.Token.Text = p.Sprintf("Signing device not checked yet")
	}
	for _, e := range q.Errors {
		// A reason about the file starts with its name, which the line shows already.
		l := errorLine{At: when(e.At), Name: e.Name, Reason: strings.TrimPrefix(say(p, e.Reason), e.Name+": ")}
		if e.Document > 0 {
			l.Href = docHref(e.Document)
		}
		s.Errors = append(s.Errors, l)
	}
	for _, d := range q.Review {
		s.Review = append(s.Review, reviewLine{Href: docHref(d.ID), ID: d.ID, Name: d.Name, Folder: d.HotFolder,
			Pages: d.Pages, Updated: when(d.Updated)})
	}
	return s
}

func docHref(id int64) string { return "/doc/" + strconv.FormatInt(id, 10) }

// queue is the start page: the queue for those who review, a welcome for the admin.
func (c *console) queue(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	if !s.role.Allows(users.Operator) {
		c.render(w, r, http.StatusOK, "home.html", nil)
		return
	}
	q, err := c.desk.Queue(r.Context())
	if err != nil {
		c.stationFailed(w, r, "queue", err)
		return
	}
	c.render(w, r, http.StatusOK, "queue.html", snapshotOf(q, lang.Printer(c.languageOf(r))))
}

// stationFailed answers a Desk error no page expects: the details go to the log, the person
// reads that something went wrong.
func (c *console) stationFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	c.log.Error("console: the station could not answer", "page", what, "path", r.URL.Path, "err", err)
	c.fail(w, r, http.StatusInternalServerError, "Station error", "Something went wrong on the station; the details are in its log.")
}
