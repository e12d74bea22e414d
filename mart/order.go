package mart

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Order statuses, in the order an order moves through them.
const (
	StatusPlaced         = "placed"
	StatusConfirmed      = "confirmed"
	StatusPacked         = "packed"
	StatusOutForDelivery = "out_for_delivery"
	StatusDelivered      = "delivered"
	StatusCancelled      = "cancelled"
)

// nextStatus is the order state machine: each status and the one status
// UpdateOrderStatus may move it to. Cancelling is CancelOrder's.
func nextStatus(status string) string {
	switch status {
	case StatusPlaced:
		return StatusConfirmed
	case StatusConfirmed:
		return StatusPacked
	case StatusPacked:
		return StatusOutForDelivery
	case StatusOutForDelivery:
		return StatusDelivered
	}
	return ""
}

// Order is a customer's order from one shop.
type Order struct {
	ID           string      `json:"id"`
	UserID       string      `json:"userId"`
	ShopID       string      `json:"shopId"`
	Status       string      `json:"status"`
	Items        []OrderItem `json:"items"`
	TotalPaise   int64       `json:"totalPaise"`
	CancelReason string      `json:"cancelReason,omitempty"`
	CreatedAt    time.Time   `json:"createdAt"`
}

// OrderItem is one line of an order, at the price it was ordered at.
type OrderItem struct {
	ProductID  string `json:"productId"`
	Quantity   int    `json:"quantity"`
	PricePaise int64  `json:"pricePaise"`
}

func orderFromRows(o *db.Order, items []*db.OrderItem) *Order {
	out := &Order{
		ID: o.ID, UserID: o.UserID, ShopID: o.ShopID, Status: o.Status, TotalPaise: o.TotalPaise,
		CancelReason: o.CancelReason, CreatedAt: o.CreatedAt, Items: make([]OrderItem, len(items)),
	}
	for i, it := range items {
		out.Items[i] = OrderItem{ProductID: it.ProductID, Quantity: int(it.Quantity), PricePaise: it.PricePaise}
	}
	return out
}

// Limits of one order.
const (
	maxOrderItems    = 100
	maxOrderQuantity = 10_000
)

// PlaceOrderParams are a new order: who, from which shop, and what.
type PlaceOrderParams struct {
	UserID string
	ShopID string
	Items  []PlaceOrderItem
}

// PlaceOrderItem is one product and how many of it.
type PlaceOrderItem struct {
	ProductID string
	Quantity  int
}

// PlaceOrder places an order at the products' current prices. In one
// transaction it stores the order, then locks the products' rows, checks
// and decrements their stock, and publishes order/created, plus
// product/out_of_stock (and product/updated, so search shows it) for each
// product the order sells out (placeOrderTx). Not enough stock is
// an apperr.Conflict error whose cause is an *InsufficientStockError, and
// writes nothing. A line or an order total above events.MaxTotalPaise is
// an invalid error naming items[i].quantity or totalPaise, and writes
// nothing. Ids are UUIDs in either case.
func (s *Service) PlaceOrder(ctx context.Context, p PlaceOrderParams) (*Order, error) {
	// The stored rows' ids are lower case, and so must the ids they are
	// compared with be: the shop's, and each product's (also when one
	// product is named twice in two cases).
	p.UserID, p.ShopID = lowerID(p.UserID), lowerID(p.ShopID)
	p.Items = slices.Clone(p.Items)
	for i := range p.Items {
		p.Items[i].ProductID = lowerID(p.Items[i].ProductID)
	}
	var f fieldErrors
	checkID(&f, "userId", p.UserID)
	checkID(&f, "shopId", p.ShopID)
	switch {
	case len(p.Items) == 0:
		f.add("items", "must not be empty")
	case len(p.Items) > maxOrderItems:
		f.add("items", fmt.Sprintf("must have at most %d items", maxOrderItems))
	}
	seen := make(map[string]bool, len(p.Items))
	for i, it := range p.Items {
		field := fmt.Sprintf("items[%d]", i)
		checkID(&f, field+".productId", it.ProductID)
		if seen[it.ProductID] {
			f.add(field+".productId", "appears more than once")
		}
		seen[it.ProductID] = true
		if it.Quantity <= 0 || it.Quantity > maxOrderQuantity {
			f.add(field+".quantity", fmt.Sprintf("must be between 1 and %d", maxOrderQuantity))
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}

	// A product whose price changes between the read and the write
	// (placeOrderTx) makes the order start again with the new price.
	for attempt := 1; ; attempt++ {
		order, err := s.placeOrderTx(ctx, p)
		if (errors.Is(err, errPriceChanged) || errors.Is(err, errRefChanged)) && attempt < placeOrderAttempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("place order: %w", err)
		}
		return order, nil
	}
}

