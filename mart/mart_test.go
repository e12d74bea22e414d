package mart_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	db  db.DB
	svc *mart.Service
}

// setup gives a Service on a database of the test's own, whose
// transactions commit as the application's do.
func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := dbtest.NewPool(t.Context(), t)
	return &testBundle{db: pool, svc: mart.NewService(pool, newOutbox(t, pool))}
}

// newOutbox returns an Outbox with an insert-only River client that routes
// events to the application's functions (package jobs), whose database is d.
func newOutbox(t *testing.T, d db.DB) *outbox.Outbox {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return outbox.New(client, jobstest.Registry(t, d))
}

func count(t *testing.T, q db.DBTX, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

func eventNames(t *testing.T, q db.DBTX) []string {
	t.Helper()
	rows, err := q.Query(t.Context(), "SELECT name FROM events ORDER BY ts")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// fixture is a shop with an owner, a customer and one product.
type fixture struct {
	owner, customer *mart.User
	shop            *mart.Shop
	product         *mart.Product
}

func newFixture(t *testing.T, svc *mart.Service, stock int) *fixture {
	t.Helper()
	ctx := t.Context()
	var f fixture
	var err error
	f.owner, err = svc.CreateUser(ctx, mart.CreateUserParams{Email: "owner@example.com", Name: "Owner"})
	require.NoError(t, err)
	f.customer, err = svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
	require.NoError(t, err)
	f.shop, err = svc.CreateShop(ctx, mart.CreateShopParams{Name: "Kirana", OwnerID: f.owner.ID})
	require.NoError(t, err)
	f.product, err = svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: f.shop.ID, Name: "Atta 5kg", PricePaise: 24900, Stock: stock})
	require.NoError(t, err)
	return &f
}

// failingPublisher publishes for real, then fails: the failure comes after
// Publish returned, so the write's transaction must roll back everything.
type failingPublisher struct{ next mart.Publisher }

func (p failingPublisher) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error) {
	if _, err := p.next.Publish(ctx, tx, evs...); err != nil {
		return nil, err
	}
	return nil, errors.New("injected failure after publish")
}

// failingBatchPublisher is failingPublisher for a publish sent with the
// write (mart.BatchPublisher): its statement runs in the write's batch,
// then its finish fails.
type failingBatchPublisher struct{ next *outbox.Outbox }

func (p failingBatchPublisher) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error) {
	return failingPublisher{p.next}.Publish(ctx, tx, evs...)
}

func (p failingBatchPublisher) Queue(b *pgx.Batch, evs ...events.Event) (func(context.Context, pgx.Tx) ([]string, error), error) {
	finish, err := p.next.Queue(b, evs...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		if _, err := finish(ctx, tx); err != nil {
			return nil, err
		}
		return nil, errors.New("injected failure after publish")
	}, nil
}

