package jobs_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// publish publishes payloads in one committed transaction.
func publish(t *testing.T, b *testBundle, payloads ...events.Payload) []string {
	t.Helper()
	ctx := t.Context()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	evs := make([]events.Event, len(payloads))
	for i, p := range payloads {
		evs[i], err = events.New(p)
		require.NoError(t, err)
	}
	ids, err := b.outbox.Publish(ctx, tx, evs...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	return ids
}

func deliveriesTo(t *testing.T, pool *pgxpool.Pool, recipient string) []delivery {
	t.Helper()
	var out []delivery
	for _, d := range listDeliveries(t, pool) {
		if d.Recipient == recipient {
			out = append(out, d)
		}
	}
	return out
}

// TestOrderLifecycleCaptured runs the order functions end to end with the
// Postgres defaults: messages captured in deliveries, the product indexed
// in search_documents, analytics in analytics_events.
func TestOrderLifecycleCaptured(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{})
	ctx := t.Context()

	owner, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "owner@example.com", Name: "Lakshmi"})
	require.NoError(t, err)
	customer, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "cust@example.com", Name: "Arjun"})
	require.NoError(t, err)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Gupta Kirana", OwnerID: owner.ID})
	require.NoError(t, err)
	rice, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Basmati Rice 5kg", Category: "grains", PricePaise: 62450, Stock: 2})
	require.NoError(t, err)
	dal, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Toor Dal 1kg", Category: "pulses", PricePaise: 14900, Stock: 10})
	require.NoError(t, err)

	order, err := b.mart.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{
		{ProductID: rice.ID, Quantity: 2}, {ProductID: dal.ID, Quantity: 1},
	}})
	require.NoError(t, err)
	require.Equal(t, int64(139800), order.TotalPaise)
	_, err = b.mart.UpdateOrderStatus(ctx, order.ID, mart.StatusConfirmed)
	require.NoError(t, err)

	waitJobs(t, b.pool, "send_order_confirmation", 1)
	waitJobs(t, b.pool, "send_order_update", 1)
	waitJobs(t, b.pool, "process_out_of_stock_alert", 1)
	waitJobs(t, b.pool, "send_welcome_email", 2)
	flush(t, b, 1)

	cust := deliveriesTo(t, b.pool, "cust@example.com")
	require.Len(t, cust, 3) // welcome, confirmation, update
	for _, d := range cust {
		require.Equal(t, "captured", d.Status)
		require.Equal(t, "capture", d.Provider)
	}
	confirmation := findDelivery(t, cust, "Order confirmed: ₹1,398.00 at Gupta Kirana")
	contains(t, confirmation.Body, "2 × Basmati Rice 5kg @ ₹624.50 = ₹1,249.00", "1 × Toor Dal 1kg @ ₹149.00 = ₹149.00", "Total: ₹1,398.00", order.ID)
	update := findDelivery(t, cust, "Your order is now: Confirmed")
	contains(t, update.Body, "moved from Placed to Confirmed")

	ownerMsgs := deliveriesTo(t, b.pool, "owner@example.com")
	require.Len(t, ownerMsgs, 2) // welcome, out of stock
	oos := findDelivery(t, ownerMsgs, "Out of stock: Basmati Rice 5kg")
	contains(t, oos.Body, "Basmati Rice 5kg at Gupta Kirana just sold out.")
	push := deliveriesTo(t, b.pool, owner.ID)
	require.Len(t, push, 1)
	require.Equal(t, "push", push[0].Channel)
	require.Equal(t, "Out of stock: Basmati Rice 5kg", push[0].Subject)

	var names []string
	rows, err := b.pool.Query(ctx, `SELECT name FROM analytics_events ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{"user/created", "user/created", "order/created"}, names)

	// Cancelling a second order emails the reason.
	order2, err := b.mart.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{{ProductID: dal.ID, Quantity: 1}}})
	require.NoError(t, err)
	_, err = b.mart.CancelOrder(ctx, order2.ID, "Ordered by mistake")
	require.NoError(t, err)
	waitJobs(t, b.pool, "send_order_update", 2)
	cancelled := findDelivery(t, deliveriesTo(t, b.pool, "cust@example.com"), "Your order was cancelled")
	contains(t, cancelled.Body, order2.ID, "Reason: Ordered by mistake")
}

func findDelivery(t *testing.T, ds []delivery, subject string) delivery {
	t.Helper()
	for _, d := range ds {
		if d.Subject == subject {
			return d
		}
	}
	require.Failf(t, "no delivery", "no delivery with subject %q in %+v", subject, ds)
	return delivery{}
}

func TestOutOfStockAlertOncePerHour(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{})
	ctx := t.Context()
	owner, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "o@example.com", Name: "O"})
	require.NoError(t, err)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Ghee", PricePaise: 1000, Stock: 1})
	require.NoError(t, err)

	zero, one := 0, 1
	for range 3 { // sells out three times within the hour
		_, err = b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Stock: &zero})
		require.NoError(t, err)
		_, err = b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Stock: &one})
		require.NoError(t, err)
	}
	require.Len(t, waitJobs(t, b.pool, "process_out_of_stock_alert", 1), 1)
	time.Sleep(100 * time.Millisecond)
	require.Len(t, listJobs(t, b.pool, "process_out_of_stock_alert"), 1)
	require.Len(t, deliveriesTo(t, b.pool, "o@example.com"), 2) // welcome + one alert
}

func TestCleanupAndNotificationEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{deps: jobs.Deps{Retention: jobs.Retention{Logs: 24 * time.Hour}}})
	ctx := t.Context()

	u, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "s@example.com", Name: "S"})
	require.NoError(t, err)
	_, _, err = b.mart.CreateSession(ctx, u.ID, time.Hour)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, 'expired', now() - interval '1 minute')`, u.ID)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES
		('info', 'old', now() - interval '3 days'), ('info', 'recent', now() - interval '1 hour'), ('info', 'new', now())`)
	require.NoError(t, err)

	days := 2
	publish(t, b, events.CleanupExpiredSessions{}, events.CleanupOldLogs{OlderThanDays: &days},
		events.NotificationSend{Channel: "email", UserID: u.ID, Subject: "Hello <there>", Message: "Diwali offers & more"})
	waitJobs(t, b.pool, "cleanup_expired_sessions", 1)
	waitJobs(t, b.pool, "cleanup_old_logs", 1)
	waitJobs(t, b.pool, "send_notification", 1)

	var sessions, logs int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions))
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Equal(t, 1, sessions, "the expired session is gone")
	require.Equal(t, 2, logs, "logs older than olderThanDays are gone")
	n := findDelivery(t, deliveriesTo(t, b.pool, "s@example.com"), "Hello <there>")
	require.Equal(t, "Diwali offers & more\n", n.Body)

	// user/deleted removes the user's sessions.
	require.NoError(t, b.mart.DeleteUser(ctx, u.ID))
	waitJobs(t, b.pool, "cleanup_expired_sessions", 2)
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions))
	require.Zero(t, sessions)

	// search/index for a shop indexes it.
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Sharma Sweets", OwnerID: mustUser(t, b).ID, Address: "MG Road"})
	require.NoError(t, err)
	publish(t, b, events.SearchIndex{Type: "shop", ID: shop.ID})
	waitJobs(t, b.pool, "index_shop", 1)
	var name string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT name FROM search_documents WHERE type = 'shop' AND id = $1`, shop.ID).Scan(&name))
	require.Equal(t, "Sharma Sweets", name)
}