// placeOrderAttempts is how many times PlaceOrder starts its transaction
// when products' prices keep changing under it.
const placeOrderAttempts = 3

// errPriceChanged says a product's price changed between placeOrderTx's
// first read of it and its lock; PlaceOrder returns it (a conflict) only when
// prices changed under each of its placeOrderAttempts.
var errPriceChanged = &apperr.Error{Code: apperr.Conflict, Message: "Product prices changed while the order was placed; place it again."}

// errRefChanged says the order's write found no user or shop where the
// read after it, in a later snapshot, found both (a user or shop that
// committed in between); PlaceOrder starts again, as for errPriceChanged.
var errRefChanged = &apperr.Error{Code: apperr.Conflict, Message: "The user or the shop changed while the order was placed; place it again."}

// placeOrderTx places the order in two statements and the events' own.
// It reads the products (without locking them, and outside the
// transaction: under READ COMMITTED a read inside it sees no more) to check
// the order and price it. Then, in one transaction, one statement
// (db.OrderPlace) writes the order and its items and only then locks the
// products' rows and takes the stock, and the events are published: through
// a BatchPublisher, order/created in the same round trip as that statement
// (writeOrder), and the rest only when a product sells out. So a
// product's row stays locked for the end of the transaction only, and
// orders that share a popular product wait for each other that much less.
// A price that changed in between is errPriceChanged (nothing is written).
// A missing user or shop is found by the write and reported before any
// item's error, as the fields are ordered (refError).
func (s *Service) placeOrderTx(ctx context.Context, p PlaceOrderParams) (*Order, error) {
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.ProductID
	}
	reads := db.New(s.db)
	read, err := reads.ProductList(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read products: %w", err)
	}
	products, total, err := priceOrder(p, read)
	if err != nil {
		if refErr := refError(ctx, reads, p); refErr != nil {
			return nil, refErr
		}
		return nil, err
	}
	// The order's id is made here, so that its event can be sent with
	// the statement that writes it (writeOrder).
	id := uuid.NewString()
	place := db.OrderPlaceParams{ID: id, UserID: p.UserID, ShopID: p.ShopID, TotalPaise: total}
	created := &events.OrderCreated{OrderID: id, UserID: p.UserID, ShopID: p.ShopID, TotalPaise: total}
	for _, it := range p.Items {
		pr := products[it.ProductID]
		place.ProductIds = append(place.ProductIds, pr.ID)
		place.Quantities = append(place.Quantities, int32(it.Quantity))
		place.PricesPaise = append(place.PricesPaise, pr.PricePaise)
		created.Items = append(created.Items, events.OrderItem{ProductID: pr.ID, Quantity: it.Quantity, PricePaise: pr.PricePaise})
	}

	var order *Order
	err = s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, finish, err := s.writeOrder(ctx, tx, place, created)
		if errors.Is(err, pgx.ErrNoRows) {
			if refErr := refError(ctx, q, p); refErr != nil {
				return refErr
			}
			return errRefChanged
		}
		if err != nil {
			return fmt.Errorf("write order: %w", err)
		}
		if len(row.TakenIds) < len(p.Items) {
			return whyNotTaken(ctx, q, p, ids, products)
		}
		var soldOut []events.Payload
		for i, id := range row.TakenIds {
			if row.TakenStocks[i] == 0 {
				zero := 0
				soldOut = append(soldOut,
					&events.ProductOutOfStock{ProductID: id, ShopID: row.TakenShopIds[i], Name: row.TakenNames[i]},
					&events.ProductUpdated{ProductID: id, Stock: &zero})
			}
		}
		order = &Order{
			ID: row.ID, UserID: row.UserID, ShopID: row.ShopID, Status: row.Status, TotalPaise: row.TotalPaise,
			CancelReason: row.CancelReason, CreatedAt: row.CreatedAt, Items: make([]OrderItem, len(created.Items)),
		}
		for i, it := range created.Items {
			order.Items[i] = OrderItem(it)
		}
		// Published last, after the rows' locks: every write that locks
		// products publishes after it, so none holds what an event's
		// publishing waits for (a batch's first event, say) while it waits
		// for a product.
		if finish == nil {
			return s.publish(ctx, tx, append([]events.Payload{created}, soldOut...)...)
		}
		if _, err := finish(ctx, tx); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return s.publish(ctx, tx, soldOut...)
	})
	return order, err
}