func TestAtomicity(t *testing.T) {
	t.Parallel()

	t.Run("CommittedWriteLeavesRowEventAndJobs", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.NewPool(t.Context(), t)
		svc := mart.NewService(pool, newOutbox(t, pool))

		user, err := svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
		require.NoError(t, err)
		require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM users WHERE id = $1", user.ID))
		var eventID string
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT id FROM events WHERE name = 'user/created' AND data->>'userId' = $1", user.ID).Scan(&eventID))
		require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND queue = 'email' AND args->>'event_id' = $1", eventID),
			"the welcome email's run")
		require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM analytics_pending WHERE event_id = $1", eventID), "queued for analytics")
	})

	t.Run("FailureAfterPublishLeavesNothing", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.NewPool(t.Context(), t)
		svc := mart.NewService(pool, failingPublisher{newOutbox(t, pool)})

		_, err := svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
		require.ErrorContains(t, err, "injected failure")
		require.Zero(t, count(t, pool, "SELECT count(*) FROM users"))
		require.Zero(t, count(t, pool, "SELECT count(*) FROM events"))
		require.Zero(t, count(t, pool, "SELECT count(*) FROM river_job"))
	})

	t.Run("FailedOrderLeavesStockEventsAndJobsUntouched", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.NewPool(t.Context(), t)
		f := newFixture(t, mart.NewService(pool, newOutbox(t, pool)), 1)
		eventsBefore, jobsBefore := count(t, pool, "SELECT count(*) FROM events"), count(t, pool, "SELECT count(*) FROM river_job")

		for _, publisher := range []mart.Publisher{failingPublisher{newOutbox(t, pool)}, failingBatchPublisher{newOutbox(t, pool)}} {
			svc := mart.NewService(pool, publisher)
			_, err := svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
				Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
			require.ErrorContains(t, err, "injected failure", "%T", publisher)
			require.Zero(t, count(t, pool, "SELECT count(*) FROM orders"))
			require.Equal(t, 1, count(t, pool, "SELECT stock FROM products WHERE id = $1", f.product.ID))
			require.Equal(t, eventsBefore, count(t, pool, "SELECT count(*) FROM events"))
			require.Equal(t, jobsBefore, count(t, pool, "SELECT count(*) FROM river_job"))
		}
	})
}

// TestPlaceOrderConcurrent races 50 orders for a product with stock 10:
// exactly 10 succeed, stock ends at 0, and the product sells out once.
func TestPlaceOrderConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	svc := mart.NewService(pool, newOutbox(t, pool))
	f := newFixture(t, svc, 10)

	const orders = 50
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		placed, outStock int
		other            []error
	)
	for range orders {
		wg.Go(func() {
			_, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
				Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
			mu.Lock()
			defer mu.Unlock()
			var stockErr *mart.InsufficientStockError
			switch {
			case err == nil:
				placed++
			case errors.As(err, &stockErr) && errors.Is(err, mart.ErrConflict):
				outStock++
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	require.Empty(t, other)
	require.Equal(t, 10, placed)
	require.Equal(t, 40, outStock)
	require.Equal(t, 10, count(t, pool, "SELECT count(*) FROM orders"))
	require.Zero(t, count(t, pool, "SELECT stock FROM products WHERE id = $1", f.product.ID))
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM events WHERE name = 'product/out_of_stock'"))
	require.Equal(t, 10, count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'send_order_confirmation' AND queue = 'email'"))
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'process_out_of_stock_alert' AND queue = 'notifications'"))
}

// TestPlaceOrderPriceChangedWhileWaiting: an order that read a product's
// price, then waited for the product's row while another transaction
// changed that price, is placed at the new price, once: its first
// transaction rolls back and it starts again.
func TestPlaceOrderPriceChangedWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	svc := mart.NewService(pool, newOutbox(t, pool))
	f := newFixture(t, svc, 10)

	// Another writer changes the price and holds the row until it commits.
	repricer, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer repricer.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	_, err = repricer.Exec(ctx, "UPDATE products SET price_paise = 19900 WHERE id = $1", f.product.ID)
	require.NoError(t, err)

	placed := make(chan error, 1)
	var order *mart.Order
	go func() {
		var err error
		order, err = svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 2}}})
		placed <- err
	}()
	// The order has read the old price and written its rows when it waits
	// for the product's lock; only the database shows that.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for waiting := false; !waiting; {
		require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%OrderPlace%')`).Scan(&waiting))
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the order never waited for the product's row")
		}
	}
	require.NoError(t, repricer.Commit(ctx))

	require.NoError(t, <-placed)
	require.Equal(t, int64(2*19900), order.TotalPaise)
	require.Equal(t, int64(19900), order.Items[0].PricePaise)
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM orders"))
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM events WHERE name = 'order/created'"))
	require.Equal(t, 8, count(t, pool, "SELECT stock FROM products WHERE id = $1", f.product.ID))
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()

	t.Run("DecrementsStockAndPublishes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 5)
		two, err := b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: f.shop.ID, Name: "Ghee", PricePaise: 1249, Stock: 2})
		require.NoError(t, err)

		order, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 2}, {ProductID: two.ID, Quantity: 2}}})
		require.NoError(t, err)
		require.Equal(t, mart.StatusPlaced, order.Status)
		require.Equal(t, int64(2*24900+2*1249), order.TotalPaise)
		require.Len(t, order.Items, 2)
		require.Equal(t, 3, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID))
		require.Zero(t, count(t, b.db, "SELECT stock FROM products WHERE id = $1", two.ID))

		got, err := b.svc.GetOrder(t.Context(), order.ID)
		require.NoError(t, err)
		require.Equal(t, order.TotalPaise, got.TotalPaise)
		require.ElementsMatch(t, order.Items, got.Items)

		var data string
		require.NoError(t, b.db.QueryRow(t.Context(), "SELECT data::text FROM events WHERE name = 'order/created'").Scan(&data))
		require.JSONEq(t, fmt.Sprintf(`{"orderId":%q,"userId":%q,"shopId":%q,"totalPaise":52298,"items":[{"productId":%q,"quantity":2,"pricePaise":24900},{"productId":%q,"quantity":2,"pricePaise":1249}]}`,
			order.ID, f.customer.ID, f.shop.ID, f.product.ID, two.ID), data)
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM events WHERE name = 'product/out_of_stock' AND data->>'productId' = $1", two.ID))
	})

	t.Run("NotEnoughStockWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		eventsBefore := count(t, b.db, "SELECT count(*) FROM events")

		_, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 2}}})
		var stockErr *mart.InsufficientStockError
		require.ErrorAs(t, err, &stockErr)
		require.Equal(t, mart.InsufficientStockError{ProductID: f.product.ID, Requested: 2, Available: 1}, *stockErr)
		require.ErrorIs(t, err, mart.ErrConflict)
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM orders"))
		require.Equal(t, 1, count(t, b.db, "SELECT stock FROM products"))
		require.Equal(t, eventsBefore, count(t, b.db, "SELECT count(*) FROM events"))
	})

	t.Run("InvalidInputNamesFields", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		_, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: "nope", ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 0}, {ProductID: f.product.ID, Quantity: 1}}})
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []mart.FieldError{
			{Field: "userId", Message: "must be a UUID"},
			{Field: "items[0].quantity", Message: "must be between 1 and 10000"},
			{Field: "items[1].productId", Message: "appears more than once"},
		}, verr.Fields)

		_, err = b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: "00000000-0000-0000-0000-000000000000", Quantity: 1}}})
		require.ErrorAs(t, err, &verr)
		require.Equal(t, "items[0].productId", verr.Fields[0].Field)
	})
}

