package jobs

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// Queue names. Each function runs in the queue of its kind of work, so a
// backlog of one (say, a slow email provider) does not hold up the others.
const (
	QueueEmail         = "email"
	QueueAnalytics     = "analytics"
	QueueSearch        = "search"
	QueueNotifications = "notifications"
	QueueMaintenance   = "maintenance"
)

// Priorities within a queue (River's 1, first, to 4): a backlog is worked
// in priority order, so order emails go before welcome emails.
const (
	// PriorityOrder is for mail about an order: the customer is waiting.
	PriorityOrder = 1
	// PriorityRoutine is for mail nobody is waiting on (welcome emails).
	PriorityRoutine = 2
)

// priority is a fixed priority, as fn.Options.Priority.
func priority(p int) func(events.Event) int { return func(events.Event) int { return p } }

// StalledOrderAfter is how long a confirmed order may go without an update
// before remind-stalled-order reminds the shop.
const StalledOrderAfter = 30 * time.Minute

// functions returns every function, with d's providers: the registry. A new
// function is one file and one line here.
func (d *Deps) functions() []*fn.Function {
	return []*fn.Function{
		d.sendWelcomeEmail(),
		d.sendOrderConfirmation(),
		d.sendOrderUpdate(),
		d.remindStalledOrder(),
		d.indexProduct(),
		d.indexShop(),
		d.trackAnalytics(),
		d.processOutOfStockAlert(),
		d.sendNotification(),
		d.cleanupExpiredSessions(),
		d.endUserSessions(),
		d.cleanupOldLogs(),
		d.scheduledCleanup(),
	}
}

// DefaultQueueWorkers returns how many jobs each queue works at once in
// one process by default. Sized on a 2-core machine: email keeps up with
// 500 orders a second; the others carry less (the analytics queue runs
// batches). A worker waiting on a slow provider holds a slot of its own
// queue only, never a database connection, so one queue's provider cannot
// starve another queue.
func DefaultQueueWorkers() map[string]int {
	return map[string]int{
		river.QueueDefault: 5,
		QueueEmail:         40,
		QueueNotifications: 20,
		QueueSearch:        10,
		QueueAnalytics:     2,
		QueueMaintenance:   2,
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
