package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// cleanupOldLogs deletes app_logs rows older than the event's
// olderThanDays, or the configured log retention (cleanup/old_logs), in
// batches of DeleteBatch.
func (d *Deps) cleanupOldLogs() *fn.Function {
	return fn.New(fn.Options{ID: "cleanup-old-logs", Queue: QueueMaintenance, Retries: 4, Timeouts: fn.Timeouts{Attempt: cleanupTimeout}},
		fn.On(events.NameCleanupOldLogs), func(ctx context.Context, in fn.Input[events.CleanupOldLogs]) (any, error) {
			keep := d.Retention.Logs
			if in.Data.OlderThanDays != nil && *in.Data.OlderThanDays > 0 {
				keep = time.Duration(*in.Data.OlderThanDays) * 24 * time.Hour
			}
			n, err := deleteOldLogs(ctx, db.New(d.DB), d.NowFunc().Add(-keep))
			if err != nil {
				return nil, fmt.Errorf("cleanup old logs: %w", err)
			}
			return map[string]int64{"deleted": n}, nil
		})
}
