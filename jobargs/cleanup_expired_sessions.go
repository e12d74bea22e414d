package jobargs

import (
	"github.com/riverqueue/river"
)

// CleanupExpiredSessionsArgs are the args of the cleanup_expired_sessions job. It deletes expired sessions (hourly, and on cleanup/expired_sessions).
type CleanupExpiredSessionsArgs struct {
	// EventID is the id of the event that triggered the job; empty for the
	// periodic run.
	EventID string `json:"event_id,omitempty"`
	// UserID, when set, also removes every session of that user (user/deleted).
	UserID string `json:"user_id,omitempty"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (CleanupExpiredSessionsArgs) Kind() string { return "cleanup_expired_sessions" }

// InsertOpts puts the job in the QueueMaintenance queue with 5 attempts.
func (CleanupExpiredSessionsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
}