// TestPlaceOrderMoneyLimits places orders of products whose stored prices
// predate the price limit (set by SQL, as an old row would be): a line or a
// total above events.MaxTotalPaise is refused naming the field, and
// writes nothing, where unchecked int64 arithmetic would wrap (4 × 2^62
// is 0) or trip the orders table's check.
func TestPlaceOrderMoneyLimits(t *testing.T) {
	t.Parallel()

	const huge = int64(1) << 62 // 4611686018427387904
	legacy := func(t *testing.T, b *testBundle, f *fixture, name string, price int64) string {
		t.Helper()
		p, err := b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: f.shop.ID, Name: name, PricePaise: 100, Stock: 10})
		require.NoError(t, err)
		_, err = b.db.Exec(t.Context(), "UPDATE products SET price_paise = $2 WHERE id = $1", p.ID, price)
		require.NoError(t, err)
		return p.ID
	}
	// refused places items and requires a refusal naming field that
	// leaves orders, events, jobs and stock as they were.
	refused := func(t *testing.T, b *testBundle, f *fixture, field string, items ...mart.PlaceOrderItem) {
		t.Helper()
		state := "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM events) + (SELECT count(*) FROM river_job) + (SELECT sum(stock) FROM products)"
		before := count(t, b.db, state)
		_, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID, Items: items})
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []string{field}, fields(verr))
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM orders"))
		require.Equal(t, before, count(t, b.db, state))
	}

	t.Run("LineThatWouldWrapIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		id := legacy(t, b, f, "Gold", huge)
		for _, quantity := range []int{4, 2, 1} {
			refused(t, b, f, "items[0].quantity", mart.PlaceOrderItem{ProductID: id, Quantity: quantity})
		}
	})

	t.Run("TotalAboveMaximumIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		half := events.MaxTotalPaise/2 + 1
		one, two := legacy(t, b, f, "Gold", half), legacy(t, b, f, "Silver", half)
		refused(t, b, f, "totalPaise", mart.PlaceOrderItem{ProductID: one, Quantity: 1}, mart.PlaceOrderItem{ProductID: two, Quantity: 1})
	})

	t.Run("TotalAtMaximumIsPlaced", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		half := events.MaxTotalPaise / 2
		one, two := legacy(t, b, f, "Gold", half), legacy(t, b, f, "Silver", events.MaxTotalPaise-half)
		order, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: one, Quantity: 1}, {ProductID: two, Quantity: 1}}})
		require.NoError(t, err)
		require.Equal(t, events.MaxTotalPaise, order.TotalPaise)
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM orders WHERE total_paise = $1", events.MaxTotalPaise))
	})
}

