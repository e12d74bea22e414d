package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// StalledOrderAfter is how long a confirmed order may go without an update
// before remind_stalled_order reminds the shop.
const StalledOrderAfter = 30 * time.Minute

// RemindStalledOrderArgs are the args of the remind_stalled_order job
// (order/updated to confirmed): if the order has no further order/updated
// within StalledOrderAfter, it emails the shop's owner a reminder. The job
// waits parked (package flow), holding no worker.
type RemindStalledOrderArgs struct {
	// EventID is the id of the event that triggered the job (the order's
	// confirmation).
	EventID string `json:"event_id"`
	// OrderID is the confirmed order's id.
	OrderID string `json:"order_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (RemindStalledOrderArgs) Kind() string { return "remind_stalled_order" }

// InsertOpts puts the job in the notifications queue with 10 attempts.
func (RemindStalledOrderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotifications, MaxAttempts: 10}
}
