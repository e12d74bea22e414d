package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/redact"
	"github.com/mohallamart/backend/jobargs"
)

// flushBatches bounds one flush_analytics run, so a backlog that keeps
// growing cannot keep one job running past its timeout: the next periodic
// run goes on where it stopped.
const flushBatches = 50

// FlushAnalyticsWorker works flush_analytics: it sends the events waiting
// in analytics_pending to the sink, up to analytics.MaxBatch at a time, and
// deletes each batch once the sink took it.
type FlushAnalyticsWorker struct {
	river.WorkerDefaults[jobargs.FlushAnalyticsArgs]

	deps *Deps
}

// Timeout bounds one run.
func (w *FlushAnalyticsWorker) Timeout(*river.Job[jobargs.FlushAnalyticsArgs]) time.Duration {
	return flushTimeout
}

// Work claims batches with a lease (no transaction or lock is held while
// the sink is called), sends them and deletes them, until the backlog is
// empty or flushBatches were sent. A batch the sink refused for good is
// dropped and logged; a rate limit snoozes the job, and other errors retry
// it; either way the batch's lease runs out and it is sent again, with the
// same $insert_ids.
//
// Its errors, stored by River, have addresses and phone numbers redacted.
func (w *FlushAnalyticsWorker) Work(ctx context.Context, _ *river.Job[jobargs.FlushAnalyticsArgs]) error {
	return redact.Error(w.flush(ctx))
}

func (w *FlushAnalyticsWorker) flush(ctx context.Context) error {
	q := db.New(w.deps.DB)
	for range flushBatches {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < w.deps.ProviderTimeout+RecordMargin {
			return nil // the next periodic run goes on
		}
		rows, err := q.AnalyticsPendingClaim(ctx, db.AnalyticsPendingClaimParams{
			LeaseSeconds: flushTimeout.Seconds(), MaxRows: analytics.MaxBatch,
		})
		if err != nil {
			return fmt.Errorf("flush analytics: claim: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		eventIDs := make([]string, len(rows))
		for i, r := range rows {
			ids[i], eventIDs[i] = r.ID, r.EventID
		}
		stored, err := q.AnalyticsEventsGet(ctx, eventIDs)
		if err != nil {
			return fmt.Errorf("flush analytics: load events: %w", err)
		}
		// Events past retention are missing; their rows are dropped.
		evs := make([]analytics.Event, 0, len(stored))
		for _, r := range stored {
			e, err := analyticsEvent(r.ID, r.Name, r.Data, r.Ts)
			if err != nil {
				w.deps.Logger.ErrorContext(ctx, "Analytics event dropped", slog.String("event_id", r.ID), slog.String("error", redact.String(err.Error())))
				continue
			}
			evs = append(evs, e)
		}
		if len(evs) > 0 {
			if err := w.deps.Analytics.Track(ctx, evs); err != nil {
				outcome := providerOutcome(fmt.Errorf("flush analytics: %w", err))
				if !isCancel(outcome) {
					return outcome
				}
				w.deps.Logger.ErrorContext(ctx, "Analytics batch refused by the sink; dropped",
					slog.Int("events", len(evs)), slog.String("error", redact.String(err.Error())))
			}
		}
		if _, err := q.AnalyticsPendingDelete(ctx, ids); err != nil {
			return fmt.Errorf("flush analytics: delete sent: %w", err)
		}
		if len(rows) < analytics.MaxBatch {
			return nil
		}
	}
	return nil
}

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
	ev.UserID, ev.Properties = analyticsProperties(p)
	return ev, nil
}

// analyticsProperties is the allow-list of what analytics receives of each
// tracked catalog event (the README lists it): ids, amounts and counts,
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
