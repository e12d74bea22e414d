package jobs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// publish publishes payloads in one committed transaction, for River to
// work their runs.
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

// withSubject returns the deliveries of ds with the given subject.
func withSubject(ds []delivery, subject string) []delivery {
	var out []delivery
	for _, d := range ds {
		if d.Subject == subject {
			out = append(out, d)
		}
	}
	return out
}

// TestOrderLifecycleCaptured runs the order functions end to end with the
// Postgres defaults: messages captured in deliveries, analytics in
// analytics_events.
func TestOrderLifecycleCaptured(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{deps: jobs.Deps{AnalyticsBatchWait: 50 * time.Millisecond}})
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

	cust := deliveriesTo(t, b.pool, "cust@example.com")
	confirmation := findDelivery(t, cust, "Order placed: ₹1,398.00 at Gupta Kirana")
	require.Equal(t, "captured", confirmation.Status)
	require.Equal(t, "capture", confirmation.Provider)
	contains(t, confirmation.Body, "2 × Basmati Rice 5kg @ ₹624.50 = ₹1,249.00", "1 × Toor Dal 1kg @ ₹149.00 = ₹149.00", "Total: ₹1,398.00", order.ID)
	update := findDelivery(t, cust, "Your order is now: Confirmed")
	contains(t, update.Body, "moved from Placed to Confirmed")

	oos := findDelivery(t, deliveriesTo(t, b.pool, "owner@example.com"), "Out of stock: Basmati Rice 5kg")
	contains(t, oos.Body, "Basmati Rice 5kg at Gupta Kirana just sold out.")
	push := findDelivery(t, deliveriesTo(t, b.pool, owner.ID), "Out of stock: Basmati Rice 5kg")
	require.Equal(t, "push", push.Channel)

	// The order reaches analytics with the batch that holds it.
	var props string
	b.waitUntil(t, "track_analytics", func() bool {
		err := b.pool.QueryRow(ctx, `SELECT properties::text FROM analytics_events WHERE name = 'order/created' AND user_id = $1`, customer.ID).Scan(&props)
		if errors.Is(err, pgx.ErrNoRows) {
			return false
		}
		require.NoError(t, err)
		return true
	})
	contains(t, props, `"orderId": "`+order.ID+`"`, `"totalPaise": 139800`)

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
// hour gets no second alert (rateLimit): the later runs complete without
// sending; the one alert emails and pushes to the shop owner.
func TestOutOfStockAlertOncePerHour(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	owner := mustUser(t, b.mart)
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
	runs := pendingRuns(t, b, "process_out_of_stock_alert")
	require.Len(t, runs, 3, "each sell-out starts a run")
	for _, r := range runs {
		requireState(t, b.work(t, "process-out-of-stock-alert", r.ID), rivertype.JobStateCompleted)
	}
	require.Len(t, withSubject(deliveriesTo(t, b.tx, owner.Email), "Out of stock: Ghee"), 1, "one alert email per product per hour")
	require.Len(t, withSubject(deliveriesTo(t, b.tx, owner.ID), "Out of stock: Ghee"), 1, "one alert push per product per hour")
}

// sessionCount counts the sessions of user userID in q.
func sessionCount(t *testing.T, q db.DBTX, userID string) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n))
	return n
}

