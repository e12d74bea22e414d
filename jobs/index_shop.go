package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/search"
)

// IndexShopArgs are the args of the index_shop job (search/index with type
// shop): the search index then holds the shop as it is when the job runs.
type IndexShopArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// ShopID is the shop to index or, if it is gone, to remove.
	ShopID string `json:"shop_id" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (IndexShopArgs) Kind() string { return "index_shop" }

// InsertOpts puts the job in the search queue, unique by shop until it has
// worked (see IndexProductArgs.InsertOpts).
func (IndexShopArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSearch, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates()}}
}

// IndexShopWorker works index_shop: it makes the index hold the shop as it
// is now, or removes it if it is gone.
type IndexShopWorker struct {
	river.WorkerDefaults[IndexShopArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *IndexShopWorker) Timeout(*river.Job[IndexShopArgs]) time.Duration {
	return indexTimeout
}

// Work indexes the shop.
func (w *IndexShopWorker) Work(ctx context.Context, job *river.Job[IndexShopArgs]) error {
	index := w.deps.Index
	if index == nil {
		index = search.NewPostgres(w.deps.DB)
	}
	s, err := db.New(w.deps.DB).ShopGet(ctx, job.Args.ShopID)
	switch {
	case isNoRow(err):
		err = index.DeleteShop(ctx, job.Args.ShopID)
	case err != nil:
		err = fmt.Errorf("load shop: %w", err)
	default:
		err = index.UpsertShop(ctx, search.Shop{ID: s.ID, Name: s.Name, Address: s.Address})
	}
	if err != nil {
		return fmt.Errorf("index shop %s: %w", job.Args.ShopID, err)
	}
	return nil
}