func mustUser(t *testing.T, b *testBundle) *mart.User {
	t.Helper()
	u, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "u" + time.Now().Format("150405.000000") + "@example.com", Name: "U"})
	require.NoError(t, err)
	return u
}

// TestIdsThatNameNoRow sends events (as the web app may) whose ids are not
// even UUIDs: the jobs settle at once instead of retrying an error that
// cannot go away. Indexing an unknown product removes it from the index
// (completed); emailing about an unknown order is cancelled.
func TestIdsThatNameNoRow(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{})
	publish(t, b,
		events.SearchIndex{Type: "product", ID: "sku-123"},
		events.SearchIndex{Type: "shop", ID: "shop-9"},
		events.OrderCreated{OrderID: "ord-1", UserID: "u-1", ShopID: "s-1", TotalPaise: 100,
			Items: []events.OrderItem{{ProductID: "sku-123", Quantity: 1, PricePaise: 100}}},
	)
	for kind, want := range map[string]string{"index_product": "completed", "index_shop": "completed", "send_order_confirmation": "cancelled"} {
		rows := waitJobs(t, b.pool, kind, 1)
		require.Len(t, rows, 1, kind)
		require.Equal(t, want, rows[0].State, kind)
		require.Equal(t, 1, rows[0].Attempt, "%s settles on its first attempt", kind)
	}
}
