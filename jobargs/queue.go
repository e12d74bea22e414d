package jobargs

// Queue names. Each function runs in the queue of its kind of work, so a
// backlog of one (say, a slow email provider) does not hold up the others.
const (
	QueueEmail         = "email"
	QueueAnalytics     = "analytics"
	QueueSearch        = "search"
	QueueNotifications = "notifications"
	QueueMaintenance   = "maintenance"
)

// Priorities within a queue (River's 1, first, to 4). A backlog is worked
// in priority order, so order emails go before welcome emails. Analytics
// have a queue of their own and are sent in batches (flush_analytics), so
// they never hold up an order email.
const (
	// PriorityOrder is for mail about an order: the customer is waiting.
	PriorityOrder = 1
	// PriorityRoutine is for mail nobody is waiting on (welcome emails).
	PriorityRoutine = 2
)
