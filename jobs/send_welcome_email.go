package jobs

import (
	"context"
	"time"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// sendWelcomeEmail welcomes a new user by email (user/created), unless the
// account was deleted since. One welcome per user, whatever the events: a
// second user/created for the same user within a day starts no run.
func (d *Deps) sendWelcomeEmail() *fn.Function {
	return fn.New(fn.Options{
		ID: "send-welcome-email", Queue: QueueEmail, Priority: priority(PriorityRoutine),
		Timeouts:    fn.Timeouts{Attempt: sendTimeout},
		Idempotency: &fn.Idempotency{Key: "data.userId", TTL: 24 * time.Hour},
	}, fn.On(events.NameUserCreated), func(ctx context.Context, in fn.Input[events.UserCreated]) (any, error) {
		if err := cancelIfDeleted(ctx, db.New(d.DB), in.Data.UserID); err != nil {
			return nil, err
		}
		e, err := d.render("welcome", map[string]any{"Name": in.Data.Name})
		if err != nil {
			return nil, err
		}
		return nil, d.send(ctx, in.Job, d.email(originOf(in.Job, in.Event.ID), in.Data.Email, e))
	})
}
