package jobargs

import (
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/events"
)

// statusConfirmed is the order status (events.OrderStatuses) after which a
// shop is reminded of an order that sees no update.
const statusConfirmed = "confirmed"

// Plan is what one event triggers.
type Plan struct {
	// Jobs has one job per function that listens to the event.
	Jobs []river.JobArgs
	// Track says the event is recorded in analytics: Publish writes an
	// analytics_pending row for it, which flush_analytics sends in a batch.
	Track bool
}

// Route returns what an event triggers: the routing table, which
// docs/ARCHITECTURE.md lists (a test keeps the two in step). p is the
// event's decoded payload (nil for a custom event, which triggers nothing).
func Route(eventID string, p events.Payload) Plan {
	switch p := p.(type) {
	case events.UserCreated:
		return Plan{Jobs: []river.JobArgs{SendWelcomeEmailArgs{EventID: eventID, UserID: p.UserID}}, Track: true}
	case events.UserUpdated:
		return Plan{Track: true}
	case events.UserDeleted:
		return Plan{Jobs: []river.JobArgs{CleanupExpiredSessionsArgs{EventID: eventID, UserID: p.UserID}}, Track: true}
	case events.OrderCreated:
		return Plan{Jobs: []river.JobArgs{SendOrderConfirmationArgs{EventID: eventID, OrderID: p.OrderID}}, Track: true}
	case events.OrderUpdated:
		jobs := []river.JobArgs{SendOrderUpdateArgs{EventID: eventID, OrderID: p.OrderID}}
		if p.Status == statusConfirmed {
			jobs = append(jobs, RemindStalledOrderArgs{EventID: eventID, OrderID: p.OrderID})
		}
		return Plan{Jobs: jobs}
	case events.OrderCancelled:
		return Plan{Jobs: []river.JobArgs{SendOrderUpdateArgs{EventID: eventID, OrderID: p.OrderID}}, Track: true}
	case events.ProductCreated:
		return Plan{Jobs: []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ProductID}}}
	case events.ProductUpdated:
		return Plan{Jobs: []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ProductID}}}
	case events.ProductOutOfStock:
		return Plan{Jobs: []river.JobArgs{ProcessOutOfStockAlertArgs{EventID: eventID, ProductID: p.ProductID, ShopID: p.ShopID}}}
	case events.NotificationSend:
		return Plan{Jobs: []river.JobArgs{SendNotificationArgs{EventID: eventID}}}
	case events.AnalyticsTrack:
		return Plan{Track: true}
	case events.SearchIndex:
		if p.Type == "shop" {
			return Plan{Jobs: []river.JobArgs{IndexShopArgs{EventID: eventID, ShopID: p.ID}}}
		}
		return Plan{Jobs: []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ID}}}
	case events.CleanupExpiredSessions:
		return Plan{Jobs: []river.JobArgs{CleanupExpiredSessionsArgs{EventID: eventID}}}
	case events.CleanupOldLogs:
		days := 0
		if p.OlderThanDays != nil {
			days = *p.OlderThanDays
		}
		return Plan{Jobs: []river.JobArgs{CleanupOldLogsArgs{EventID: eventID, OlderThanDays: days}}}
	}
	return Plan{}
}

// Coalescer is implemented by the args of a job kind whose jobs are unique
// by their args (UniqueOpts ByArgs): jobs of one kind with the same
// CoalesceKey are one job. A publisher inserts one of them per call, since
// River cannot insert two rows with the same unique key in one statement.
type Coalescer interface {
	river.JobArgs
	CoalesceKey() string
}
