package mart_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/mart"
)

// roundTrips is a pgx tracer that records the statements of each round
// trip to PostgreSQL: a query's own, or a batch's, by query name ("begin"
// and "commit" as they are).
type roundTrips struct {
	mu    sync.Mutex
	trips [][]string
}

func (r *roundTrips) add(sqls ...string) {
	names := make([]string, len(sqls))
	for i, sql := range sqls {
		names[i] = sql
		if name, ok := dbtest.QueryName(sql); ok {
			names[i] = name
		}
	}
	r.mu.Lock()
	r.trips = append(r.trips, names)
	r.mu.Unlock()
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sqls := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		sqls[i] = q.SQL
	}
	r.add(sqls...)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// reset forgets the round trips recorded so far.
func (r *roundTrips) reset() {
	r.mu.Lock()
	r.trips = nil
	r.mu.Unlock()
}

// TestPlaceOrderSendsItsEventWithItsWrite: through the outbox, an order's
// write (OrderPlace) and its order/created publish (FnPublish) go to
// PostgreSQL in one batch, the write first, and nothing else publishes;
// what the order wrote and published is all there. (A batch is one round
// trip once its statements are prepared on the connection, as they are
// after the first order; pgx prepares them in one round trip before.)
func TestPlaceOrderSendsItsEventWithItsWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(dbtest.NewURL(ctx, t))
	require.NoError(t, err)
	trace := &roundTrips{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := mart.NewService(pool, newOutbox(t, pool))
	f := newFixture(t, svc, 5)
	_, err = svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
	require.NoError(t, err)

	trace.reset()
	order, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: f.customer.ID, ShopID: f.shop.ID,
		Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 2}}})
	require.NoError(t, err)

	trace.mu.Lock()
	trips := slices.Clone(trace.trips)
	trace.mu.Unlock()
	require.Contains(t, trips, []string{"OrderPlace", "FnPublish"}, "the write and its publish in one round trip: %v", trips)
	var publishes int
	for _, trip := range trips {
		for _, name := range trip {
			if name == "FnPublish" || name == "EventInsertMany" {
				publishes++
			}
		}
	}
	require.Equal(t, 1, publishes, "one publish: %v", trips)

	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM events WHERE name = 'order/created' AND data->>'orderId' = $1", order.ID))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM river_job j JOIN events e ON e.id = j.args->>'event_id'
		WHERE j.kind = 'send_order_confirmation' AND e.data->>'orderId' = $1`, order.ID), "the confirmation's run")
	require.Equal(t, 2, count(t, pool, "SELECT stock FROM products WHERE id = $1", f.product.ID))
}
