package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
)

// welcomeEmail composes send_welcome_email: the welcome email to the
// address in the user/created event, unless the account was deleted since.
func (d *Deps) welcomeEmail(ctx context.Context, job *river.Job[jobargs.SendWelcomeEmailArgs]) ([]message, error) {
	q := db.New(d.DB)
	u, err := loadPayload[events.UserCreated](ctx, q, job.Args.EventID)
	if err != nil {
		return nil, err
	}
	if err := cancelIfDeleted(ctx, q, u.UserID); err != nil {
		return nil, err
	}
	e, err := d.render("welcome", map[string]any{"Name": u.Name})
	if err != nil {
		return nil, err
	}
	return []message{d.email(originOf(job, job.Args.EventID), u.Email, e)}, nil
}
