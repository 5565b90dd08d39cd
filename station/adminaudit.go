package station

import (
	"context"
	"encoding/json"

	"scanstation/config"
	"scanstation/console"
	"scanstation/journal"
)

var _ console.Recorder = (*Desk)(nil)

// RecordAdmin keeps an administrator's change to the users in the journal's audit trail,
// beside what people did to documents: job 0, the user changed as the subject.
func (d *Desk) RecordAdmin(ctx context.Context, by console.User, action, subject, detail string) error {
	var words string
	if detail != "" {
		b, err := json.Marshal(struct {
			Change string `json:"change"`
		}{detail})
		if err != nil {
			return err
		}
		words = string(b)
	}
	return d.s.journal.Record(ctx, journal.AuditEntry{
		User: by.Name, Role: string(by.Role), Action: action, Subject: "user " + subject, Detail: words,
	})
}

// RunningConfig is the configuration in force now: the one read at start, or the last one a
// reload put in force.
func (d *Desk) RunningConfig() *config.Config { return d.s.config() }
