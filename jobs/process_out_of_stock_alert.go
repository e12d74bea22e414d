package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
)

// outOfStockAlert composes process_out_of_stock_alert: an email and a push
// telling the shop's owner that a product sold out (none when the owner's
// account was deleted: its address is erased). The email is recorded
// before the push is sent, so a failed push does not resend the email.
func (d *Deps) outOfStockAlert(ctx context.Context, job *river.Job[jobargs.ProcessOutOfStockAlertArgs]) ([]message, error) {
	q := db.New(d.DB)
	oos, err := loadPayload[events.ProductOutOfStock](ctx, q, job.Args.EventID)
	if err != nil {
		return nil, err
	}
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
	o := originOf(job, job.Args.EventID)
	return []message{
		d.email(o, owner.Email, e),
		d.push(o, "push:"+owner.ID, owner.ID, e.Subject, oos.Name+" at "+shop.Name+" just sold out."),
	}, nil
}
