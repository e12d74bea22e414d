package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/jobargs"
)

// stalledOrder is what the reminder about a stalled order needs.
type stalledOrder struct {
	OrderID    string `json:"orderId"`
	Status     string `json:"status"`
	ShopName   string `json:"shopName"`
	OwnerName  string `json:"ownerName"`
	OwnerEmail string `json:"ownerEmail"`
}

// RemindStalledOrderWorker works remind_stalled_order, written as steps
// (package flow): wait up to Deps.StalledOrderAfter for the order's next
// order/updated; if none comes, load the order and, if it is still
// confirmed (not cancelled meanwhile), email the shop's owner a reminder
// (render, send, record). While it waits the job is parked: it holds no
// worker, and the order's update wakes it in the transaction that publishes
// it.
type RemindStalledOrderWorker struct {
	river.WorkerDefaults[jobargs.RemindStalledOrderArgs]

	deps *Deps
}

// Timeout bounds one attempt (see sendWorker.Timeout); a parked job is not
// running, so the wait does not count.
func (w *RemindStalledOrderWorker) Timeout(*river.Job[jobargs.RemindStalledOrderArgs]) time.Duration {
	return sendTimeout
}

// Work runs the steps.
func (w *RemindStalledOrderWorker) Work(ctx context.Context, job *river.Job[jobargs.RemindStalledOrderArgs]) error {
	err := flow.Do(ctx, w.deps.DB, job.JobRow, func(ctx context.Context) error { return w.work(ctx, job) })
	if err != nil {
		return fmt.Errorf("%s: %w", job.Kind, err)
	}
	return nil
}

func (w *RemindStalledOrderWorker) work(ctx context.Context, job *river.Job[jobargs.RemindStalledOrderArgs]) error {
	d := w.deps
	_, updated, err := flow.WaitForEvent(ctx, "wait for update", flow.Wait{
		Event: events.NameOrderUpdated, Key: "orderId", Value: job.Args.OrderID,
		Timeout: d.StalledOrderAfter, After: job.Args.EventID,
	})
	if err != nil || updated {
		return err
	}
	order, err := flow.Run(ctx, "load", func(ctx context.Context) (stalledOrder, error) {
		return d.loadStalledOrder(ctx, job.Args.OrderID)
	})
	if err != nil || order.Status != "confirmed" {
		return err // moved on without an order/updated (cancelled): no reminder
	}
	email, err := flow.Run(ctx, "render", func(context.Context) (renderedEmail, error) {
		return d.render("order_stalled", map[string]any{
			"Name": order.OwnerName, "OrderID": order.OrderID, "ShopName": order.ShopName, "After": minutes(d.StalledOrderAfter),
		})
	})
	if err != nil {
		return err
	}
	return sendSteps(ctx, d.DB, job, d.email(originOf(job, job.Args.EventID), order.OwnerEmail, email))
}

// loadStalledOrder reads the order, its shop and the shop's owner; any of
// them gone cancels the job.
func (d *Deps) loadStalledOrder(ctx context.Context, orderID string) (stalledOrder, error) {
	q := db.New(d.DB)
	o, err := q.OrderGet(ctx, orderID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "order "+orderID)
	}
	shop, err := q.ShopGet(ctx, o.ShopID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "shop "+o.ShopID)
	}
	owner, err := q.ShopOwnerGet(ctx, o.ShopID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "owner of shop "+o.ShopID)
	}
	return stalledOrder{OrderID: o.ID, Status: o.Status, ShopName: shop.Name, OwnerName: owner.Name, OwnerEmail: owner.Email}, nil
}

// minutes says d in whole minutes, as an email reads it: "30 minutes".
func minutes(d time.Duration) string {
	n := int(d.Round(time.Minute) / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
