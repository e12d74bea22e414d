package jobargs

import (
	"github.com/riverqueue/river"
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

// InsertOpts puts the job in the QueueEmail queue with 10 attempts, ahead
// of other email (PriorityOrder).
func (SendOrderUpdateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10, Priority: PriorityOrder}
}
