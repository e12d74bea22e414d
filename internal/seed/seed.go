// Package seed creates a demo neighbourhood: shops with their owners and
// products, customers, and orders in each state an order can be in. It
// writes through the same domain writes as the API (mart.Service), so every
// write publishes its events and enqueues its jobs: once a server works
// them, the welcome emails, order emails, out-of-stock alerts and an SMS
// are in the development mailbox.
//
// Running it again creates nothing: each row is looked up first (users by
// email, shops by owner and name, products by shop and name, orders by
// customer and shop) and only a missing one is created. An order found in an
// earlier state than the demo's (a run that was interrupted) is moved on.
package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/mart"
)

// Counts are demo rows by kind.
type Counts struct {
	Users, Shops, Products, Orders int
}

// Total is the number of rows counted.
func (c Counts) Total() int { return c.Users + c.Shops + c.Products + c.Orders }

// Order is one demo order as the run left it.
type Order struct {
	ID         string
	Customer   string // the customer's name
	Shop       string // the shop's name
	Status     string
	TotalPaise int64
}

// Summary is what a run created and what it found already there.
type Summary struct {
	Created  Counts
	Existing Counts
	// Orders are the demo orders in the demo's order, with their status.
	Orders []Order
	// Customers are the demo customers' emails (the mailbox's recipients).
	Customers []string
}

// Run creates whatever of the demo neighbourhood is missing in database,
// publishing through publisher as the API does.
func Run(ctx context.Context, database db.DB, publisher mart.Publisher) (*Summary, error) {
	r := &runner{
		db: database, q: db.New(database), publisher: publisher, svc: mart.NewService(database, publisher),
		users: map[string]*person{}, shops: map[string]string{}, products: map[string]map[string]string{},
		sum: &Summary{},
	}
	n := neighbourhood()
	for _, s := range n.shops {
		if err := r.shop(ctx, s); err != nil {
			return nil, err
		}
	}
	for _, c := range n.customers {
		if _, err := r.user(ctx, c); err != nil {
			return nil, err
		}
		r.sum.Customers = append(r.sum.Customers, c.Email)
	}
	for _, o := range n.orders {
		if err := r.order(ctx, o); err != nil {
			return nil, err
		}
	}
	return r.sum, nil
}

// runner is one run's state: the ids of the demo rows found or created.
type runner struct {
	db        db.DB
	q         *db.Queries
	publisher mart.Publisher
	svc       *mart.Service
	users     map[string]*person           // by email
	shops     map[string]string            // shop name → id
	products  map[string]map[string]string // shop name → product name → id
	sum       *Summary
}

// user returns the id of the live user with p's email, creating it if missing.
func (r *runner) user(ctx context.Context, p person) (string, error) {
	id, err := r.q.SeedUserByEmail(ctx, p.Email)
	switch {
	case err == nil:
		r.sum.Existing.Users++
	case errors.Is(err, pgx.ErrNoRows):
		u, err := r.svc.CreateUser(ctx, mart.CreateUserParams{Email: p.Email, Name: p.Name, Phone: &p.Phone})
		if err != nil {
			return "", fmt.Errorf("seed user %s: %w", p.Email, err)
		}
		id = u.ID
		r.sum.Created.Users++
	default:
		return "", fmt.Errorf("look up user %s: %w", p.Email, err)
	}
	p.id = id
	r.users[p.Email] = &p
	return id, nil
}

// shop finds or creates s, its owner and its products.
func (r *runner) shop(ctx context.Context, s shopSpec) error {
	ownerID, err := r.user(ctx, s.Owner)
	if err != nil {
		return err
	}
	id, err := r.q.SeedShopByOwnerAndName(ctx, db.SeedShopByOwnerAndNameParams{OwnerID: ownerID, Name: s.Name})
	switch {
	case err == nil:
		r.sum.Existing.Shops++
	case errors.Is(err, pgx.ErrNoRows):
		shop, err := r.svc.CreateShop(ctx, mart.CreateShopParams{Name: s.Name, OwnerID: ownerID, Address: s.Address})
		if err != nil {
			return fmt.Errorf("seed shop %s: %w", s.Name, err)
		}
		id = shop.ID
		r.sum.Created.Shops++
	default:
		return fmt.Errorf("look up shop %s: %w", s.Name, err)
	}
	r.shops[s.Name] = id
	r.products[s.Name] = map[string]string{}
	for _, p := range s.Products {
		pid, err := r.q.SeedProductByShopAndName(ctx, db.SeedProductByShopAndNameParams{ShopID: id, Name: p.Name})
		switch {
		case err == nil:
			r.sum.Existing.Products++
		case errors.Is(err, pgx.ErrNoRows):
			prod, err := r.svc.CreateProduct(ctx, mart.CreateProductParams{
				ShopID: id, Name: p.Name, Description: p.Description, Category: p.Category, PricePaise: p.PricePaise, Stock: p.Stock,
			})
			if err != nil {
				return fmt.Errorf("seed product %s: %w", p.Name, err)
			}
			pid = prod.ID
			r.sum.Created.Products++
		default:
			return fmt.Errorf("look up product %s: %w", p.Name, err)
		}
		r.products[s.Name][p.Name] = pid
	}
	return nil
}

