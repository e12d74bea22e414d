package jobargs

import (
	"github.com/riverqueue/river"
)

// TrackAnalyticsArgs are the args of the track_analytics job. It records an event in the analytics sink.
type TrackAnalyticsArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// EventName is the name of the tracked event.
	EventName string `json:"event_name"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (TrackAnalyticsArgs) Kind() string { return "track_analytics" }

// InsertOpts puts the job in the QueueAnalytics queue with 10 attempts.
func (TrackAnalyticsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAnalytics, MaxAttempts: 10}
}
