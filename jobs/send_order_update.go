package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// SendOrderUpdateArgs are the args of the send_order_update job. It emails the customer a status change or cancellation (order/updated, order/cancelled).
type SendOrderUpdateArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// OrderID is the changed order's id.
	OrderID string `json:"order_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendOrderUpdateArgs) Kind() string { return "send_order_update" }

// InsertOpts puts the job in the QueueEmail queue with 10 attempts.
func (SendOrderUpdateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10}
}

// SendOrderUpdateWorker works send_order_update: it emails the customer an
// order's new status (order/updated) or its cancellation and reason
// (order/cancelled).
type SendOrderUpdateWorker struct {
	river.WorkerDefaults[SendOrderUpdateArgs]

	deps *Deps
	tmpl *emailTemplates
}

// Timeout bounds one attempt.
func (w *SendOrderUpdateWorker) Timeout(*river.Job[SendOrderUpdateArgs]) time.Duration {
	return sendTimeout
}

// Work sends the update once.
func (w *SendOrderUpdateWorker) Work(ctx context.Context, job *river.Job[SendOrderUpdateArgs]) error {
	q := db.New(w.deps.DB)
	_, p, err := loadEvent(ctx, q, job.Args.EventID)
	if err != nil {
		return fmt.Errorf("send order update: %w", err)
	}
	var (
		userID string
		name   string
		data   = map[string]any{"OrderID": job.Args.OrderID}
	)
	switch p := p.(type) {
	case events.OrderUpdated:
		userID, name = p.UserID, "order_update"
		data["Status"], data["PreviousStatus"] = p.Status, p.PreviousStatus
	case events.OrderCancelled:
		userID, name = p.UserID, "order_cancelled"
		data["Reason"] = p.Reason
	default:
		return river.JobCancel(fmt.Errorf("send order update: event %s is %T, not an order update", job.Args.EventID, p))
	}
	user, err := q.UserGet(ctx, userID)
	if err != nil {
		return fmt.Errorf("send order update: %w", notFoundCancels(err, "user "+userID))
	}
	data["Name"] = user.Name
	e, err := w.tmpl.render(name, data)
	if err != nil {
		return river.JobCancel(fmt.Errorf("send order update: %w", err))
	}
	key := IdempotencyKey(job.Args.EventID, job.Kind, user.Email)
	if err := deliver(ctx, w.deps.DB, job, job.Args.EventID, emailMessage(w.deps.Mailer, key, user.Email, e)); err != nil {
		return fmt.Errorf("send order update: %w", err)
	}
	return nil
}
