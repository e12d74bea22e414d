package mart_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// Example shows the domain writes: each is one transaction that changes
// its rows and publishes its events through the outbox, so the order, the
// stock change, the order/created event and its jobs commit together.
func Example() {
	ctx := context.Background()
	url, drop, err := dbtest.NewDatabase(ctx) // in an app: your DATABASE_URL
	if err != nil {
		log.Fatal(err)
	}
	defer drop() //nolint:errcheck
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Insert-only: this process enqueues, the server's workers work.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// The server's functions route the events (building the registry
	// connects to no provider).
	reg, err := jobs.NewRegistry(jobs.Deps{DB: pool})
	if err != nil {
		log.Fatal(err)
	}
	svc := mart.NewService(pool, outbox.New(client, reg))

	owner, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "lakshmi@example.com", Name: "Lakshmi"})
	if err != nil {
		log.Fatal(err)
	}
	shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: "Gupta Kirana", OwnerID: owner.ID})
	if err != nil {
		log.Fatal(err)
	}
	dal, err := svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Toor Dal 1kg", PricePaise: 14900, Stock: 3})
	if err != nil {
		log.Fatal(err)
	}
	customer, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "arjun@example.com", Name: "Arjun"})
	if err != nil {
		log.Fatal(err)
	}
	order, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: dal.ID, Quantity: 3}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("order", order.Status, "total", order.TotalPaise)

	// Not enough stock left: a conflict, and nothing written.
	_, err = svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: dal.ID, Quantity: 1}}})
	fmt.Println("second order:", apperr.CodeOf(err))

	rows, err := pool.Query(ctx, `SELECT kind, count(*) FROM river_job
		WHERE kind IN ('send_order_confirmation', 'process_out_of_stock_alert') GROUP BY kind ORDER BY kind`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			log.Fatal(err)
		}
		fmt.Println(kind, n)
	}
	// Output:
	// order placed total 44700
	// second order: conflict
	// process_out_of_stock_alert 1
	// send_order_confirmation 1
}
