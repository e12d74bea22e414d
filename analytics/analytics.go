// Package analytics records MohallaMart's analytics events. Sink is the
// interface the track_analytics job uses; Postgres (the analytics_events
// table) is the default, and analytics/mixpanel implements it with Mixpanel.
//
// Every event carries the id of the event-log row it came from, and sinks
// deduplicate on (EventID, Name), so a retried job records an event once.
package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mohallamart/backend/db"
)

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
	// Track records e; recording the same (EventID, Name) again changes
	// nothing.
	Track(ctx context.Context, e Event) error
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

// Track inserts e unless it is already recorded.
func (p *Postgres) Track(ctx context.Context, e Event) error {
	props := e.Properties
	if props == nil {
		props = map[string]any{}
	}
	b, err := json.Marshal(props)
	if err != nil {
		return fmt.Errorf("track %s: encode properties: %w", e.Name, err)
	}
	_, err = p.queries.AnalyticsEventInsert(ctx, db.AnalyticsEventInsertParams{
		EventID: e.EventID, Name: e.Name, UserID: e.UserID, Properties: b, OccurredAt: e.Time,
	})
	if err != nil {
		return fmt.Errorf("track %s: %w", e.Name, err)
	}
	return nil
}