// writeOrder runs OrderPlace in tx. When the Service's Publisher is a
// BatchPublisher it queues created's publish after it, in the same round
// trip, and returns what finishes that publish (to be called only once the
// order is known to be placed; on any other outcome the caller rolls back,
// and the publish with it). Otherwise the returned func is nil, and created
// is still to be published.
func (s *Service) writeOrder(ctx context.Context, tx pgx.Tx, place db.OrderPlaceParams, created *events.OrderCreated) (*db.OrderPlaceRow, func(context.Context, pgx.Tx) ([]string, error), error) {
	bp, ok := s.publisher.(BatchPublisher)
	if !ok {
		row, err := db.New(tx).OrderPlace(ctx, place)
		return row, nil, err
	}
	evs, err := appEvents([]events.Payload{created})
	if err != nil {
		return nil, nil, err
	}
	var b pgx.Batch
	placed, err := db.QueueRow(&b, func(q *db.Queries) (*db.OrderPlaceRow, error) { return q.OrderPlace(ctx, place) })
	if err != nil {
		return nil, nil, err
	}
	finish, err := bp.Queue(&b, evs...)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: %w", err)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, nil, fmt.Errorf("in one batch with its %s event: %w", events.NameOrderCreated, err)
	}
	row, err := placed.Result()
	return row, finish, err
}

// priceOrder returns the products of p's items by id from rows and the
// order's total, or the error for the first item that cannot be ordered:
// its product is not among rows (or is another shop's), its stock is
// short, or its line or the total passes events.MaxTotalPaise.
func priceOrder(p PlaceOrderParams, rows []*db.Product) (map[string]*db.Product, int64, error) {
	products, err := checkItems(p, rows)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	for i, it := range p.Items {
		pr := products[it.ProductID]
		// A product's stored price is not trusted to be within
		// events.MaxPricePaise (rows may predate that limit), so the line
		// and the running total are checked before each step that could
		// pass events.MaxTotalPaise.
		line, ok := events.LineTotal(pr.PricePaise, it.Quantity)
		if !ok {
			return nil, 0, invalid(FieldError{
				Field:   fmt.Sprintf("items[%d].quantity", i),
				Message: fmt.Sprintf("%d at %d paise each exceeds the largest order total, %d paise", it.Quantity, pr.PricePaise, events.MaxTotalPaise),
			})
		}
		if total > events.MaxTotalPaise-line {
			return nil, 0, invalid(FieldError{
				Field:   "totalPaise",
				Message: fmt.Sprintf("the items add up to more than the largest order total, %d paise", events.MaxTotalPaise),
			})
		}
		total += line
	}
	return products, total, nil
}

// refError returns the error for p's user (missing or deleted) or, if the
// user is there, p's shop (missing), or nil when both are there: the
// fields checked before the items.
func refError(ctx context.Context, q *db.Queries, p PlaceOrderParams) error {
	if _, err := q.UserGet(ctx, p.UserID); err != nil {
		return invalidRef(err, "userId", "user "+p.UserID)
	}
	if _, err := q.ShopGet(ctx, p.ShopID); err != nil {
		return invalidRef(err, "shopId", "shop "+p.ShopID)
	}
	return nil
}

// whyNotTaken returns why OrderPlace did not take an item's stock:
// the product is gone (or another shop's), its stock is short, or its price
// is not the one read (errPriceChanged); ids are the items' products.
func whyNotTaken(ctx context.Context, q *db.Queries, p PlaceOrderParams, ids []string, read map[string]*db.Product) error {
	rows, err := q.ProductList(ctx, ids)
	if err != nil {
		return fmt.Errorf("read products: %w", err)
	}
	current, err := checkItems(p, rows)
	if err != nil {
		return err
	}
	for id, pr := range current {
		if pr.PricePaise != read[id].PricePaise {
			return errPriceChanged
		}
	}
	return errPriceChanged // changed and changed back: read again
}

// checkItems returns the products of p's items by id from rows, or the
// error for the first item whose product is not among them (or is another
// shop's) or has less stock than the item asks for.
func checkItems(p PlaceOrderParams, rows []*db.Product) (map[string]*db.Product, error) {
	products := make(map[string]*db.Product, len(rows))
	for _, pr := range rows {
		products[pr.ID] = pr
	}
	for i, it := range p.Items {
		pr := products[it.ProductID]
		if pr == nil || pr.ShopID != p.ShopID {
			return nil, invalid(FieldError{
				Field: fmt.Sprintf("items[%d].productId", i), Message: "shop " + p.ShopID + " sells no product " + it.ProductID,
			})
		}
		if int(pr.Stock) < it.Quantity {
			return nil, insufficientStock(pr.ID, it.Quantity, int(pr.Stock))
		}
	}
	return products, nil
}

