package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/mohallamart/backend/db"
)

// DeleteBatch is the most rows one cleanup statement deletes. Each batch is
// its own short statement (and transaction), so a large backlog never
// holds the locks, or the undo and WAL, of millions of rows at once, and
// a cleanup that runs out of time keeps what it already deleted.
const DeleteBatch = 5000

// deleteInBatches runs del, which deletes at most limit rows, until it
// deletes fewer than DeleteBatch, and returns how many rows it deleted.
func deleteInBatches(ctx context.Context, what string, del func(ctx context.Context, limit int32) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := del(ctx, DeleteBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete %s: %w", what, err)
		}
		if n < DeleteBatch {
			return total, nil
		}
	}
}

// deleteExpiredSessions deletes the sessions expired at now, in batches.
func deleteExpiredSessions(ctx context.Context, q *db.Queries, now time.Time) (int64, error) {
	return deleteInBatches(ctx, "expired sessions", func(ctx context.Context, limit int32) (int64, error) {
		return q.SessionDeleteExpired(ctx, db.SessionDeleteExpiredParams{Now: now, MaxRows: limit})
	})
}

// deleteOldLogs deletes the app_logs rows older than before, in batches.
func deleteOldLogs(ctx context.Context, q *db.Queries, before time.Time) (int64, error) {
	return deleteInBatches(ctx, "old logs", func(ctx context.Context, limit int32) (int64, error) {
		return q.AppLogDeleteOlderThan(ctx, db.AppLogDeleteOlderThanParams{Before: before, MaxRows: limit})
	})
}
