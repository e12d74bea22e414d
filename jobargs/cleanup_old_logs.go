package jobargs

import (
	"github.com/riverqueue/river"
)

// CleanupOldLogsArgs are the args of the cleanup_old_logs job. It deletes old app_logs rows (cleanup/old_logs).
type CleanupOldLogsArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// OlderThanDays overrides the configured log retention when > 0.
	OlderThanDays int `json:"older_than_days,omitempty"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (CleanupOldLogsArgs) Kind() string { return "cleanup_old_logs" }

// InsertOpts puts the job in the QueueMaintenance queue with 5 attempts.
func (CleanupOldLogsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
}
