package jobargs

import (
	"github.com/riverqueue/river"
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

// InsertOpts puts the job in the QueueEmail queue with 10 attempts, ahead
// of other email (PriorityOrder).
func (SendOrderConfirmationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10, Priority: PriorityOrder}
}
