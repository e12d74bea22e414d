package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
)

// scheduledCleanup deletes what is past retention once per period of
// Deps.Cleanup (daily), unless the period is already recorded in
// periodic_runs, then records the period in the transaction that completes
// the run. Rows are deleted in batches of DeleteBatch, each its own
// statement, before that transaction: a run that fails or times out part
// way keeps what it deleted, and its retry (deleting is idempotent) goes on
// from there. One run at a time (singleton).
func (d *Deps) scheduledCleanup() *fn.Function {
	return fn.New(fn.Options{
		ID: "scheduled-cleanup", Queue: QueueMaintenance, Retries: 9,
		Timeouts: fn.Timeouts{Attempt: dailyTimeout}, Singleton: &fn.Singleton{Mode: fn.SingletonSkip},
	}, d.Cleanup, func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
		run := db.PeriodicRunInsertParams{Name: in.Job.Kind, PeriodStart: in.ScheduledFor, JobID: &in.Job.ID}
		ran, err := db.New(d.DB).PeriodicRunExists(ctx, db.PeriodicRunExistsParams{Name: run.Name, PeriodStart: run.PeriodStart})
		if err != nil {
			return nil, fmt.Errorf("scheduled cleanup: look up run: %w", err)
		}
		if !ran {
			if err := d.deleteExpired(ctx); err != nil {
				return nil, fmt.Errorf("scheduled cleanup for %s: %w", in.ScheduledFor.Format(time.RFC3339), err)
			}
		}
		return nil, db.InTx(ctx, d.DB, func(tx pgx.Tx) error {
			if _, err := db.New(tx).PeriodicRunInsert(ctx, run); err != nil {
				return fmt.Errorf("scheduled cleanup: record run: %w", err)
			}
			return completeTx(ctx, tx, in.Job)
		})
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
