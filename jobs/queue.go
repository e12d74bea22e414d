package jobs

import "github.com/riverqueue/river"

// Queue names. Each function runs in the queue of its kind of work, so a
// backlog of one (say, a slow email provider) does not hold up the others.
const (
	QueueEmail         = "email"
	QueueAnalytics     = "analytics"
	QueueSearch        = "search"
	QueueNotifications = "notifications"
	QueueMaintenance   = "maintenance"
)

// Queues returns River's queue configuration for a worker process, with
// maxWorkers goroutines per queue (0 means 100, River's usual default).
func Queues(maxWorkers int) map[string]river.QueueConfig {
	if maxWorkers <= 0 {
		maxWorkers = 100
	}
	queues := make(map[string]river.QueueConfig)
	for _, q := range []string{river.QueueDefault, QueueEmail, QueueAnalytics, QueueSearch, QueueNotifications, QueueMaintenance} {
		queues[q] = river.QueueConfig{MaxWorkers: maxWorkers}
	}
	return queues
}
