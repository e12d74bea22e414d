package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
)

// TrackAnalyticsWorker works track_analytics: it records the event in the
// analytics sink. analytics/track events are recorded under their own event
// name, user and properties; others under the catalog name, with the
// event's data as properties.
type TrackAnalyticsWorker struct {
	river.WorkerDefaults[jobargs.TrackAnalyticsArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *TrackAnalyticsWorker) Timeout(*river.Job[jobargs.TrackAnalyticsArgs]) time.Duration {
	return trackTimeout
}

// Work records the event; sinks deduplicate by (event id, name), so a retry
// records it once.
func (w *TrackAnalyticsWorker) Work(ctx context.Context, job *river.Job[jobargs.TrackAnalyticsArgs]) error {
	row, p, err := loadEvent(ctx, db.New(w.deps.DB), job.Args.EventID)
	if err != nil {
		return fmt.Errorf("track analytics: %w", err)
	}
	ev := analytics.Event{EventID: row.ID, Name: row.Name, Time: row.Ts}
	if t, ok := p.(events.AnalyticsTrack); ok {
		ev.Name, ev.UserID, ev.Properties = t.Event, t.UserID, t.Properties
	} else {
		if err := json.Unmarshal(row.Data, &ev.Properties); err != nil {
			return river.JobCancel(fmt.Errorf("track analytics: event %s data: %w", row.ID, err))
		}
		ev.UserID, _ = ev.Properties["userId"].(string)
	}
	if err := w.deps.Analytics.Track(ctx, ev); err != nil {
		return providerOutcome(fmt.Errorf("track analytics: %w", err))
	}
	return nil
}
