package jobargs

import (
	"github.com/riverqueue/river"
)

// SendWelcomeEmailArgs are the args of the send_welcome_email job. It welcomes a new user by email (user/created).
type SendWelcomeEmailArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// UserID is the new user's id.
	UserID string `json:"user_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendWelcomeEmailArgs) Kind() string { return "send_welcome_email" }

// InsertOpts puts the job in the QueueEmail queue with 10 attempts, after
// order email (PriorityRoutine).
func (SendWelcomeEmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10, Priority: PriorityRoutine}
}
