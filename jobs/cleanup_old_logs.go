package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
)

// CleanupOldLogsWorker works cleanup_old_logs: it deletes app_logs rows
// older than the event's olderThanDays, or the configured log retention.
type CleanupOldLogsWorker struct {
	river.WorkerDefaults[jobargs.CleanupOldLogsArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *CleanupOldLogsWorker) Timeout(*river.Job[jobargs.CleanupOldLogsArgs]) time.Duration {
	return cleanupTimeout
}

// Work deletes the old logs, in batches of DeleteBatch.
func (w *CleanupOldLogsWorker) Work(ctx context.Context, job *river.Job[jobargs.CleanupOldLogsArgs]) error {
	keep := w.deps.Retention.Logs
	if job.Args.OlderThanDays > 0 {
		keep = time.Duration(job.Args.OlderThanDays) * 24 * time.Hour
	}
	if _, err := deleteOldLogs(ctx, db.New(w.deps.DB), w.deps.NowFunc().Add(-keep)); err != nil {
		return fmt.Errorf("cleanup old logs: %w", err)
	}
	return nil
}
