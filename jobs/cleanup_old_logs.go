package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
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

// CleanupOldLogsWorker works cleanup_old_logs: it deletes app_logs rows
// older than the event's olderThanDays, or the configured log retention.
type CleanupOldLogsWorker struct {
	river.WorkerDefaults[CleanupOldLogsArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *CleanupOldLogsWorker) Timeout(*river.Job[CleanupOldLogsArgs]) time.Duration {
	return cleanupTimeout
}

// Work deletes the old logs.
func (w *CleanupOldLogsWorker) Work(ctx context.Context, job *river.Job[CleanupOldLogsArgs]) error {
	keep := w.deps.Retention.Logs
	if job.Args.OlderThanDays > 0 {
		keep = time.Duration(job.Args.OlderThanDays) * 24 * time.Hour
	}
	if _, err := db.New(w.deps.DB).AppLogDeleteOlderThan(ctx, w.deps.NowFunc().Add(-keep)); err != nil {
		return fmt.Errorf("cleanup old logs: %w", err)
	}
	return nil
}
