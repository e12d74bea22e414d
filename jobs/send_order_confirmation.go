package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
)

// orderLine is one line of an order email.
type orderLine struct {
	Name        string
	Quantity    int
	PricePaise  int64
	AmountPaise int64
}

// orderConfirmation composes send_order_confirmation: the customer's
// receipt of the order as stored (items, quantities, prices and total).
func (d *Deps) orderConfirmation(ctx context.Context, job *river.Job[jobargs.SendOrderConfirmationArgs]) ([]message, error) {
	q := db.New(d.DB)
	order, err := q.OrderGet(ctx, job.Args.OrderID)
	if err != nil {
		return nil, notFoundCancels(err, "order "+job.Args.OrderID)
	}
	user, err := q.UserGet(ctx, order.UserID)
	if err != nil {
		return nil, notFoundCancels(err, "user "+order.UserID)
	}
	shop, err := q.ShopGet(ctx, order.ShopID)
	if err != nil {
		return nil, notFoundCancels(err, "shop "+order.ShopID)
	}
	rows, err := q.OrderItemListWithProduct(ctx, order.ID)
	if err != nil {
		return nil, fmt.Errorf("load items: %w", err)
	}
	lines := make([]orderLine, len(rows))
	for i, r := range rows {
		lines[i] = orderLine{Name: r.ProductName, Quantity: int(r.Quantity), PricePaise: r.PricePaise, AmountPaise: r.PricePaise * int64(r.Quantity)}
	}
	e, err := d.render("order_confirmation", map[string]any{
		"Name": user.Name, "OrderID": order.ID, "ShopName": shop.Name, "Items": lines, "TotalPaise": order.TotalPaise,
	})
	if err != nil {
		return nil, err
	}
	return []message{d.email(originOf(job, job.Args.EventID), user.Email, e)}, nil
}
