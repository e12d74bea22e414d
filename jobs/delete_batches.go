package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
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

// CleanupSchedule returns scheduled-cleanup's trigger: daily at at
// ("HH:MM", 24-hour) in the IANA time zone tz, or, when every is positive
// (a test setting), every that long.
func CleanupSchedule(at, tz string, every time.Duration) ([]fn.Trigger, error) {
	if every > 0 {
		return fn.OnSchedule(fn.Every(every), "every "+every.String()), nil
	}
	hh, mm, ok := strings.Cut(at, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return nil, fmt.Errorf("daily time %q is not HH:MM", at)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	return fn.OnCron(fmt.Sprintf("%d %d * * *", m, h), tz), nil
}

// deleteExpired deletes, in batches, expired sessions and the app_logs,
// events, deliveries and analytics_events rows older than their retention.
func (d *Deps) deleteExpired(ctx context.Context) error {
	q := db.New(d.DB)
	now := d.NowFunc()
	r := d.Retention
	sessions, err := deleteExpiredSessions(ctx, q, now)
	if err != nil {
		return err
	}
	logs, err := deleteOldLogs(ctx, q, now.Add(-r.Logs))
	if err != nil {
		return err
	}
	evs, err := deleteInBatches(ctx, "old events", func(ctx context.Context, limit int32) (int64, error) {
		return q.EventDeleteOlderThan(ctx, db.EventDeleteOlderThanParams{Before: now.Add(-r.Events), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	deliveries, err := deleteInBatches(ctx, "old deliveries", func(ctx context.Context, limit int32) (int64, error) {
		return q.DeliveryDeleteOlderThan(ctx, db.DeliveryDeleteOlderThanParams{Before: now.Add(-r.Deliveries), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	analytics, err := deleteInBatches(ctx, "old analytics events", func(ctx context.Context, limit int32) (int64, error) {
		return q.AnalyticsEventDeleteOlderThan(ctx, db.AnalyticsEventDeleteOlderThanParams{Before: now.Add(-r.Analytics), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	if _, err := q.FnIdempotencyDeleteExpired(ctx); err != nil {
		return fmt.Errorf("expired idempotency keys: %w", err)
	}
	d.Logger.InfoContext(ctx, "Scheduled cleanup deleted expired rows",
		slog.Int64("sessions", sessions), slog.Int64("app_logs", logs), slog.Int64("events", evs),
		slog.Int64("deliveries", deliveries), slog.Int64("analytics_events", analytics))
	return nil
}