// TestCleanupExpiredSessions: cleanup/expired_sessions deletes expired
// sessions and keeps live ones; a second request while one run waits
// starts none (singleton).
func TestCleanupExpiredSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	u := mustUser(t, b.mart)
	_, _, err := b.mart.CreateSession(ctx, u.ID, time.Hour)
	require.NoError(t, err)
	_, err = b.tx.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, 'expired', now() - interval '1 minute')`, u.ID)
	require.NoError(t, err)

	b.publish(t, events.CleanupExpiredSessions{}, events.CleanupExpiredSessions{})
	run := pendingRun(t, b, "cleanup_expired_sessions") // one for both requests

	res := b.work(t, "cleanup-expired-sessions", run.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.JSONEq(t, `{"deleted": 1}`, string(res.Output))
	require.Equal(t, 1, sessionCount(t, b.tx, u.ID), "the expired session is gone, the live one kept")
}

// TestEndUserSessions: user/deleted (from outside: mart.DeleteUser also
// deletes them itself) deletes every session of that user, and no one
// else's.
func TestEndUserSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	gone, other := mustUser(t, b.mart), mustUser(t, b.mart)
	for _, u := range []*mart.User{gone, gone, other} {
		_, _, err := b.mart.CreateSession(ctx, u.ID, time.Hour)
		require.NoError(t, err)
	}

	res := b.run(t, "end-user-sessions", event(t, events.UserDeleted{UserID: gone.ID}))
	requireState(t, res, rivertype.JobStateCompleted)
	require.JSONEq(t, `{"deleted": 2}`, string(res.Output))
	require.Zero(t, sessionCount(t, b.tx, gone.ID))
	require.Equal(t, 1, sessionCount(t, b.tx, other.ID))
}

// TestCleanupOldLogs: cleanup/old_logs deletes the logs older than its
// olderThanDays, which overrides the configured retention.
func TestCleanupOldLogs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{Retention: jobs.Retention{Logs: 24 * time.Hour}})
	_, err := b.tx.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES
		('info', 'old', now() - interval '3 days'), ('info', 'past retention', now() - interval '36 hours'),
		('info', 'recent', now() - interval '1 hour'), ('info', 'new', now())`)
	require.NoError(t, err)

	days := 2
	res := b.run(t, "cleanup-old-logs", event(t, events.CleanupOldLogs{OlderThanDays: &days}))
	requireState(t, res, rivertype.JobStateCompleted)

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
	b := setupTx(t, jobs.Deps{})
	u := mustUser(t, b.mart)

	res := b.run(t, "send-notification", event(t, events.NotificationSend{Channel: "email", UserID: u.ID, Subject: "Hello <there>", Message: "Diwali offers & more"}))
	requireState(t, res, rivertype.JobStateCompleted)

	n := findDelivery(t, deliveriesTo(t, b.tx, u.Email), "Hello <there>")
	require.Equal(t, "Diwali offers & more\n", n.Body)
	require.Equal(t, "captured", n.Status)
}

// TestSendNotificationRateLimit: one recipient gets at most
// NotificationsPerHour messages an hour; the run past it completes
// without sending.
func TestSendNotificationRateLimit(t *testing.T) {
	t.Parallel()
	b := setupTx(t, jobs.Deps{NotificationsPerHour: 2})
	to := "limited-" + uuid.NewString() + "@example.com"
	for i, want := range []int{1, 2, 2} {
		res := b.run(t, "send-notification", event(t, events.NotificationSend{Channel: "email", To: to, Message: "Offer"}))
		requireState(t, res, rivertype.JobStateCompleted)
		require.Len(t, deliveriesTo(t, b.tx, to), want, "after message %d", i+1)
	}
	// A failed-job alert (source ops) is never dropped: they are one per
	// kind and hour anyway.
	alert := event(t, events.NotificationSend{Channel: "email", To: to, Message: "send_order_update jobs are failing"})
	alert.Source = "ops"
	requireState(t, b.run(t, "send-notification", alert), rivertype.JobStateCompleted)
	require.Len(t, deliveriesTo(t, b.tx, to), 3, "the alert went out past the limit")
}

// TestIndexShop: search/index for a shop indexes it.
func TestIndexShop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Sharma Sweets", OwnerID: mustUser(t, b.mart).ID, Address: "MG Road"})
	require.NoError(t, err)

	res := b.run(t, "index-shop", event(t, events.SearchIndex{Type: "shop", ID: shop.ID}))
	requireState(t, res, rivertype.JobStateCompleted)
	var name string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name FROM search_documents WHERE type = 'shop' AND id = $1`, shop.ID).Scan(&name))
	require.Equal(t, "Sharma Sweets", name)
}

func mustUser(t *testing.T, svc *mart.Service) *mart.User {
	t.Helper()
	u, err := svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "u-" + uuid.NewString() + "@example.com", Name: "U"})
	require.NoError(t, err)
	return u
}

// TestIdsThatNameNoRow sends events whose ids name no row: the runs settle
// on their first attempt instead of retrying an error that cannot go away.
// Indexing an unknown product removes it from the index (completed);
// emailing about an unknown order is cancelled. (An id that is not even a
// UUID is refused when published.)
//
// River works these runs on a pool: a function's failed lookup would abort
// a test transaction.
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
