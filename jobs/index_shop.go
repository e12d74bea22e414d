package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/search"
)

// IndexShopWorker works index_shop: it makes the index hold the shop as it
// is now, or removes it if it is gone.
type IndexShopWorker struct {
	river.WorkerDefaults[jobargs.IndexShopArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *IndexShopWorker) Timeout(*river.Job[jobargs.IndexShopArgs]) time.Duration {
	return indexTimeout
}

// Work indexes the shop.
func (w *IndexShopWorker) Work(ctx context.Context, job *river.Job[jobargs.IndexShopArgs]) error {
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
