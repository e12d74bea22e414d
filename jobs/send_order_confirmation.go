package jobs

import (
	"context"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/redact"
)

// sendOrderConfirmation emails the customer the receipt of the order they
// placed (order/created), as steps: load, render, then send and record
// (sendSteps). A retry skips the steps an earlier attempt finished; the
// email goes out once. An order cancelled before its email went out gets
// none (cancelOn).
func (d *Deps) sendOrderConfirmation() *fn.Function {
	return fn.New(fn.Options{
		ID: "send-order-confirmation", Queue: QueueEmail, Priority: priority(PriorityOrder),
		Timeouts: fn.Timeouts{Attempt: sendTimeout},
		CancelOn: []fn.CancelOn{{Event: events.NameOrderCancelled, Match: "data.orderId"}},
	}, fn.On(events.NameOrderCreated), func(ctx context.Context, in fn.Input[events.OrderCreated]) (any, error) {
		receipt, err := fn.Run(ctx, "load", func(ctx context.Context) (orderReceipt, error) {
			return d.loadReceipt(ctx, in.Data.OrderID)
		})
		if err != nil {
			return nil, err
		}
		email, err := fn.Run(ctx, "render", func(context.Context) (renderedEmail, error) {
			return d.render("order_confirmation", map[string]any{
				"Name": receipt.Name, "OrderID": receipt.OrderID, "ShopName": receipt.ShopName,
				"Items": receipt.Items, "TotalPaise": receipt.TotalPaise,
			})
		})
		if err != nil {
			return nil, err
		}
		return nil, redact.Error(sendSteps(ctx, d.ledger, in.Job, d.email(originOf(in.Job, in.Event.ID), receipt.Email, email)))
	})
}
