package jobargs

import "github.com/mohallamart/backend/events"

// CancelOn is a function's cancel-on declaration, as Inngest's cancelOn: an
// event that makes the function's jobs for an order pointless. When Publish
// stores that event, it cancels, in the same transaction, the function's
// jobs for the event's order that have not started (available, scheduled,
// retryable or pending, so parked ones too).
type CancelOn struct {
	// Kind is the function (job kind) whose jobs are cancelled; their args
	// carry order_id.
	Kind string
	// Event is the name of the order event that cancels them.
	Event string
}

// CancelOns are the routing table's cancel-on declarations: a cancelled
// order's pending confirmation, update emails and stalled-order reminder
// (parked, waiting for an update) never go out.
func CancelOns() []CancelOn {
	return []CancelOn{
		{Kind: SendOrderConfirmationArgs{}.Kind(), Event: events.NameOrderCancelled},
		{Kind: SendOrderUpdateArgs{}.Kind(), Event: events.NameOrderCancelled},
		{Kind: RemindStalledOrderArgs{}.Kind(), Event: events.NameOrderCancelled},
	}
}

// Cancellation is what one stored event cancels: the pending jobs of Kinds
// for OrderID.
type Cancellation struct {
	Kinds   []string
	OrderID string
}

// Cancels returns what event p cancels, or nil. Publish applies it after
// inserting the batch's jobs, sparing the cancelling event's own jobs (the
// cancellation email).
func Cancels(p events.Payload) *Cancellation {
	o, ok := p.(events.OrderCancelled)
	if !ok {
		return nil
	}
	c := &Cancellation{OrderID: o.OrderID}
	for _, r := range CancelOns() {
		if r.Event == o.EventName() {
			c.Kinds = append(c.Kinds, r.Kind)
		}
	}
	return c
}
