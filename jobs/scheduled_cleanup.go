package jobs

import (
	"context"
	"encoding/json"
	"fmt"
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
