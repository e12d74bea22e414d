package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
)

// SendOrderConfirmationArgs are the args of the send_order_confirmation job. It emails the customer the order they placed (order/created).
type SendOrderConfirmationArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// OrderID is the placed order's id.
	OrderID string `json:"order_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendOrderConfirmationArgs) Kind() string { return "send_order_confirmation" }

// InsertOpts puts the job in the QueueEmail queue with 10 attempts.
func (SendOrderConfirmationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10}
}

// SendOrderConfirmationWorker works send_order_confirmation: it emails the
// customer the order as stored (items, quantities, prices and total).
type SendOrderConfirmationWorker struct {
	river.WorkerDefaults[SendOrderConfirmationArgs]

	deps *Deps
	tmpl *emailTemplates
}

// Timeout bounds one attempt.
func (w *SendOrderConfirmationWorker) Timeout(*river.Job[SendOrderConfirmationArgs]) time.Duration {
	return sendTimeout
}

type orderLine struct {
	Name        string
	Quantity    int
	PricePaise  int64
	AmountPaise int64
}

// Work sends the confirmation once.
func (w *SendOrderConfirmationWorker) Work(ctx context.Context, job *river.Job[SendOrderConfirmationArgs]) error {
	q := db.New(w.deps.DB)
	order, err := q.OrderGet(ctx, job.Args.OrderID)
	if err != nil {
		return fmt.Errorf("send order confirmation: %w", notFoundCancels(err, "order "+job.Args.OrderID))
	}
	user, err := q.UserGet(ctx, order.UserID)
	if err != nil {
		return fmt.Errorf("send order confirmation: %w", notFoundCancels(err, "user "+order.UserID))
	}
	shop, err := q.ShopGet(ctx, order.ShopID)
	if err != nil {
		return fmt.Errorf("send order confirmation: %w", notFoundCancels(err, "shop "+order.ShopID))
	}
	rows, err := q.OrderItemListWithProduct(ctx, order.ID)
	if err != nil {
		return fmt.Errorf("send order confirmation: load items: %w", err)
	}
	lines := make([]orderLine, len(rows))
	for i, r := range rows {
		lines[i] = orderLine{Name: r.ProductName, Quantity: int(r.Quantity), PricePaise: r.PricePaise, AmountPaise: r.PricePaise * int64(r.Quantity)}
	}
	e, err := w.tmpl.render("order_confirmation", map[string]any{
		"Name": user.Name, "OrderID": order.ID, "ShopName": shop.Name, "Items": lines, "TotalPaise": order.TotalPaise,
	})
	if err != nil {
		return river.JobCancel(fmt.Errorf("send order confirmation: %w", err))
	}
	key := IdempotencyKey(job.Args.EventID, job.Kind, user.Email)
	if err := deliver(ctx, w.deps.DB, job, job.Args.EventID, emailMessage(w.deps.Mailer, key, user.Email, e)); err != nil {
		return fmt.Errorf("send order confirmation: %w", err)
	}
	return nil
}
