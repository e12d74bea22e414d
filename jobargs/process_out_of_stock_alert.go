package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// OutOfStockAlertPeriod is how often at most one product's out-of-stock alert
// is sent.
const OutOfStockAlertPeriod = time.Hour

// OutOfStockAlertsPerShop is how many process_out_of_stock_alert jobs of one
// shop run at once, across every worker process: a shop whose products sell
// out together gets its alerts one after another, and cannot take every
// notifications worker from the other shops.
const OutOfStockAlertsPerShop = 1

// ProcessOutOfStockAlertArgs are the args of the process_out_of_stock_alert
// job (product/out_of_stock): it tells the shop owner by email and push.
type ProcessOutOfStockAlertArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// ProductID is the product that ran out.
	ProductID string `json:"product_id" river:"unique"`
	// ShopID is the shop selling the product: the key of its concurrency
	// limit (OutOfStockAlertsPerShop). Jobs inserted before it existed have
	// none and are limited per product.
	ShopID string `json:"shop_id,omitempty"`
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

// CoalesceKey identifies the jobs that are one job (unique args): those of
// one product. See Coalescer.
func (a ProcessOutOfStockAlertArgs) CoalesceKey() string { return a.ProductID }

// ConcurrencyKey is the key of the job's concurrency limit: its shop
// (OutOfStockAlertsPerShop).
func (a ProcessOutOfStockAlertArgs) ConcurrencyKey() string {
	if a.ShopID == "" {
		return "product:" + a.ProductID
	}
	return "shop:" + a.ShopID
}
