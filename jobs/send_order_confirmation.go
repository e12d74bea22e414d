package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
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
// receipt of the order as stored (items, quantities, prices and total),
// read in one query.
func (d *Deps) orderConfirmation(ctx context.Context, job *river.Job[jobargs.SendOrderConfirmationArgs]) ([]message, error) {
	r, err := db.New(d.DB).OrderReceiptGet(ctx, job.Args.OrderID)
	if err != nil {
		return nil, notFoundCancels(err, "order "+job.Args.OrderID)
	}
	if r.UserEmail == nil {
		return nil, notFoundCancels(pgx.ErrNoRows, "user "+r.UserID)
	}
	if r.ShopName == nil {
		return nil, notFoundCancels(pgx.ErrNoRows, "shop "+r.ShopID)
	}
	var items []struct {
		Name       string `json:"name"`
		Quantity   int    `json:"quantity"`
		PricePaise int64  `json:"pricePaise"`
	}
	if err := json.Unmarshal(r.Items, &items); err != nil {
		return nil, fmt.Errorf("decode items: %w", err)
	}
	lines := make([]orderLine, len(items))
	for i, it := range items {
		lines[i] = orderLine{Name: it.Name, Quantity: it.Quantity, PricePaise: it.PricePaise, AmountPaise: it.PricePaise * int64(it.Quantity)}
	}
	e, err := d.render("order_confirmation", map[string]any{
		"Name": *r.UserName, "OrderID": r.ID, "ShopName": *r.ShopName, "Items": lines, "TotalPaise": r.TotalPaise,
	})
	if err != nil {
		return nil, err
	}
	return []message{d.email(originOf(job, job.Args.EventID), *r.UserEmail, e)}, nil
}
