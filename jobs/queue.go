package jobs

import (
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/jobargs"
)

// Queues returns River's queue configuration for a worker process, working
// at most maxWorkers jobs at once in each queue. A running send job holds a
// database connection, so size the pool to match.
func Queues(maxWorkers int) map[string]river.QueueConfig {
	queues := make(map[string]river.QueueConfig)
	for _, q := range []string{river.QueueDefault, jobargs.QueueEmail, jobargs.QueueAnalytics, jobargs.QueueSearch, jobargs.QueueNotifications, jobargs.QueueMaintenance} {
		queues[q] = river.QueueConfig{MaxWorkers: maxWorkers}
	}
	return queues
}
