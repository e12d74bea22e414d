package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/groupcommit"
)

// What the order functions read of an order: the confirmation's receipt
// and the stalled-order reminder's order, shop and owner.

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

// receiptsBatch bounds how many orders' receipts one statement reads.
const receiptsBatch = 64

// newReceipts returns the group read of order receipts on d: the receipts
// asked for while one statement reads are read together by the next
// (readReceipts); one asked for alone is read at once. A caller whose
// context ends leaves at once. A nil result is an order that is not stored.
func newReceipts(d db.DB) *groupcommit.Batcher[string, *db.OrderReceiptListRow] {
	return groupcommit.NewReads(receiptsBatch, func(ctx context.Context, orderIDs []string) ([]*db.OrderReceiptListRow, error) {
		return readReceipts(ctx, d, orderIDs)
	})
}

// readReceipts reads the receipts of orderIDs in one statement
// (OrderReceiptList), in their order: nil for an order that is not stored.
// An id is matched as a UUID, in any spelling PostgreSQL reads as one.
func readReceipts(ctx context.Context, d db.DBTX, orderIDs []string) ([]*db.OrderReceiptListRow, error) {
	rows, err := db.New(d).OrderReceiptList(ctx, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("load %d orders' receipts: %w", len(orderIDs), err)
	}
	return groupcommit.ByPlace(len(orderIDs), rows, func(r *db.OrderReceiptListRow) int64 { return r.Ord })
}

// loadReceipt reads an order's receipt in one query, shared with the other
// receipts read at the same time; an order, customer or shop that is gone
// cancels the job.
func (d *Deps) loadReceipt(ctx context.Context, orderID string) (orderReceipt, error) {
	r, err := d.receipts.Do(ctx, orderID)
	if err == nil && r == nil {
		err = pgx.ErrNoRows
	}
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

// stalledOrder is what the reminder about a stalled order needs.
type stalledOrder struct {
	OrderID    string `json:"orderId"`
	Status     string `json:"status"`
	ShopName   string `json:"shopName"`
	OwnerName  string `json:"ownerName"`
	OwnerEmail string `json:"ownerEmail"`
}

// loadStalledOrder reads the order, its shop and the shop's owner; any of
// them gone cancels the job.
func (d *Deps) loadStalledOrder(ctx context.Context, orderID string) (stalledOrder, error) {
	q := db.New(d.DB)
	o, err := q.OrderGet(ctx, orderID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "order "+orderID)
	}
	shop, err := q.ShopGet(ctx, o.ShopID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "shop "+o.ShopID)
	}
	owner, err := q.ShopOwnerGet(ctx, o.ShopID)
	if err != nil {
		return stalledOrder{}, notFoundCancels(err, "owner of shop "+o.ShopID)
	}
	return stalledOrder{OrderID: o.ID, Status: o.Status, ShopName: shop.Name, OwnerName: owner.Name, OwnerEmail: owner.Email}, nil
}

// minutes says d in whole minutes, as an email reads it: "30 minutes".
func minutes(d time.Duration) string {
	n := int(d.Round(time.Minute) / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
