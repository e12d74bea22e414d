package replay_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/replay"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// testRegistry is the router of the replay tests: test-only functions on
// catalog events (a replay takes catalog event names), so that what a test
// counts does not change with the application's functions.
//
//   - test-user: a run per user/created;
//   - test-order: a run per order/updated and order/cancelled;
//   - test-confirmed: a run per order/updated to confirmed;
//   - test-product: a singleton per product of product/updated (a pending
//     run does the work of later events);
//   - test-once: one run per user of user/updated (idempotency);
//   - replay.AnalyticsFunction: batches of user/created (the "tracked"
//     events of a replay).
func testRegistry(t *testing.T) *fn.Registry {
	t.Helper()
	nothing := func(context.Context, fn.Input[json.RawMessage]) (any, error) { return "done", nil }
	reg, err := fn.NewRegistry(
		fn.New(fn.Options{ID: "test-user"}, fn.On(events.NameUserCreated), nothing),
		fn.New(fn.Options{ID: "test-order"}, fn.On(events.NameOrderUpdated, events.NameOrderCancelled), nothing),
		fn.New(fn.Options{ID: "test-confirmed"}, fn.OnIf(events.NameOrderUpdated, "data.status == 'confirmed'"), nothing),
		fn.New(fn.Options{ID: "test-product", Singleton: &fn.Singleton{Key: "data.productId", Mode: fn.SingletonSkip}},
			fn.On(events.NameProductUpdated), nothing),
		fn.New(fn.Options{ID: "test-once", Idempotency: &fn.Idempotency{Key: "data.userId"}}, fn.On(events.NameUserUpdated), nothing),
		fn.New(fn.Options{ID: replay.AnalyticsFunction, BatchEvents: &fn.BatchEvents{MaxSize: 100, Timeout: time.Hour}},
			fn.On(events.NameUserCreated), nothing),
	)
	require.NoError(t, err)
	return reg
}

// env is a test transaction with an insert-only River client, an outbox
// and a replay service on it, both with the test registry.
type env struct {
	tx  pgx.Tx
	ob  *outbox.Outbox
	svc *replay.Service
}

func newEnv(t *testing.T) env {
	t.Helper()
	tx := dbtest.TestTx(t.Context(), t)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	reg := testRegistry(t)
	return env{tx: tx, ob: outbox.New(client, reg), svc: replay.New(tx, client, reg)}
}

func (e env) publish(t *testing.T, p events.Payload, id string) {
	t.Helper()
	ev, err := events.New(p)
	require.NoError(t, err)
	ev.ID = id
	_, err = e.ob.Publish(t.Context(), e.tx, ev)
	require.NoError(t, err)
}

func (e env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.tx.QueryRow(context.WithoutCancel(t.Context()), sql, args...).Scan(&n))
	return n
}

func (e env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := e.tx.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

// completeAll marks every job completed, as workers would have, and
// empties the batches, as their runs would have.
func (e env) completeAll(t *testing.T) {
	t.Helper()
	e.exec(t, `UPDATE river_job SET state = 'completed', finalized_at = now()`)
	e.exec(t, `DELETE FROM fn_batch_events`)
}

// TestReplay: replaying user/created enqueues each event's run again,
// linked to its event and marked as a replay, in batches with progress;
// the events join the analytics function's batch again (one batch run,
// marked too); events received outside the window are left alone.
func TestReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for _, id := range []string{"u-1", "u-2", "u-3", "u-old"} {
		e.publish(t, events.UserCreated{UserID: id, Email: id + "@example.com", Name: "Asha"}, "signup-"+id)
	}
	e.publish(t, events.UserDeleted{UserID: "10000000-0000-4000-8000-000000000009"}, "delete-u-9")
	e.exec(t, `UPDATE events SET received_at = now() - interval '3 days' WHERE id = 'signup-u-old'`)
	e.completeAll(t)

	e.svc.BatchSize = 2
	var seen [][2]int
	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: time.Now().Add(-24 * time.Hour)},
		func(done, total int) { seen = append(seen, [2]int{done, total}) })
	require.NoError(t, err)
	require.Equal(t, 3, res.Events)
	require.Equal(t, map[string]int{"test_user": 3, "track_analytics": 1}, res.Enqueued, "a run per event, one for the batch")
	require.Empty(t, res.Skipped)
	require.Equal(t, map[string]int{"track_analytics": 3}, res.Batched)
	require.Equal(t, 3, res.Tracked)
	require.Equal(t, [][2]int{{2, 3}, {3, 3}}, seen)
	require.NotEmpty(t, res.ReplayID)

	rows, err := e.tx.Query(ctx, `SELECT coalesce(args ->> 'event_id', kind), metadata, tags FROM river_job WHERE state IN ('available', 'scheduled') ORDER BY id`)
	require.NoError(t, err)
	var eventIDs []string
	for rows.Next() {
		var (
			id   string
			meta []byte
			tags []string
		)
		require.NoError(t, rows.Scan(&id, &meta, &tags))
		var m replay.Metadata
		require.NoError(t, json.Unmarshal(meta, &m))
		require.Equal(t, replay.Metadata{Replay: true, ReplayID: res.ReplayID}, m)
		require.Equal(t, []string{replay.Tag}, tags)
		eventIDs = append(eventIDs, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"signup-u-1", "signup-u-2", "track_analytics", "signup-u-3"}, eventIDs, "the batch run is inserted with its first event")
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM fn_batch_events WHERE function = $1 AND event_id LIKE 'signup-u-_'`, replay.AnalyticsFunction))
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id <> ''`), "three events wait in the batch")
}

