package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/redact"
)

// orderLine is one line of an order email.
type orderLine struct {
	Name        string `json:"name"`
	Quantity    int    `json:"quantity"`
	PricePaise  int64  `json:"pricePaise"`
	AmountPaise int64  `json:"amountPaise"`
}

// orderReceipt is what the order confirmation shows: the order as stored,
// its customer and its shop.
type orderReceipt struct {
	OrderID    string      `json:"orderId"`
	Name       string      `json:"name"`
	Email      string      `json:"email"`
	ShopName   string      `json:"shopName"`
	Items      []orderLine `json:"items"`
	TotalPaise int64       `json:"totalPaise"`
}

// sendOrderConfirmation emails the customer the receipt of the order they
// placed (order/created), as steps: load, render, then send and record
// (sendSteps). A retry skips the steps an earlier attempt finished; the
// email goes out once. An order cancelled before its email went out gets
// none (cancelOn).
func (d *Deps) sendOrderConfirmation() *fn.Function {
	return fn.New(fn.Options{
		ID: "send-order-confirmation", Queue: QueueEmail, Priority: priority(PriorityOrder),
		Timeouts: fn.Timeouts{Attempt: sendTimeout},
		CancelOn: []fn.CancelOn{{Event: events.NameOrderCancelled, Match: "data.orderId"}},
	}, fn.On(events.NameOrderCreated), func(ctx context.Context, in fn.Input[events.OrderCreated]) (any, error) {
		receipt, err := fn.Run(ctx, "load", func(ctx context.Context) (orderReceipt, error) {
			return d.loadReceipt(ctx, in.Data.OrderID)
		})
		if err != nil {
			return nil, err
		}
		email, err := fn.Run(ctx, "render", func(context.Context) (renderedEmail, error) {
			return d.render("order_confirmation", map[string]any{
				"Name": receipt.Name, "OrderID": receipt.OrderID, "ShopName": receipt.ShopName,
				"Items": receipt.Items, "TotalPaise": receipt.TotalPaise,
			})
		})
		if err != nil {
			return nil, err
		}
		return nil, redact.Error(sendSteps(ctx, d.DB, in.Job, d.email(originOf(in.Job, in.Event.ID), receipt.Email, email)))
	})
}

// loadReceipt reads an order's receipt in one query; an order, customer or
// shop that is gone cancels the job.
func (d *Deps) loadReceipt(ctx context.Context, orderID string) (orderReceipt, error) {
	r, err := db.New(d.DB).OrderReceiptGet(ctx, orderID)
	if err != nil {
		return orderReceipt{}, notFoundCancels(err, "order "+orderID)
	}
	if r.UserEmail == nil {
		return orderReceipt{}, notFoundCancels(pgx.ErrNoRows, "user "+r.UserID)
	}
	if r.ShopName == nil {
		return orderReceipt{}, notFoundCancels(pgx.ErrNoRows, "shop "+r.ShopID)
	}
	var items []struct {
		Name       string `json:"name"`
		Quantity   int    `json:"quantity"`
		PricePaise int64  `json:"pricePaise"`
	}
	if err := json.Unmarshal(r.Items, &items); err != nil {
		return orderReceipt{}, fmt.Errorf("decode items: %w", err)
	}
	lines := make([]orderLine, len(items))
	for i, it := range items {
		// An order stored before totals were checked may hold a line that
		// does not fit: no email is better than one with a wrapped amount.
		amount, ok := events.LineTotal(it.PricePaise, it.Quantity)
		if !ok {
			return orderReceipt{}, river.JobCancel(fmt.Errorf("order %s: line %d (%d × %d paise) is beyond the largest total, %d paise",
				orderID, i, it.Quantity, it.PricePaise, events.MaxTotalPaise))
		}
		lines[i] = orderLine{Name: it.Name, Quantity: it.Quantity, PricePaise: it.PricePaise, AmountPaise: amount}
	}
	return orderReceipt{
		OrderID: r.ID, Name: *r.UserName, Email: *r.UserEmail, ShopName: *r.ShopName, Items: lines, TotalPaise: r.TotalPaise,
	}, nil
}
