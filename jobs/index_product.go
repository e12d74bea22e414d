package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/search"
)

// indexProduct makes the search index hold a product as it is now, or
// removes it if it was deleted (product/created, product/updated,
// search/index of a product). A burst of changes is indexed once, when
// Deps.IndexDebounce has passed since the last (at most 5 windows after
// the first); a change while a run indexes starts a run of its own, which
// waits for the first to finish (concurrency), so an older state never
// overwrites a newer one.
func (d *Deps) indexProduct() *fn.Function {
	opts := fn.Options{
		ID: "index-product", Queue: QueueSearch, Timeouts: fn.Timeouts{Attempt: indexTimeout},
		Concurrency: []fn.Concurrency{{Key: "data.productId || data.id", Limit: 1}},
	}
	if d.IndexDebounce > 0 {
		opts.Debounce = &fn.Debounce{Key: "data.productId || data.id", Period: d.IndexDebounce, Timeout: 5 * d.IndexDebounce}
	}
	triggers := append(fn.On(events.NameProductCreated, events.NameProductUpdated),
		fn.OnIf(events.NameSearchIndex, "data.type != 'shop'")...)
	return fn.New(opts, triggers, func(ctx context.Context, in fn.Input[events.Payload]) (any, error) {
		id := fn.Field(in.Event, "data.productId")
		if id == "" {
			id = fn.Field(in.Event, "data.id")
		}
		index := d.Index
		if index == nil {
			index = search.NewPostgres(d.DB)
		}
		var (
			p   *db.Product
			err = pgx.ErrNoRows
		)
		if uuid.Validate(id) == nil { // any other id names no product
			p, err = db.New(d.DB).ProductGetWithDeleted(ctx, id)
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && p.DeletedAt != nil):
			err = index.DeleteProduct(ctx, id)
		case err != nil:
			return nil, fmt.Errorf("index product %s: load: %w", id, err)
		default:
			err = index.UpsertProduct(ctx, search.Product{
				ID: p.ID, ShopID: p.ShopID, Name: p.Name, Description: p.Description, Category: p.Category,
				PricePaise: p.PricePaise, Stock: int(p.Stock),
			})
		}
		if err != nil {
			return nil, providerOutcome(fmt.Errorf("index product %s: %w", id, err))
		}
		return nil, nil
	})
}
