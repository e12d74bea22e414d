// Package analytics records MohallaMart's analytics events. Sink is the
// interface the track-analytics function sends batches through; Postgres (the
// analytics_events table) is the default, and analytics/mixpanel implements
// it with Mixpanel's Import API.
//
// Every event carries the id of the event-log row it came from, and sinks
// deduplicate on (EventID, Name), so a batch sent again after a crash
// records each event once.
package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mohallamart/backend/db"
)

// MaxBatch is the most events track-analytics gives a Sink at once:
// Mixpanel's limit of events per Import request.
const MaxBatch = 2000

// Event is one analytics event.
type Event struct {
	// EventID is the id of the event-log row the event comes from.
	EventID string
	// Name is the analytics event name ("user/created", "Order Placed").
	Name string
	// UserID is the user the event is about, if any.
	UserID string
	// Properties are free-form properties.
	Properties map[string]any
	// Time is when the event happened.
	Time time.Time
}

// Sink records analytics events.
type Sink interface {
	// Track records evs (at most MaxBatch); recording the same
	// (EventID, Name) again changes nothing.
	Track(ctx context.Context, evs []Event) error
}

// Postgres is the default Sink: one analytics_events row per event,
// unique by (event_id, name).
type Postgres struct {
	queries *db.Queries
}

// NewPostgres returns the Postgres sink on dbtx.
func NewPostgres(dbtx db.DBTX) *Postgres {
	return &Postgres{queries: db.New(dbtx)}
}

// Track inserts evs with one statement, skipping those already recorded.
func (p *Postgres) Track(ctx context.Context, evs []Event) error {
	params := db.AnalyticsEventInsertManyParams{
		EventIds:    make([]string, len(evs)),
		Names:       make([]string, len(evs)),
		UserIds:     make([]string, len(evs)),
		Properties:  make([]json.RawMessage, len(evs)),
		OccurredAts: make([]time.Time, len(evs)),
	}
	for i, e := range evs {
		props := e.Properties
		if props == nil {
			props = map[string]any{}
		}
		b, err := json.Marshal(props)
		if err != nil {
			return fmt.Errorf("track %s: encode properties: %w", e.Name, err)
		}
		params.EventIds[i], params.Names[i], params.UserIds[i], params.Properties[i], params.OccurredAts[i] = e.EventID, e.Name, e.UserID, b, e.Time
	}
	if _, err := p.queries.AnalyticsEventInsertMany(ctx, params); err != nil {
		return fmt.Errorf("track %d events: %w", len(evs), err)
	}
	return nil
}
