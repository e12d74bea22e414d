package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/redact"
)

// analyticsEvent is what the sink records of a stored event:
// analytics/track events under their own event name, user and properties
// (the app chose them); other tracked events under the catalog name, with
// the properties analyticsProperties allows and nothing else.
func analyticsEvent(id, name string, data json.RawMessage, ts time.Time) (analytics.Event, error) {
	ev := analytics.Event{EventID: id, Name: name, Time: ts}
	p, err := events.Decode(events.Event{ID: id, Name: name, Data: data, TS: ts})
	if err != nil {
		return ev, fmt.Errorf("decode event %s: %w", id, err)
	}
	if t, ok := p.(events.AnalyticsTrack); ok {
		ev.Name, ev.UserID, ev.Properties = t.Event, t.UserID, t.Properties
		return ev, nil
	}
	var props map[string]any
	ev.UserID, props = analyticsProperties(p)
	ev.Properties = redact.Properties(props)
	return ev, nil
}

// analyticsProperties is what analytics receives of each tracked catalog
// event (docs/guarantees.md lists it), each field on the personal-data
// allow-list (redact.Allowed, which analyticsEvent applies): ids, amounts and counts,
// never an email address, name or phone number. userId is the event's
// user; user/updated names the fields that changed, not their values; a
// cancellation's reason, typed by a person, has any address or number it
// quotes redacted. An event not listed here sends its name and time only.
func analyticsProperties(p events.Payload) (userID string, props map[string]any) {
	switch p := p.(type) {
	case events.UserCreated:
		return p.UserID, map[string]any{"userId": p.UserID, "hasPhone": p.Phone != ""}
	case events.UserUpdated:
		changed := []string{}
		for _, f := range []struct {
			name  string
			value *string
		}{{"email", p.Email}, {"name", p.Name}, {"phone", p.Phone}} {
			if f.value != nil {
				changed = append(changed, f.name)
			}
		}
		return p.UserID, map[string]any{"userId": p.UserID, "changedFields": changed}
	case events.UserDeleted:
		return p.UserID, map[string]any{"userId": p.UserID}
	case events.OrderCreated:
		items := 0
		for _, it := range p.Items {
			items += it.Quantity
		}
		return p.UserID, map[string]any{
			"orderId": p.OrderID, "userId": p.UserID, "shopId": p.ShopID, "totalPaise": p.TotalPaise,
			"lineCount": len(p.Items), "itemCount": items,
		}
	case events.OrderCancelled:
		return p.UserID, map[string]any{"orderId": p.OrderID, "userId": p.UserID, "reason": redact.String(p.Reason)}
	}
	return "", map[string]any{}
}
