package jobargs

import (
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/events"
)

// Route returns the jobs an event triggers: one per function that listens to
// it (the routing table of DESIGN.md). p is the event's decoded payload (nil
// for a custom event, which triggers nothing).
func Route(eventID string, p events.Payload) []river.InsertManyParams {
	var args []river.JobArgs
	switch p := p.(type) {
	case events.UserCreated:
		args = []river.JobArgs{SendWelcomeEmailArgs{EventID: eventID, UserID: p.UserID}, track(eventID, p)}
	case events.UserUpdated:
		args = []river.JobArgs{track(eventID, p)}
	case events.UserDeleted:
		args = []river.JobArgs{track(eventID, p), CleanupExpiredSessionsArgs{EventID: eventID, UserID: p.UserID}}
	case events.OrderCreated:
		args = []river.JobArgs{SendOrderConfirmationArgs{EventID: eventID, OrderID: p.OrderID}, track(eventID, p)}
	case events.OrderUpdated:
		args = []river.JobArgs{SendOrderUpdateArgs{EventID: eventID, OrderID: p.OrderID}}
	case events.OrderCancelled:
		args = []river.JobArgs{SendOrderUpdateArgs{EventID: eventID, OrderID: p.OrderID}, track(eventID, p)}
	case events.ProductCreated:
		args = []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ProductID}}
	case events.ProductUpdated:
		args = []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ProductID}}
	case events.ProductOutOfStock:
		args = []river.JobArgs{ProcessOutOfStockAlertArgs{EventID: eventID, ProductID: p.ProductID}}
	case events.NotificationSend:
		args = []river.JobArgs{SendNotificationArgs{EventID: eventID}}
	case events.AnalyticsTrack:
		args = []river.JobArgs{track(eventID, p)}
	case events.SearchIndex:
		if p.Type == "shop" {
			args = []river.JobArgs{IndexShopArgs{EventID: eventID, ShopID: p.ID}}
		} else {
			args = []river.JobArgs{IndexProductArgs{EventID: eventID, ProductID: p.ID}}
		}
	case events.CleanupExpiredSessions:
		args = []river.JobArgs{CleanupExpiredSessionsArgs{EventID: eventID}}
	case events.CleanupOldLogs:
		days := 0
		if p.OlderThanDays != nil {
			days = *p.OlderThanDays
		}
		args = []river.JobArgs{CleanupOldLogsArgs{EventID: eventID, OlderThanDays: days}}
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	return params
}

func track(eventID string, p events.Payload) TrackAnalyticsArgs {
	return TrackAnalyticsArgs{EventID: eventID, EventName: p.EventName()}
}
