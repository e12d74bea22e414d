package db_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

// TestQueueRow: a generated one-row query queued in a batch runs with the
// batch's other statements, in order, and its row (or its absence) is known
// once the batch's results are read.
func TestQueueRow(t *testing.T) {
	t.Parallel()

	t.Run("RunsInOrderWithTheBatch", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		var b pgx.Batch
		b.Queue(`INSERT INTO events (id, name, ts) VALUES ('queued-1', 'test/queued', now())`)
		got, err := db.QueueRow(&b, func(q *db.Queries) (*db.Event, error) { return q.EventGet(ctx, "queued-1") })
		require.NoError(t, err)
		require.Equal(t, 2, b.Len(), "the query is queued, not run")

		_, err = got.Result()
		require.Error(t, err, "no result before the batch is read")
		require.NoError(t, tx.SendBatch(ctx, &b).Close())
		ev, err := got.Result()
		require.NoError(t, err)
		require.Equal(t, "test/queued", ev.Name, "it saw the row the statement before it inserted")
	})

	t.Run("AValueNotAPointer", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		var b pgx.Batch
		b.Queue(`INSERT INTO river_job (kind, args, max_attempts, state) VALUES ('queued_kind', '{}', 1, 'pending')`)
		held, err := db.QueueRow(&b, func(q *db.Queries) (int64, error) { return q.ControlHeldCount(ctx, "queued_kind") })
		require.NoError(t, err)
		require.NoError(t, tx.SendBatch(ctx, &b).Close())
		n, err := held.Result()
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})

	t.Run("ABatchThatFailsBeforeIt", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		var b pgx.Batch
		b.Queue(`SELECT 1 / 0`)
		got, err := db.QueueRow(&b, func(q *db.Queries) (*db.Event, error) { return q.EventGet(ctx, "queued-1") })
		require.NoError(t, err)
		require.ErrorContains(t, tx.SendBatch(ctx, &b).Close(), "division by zero")
		_, err = got.Result()
		require.ErrorContains(t, err, "were not read")
	})

	t.Run("NoRowIsTheResultsNotTheBatchs", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		pool := dbtest.NewPool(ctx, t)
		conn, err := pool.Acquire(ctx)
		require.NoError(t, err)
		defer conn.Release()

		var b pgx.Batch
		missing, err := db.QueueRow(&b, func(q *db.Queries) (*db.Event, error) { return q.EventGet(ctx, "missing") })
		require.NoError(t, err)
		after, err := db.QueueRow(&b, func(q *db.Queries) (*db.Event, error) { return q.EventGet(ctx, "missing-too") })
		require.NoError(t, err)
		require.NoError(t, conn.SendBatch(ctx, &b).Close(), "no row fails the query, not the batch")

		_, err = missing.Result()
		require.ErrorIs(t, err, pgx.ErrNoRows)
		_, err = after.Result()
		require.ErrorIs(t, err, pgx.ErrNoRows, "the statement after it was read too")
		// pgx forgets a failed batch's prepared statements (they are
		// prepared again, and planned again, on the next call).
		plans := dbtest.PreparedPlans(ctx, t, conn)
		require.Contains(t, plans, "EventGet", "the statement stays prepared")
	})

	t.Run("OnlyOneRowQueries", func(t *testing.T) {
		t.Parallel()
		var b pgx.Batch
		_, err := db.QueueRow(&b, func(q *db.Queries) (int64, error) {
			return q.EventDeleteOlderThan(context.Background(), db.EventDeleteOlderThanParams{Before: time.Now(), MaxRows: 1})
		})
		require.ErrorContains(t, err, "only a one-row query")
		_, err = db.QueueRow(&b, func(q *db.Queries) ([]*db.Event, error) { return nil, nil })
		require.ErrorContains(t, err, "no QueryRow call")
		_, err = db.QueueRow(&b, func(q *db.Queries) (json.RawMessage, error) {
			_, _ = q.EventGet(context.Background(), "a")
			_, err := q.EventGet(context.Background(), "b")
			return nil, err
		})
		require.ErrorContains(t, err, "more than one")
		require.Zero(t, b.Len(), "nothing is queued")
	})
}
