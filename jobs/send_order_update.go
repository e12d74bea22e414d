package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
)

// orderUpdate composes send_order_update: the customer's email about an
// order's new status (order/updated) or its cancellation and reason
// (order/cancelled).
func (d *Deps) orderUpdate(ctx context.Context, job *river.Job[jobargs.SendOrderUpdateArgs]) ([]message, error) {
	q := db.New(d.DB)
	_, p, err := loadEvent(ctx, q, job.Args.EventID)
	if err != nil {
		return nil, err
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
		return nil, river.JobCancel(fmt.Errorf("event %s is %T, not an order update", job.Args.EventID, p))
	}
	user, err := q.UserGet(ctx, userID)
	if err != nil {
		return nil, notFoundCancels(err, "user "+userID)
	}
	data["Name"] = user.Name
	e, err := d.render(name, data)
	if err != nil {
		return nil, err
	}
	return []message{d.email(originOf(job, job.Args.EventID), user.Email, e)}, nil
}