// TestReplayFunctionFilterAndDryRun: --function keeps one function, named
// by id or River kind (the analytics one only batches the events again); a
// dry run counts the same and writes nothing.
func TestReplayFunctionFilterAndDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, events.OrderUpdated{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001",
		PreviousStatus: "placed", Status: "confirmed"}, "upd-1")
	e.publish(t, events.UserCreated{UserID: "u-1", Email: "a@example.com", Name: "Asha"}, "signup-1")
	e.completeAll(t)
	since := time.Now().Add(-time.Hour)
	jobs := func() int { return e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available'`) }

	dry, err := e.svc.Replay(ctx, replay.Request{Name: events.NameOrderUpdated, Since: since, DryRun: true}, nil)
	require.NoError(t, err)
	require.True(t, dry.DryRun)
	require.Equal(t, 1, dry.Events)
	require.Equal(t, map[string]int{"test_order": 1, "test_confirmed": 1}, dry.Enqueued)
	require.Equal(t, 0, jobs(), "a dry run writes nothing")

	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameOrderUpdated, Since: since, Function: "test_confirmed"}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"test_confirmed": 1}, res.Enqueued)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available' AND kind = 'test_confirmed' AND args ->> 'event_id' = 'upd-1'`))
	require.Equal(t, 1, jobs())

	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: since, Function: replay.AnalyticsFunction}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"track_analytics": 1}, res.Enqueued, "the batch's run")
	require.Equal(t, 1, res.Tracked)
	require.Zero(t, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available' AND kind = 'test_user'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM analytics_pending WHERE event_id = 'signup-1'`))

	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: since, Function: "test-user"}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"test_user": 1}, res.Enqueued)
	require.Zero(t, res.Tracked)

	_, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: since, Function: "no-such-function"}, nil)
	require.ErrorContains(t, err, "not a function")

	_, err = e.svc.Replay(ctx, replay.Request{Name: "my/custom", Since: since}, nil)
	require.ErrorContains(t, err, "not an event of the catalog")
	_, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated}, nil)
	require.ErrorContains(t, err, "since is required")
}

// TestReplaySkips: a singleton's run (test-product, one per product while
// pending) that is already pending is skipped and reported, and two events
// of one batch for the same product enqueue one run; a function whose
// idempotency key is taken (test-once) is skipped too: its work was done.
func TestReplaySkips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	name := "Atta"
	const product = "40000000-0000-4000-8000-000000000001"
	e.publish(t, events.ProductUpdated{ProductID: product, Name: &name}, "pu-1")
	e.publish(t, events.ProductUpdated{ProductID: product, Name: &name}, "pu-2")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_product'`), "coalesced when published")
	since := time.Now().Add(-time.Hour)

	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameProductUpdated, Since: since}, nil)
	require.NoError(t, err)
	require.Empty(t, res.Enqueued)
	require.Equal(t, map[string]int{"test_product": 2}, res.Skipped, "the pending run does the work")

	e.completeAll(t)
	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameProductUpdated, Since: since}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"test_product": 1}, res.Enqueued)
	require.Equal(t, map[string]int{"test_product": 1}, res.Skipped)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_product' AND state = 'available' AND metadata ->> 'replay' = 'true'`))

	e.publish(t, events.UserUpdated{UserID: "10000000-0000-4000-8000-000000000001", Name: &name}, "uu-1")
	e.completeAll(t)
	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserUpdated, Since: since}, nil)
	require.NoError(t, err)
	require.Empty(t, res.Enqueued)
	require.Equal(t, map[string]int{"test_once": 1}, res.Skipped, "the user's key is taken")
}