func TestOrderStatus(t *testing.T) {
	t.Parallel()

	place := func(t *testing.T, b *testBundle) (*fixture, *mart.Order) {
		t.Helper()
		f := newFixture(t, b.svc, 3)
		order, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
			Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 3}}})
		require.NoError(t, err)
		return f, order
	}

	t.Run("FollowsStateMachine", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, order := place(t, b)
		ctx := t.Context()

		_, err := b.svc.UpdateOrderStatus(ctx, order.ID, mart.StatusPacked)
		require.ErrorIs(t, err, mart.ErrConflict, "skipping confirmed")
		for _, s := range []string{mart.StatusConfirmed, mart.StatusPacked, mart.StatusOutForDelivery, mart.StatusDelivered} {
			got, err := b.svc.UpdateOrderStatus(ctx, order.ID, s)
			require.NoError(t, err)
			require.Equal(t, s, got.Status)
		}
		_, err = b.svc.UpdateOrderStatus(ctx, order.ID, mart.StatusPlaced)
		require.ErrorIs(t, err, mart.ErrConflict, "delivered is final")
		_, err = b.svc.CancelOrder(ctx, order.ID, "late")
		require.ErrorIs(t, err, mart.ErrConflict, "delivered cannot be cancelled")
		_, err = b.svc.UpdateOrderStatus(ctx, order.ID, "shipped")
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		_, err = b.svc.UpdateOrderStatus(ctx, "00000000-0000-0000-0000-000000000000", mart.StatusConfirmed)
		require.ErrorIs(t, err, mart.ErrNotFound)

		require.Equal(t, 4, count(t, b.db, "SELECT count(*) FROM events WHERE name = 'order/updated'"))
		require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM events WHERE name = 'order/updated' AND data @> '{"status":"delivered","previousStatus":"out_for_delivery"}'`))
		require.Equal(t, 4, count(t, b.db, "SELECT count(*) FROM river_job WHERE kind = 'send_order_update'"))
	})

	t.Run("CancelRestocks", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f, order := place(t, b)
		ctx := t.Context()
		require.Zero(t, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID))

		_, err := b.svc.UpdateOrderStatus(ctx, order.ID, mart.StatusCancelled)
		require.ErrorIs(t, err, mart.ErrConflict, "cancelling is the cancel route's")
		got, err := b.svc.CancelOrder(ctx, order.ID, "changed my mind")
		require.NoError(t, err)
		require.Equal(t, mart.StatusCancelled, got.Status)
		require.Equal(t, 3, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID))
		require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM events WHERE name = 'order/cancelled' AND data->>'reason' = 'changed my mind'`))
		_, err = b.svc.CancelOrder(ctx, order.ID, "again")
		require.ErrorIs(t, err, mart.ErrConflict)
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()

	t.Run("CreateUpdateDelete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := t.Context()
		phone := "+919876543210"
		u, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha", Phone: &phone})
		require.NoError(t, err)
		_, _, err = b.svc.CreateSession(ctx, u.ID, 0)
		require.Error(t, err)
		_, token, err := b.svc.CreateSession(ctx, u.ID, 3600e9)
		require.NoError(t, err)
		require.NotEmpty(t, token)

		name := "Asha K"
		u2, err := b.svc.UpdateUser(ctx, u.ID, mart.UpdateUserParams{Name: &name})
		require.NoError(t, err)
		require.Equal(t, "Asha K", u2.Name)
		require.Equal(t, "asha@example.com", u2.Email)
		require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM events WHERE name = 'user/updated' AND data = jsonb_build_object('userId', $1::text, 'name', 'Asha K')`, u.ID))

		require.NoError(t, b.svc.DeleteUser(ctx, u.ID))
		_, err = b.svc.GetUser(ctx, u.ID)
		require.ErrorIs(t, err, mart.ErrNotFound)
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM sessions"))
		require.Equal(t, []string{"user/created", "user/updated", "user/deleted"}, eventNames(t, b.db))
		require.ErrorIs(t, b.svc.DeleteUser(ctx, u.ID), mart.ErrNotFound)

		// The deleted account's email is free again.
		_, err = b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
		require.NoError(t, err)
	})

	t.Run("PhoneMustBeE164", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := t.Context()
		for _, bad := range []string{"+91 98765 43210", "09876543210", "9876543210", "+0919876543210", "+91-98765-43210", "+1234567890123456"} {
			_, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha", Phone: &bad})
			var verr *mart.ValidationError
			require.ErrorAs(t, err, &verr, bad)
			require.Equal(t, []mart.FieldError{{Field: "phone", Message: "must be an E.164 phone number, such as +919800000001"}}, verr.Fields, bad)
		}
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM users"))

		good := "+919876543210"
		u, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha", Phone: &good})
		require.NoError(t, err)
		require.Equal(t, good, *u.Phone)
		bad := "98765 43210"
		_, err = b.svc.UpdateUser(ctx, u.ID, mart.UpdateUserParams{Phone: &bad})
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []string{"phone"}, fields(verr))
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM users WHERE phone = $1", good), "unchanged")
	})

	// An update with no field set changes nothing and publishes nothing.
	t.Run("EmptyUpdatePublishesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := t.Context()
		u, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
		require.NoError(t, err)
		events := count(t, b.db, "SELECT count(*) FROM events")

		got, err := b.svc.UpdateUser(ctx, u.ID, mart.UpdateUserParams{})
		require.NoError(t, err)
		require.Equal(t, u, got)
		require.Equal(t, events, count(t, b.db, "SELECT count(*) FROM events"))
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM analytics_pending WHERE event_id IN (SELECT id FROM events WHERE name = 'user/updated')"))
		_, err = b.svc.UpdateUser(ctx, missingID, mart.UpdateUserParams{})
		require.ErrorIs(t, err, mart.ErrNotFound)
	})

	t.Run("DuplicateEmailIsConflict", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
		require.NoError(t, err)
		_, err = b.svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "asha@example.com", Name: "Other"})
		require.ErrorIs(t, err, mart.ErrConflict)
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM events"))
	})

	t.Run("InvalidInputWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		bad := "call me"
		_, err := b.svc.CreateUser(t.Context(), mart.CreateUserParams{Email: "not-an-email", Name: " ", Phone: &bad})
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []string{"email", "name", "phone"}, fields(verr))
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM users"))
		require.Zero(t, count(t, b.db, "SELECT count(*) FROM events"))
	})
}

func TestProducts(t *testing.T) {
	t.Parallel()

	t.Run("StockToZeroPublishesOutOfStock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 4)
		zero, price := 0, int64(100)
		p, err := b.svc.UpdateProduct(t.Context(), f.product.ID, mart.UpdateProductParams{Stock: &zero, PricePaise: &price})
		require.NoError(t, err)
		require.Zero(t, p.Stock)
		require.Equal(t, int64(100), p.PricePaise)
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM events WHERE name = 'product/out_of_stock'"))
		require.Equal(t, 2, count(t, b.db, "SELECT count(*) FROM events WHERE name IN ('product/created', 'product/updated')"))

		// Already at 0: no second alert event.
		_, err = b.svc.UpdateProduct(t.Context(), f.product.ID, mart.UpdateProductParams{Stock: &zero})
		require.NoError(t, err)
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM events WHERE name = 'product/out_of_stock'"))
	})

	// An update with no field set changes nothing and publishes nothing: no
	// product/updated, so no index_product job.
	t.Run("EmptyUpdatePublishesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 4)
		events, jobs := count(t, b.db, "SELECT count(*) FROM events"), count(t, b.db, "SELECT count(*) FROM river_job")
		var version int64
		require.NoError(t, b.db.QueryRow(t.Context(), "SELECT version FROM products WHERE id = $1", f.product.ID).Scan(&version))

		got, err := b.svc.UpdateProduct(t.Context(), f.product.ID, mart.UpdateProductParams{})
		require.NoError(t, err)
		require.Equal(t, f.product, got)
		require.Equal(t, events, count(t, b.db, "SELECT count(*) FROM events"))
		require.Equal(t, jobs, count(t, b.db, "SELECT count(*) FROM river_job"))
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM products WHERE id = $1 AND version = $2", f.product.ID, version), "the row is not written")
		_, err = b.svc.UpdateProduct(t.Context(), missingID, mart.UpdateProductParams{})
		require.ErrorIs(t, err, mart.ErrNotFound)
	})

	t.Run("PriceAboveMaximumIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		p, err := b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: f.shop.ID, Name: "Tractor", PricePaise: events.MaxPricePaise, Stock: 1})
		require.NoError(t, err, "the maximum itself is a price")
		before := count(t, b.db, "SELECT count(*) FROM products") + count(t, b.db, "SELECT count(*) FROM events")

		var verr *mart.ValidationError
		for _, price := range []int64{events.MaxPricePaise + 1, 1 << 62} {
			_, err = b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: f.shop.ID, Name: "Gold", PricePaise: price, Stock: 1})
			require.ErrorAs(t, err, &verr)
			require.Equal(t, []mart.FieldError{{Field: "pricePaise", Message: "must be between 0 and 10000000000 (paise)"}}, verr.Fields)
			_, err = b.svc.UpdateProduct(t.Context(), p.ID, mart.UpdateProductParams{PricePaise: &price})
			require.ErrorAs(t, err, &verr)
			require.Equal(t, []string{"pricePaise"}, fields(verr))
		}
		require.Equal(t, before, count(t, b.db, "SELECT count(*) FROM products")+count(t, b.db, "SELECT count(*) FROM events"))
		require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM products WHERE id = $1 AND price_paise = $2", p.ID, events.MaxPricePaise))
	})

	t.Run("InvalidAndUnknown", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := newFixture(t, b.svc, 1)
		_, err := b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: f.shop.ID, Name: "", PricePaise: -1, Stock: -1})
		var verr *mart.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []string{"name", "pricePaise", "stock"}, fields(verr))

		_, err = b.svc.CreateProduct(t.Context(), mart.CreateProductParams{ShopID: "00000000-0000-0000-0000-000000000000", Name: "X"})
		require.ErrorAs(t, err, &verr)
		require.Equal(t, []string{"shopId"}, fields(verr))

		_, err = b.svc.GetProduct(t.Context(), "00000000-0000-0000-0000-000000000000")
		require.ErrorIs(t, err, mart.ErrNotFound)
		require.NoError(t, b.svc.DeleteProduct(t.Context(), f.product.ID))
		_, err = b.svc.GetProduct(t.Context(), f.product.ID)
		require.ErrorIs(t, err, mart.ErrNotFound)
		require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM events WHERE name = 'search/index' AND data @> jsonb_build_object('type', 'product', 'id', $1::text)`, f.product.ID))
	})
}

