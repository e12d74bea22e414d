package jobs

import (
	"context"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/redact"
)

// remindStalledOrder reminds a shop's owner of an order confirmed
// (order/updated to confirmed) that sees no further update within
// Deps.StalledOrderAfter. While it waits the run is parked: it holds no
// worker, and the order's next update wakes it in the transaction that
// publishes it. A cancelled order is never reminded of (cancelOn).
func (d *Deps) remindStalledOrder() *fn.Function {
	return fn.New(fn.Options{
		ID: "remind-stalled-order", Queue: QueueNotifications, Timeouts: fn.Timeouts{Attempt: sendTimeout},
		CancelOn: []fn.CancelOn{{Event: events.NameOrderCancelled, Match: "data.orderId"}},
	}, fn.OnIf(events.NameOrderUpdated, "data.status == 'confirmed'"),
		func(ctx context.Context, in fn.Input[events.OrderUpdated]) (any, error) {
			_, updated, err := fn.WaitForEvent(ctx, "wait for update", fn.Wait{
				Event: events.NameOrderUpdated, Match: "data.orderId", Timeout: d.StalledOrderAfter,
			})
			if err != nil || updated {
				return nil, err
			}
			order, err := fn.Run(ctx, "load", func(ctx context.Context) (stalledOrder, error) {
				return d.loadStalledOrder(ctx, in.Data.OrderID)
			})
			if err != nil || order.Status != "confirmed" {
				return nil, err // moved on without an order/updated (cancelled): no reminder
			}
			email, err := fn.Run(ctx, "render", func(context.Context) (renderedEmail, error) {
				return d.render("order_stalled", map[string]any{
					"Name": order.OwnerName, "OrderID": order.OrderID, "ShopName": order.ShopName, "After": minutes(d.StalledOrderAfter),
				})
			})
			if err != nil {
				return nil, err
			}
			return nil, redact.Error(sendSteps(ctx, d.ledger, in.Job, d.email(originOf(in.Job, in.Event.ID), order.OwnerEmail, email)))
		})
}
