package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
)

// CleanupExpiredSessionsWorker works cleanup_expired_sessions: it deletes
// expired sessions and, for user/deleted, every session of that user.
type CleanupExpiredSessionsWorker struct {
	river.WorkerDefaults[jobargs.CleanupExpiredSessionsArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *CleanupExpiredSessionsWorker) Timeout(*river.Job[jobargs.CleanupExpiredSessionsArgs]) time.Duration {
	return cleanupTimeout
}

// Work deletes the sessions (the expired ones in batches of DeleteBatch);
// deleting is idempotent, so retries are safe.
func (w *CleanupExpiredSessionsWorker) Work(ctx context.Context, job *river.Job[jobargs.CleanupExpiredSessionsArgs]) error {
	q := db.New(w.deps.DB)
	if job.Args.UserID != "" {
		if _, err := q.SessionDeleteByUser(ctx, job.Args.UserID); err != nil {
			return fmt.Errorf("cleanup expired sessions: delete user's sessions: %w", err)
		}
	}
	if _, err := deleteExpiredSessions(ctx, q, w.deps.NowFunc()); err != nil {
		return fmt.Errorf("cleanup expired sessions: %w", err)
	}
	return nil
}
