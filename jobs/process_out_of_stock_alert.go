package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// processOutOfStockAlert tells a shop's owner by email and push that a
// product sold out (product/out_of_stock): at most once per product per
// hour (rateLimit; the rest are dropped), one alert of a shop at a time
// across every process (concurrency). None goes to an owner whose account
// was deleted. The email is recorded before the push is sent, so a failed
// push does not resend the email.
func (d *Deps) processOutOfStockAlert() *fn.Function {
	return fn.New(fn.Options{
		ID: "process-out-of-stock-alert", Queue: QueueNotifications, Timeouts: fn.Timeouts{Attempt: alertTimeout},
		RateLimit:   &fn.RateLimit{Key: "data.productId", Limit: 1, Period: time.Hour},
		Concurrency: []fn.Concurrency{{Key: "data.shopId", Limit: 1}},
	}, fn.On(events.NameProductOutOfStock), func(ctx context.Context, in fn.Input[events.ProductOutOfStock]) (any, error) {
		q, oos := db.New(d.DB), in.Data
		owner, err := q.ShopOwnerGet(ctx, oos.ShopID)
		if err != nil {
			return nil, notFoundCancels(err, "owner of shop "+oos.ShopID)
		}
		if owner.DeletedAt != nil {
			return nil, river.JobCancel(fmt.Errorf("owner %s of shop %s was deleted", owner.ID, oos.ShopID))
		}
		shop, err := q.ShopGet(ctx, oos.ShopID)
		if err != nil {
			return nil, notFoundCancels(err, "shop "+oos.ShopID)
		}
		e, err := d.render("out_of_stock", map[string]any{"Name": owner.Name, "ProductName": oos.Name, "ShopName": shop.Name})
		if err != nil {
			return nil, err
		}
		o := originOf(in.Job, in.Event.ID)
		return nil, d.send(ctx, in.Job,
			d.email(o, owner.Email, e),
			d.push(o, "push:"+owner.ID, owner.ID, e.Subject, oos.Name+" at "+shop.Name+" just sold out."))
	})
}
