package db_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

// TestArrayReadsArePlannedOnce checks that the reads called once or more
// per order, each given an array of ids whose length changes from call to
// call, keep one generic plan on a connection. Given the array itself,
// PostgreSQL estimates each call by the array's length, finds every custom
// plan cheaper than the generic one, and plans every call anew: in a run of
// the bench's order pipeline with planning tracked (pg_stat_statements),
// OrderReceiptList took 0.48 ms of planning a call against 0.62 ms of
// execution.
func TestArrayReadsArePlannedOnce(t *testing.T) {
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// The server's default, which a test server set otherwise would hide.
	_, err = conn.Exec(ctx, "SET plan_cache_mode = auto")
	require.NoError(t, err)
	q := db.New(conn)

	ids := make([]string, 3)
	jobIDs := make([]int64, len(ids))
	names := make([]string, len(ids))
	for i := range ids {
		ids[i] = uuid.NewString()
		jobIDs[i] = int64(i + 1)
		names[i] = "e" + ids[i]
	}
	// PostgreSQL plans the first five calls of a prepared statement for
	// their values, then keeps the generic plan unless it costs more.
	const calls = 12
	for i := range calls {
		n := 1 + i%3 // an order's few products, a group read's few runs
		_, err := q.ProductList(ctx, ids[:n])
		require.NoError(t, err)
		_, err = q.OrderReceiptList(ctx, ids[:n])
		require.NoError(t, err)
		_, err = q.FnRunEvents(ctx, db.FnRunEventsParams{JobIds: jobIDs[:n], EventIds: names[:n], Fns: names[:n]})
		require.NoError(t, err)
	}

	plans := dbtest.PreparedPlans(ctx, t, conn)
	for _, name := range []string{"ProductList", "OrderReceiptList", "FnRunEvents"} {
		t.Run(name, func(t *testing.T) {
			p, ok := plans[name]
			require.Truef(t, ok, "%s: prepared statements", name)
			require.Equal(t, int64(calls), p.Generic+p.Custom, "calls seen in pg_prepared_statements")
			require.LessOrEqualf(t, p.Custom, int64(5), "%d of %d calls planned anew for their arrays", p.Custom, calls)
		})
	}
}
