package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// SendWelcomeEmailArgs are the args of the send_welcome_email job. It welcomes a new user by email (user/created).
type SendWelcomeEmailArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// UserID is the new user's id.
	UserID string `json:"user_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendWelcomeEmailArgs) Kind() string { return "send_welcome_email" }

// InsertOpts puts the job in the QueueEmail queue with 10 attempts.
func (SendWelcomeEmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10}
}

// SendWelcomeEmailWorker works send_welcome_email: it emails the address in
// the user/created event.
type SendWelcomeEmailWorker struct {
	river.WorkerDefaults[SendWelcomeEmailArgs]

	deps *Deps
	tmpl *emailTemplates
}

// Timeout bounds one attempt.
func (w *SendWelcomeEmailWorker) Timeout(*river.Job[SendWelcomeEmailArgs]) time.Duration {
	return sendTimeout
}

// Work sends the welcome email once.
func (w *SendWelcomeEmailWorker) Work(ctx context.Context, job *river.Job[SendWelcomeEmailArgs]) error {
	_, p, err := loadEvent(ctx, db.New(w.deps.DB), job.Args.EventID)
	if err != nil {
		return fmt.Errorf("send welcome email: %w", err)
	}
	u, ok := p.(events.UserCreated)
	if !ok {
		return river.JobCancel(fmt.Errorf("send welcome email: event %s is %T, not user/created", job.Args.EventID, p))
	}
	e, err := w.tmpl.render("welcome", map[string]any{"Name": u.Name})
	if err != nil {
		return river.JobCancel(fmt.Errorf("send welcome email: %w", err))
	}
	key := IdempotencyKey(job.Args.EventID, job.Kind, u.Email)
	if err := deliver(ctx, w.deps.DB, job, job.Args.EventID, emailMessage(w.deps.Mailer, key, u.Email, e)); err != nil {
		return fmt.Errorf("send welcome email: %w", err)
	}
	return nil
}
