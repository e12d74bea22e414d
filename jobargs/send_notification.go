package jobargs

import (
	"github.com/riverqueue/river"
)

// SendNotificationArgs are the args of the send_notification job. It sends one email, SMS or push message (notification/send).
type SendNotificationArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendNotificationArgs) Kind() string { return "send_notification" }

// InsertOpts puts the job in the QueueNotifications queue with 10 attempts.
func (SendNotificationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotifications, MaxAttempts: 10}
}
