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

// Queues returns River's queue configuration for a worker process, working
// at most maxWorkers jobs at once in each queue. A running send job holds a
// database connection, so size the pool to match.
func Queues(maxWorkers int) map[string]river.QueueConfig {
	queues := make(map[string]river.QueueConfig)
	for _, q := range []string{river.QueueDefault, QueueEmail, QueueAnalytics, QueueSearch, QueueNotifications, QueueMaintenance} {
		queues[q] = river.QueueConfig{MaxWorkers: maxWorkers}
	}
	return queues
}
