package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// OutOfStockAlertPeriod is how often at most one product's out-of-stock alert
// is sent.
const OutOfStockAlertPeriod = time.Hour

// ProcessOutOfStockAlertArgs are the args of the process_out_of_stock_alert
// job (product/out_of_stock): it tells the shop owner by email and push.
type ProcessOutOfStockAlertArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// ProductID is the product that ran out.
	ProductID string `json:"product_id" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (ProcessOutOfStockAlertArgs) Kind() string { return "process_out_of_stock_alert" }

// InsertOpts puts the job in the notifications queue, at most one per product
// per OutOfStockAlertPeriod.
func (ProcessOutOfStockAlertArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueNotifications,
		MaxAttempts: 10,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByPeriod: OutOfStockAlertPeriod},
	}
}

// ProcessOutOfStockAlertWorker works process_out_of_stock_alert: it tells the
// shop's owner by email and by push that a product sold out.
type ProcessOutOfStockAlertWorker struct {
	river.WorkerDefaults[ProcessOutOfStockAlertArgs]

	deps *Deps
	tmpl *emailTemplates
}

// Timeout bounds one attempt (two sends).
func (w *ProcessOutOfStockAlertWorker) Timeout(*river.Job[ProcessOutOfStockAlertArgs]) time.Duration {
	return alertTimeout
}

// Work sends the email and the push once each.
func (w *ProcessOutOfStockAlertWorker) Work(ctx context.Context, job *river.Job[ProcessOutOfStockAlertArgs]) error {
	q := db.New(w.deps.DB)
	_, p, err := loadEvent(ctx, q, job.Args.EventID)
	if err != nil {
		return fmt.Errorf("process out-of-stock alert: %w", err)
	}
	oos, ok := p.(events.ProductOutOfStock)
	if !ok {
		return river.JobCancel(fmt.Errorf("process out-of-stock alert: event %s is %T, not product/out_of_stock", job.Args.EventID, p))
	}
	owner, err := q.ShopOwnerGet(ctx, oos.ShopID)
	if err != nil {
		return fmt.Errorf("process out-of-stock alert: %w", notFoundCancels(err, "owner of shop "+oos.ShopID))
	}
	shop, err := q.ShopGet(ctx, oos.ShopID)
	if err != nil {
		return fmt.Errorf("process out-of-stock alert: %w", notFoundCancels(err, "shop "+oos.ShopID))
	}
	e, err := w.tmpl.render("out_of_stock", map[string]any{"Name": owner.Name, "ProductName": oos.Name, "ShopName": shop.Name})
	if err != nil {
		return river.JobCancel(fmt.Errorf("process out-of-stock alert: %w", err))
	}
	err = deliver(ctx, w.deps.DB, job, job.Args.EventID,
		emailMessage(w.deps.Mailer, IdempotencyKey(job.Args.EventID, job.Kind, owner.Email), owner.Email, e),
		pushMessage(w.deps.Push, IdempotencyKey(job.Args.EventID, job.Kind, "push:"+owner.ID), owner.ID,
			e.Subject, oos.Name+" at "+shop.Name+" just sold out."),
	)
	if err != nil {
		return fmt.Errorf("process out-of-stock alert: %w", err)
	}
	return nil
}
