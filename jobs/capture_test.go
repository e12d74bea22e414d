package jobs_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// publish publishes payloads in one committed transaction, for River to
// work their jobs.
func publish(t *testing.T, b *testBundle, payloads ...events.Payload) []string {
	t.Helper()
	ctx := t.Context()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	ids, err := b.outbox.Publish(ctx, tx, newEvents(t, payloads...)...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	return ids
}

func deliveriesTo(t *testing.T, q db.DBTX, recipient string) []delivery {
	t.Helper()
	var out []delivery
	for _, d := range listDeliveries(t, q) {
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

	b.waitJobs(t, "send_order_confirmation", 1)
	b.waitJobs(t, "send_order_update", 1)
	b.waitJobs(t, "process_out_of_stock_alert", 1)
	b.waitJobs(t, "send_welcome_email", 2)
	flush(t, b, 1)

	cust := deliveriesTo(t, b.pool, "cust@example.com")
	require.Len(t, cust, 3) // welcome, confirmation, update
	for _, d := range cust {
		require.Equal(t, "captured", d.Status)
		require.Equal(t, "capture", d.Provider)
	}
	confirmation := findDelivery(t, cust, "Order placed: ₹1,398.00 at Gupta Kirana")
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
	b.waitJobs(t, "send_order_update", 2)
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

// TestOutOfStockAlertOncePerHour: a product that sells out again within the
// hour gets no second alert; the one alert emails the shop owner.
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
	// The writes have committed, and with them every job they inserted.
	require.Len(t, listJobs(t, b.pool, "process_out_of_stock_alert"), 1, "one alert per product per hour")
	b.waitJobs(t, "process_out_of_stock_alert", 1)
	b.waitJobs(t, "send_welcome_email", 1)
	require.Len(t, deliveriesTo(t, b.pool, "o@example.com"), 2) // welcome + one alert
}

// TestCleanupExpiredSessions: cleanup/expired_sessions deletes expired
// sessions and keeps live ones; user/deleted deletes all the user's
// sessions.
func TestCleanupExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	w := testWorker[jobargs.CleanupExpiredSessionsArgs](t, b.tx, jobs.Deps{})
	sessions := func() int {
		t.Helper()
		var n int
		require.NoError(t, b.tx.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n))
		return n
	}

	u, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "sessions@example.com", Name: "S"})
	require.NoError(t, err)
	_, _, err = b.mart.CreateSession(ctx, u.ID, time.Hour)
	require.NoError(t, err)
	_, err = b.tx.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, 'expired', now() - interval '1 minute')`, u.ID)
	require.NoError(t, err)

	b.publish(t, events.CleanupExpiredSessions{})
	res, err := w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.CleanupExpiredSessionsArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, sessions(), "the expired session is gone")

	require.NoError(t, b.mart.DeleteUser(ctx, u.ID))
	res, err = w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.CleanupExpiredSessionsArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Zero(t, sessions(), "user/deleted removes the user's sessions")
}

// TestCleanupOldLogs: cleanup/old_logs deletes the logs older than its
// olderThanDays, which overrides the configured retention.
func TestCleanupOldLogs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	w := testWorker[jobargs.CleanupOldLogsArgs](t, b.tx, jobs.Deps{Retention: jobs.Retention{Logs: 24 * time.Hour}})
	_, err := b.tx.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES
		('info', 'old', now() - interval '3 days'), ('info', 'past retention', now() - interval '36 hours'),
		('info', 'recent', now() - interval '1 hour'), ('info', 'new', now())`)
	require.NoError(t, err)

	days := 2
	b.publish(t, events.CleanupOldLogs{OlderThanDays: &days})
	res, err := w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.CleanupOldLogsArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)

	rows, err := b.tx.Query(ctx, `SELECT message FROM app_logs ORDER BY created_at`)
	require.NoError(t, err)
	kept, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"past retention", "recent", "new"}, kept, "logs older than olderThanDays are gone")
}

// TestSendNotificationEmailCaptured: notification/send by email to a user
// goes to the user's address, captured in deliveries when no Mailer is
// configured; the text body is the message as written.
func TestSendNotificationEmailCaptured(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	w := testWorker[jobargs.SendNotificationArgs](t, b.tx, jobs.Deps{})
	u, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "notify@example.com", Name: "N"})
	require.NoError(t, err)

	b.publish(t, events.NotificationSend{Channel: "email", UserID: u.ID, Subject: "Hello <there>", Message: "Diwali offers & more"})
	res, err := w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.SendNotificationArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)

	n := findDelivery(t, deliveriesTo(t, b.tx, "notify@example.com"), "Hello <there>")
	require.Equal(t, "Diwali offers & more\n", n.Body)
	require.Equal(t, "captured", n.Status)
}

// TestIndexShop: search/index for a shop indexes it.
func TestIndexShop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	w := testWorker[jobargs.IndexShopArgs](t, b.tx, jobs.Deps{})
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Sharma Sweets", OwnerID: mustUser(t, b.mart).ID, Address: "MG Road"})
	require.NoError(t, err)

	b.publish(t, events.SearchIndex{Type: "shop", ID: shop.ID})
	res, err := w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.IndexShopArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	var name string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name FROM search_documents WHERE type = 'shop' AND id = $1`, shop.ID).Scan(&name))
	require.Equal(t, "Sharma Sweets", name)
}

func mustUser(t *testing.T, svc *mart.Service) *mart.User {
	t.Helper()
	u, err := svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "u" + time.Now().Format("150405.000000") + "@example.com", Name: "U"})
	require.NoError(t, err)
	return u
}

// TestIdsThatNameNoRow sends events whose ids name no row: the jobs settle
// on their first attempt instead of retrying an error that cannot go away.
// Indexing an unknown product removes it from the index (completed);
// emailing about an unknown order is cancelled. (An id that is not even a
// UUID is refused when published.)
//
// River works these jobs on a pool: a worker's failed lookup would abort a
// test transaction.
func TestIdsThatNameNoRow(t *testing.T) {
	t.Parallel()
	const noProduct = "40000000-0000-4000-8000-000000000123"
	b := setup(t, bundleOpts{})
	publish(t, b,
		events.SearchIndex{Type: "product", ID: noProduct},
		events.SearchIndex{Type: "shop", ID: "20000000-0000-4000-8000-000000000009"},
		events.OrderCreated{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001",
			ShopID: "20000000-0000-4000-8000-000000000001", TotalPaise: 100,
			Items: []events.OrderItem{{ProductID: noProduct, Quantity: 1, PricePaise: 100}}},
	)
	for kind, want := range map[string]rivertype.JobState{
		"index_product": rivertype.JobStateCompleted, "index_shop": rivertype.JobStateCompleted,
		"send_order_confirmation": rivertype.JobStateCancelled,
	} {
		job := b.waitJobs(t, kind, 1)[0]
		require.Equal(t, want, job.State, kind)
		require.Equal(t, 1, job.Attempt, "%s settles on its first attempt", kind)
		require.Len(t, listJobs(t, b.pool, kind), 1, kind)
	}
}
