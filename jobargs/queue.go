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