const missingID = "00000000-0000-4000-8000-000000000000"

func fields(v *mart.ValidationError) []string {
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Field
	}
	return out
}

// TestPlaceOrderUpperCaseIDs: ids are UUIDs in either case, in an order as
// elsewhere. The order names the rows as they are stored, and one product
// named in two cases is one product named twice.
func TestPlaceOrderUpperCaseIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := newFixture(t, b.svc, 5)
	up := strings.ToUpper

	order, err := b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: up(f.customer.ID), ShopID: up(f.shop.ID),
		Items: []mart.PlaceOrderItem{{ProductID: up(f.product.ID), Quantity: 2}}})
	require.NoError(t, err)
	require.Equal(t, f.customer.ID, order.UserID)
	require.Equal(t, f.shop.ID, order.ShopID)
	require.Equal(t, f.product.ID, order.Items[0].ProductID)
	require.Equal(t, 3, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID))
	require.Equal(t, 1, count(t, b.db, "SELECT count(*) FROM events WHERE name = 'order/created' AND data->>'userId' = $1 AND data->>'shopId' = $2",
		f.customer.ID, f.shop.ID))

	_, err = b.svc.PlaceOrder(t.Context(), mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}, {ProductID: up(f.product.ID), Quantity: 1}}})
	var verr *mart.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, []mart.FieldError{{Field: "items[1].productId", Message: "appears more than once"}}, verr.Fields)
	require.Equal(t, 3, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID), "nothing written")
}

