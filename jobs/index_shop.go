package jobs

import (
	"context"
	"fmt"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/search"
)

// indexShop makes the search index hold a shop as it is now, or removes it
// if it is gone (search/index of a shop).
func (d *Deps) indexShop() *fn.Function {
	return fn.New(fn.Options{ID: "index-shop", Queue: QueueSearch, Timeouts: fn.Timeouts{Attempt: indexTimeout}},
		fn.OnIf(events.NameSearchIndex, "data.type == 'shop'"),
		func(ctx context.Context, in fn.Input[events.SearchIndex]) (any, error) {
			index := d.Index
			if index == nil {
				index = search.NewPostgres(d.DB)
			}
			s, err := db.New(d.DB).ShopGet(ctx, in.Data.ID)
			switch {
			case isNoRow(err):
				err = index.DeleteShop(ctx, in.Data.ID)
			case err != nil:
				err = fmt.Errorf("load shop: %w", err)
			default:
				err = index.UpsertShop(ctx, search.Shop{ID: s.ID, Name: s.Name, Address: s.Address})
			}
			if err != nil {
				return nil, fmt.Errorf("index shop %s: %w", in.Data.ID, err)
			}
			return nil, nil
		})
}
