package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// FlushAnalyticsInterval is how often the periodic flush_analytics job is
// inserted; a run drains the analytics backlog in batches before it ends.
const FlushAnalyticsInterval = time.Second

// FlushAnalyticsArgs are the args of the flush_analytics job. It sends the
// tracked events waiting in analytics_pending to the analytics sink in
// batches (up to 2,000 events a request for Mixpanel). Publish writes one
// analytics_pending row per tracked event in the event's transaction; the
// job is periodic (every FlushAnalyticsInterval), so no publisher contends
// for a shared job row.
type FlushAnalyticsArgs struct{}

// Kind is the job kind stored in river_job.kind; never rename it.
func (FlushAnalyticsArgs) Kind() string { return "flush_analytics" }

// InsertOpts puts the job in the analytics queue, one at a time: unique
// while pending, scheduled, available, retryable or running.
func (FlushAnalyticsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAnalytics, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByState: pendingStates()}}
}
