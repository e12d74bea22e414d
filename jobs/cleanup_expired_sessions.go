package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
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

// CleanupExpiredSessionsWorker works cleanup_expired_sessions: it deletes
// expired sessions and, for user/deleted, every session of that user.
type CleanupExpiredSessionsWorker struct {
	river.WorkerDefaults[CleanupExpiredSessionsArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *CleanupExpiredSessionsWorker) Timeout(*river.Job[CleanupExpiredSessionsArgs]) time.Duration {
	return cleanupTimeout
}

// Work deletes the sessions; deleting is idempotent, so retries are safe.
func (w *CleanupExpiredSessionsWorker) Work(ctx context.Context, job *river.Job[CleanupExpiredSessionsArgs]) error {
	q := db.New(w.deps.DB)
	if job.Args.UserID != "" {
		if _, err := q.SessionDeleteByUser(ctx, job.Args.UserID); err != nil {
			return fmt.Errorf("cleanup expired sessions: delete user's sessions: %w", err)
		}
	}
	if _, err := q.SessionDeleteExpired(ctx, w.deps.NowFunc()); err != nil {
		return fmt.Errorf("cleanup expired sessions: %w", err)
	}
	return nil
}
