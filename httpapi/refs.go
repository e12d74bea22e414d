package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// entity is a kind of row that an event from outside may name.
type entity string

// The rows events name, as the StoredRefs query calls them.
const (
	entityOrder   entity = "order"
	entityProduct entity = "product"
	entityShop    entity = "shop"
	entityUser    entity = "user"
)

// route is the API route that creates a row of kind e.
func (e entity) route() string {
	switch e {
	case entityOrder:
		return "POST /v1/orders"
	case entityProduct:
		return "POST /v1/products"
	case entityShop:
		return "POST /v1/shops"
	}
	return "POST /v1/users"
}

// ref is a row that an event names and that its jobs will read, so it must
// be stored here: otherwise the job would quietly do the wrong thing (drop
// a product from search) or nothing (cancel itself).
type ref struct {
	event int    // the event's index in the request
	field string // where the event names the row: "data.orderId"
	kind  entity
	id    string
	// owner, when set, must be the stored row's owner: the order's customer
	// or the product's shop, named at ownerField. The job takes the owner
	// from the event, so another would get the email or the alert.
	owner, ownerField string
}

// namesRows reports whether events called name may name rows their jobs
// read (see refsOf).
func namesRows(name string) bool {
	switch name {
	case events.NameOrderCreated, events.NameOrderUpdated, events.NameOrderCancelled,
		events.NameProductCreated, events.NameProductUpdated, events.NameProductOutOfStock,
		events.NameSearchIndex, events.NameNotificationSend:
		return true
	}
	return false
}

// refsOf lists the rows the jobs of the i'th event read, by what they read:
// send_order_confirmation the order; send_order_update the order and its
// customer (the event's userId); index_product the product (and removes it
// from search when it is missing); index_shop the shop;
// process_out_of_stock_alert the product's shop and its owner;
// send_notification the user when userId is given. user/* events name no
// stored row: user/created carries what its email needs, user/updated is
// only tracked, user/deleted only removes sessions.
func refsOf(i int, p events.Payload) []ref {
	switch p := p.(type) {
	case events.OrderCreated:
		return []ref{{event: i, field: "data.orderId", kind: entityOrder, id: p.OrderID}}
	case events.OrderUpdated:
		return orderRefs(i, p.OrderID, p.UserID)
	case events.OrderCancelled:
		return orderRefs(i, p.OrderID, p.UserID)
	case events.ProductCreated:
		return []ref{{event: i, field: "data.productId", kind: entityProduct, id: p.ProductID}}
	case events.ProductUpdated:
		return []ref{{event: i, field: "data.productId", kind: entityProduct, id: p.ProductID}}
	case events.ProductOutOfStock:
		return []ref{{event: i, field: "data.productId", kind: entityProduct, id: p.ProductID, owner: p.ShopID, ownerField: "data.shopId"}}
	case events.SearchIndex:
		if p.Type == "shop" {
			return []ref{{event: i, field: "data.id", kind: entityShop, id: p.ID}}
		}
		return []ref{{event: i, field: "data.id", kind: entityProduct, id: p.ID}}
	case events.NotificationSend:
		if p.UserID != "" {
			return []ref{{event: i, field: "data.userId", kind: entityUser, id: p.UserID}}
		}
	}
	return nil
}

// orderRefs are the rows of an order update: the order, whose customer must
// be userId, and that user.
func orderRefs(i int, orderID, userID string) []ref {
	return []ref{
		{event: i, field: "data.orderId", kind: entityOrder, id: orderID, owner: userID, ownerField: "data.userId"},
		{event: i, field: "data.userId", kind: entityUser, id: userID},
	}
}

// checkRefs checks, with one query for the whole request, that every row
// the events name for their jobs is stored here (see refsOf), and answers
// apperr.Unprocessable (422) naming each one that is not, with the route
// that creates it. Only events from outside are checked: app code publishes
// from the transaction that stores the row.
//
// An invalid event is left to Publish, which reports every failure of the
// request (a 400 comes before a 422); so is the rest of the request when it
// names missing rows but has an invalid event too.
func checkRefs(ctx context.Context, q *db.Queries, evs []events.Event, batch bool) error {
	var refs []ref
	for i, ev := range evs {
		if !namesRows(ev.Name) {
			continue
		}
		p, err := events.Decode(ev)
		if err != nil {
			return nil //nolint:nilerr // Publish reports the invalid event, with every other failure
		}
		refs = append(refs, refsOf(i, p)...)
	}
	if len(refs) == 0 {
		return nil
	}

	stored, err := storedRows(ctx, q, refs)
	if err != nil {
		return err
	}
	var details []apperr.FieldError
	for _, r := range refs {
		row, ok := stored[rowKey(r.kind, r.id)]
		switch {
		case !ok:
			details = append(details, apperr.FieldError{
				Field:   eventPath(batch, r.event, r.field),
				Message: fmt.Sprintf("%s %s is not stored here; create it with %s", r.kind, r.id, r.kind.route()),
			})
		case r.kind == entityUser && row.Deleted:
			details = append(details, apperr.FieldError{
				Field: eventPath(batch, r.event, r.field), Message: fmt.Sprintf("user %s was deleted", r.id),
			})
		case r.owner != "" && !strings.EqualFold(r.owner, row.Owner):
			role := "customer"
			if r.kind == entityProduct {
				role = "shop"
			}
			// Which row is the owner is not said: the key holder may not
			// know whose order it is.
			details = append(details, apperr.FieldError{
				Field:   eventPath(batch, r.event, r.ownerField),
				Message: fmt.Sprintf("is not the %s of %s %s", role, r.kind, r.id),
			})
		}
	}
	if len(details) == 0 {
		return nil
	}
	var verr *events.ValidationError
	if err := events.ValidateAll(evs); errors.As(err, &verr) {
		return verr
	}
	return unprocessableEvents(batch, details)
}

// storedRows looks up the rows refs name, in one query, keyed by rowKey. An
// id that is not a UUID names no row and is not asked for.
func storedRows(ctx context.Context, q *db.Queries, refs []ref) (map[string]*db.StoredRefsRow, error) {
	var params db.StoredRefsParams
	for _, r := range refs {
		if len(r.id) != 36 || uuid.Validate(r.id) != nil {
			continue
		}
		switch r.kind {
		case entityOrder:
			params.OrderIds = append(params.OrderIds, r.id)
		case entityProduct:
			params.ProductIds = append(params.ProductIds, r.id)
		case entityShop:
			params.ShopIds = append(params.ShopIds, r.id)
		case entityUser:
			params.UserIds = append(params.UserIds, r.id)
		}
	}
	rows, err := q.StoredRefs(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("look up the rows events name: %w", err)
	}
	stored := make(map[string]*db.StoredRefsRow, len(rows))
	for _, row := range rows {
		stored[rowKey(entity(row.Kind), row.ID)] = row
	}
	return stored, nil
}

// rowKey identifies a row by kind and id; UUIDs compare case-insensitively,
// as PostgreSQL compares them.
func rowKey(kind entity, id string) string {
	return string(kind) + " " + strings.ToLower(id)
}