// TestPlaceOrderUnknownUserOrShop: an order whose user is unknown or
// deleted, or whose shop is unknown, is an error naming that field, also
// when an item is wrong too (the user and the shop are reported first), and
// writes nothing: no order, no stock taken, no event.
func TestPlaceOrderUnknownUserOrShop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	f := newFixture(t, b.svc, 5)
	gone, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "gone@example.com", Name: "Gone"})
	require.NoError(t, err)
	require.NoError(t, b.svc.DeleteUser(ctx, gone.ID))
	before := count(t, b.db, "SELECT count(*) FROM events")

	item := []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}
	short := []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 6}}
	unknown := []mart.PlaceOrderItem{{ProductID: missingID, Quantity: 1}}
	for _, tc := range []struct {
		name         string
		user, shop   string
		items        []mart.PlaceOrderItem
		field, about string
	}{
		{"UnknownUser", missingID, f.shop.ID, item, "userId", "user " + missingID},
		{"DeletedUser", gone.ID, f.shop.ID, item, "userId", "user " + gone.ID},
		{"UnknownShop", f.customer.ID, missingID, item, "shopId", "shop " + missingID},
		{"UnknownUserAndProduct", missingID, f.shop.ID, unknown, "userId", "user " + missingID},
		{"UnknownShopAndShortStock", f.customer.ID, missingID, short, "shopId", "shop " + missingID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: tc.user, ShopID: tc.shop, Items: tc.items})
			var verr *mart.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, []string{tc.field}, fields(verr))
			require.Contains(t, verr.Fields[0].Message, tc.about)
		})
	}
	require.Zero(t, count(t, b.db, "SELECT count(*) FROM orders"))
	require.Zero(t, count(t, b.db, "SELECT count(*) FROM order_items"))
	require.Equal(t, 5, count(t, b.db, "SELECT stock FROM products WHERE id = $1", f.product.ID))
	require.Equal(t, before, count(t, b.db, "SELECT count(*) FROM events"))
}
