package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// sendOrderUpdate emails the customer an order's new status (order/updated)
// or its cancellation and reason (order/cancelled). One order's updates
// run one at a time, so they go out in order; a cancellation cancels the
// order's updates not yet sent (not its own email).
func (d *Deps) sendOrderUpdate() *fn.Function {
	return fn.New(fn.Options{
		ID: "send-order-update", Queue: QueueEmail, Priority: priority(PriorityOrder),
		Timeouts:    fn.Timeouts{Attempt: sendTimeout},
		Concurrency: []fn.Concurrency{{Key: "data.orderId", Limit: 1}},
		CancelOn:    []fn.CancelOn{{Event: events.NameOrderCancelled, Match: "data.orderId"}},
	}, fn.On(events.NameOrderUpdated, events.NameOrderCancelled), func(ctx context.Context, in fn.Input[events.Payload]) (any, error) {
		var userID, template string
		data := map[string]any{}
		switch p := in.Data.(type) {
		case events.OrderUpdated:
			userID, template = p.UserID, "order_update"
			data["OrderID"], data["Status"], data["PreviousStatus"] = p.OrderID, p.Status, p.PreviousStatus
		case events.OrderCancelled:
			userID, template = p.UserID, "order_cancelled"
			data["OrderID"], data["Reason"] = p.OrderID, p.Reason
		default:
			return nil, river.JobCancel(fmt.Errorf("event %s is %s, not an order update", in.Event.ID, in.Event.Name))
		}
		user, err := db.New(d.DB).UserGet(ctx, userID)
		if err != nil {
			return nil, notFoundCancels(err, "user "+userID)
		}
		data["Name"] = user.Name
		e, err := d.render(template, data)
		if err != nil {
			return nil, err
		}
		return nil, d.send(ctx, in.Job, d.email(originOf(in.Job, in.Event.ID), user.Email, e))
	})
}
