package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/search"
)

// IndexProductArgs are the args of the index_product job. It makes the
// search index hold the product as it is when the job runs (product/created,
// product/updated, search/index). Only the product id identifies the job, so a
// burst of updates coalesces into one pending job.
type IndexProductArgs struct {
	// EventID is the id of the event that triggered the job (the first one of
	// a coalesced burst).
	EventID string `json:"event_id"`
	// ProductID is the product to index or, if it is gone, to remove.
	ProductID string `json:"product_id" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (IndexProductArgs) Kind() string { return "index_product" }

// InsertOpts puts the job in the search queue, unique by product while it is
// pending, scheduled, available, retryable or running (not once completed:
// the next update needs a job of its own). River requires running among the
// unique states; ProductIndexLockKey closes the gap that leaves.
func (IndexProductArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSearch, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{
		ByArgs:  true,
		ByState: pendingStates(),
	}}
}

// pendingStates are the job states in which a job has yet to (finish its)
// work: the unique states of jobs that coalesce.
func pendingStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}

// IndexProductWorker works index_product: it makes the index hold the
// product as it is now, or removes it if it was deleted.
type IndexProductWorker struct {
	river.WorkerDefaults[IndexProductArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *IndexProductWorker) Timeout(*river.Job[IndexProductArgs]) time.Duration {
	return indexTimeout
}

// Work reads the product and writes the index under the product's
// exclusive advisory lock (ProductIndexLockKey), and completes the job in the
// same transaction, so no update can slip between the read and the
// completion unseen (see ProductIndexLockKey).
func (w *IndexProductWorker) Work(ctx context.Context, job *river.Job[IndexProductArgs]) error {
	err := inTx(ctx, w.deps.DB, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.JobAdvisoryLock(ctx, ProductIndexLockKey(job.Args.ProductID)); err != nil {
			return fmt.Errorf("lock product: %w", err)
		}
		index := w.deps.Index
		if index == nil {
			index = search.NewPostgres(tx)
		}
		// An id that is not a UUID names no product; asking PostgreSQL
		// would abort the transaction.
		var p *db.Product
		err := pgx.ErrNoRows
		if uuid.Validate(job.Args.ProductID) == nil {
			p, err = q.ProductGet(ctx, job.Args.ProductID)
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err = index.DeleteProduct(ctx, job.Args.ProductID)
		case err != nil:
			return fmt.Errorf("load product: %w", err)
		default:
			err = index.UpsertProduct(ctx, search.Product{
				ID: p.ID, ShopID: p.ShopID, Name: p.Name, Description: p.Description, Category: p.Category,
				PricePaise: p.PricePaise, Stock: int(p.Stock),
			})
		}
		if err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("index product %s: %w", job.Args.ProductID, err)
	}
	return nil
}