// GetOrder returns an order with its items.
func (s *Service) GetOrder(ctx context.Context, id string) (*Order, error) {
	if !isUUID(id) {
		return nil, errNotFound("Order", id)
	}
	q := db.New(s.db)
	row, err := q.OrderGet(ctx, id)
	if err != nil {
		return nil, notFound(err, "Order", id)
	}
	items, err := q.OrderItemList(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load order items: %w", err)
	}
	return orderFromRows(row, items), nil
}

// UpdateOrderStatus moves an order one step along placed → confirmed →
// packed → out_for_delivery → delivered and publishes order/updated. Any other
// change (skipping a step, going back, cancelling) is a conflict.
func (s *Service) UpdateOrderStatus(ctx context.Context, id, status string) (*Order, error) {
	all := events.OrderStatuses()
	if !slices.Contains(all, status) {
		return nil, invalid(FieldError{Field: "status", Message: fmt.Sprintf("must be one of: %v", all)})
	}
	if !isUUID(id) {
		return nil, fmt.Errorf("update order status: %w", errNotFound("Order", id))
	}
	var order *Order
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		cur, err := q.OrderGetForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "Order", id)
		}
		if next := nextStatus(cur.Status); status != next {
			if status == StatusCancelled {
				return apperr.Errorf(apperr.Conflict, "Cancel it with its cancel route, not a status change.")
			}
			if next == "" {
				return apperr.Errorf(apperr.Conflict, "Order %s is %s, which is final.", id, cur.Status)
			}
			return apperr.Errorf(apperr.Conflict, "Order %s is %s and can only move to %s, not %s.", id, cur.Status, next, status)
		}
		row, err := q.OrderSetStatus(ctx, db.OrderSetStatusParams{ID: id, Status: status, CancelReason: cur.CancelReason})
		if err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		items, err := q.OrderItemList(ctx, id)
		if err != nil {
			return fmt.Errorf("load order items: %w", err)
		}
		order = orderFromRows(row, items)
		return s.publish(ctx, tx, &events.OrderUpdated{OrderID: id, UserID: row.UserID, Status: status, PreviousStatus: cur.Status})
	})
	if err != nil {
		return nil, fmt.Errorf("update order status: %w", err)
	}
	return order, nil
}

// CancelOrder cancels an order that is placed or confirmed, puts its items
// back in stock and publishes order/cancelled (and product/updated for each
// product that is back in stock from 0). Later statuses are a conflict.
func (s *Service) CancelOrder(ctx context.Context, id, reason string) (*Order, error) {
	if len([]rune(reason)) > 1000 {
		return nil, invalid(FieldError{Field: "reason", Message: "must be at most 1000 characters"})
	}
	if !isUUID(id) {
		return nil, fmt.Errorf("cancel order: %w", errNotFound("Order", id))
	}
	var order *Order
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		cur, err := q.OrderGetForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "Order", id)
		}
		if cur.Status != StatusPlaced && cur.Status != StatusConfirmed {
			return apperr.Errorf(apperr.Conflict, "Order %s is %s; only placed or confirmed orders can be cancelled.", id, cur.Status)
		}
		items, err := q.OrderItemList(ctx, id)
		if err != nil {
			return fmt.Errorf("load order items: %w", err)
		}
		var restocked []events.Payload
		for _, it := range items { // items are in product id order: the same lock order as PlaceOrder
			after, err := q.ProductStockAdd(ctx, db.ProductStockAddParams{ID: it.ProductID, Delta: it.Quantity})
			if err != nil {
				return fmt.Errorf("restock: %w", err)
			}
			if after.Stock == it.Quantity {
				stock := int(after.Stock)
				restocked = append(restocked, &events.ProductUpdated{ProductID: it.ProductID, Stock: &stock})
			}
		}
		row, err := q.OrderSetStatus(ctx, db.OrderSetStatusParams{ID: id, Status: StatusCancelled, CancelReason: reason})
		if err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		order = orderFromRows(row, items)
		cancelled := &events.OrderCancelled{OrderID: id, UserID: row.UserID, Reason: reason}
		return s.publish(ctx, tx, append([]events.Payload{cancelled}, restocked...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel order: %w", err)
	}
	return order, nil
}
