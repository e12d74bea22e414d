package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/search"
)

// IndexProductWorker works index_product: it makes the index hold the
// product as it is now, or removes it if it was deleted.
type IndexProductWorker struct {
	river.WorkerDefaults[jobargs.IndexProductArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *IndexProductWorker) Timeout(*river.Job[jobargs.IndexProductArgs]) time.Duration {
	return indexTimeout
}

// Work reads the product and its version, writes the index outside any
// transaction, then completes the job only if the version is unchanged,
// under a share lock on the product row (a short transaction with no
// outside call in it). If the product changed meanwhile, the update's own
// index_product job was deduplicated against this running one, so this job
// runs again at once (a zero snooze, no attempt used) and indexes the newer
// state: an update never waits on the index and is never lost.
func (w *IndexProductWorker) Work(ctx context.Context, job *river.Job[jobargs.IndexProductArgs]) error {
	id := job.Args.ProductID
	index := w.deps.Index
	if index == nil {
		index = search.NewPostgres(w.deps.DB)
	}
	// An id that is not a UUID names no product; asking PostgreSQL would
	// fail the query.
	valid := uuid.Validate(id) == nil
	var (
		p       *db.Product
		version int64
		err     = pgx.ErrNoRows
	)
	if valid {
		p, err = db.New(w.deps.DB).ProductGetWithDeleted(ctx, id)
	}
	if err == nil {
		version = p.Version
		if wait := w.debounce(job, p.ChangedAt); wait > 0 {
			return river.JobSnooze(wait)
		}
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && p.DeletedAt != nil):
		err = index.DeleteProduct(ctx, id)
	case err != nil:
		return fmt.Errorf("index product %s: load: %w", id, err)
	default:
		err = index.UpsertProduct(ctx, search.Product{
			ID: p.ID, ShopID: p.ShopID, Name: p.Name, Description: p.Description, Category: p.Category,
			PricePaise: p.PricePaise, Stock: int(p.Stock),
		})
	}
	if err != nil {
		return providerOutcome(fmt.Errorf("index product %s: %w", id, err))
	}

	changed := false
	err = db.InTx(ctx, w.deps.DB, func(tx pgx.Tx) error {
		if valid {
			now, err := db.New(tx).ProductVersionForShare(ctx, id)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("check version: %w", err)
			}
			// A product never stored has no row: version 0 both times.
			if now != version {
				changed = true
				return nil
			}
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("index product %s: %w", id, err)
	}
	if changed {
		return river.JobSnooze(0)
	}
	return nil
}

// debounce returns how long job should wait before indexing a product last
// changed at changed: until Deps.IndexDebounce has passed since the change
// (a burst of updates is then indexed once, with its latest state), but
// never more than MaxDebounceWaits windows after the job was created, so a
// product updated without pause is still indexed. Waiting is a snooze: no
// worker is held and no attempt used, and the updates meanwhile are
// deduplicated against this job.
func (w *IndexProductWorker) debounce(job *river.Job[jobargs.IndexProductArgs], changed time.Time) time.Duration {
	window := w.deps.IndexDebounce
	if window <= 0 {
		return 0
	}
	now := w.deps.NowFunc()
	if now.Sub(job.CreatedAt) >= MaxDebounceWaits*window {
		return 0
	}
	return window - now.Sub(changed)
}