// order finds or places o and moves it on to o.Status.
func (r *runner) order(ctx context.Context, o orderSpec) error {
	customer := r.users[o.Customer]
	shopID := r.shops[o.Shop]
	row, err := r.q.SeedOrderByUserAndShop(ctx, db.SeedOrderByUserAndShopParams{UserID: customer.id, ShopID: shopID})
	switch {
	case err == nil:
		r.sum.Existing.Orders++
	case errors.Is(err, pgx.ErrNoRows):
		items := make([]mart.PlaceOrderItem, len(o.Items))
		for i, it := range o.Items {
			items[i] = mart.PlaceOrderItem{ProductID: r.products[o.Shop][it.Product], Quantity: it.Quantity}
		}
		placed, err := r.svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.id, ShopID: shopID, Items: items})
		if err != nil {
			return fmt.Errorf("seed order of %s at %s: %w", customer.Name, o.Shop, err)
		}
		row = &db.SeedOrderByUserAndShopRow{ID: placed.ID, Status: placed.Status}
		r.sum.Created.Orders++
	default:
		return fmt.Errorf("look up order of %s at %s: %w", customer.Name, o.Shop, err)
	}
	status, err := r.moveOn(ctx, row.ID, row.Status, o)
	if err != nil {
		return err
	}
	got, err := r.svc.GetOrder(ctx, row.ID)
	if err != nil {
		return fmt.Errorf("read seeded order: %w", err)
	}
	r.sum.Orders = append(r.sum.Orders, Order{ID: row.ID, Customer: customer.Name, Shop: o.Shop, Status: status, TotalPaise: got.TotalPaise})
	return nil
}

// lifecycle is the path UpdateOrderStatus moves an order along.
func lifecycle() []string {
	return []string{mart.StatusPlaced, mart.StatusConfirmed, mart.StatusPacked, mart.StatusOutForDelivery, mart.StatusDelivered}
}

// moveOn moves order id from status towards o.Status, one step at a time as
// a shop would, and returns the status it ends in. An order already there,
// further along, or off the demo's path (cancelled by hand) is left alone.
func (r *runner) moveOn(ctx context.Context, id, status string, o orderSpec) (string, error) {
	if o.Status == mart.StatusCancelled {
		if status != mart.StatusPlaced && status != mart.StatusConfirmed {
			return status, nil
		}
		if _, err := r.svc.CancelOrder(ctx, id, o.CancelReason); err != nil {
			return status, fmt.Errorf("cancel seeded order: %w", err)
		}
		return mart.StatusCancelled, nil
	}
	path := lifecycle()
	from, to := slices.Index(path, status), slices.Index(path, o.Status)
	if from < 0 {
		return status, nil
	}
	for _, next := range path[from+1 : max(from+1, to+1)] {
		if _, err := r.svc.UpdateOrderStatus(ctx, id, next); err != nil {
			return status, fmt.Errorf("move seeded order to %s: %w", next, err)
		}
		status = next
		if next == mart.StatusOutForDelivery && o.SMS != "" {
			if err := r.text(ctx, id, r.users[o.Customer].id, o.SMS); err != nil {
				return status, err
			}
		}
	}
	return status, nil
}

// text publishes an SMS to userID (notification/send) about order id. Its
// event id is derived from the order, so it is published once.
func (r *runner) text(ctx context.Context, orderID, userID, message string) error {
	ev, err := events.New(&events.NotificationSend{Channel: "sms", UserID: userID, Message: message})
	if err != nil {
		return fmt.Errorf("build seed SMS: %w", err)
	}
	ev.ID = "seed-sms-" + orderID
	ev.Source = "seed"
	err = db.InTx(ctx, r.db, func(tx pgx.Tx) error {
		_, err := r.publisher.Publish(ctx, tx, ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("publish seed SMS: %w", err)
	}
	return nil
}
