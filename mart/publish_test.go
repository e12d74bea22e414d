package mart_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// The outbox sends an order's event with its write (if this stopped
// compiling, PlaceOrder would silently publish in a round trip of its own).
var _ mart.BatchPublisher = (*outbox.Outbox)(nil)

// noPublish publishes nothing: fixtures made with it leave no events, so
// the test's own order is the first event of a fresh database.
type noPublish struct{}

func (noPublish) Publish(context.Context, pgx.Tx, ...events.Event) ([]string, error) { return nil, nil }

// TestPlaceOrderFinishesItsPublish: what the publish does after its
// statement (here: the analytics batch the order's event opens gets its
// run) is done for an order sent with its event.
func TestPlaceOrderFinishesItsPublish(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	f := newFixture(t, mart.NewService(pool, noPublish{}), 5)
	require.Zero(t, count(t, pool, "SELECT count(*) FROM events"), "no batch is open")

	svc := mart.NewService(pool, newOutbox(t, pool))
	_, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
	require.NoError(t, err)
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'track_analytics'"),
		"the batch the order opened has its run")
}

// TestRefusedOrderDoesNotHoldBackTheNextNotification: River's insert
// notification is sent at most once per cooldown per queue. A refused
// order's publish (sent with its write, then rolled back) notified
// nobody, so the next order's must still be sent.
func TestRefusedOrderDoesNotHoldBackTheNextNotification(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	f := newFixture(t, mart.NewService(pool, noPublish{}), 5)
	reg := jobstest.Registry(t, pool)
	reg.SetInsertOptions(fn.InsertOptions{NotifyCooldown: time.Hour})
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	svc := mart.NewService(pool, outbox.New(client, reg))

	listener, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer listener.Release()
	_, err = listener.Exec(ctx, `LISTEN "public.river_insert"`)
	require.NoError(t, err)

	// An unknown user: the order's write finds no user, after the order
	// was priced, so its publish ran in its batch and is rolled back.
	_, err = svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: uuid.NewString(), ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
	require.ErrorContains(t, err, "does not exist")
	_, err = svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
	require.NoError(t, err)
	// Notifications arrive in commit order: the order's, if sent, before
	// this one.
	_, err = pool.Exec(ctx, `SELECT pg_notify('public.river_insert', 'after the order')`)
	require.NoError(t, err)

	n, err := listener.Conn().WaitForNotification(ctx)
	require.NoError(t, err)
	require.NotEqual(t, "after the order", n.Payload, "the order's notification was not sent")
	require.Contains(t, n.Payload, `"queue"`)
}
