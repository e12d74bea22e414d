package jobs

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/jobargs"
)

// DefaultQueueWorkers returns how many jobs each queue works at once in
// one process by default. Sized on a 2-core machine: email keeps up with
// 500 orders a second; the others carry less (the analytics queue runs one
// flush_analytics job at a time, which sends in batches). A worker waiting
// on a slow provider holds a slot of its own queue only, never a database
// connection, so one queue's provider cannot starve another queue.
func DefaultQueueWorkers() map[string]int {
	return map[string]int{
		river.QueueDefault:         5,
		jobargs.QueueEmail:         40,
		jobargs.QueueNotifications: 20,
		jobargs.QueueSearch:        10,
		jobargs.QueueAnalytics:     2,
		jobargs.QueueMaintenance:   2,
	}
}

// Queues returns River's queue configuration for a worker process: workers
// gives each queue's MaxWorkers; fetchCooldown is the least time between
// two fetches of a queue (River's default, 100 ms, caps a queue near
// MaxWorkers × 10 jobs a second and adds up to 100 ms before a job starts),
// and pollInterval how often a queue fetches when no LISTEN/NOTIFY wake-up
// came.
func Queues(workers map[string]int, fetchCooldown, pollInterval time.Duration) map[string]river.QueueConfig {
	queues := make(map[string]river.QueueConfig, len(workers))
	for q, n := range workers {
		queues[q] = river.QueueConfig{MaxWorkers: n, FetchCooldown: fetchCooldown, FetchPollInterval: pollInterval}
	}
	return queues
}
