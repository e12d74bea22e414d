package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/redact"
)

// trackAnalyticsID is the id of the function that sends tracked events to
// analytics (its River kind was flush_analytics).
const trackAnalyticsID = "track-analytics"

// trackAnalytics sends the tracked events (users, orders, analytics/track)
// to the analytics sink in batches of up to analytics.MaxBatch (Mixpanel's
// /import), Deps.AnalyticsBatchWait after the first event of a batch: a
// run exists only when events wait. A batch the sink refused for good is
// dropped and logged; a rate limit snoozes the run and other errors retry
// it, with the same batch (the events it took are a step's output), and
// the same $insert_ids.
func (d *Deps) trackAnalytics() *fn.Function {
	return fn.New(fn.Options{
		ID: trackAnalyticsID, Queue: QueueAnalytics, Timeouts: fn.Timeouts{Attempt: flushTimeout},
		BatchEvents: &fn.BatchEvents{MaxSize: analytics.MaxBatch, Timeout: d.AnalyticsBatchWait},
	}, fn.On(events.NameUserCreated, events.NameUserUpdated, events.NameUserDeleted, events.NameOrderCreated,
		events.NameOrderCancelled, events.NameAnalyticsTrack),
		func(ctx context.Context, in fn.Input[events.Payload]) (any, error) {
			evs := make([]analytics.Event, 0, len(in.Events))
			for _, ev := range in.Events {
				e, err := analyticsEvent(ev.ID, ev.Name, ev.Data, ev.TS)
				if err != nil {
					d.Logger.ErrorContext(ctx, "Analytics event dropped", slog.String("event_id", ev.ID), slog.String("error", redact.String(err.Error())))
					continue
				}
				evs = append(evs, e)
			}
			if len(evs) == 0 {
				return nil, nil
			}
			if err := d.Analytics.Track(ctx, evs); err != nil {
				outcome := providerOutcome(fmt.Errorf("track analytics: %w", err))
				if !isCancel(outcome) {
					return nil, redact.Error(outcome)
				}
				d.Logger.ErrorContext(ctx, "Analytics batch refused by the sink; dropped",
					slog.Int("events", len(evs)), slog.String("error", redact.String(err.Error())))
			}
			return map[string]int{"sent": len(evs)}, nil
		})
}
