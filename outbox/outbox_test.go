package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/fn/fntest"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The test-only events and functions the outbox's tests route.
const (
	// thingEvent is a custom event: test-thing runs once for each.
	thingEvent = "test/thing"
	// startEvent starts test-waiter, which waits for the thingEvent of its
	// thingId.
	startEvent = "test/start"
)

// testRegistry is the router of the outbox's tests: test-only functions,
// so that what a test asserts about the runs does not depend on the
// application's functions.
//
//   - test-thing: one run per test/thing event, in queue "things";
//   - test-product: one run at a time per product (a singleton) of
//     product/updated, whose key is the event's productId;
//   - test-waiter: on test/start, waits an hour for the test/thing of its
//     thingId.
func testRegistry(t testing.TB) *fn.Registry {
	t.Helper()
	nothing := func(context.Context, fn.Input[json.RawMessage]) (any, error) { return "done", nil }
	reg, err := fn.NewRegistry(
		fn.New(fn.Options{ID: "test-thing", Queue: "things"}, fn.On(thingEvent), nothing),
		fn.New(fn.Options{ID: "test-product", Singleton: &fn.Singleton{Key: "data.productId", Mode: fn.SingletonSkip}},
			fn.On(events.NameProductUpdated), nothing),
		fn.New(fn.Options{ID: "test-waiter"}, fn.On(startEvent), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
			ev, ok, err := flow.WaitForEvent(ctx, "wait", flow.Wait{Event: thingEvent, Key: "data.thingId", Value: fn.Field(in.Event, "data.thingId"), Timeout: time.Hour})
			if err != nil || !ok {
				return nil, err
			}
			return ev.ID, nil
		}),
	)
	require.NoError(t, err)
	return reg
}

// recorder is a Router that records the events of each call, stores them
// with next (if set) and checks they are then in the caller's
// transaction, or fails with err.
type recorder struct {
	next outbox.Router
	err  error

	mu     sync.Mutex
	calls  [][]events.Event
	stored []int // how many of each call's events tx held after next stored them
}

func (r *recorder) Queue(b *pgx.Batch, client *river.Client[pgx.Tx], evs []events.Event) (func(context.Context, pgx.Tx) ([]string, error), error) {
	if r.err != nil {
		return nil, r.err
	}
	next := func(context.Context, pgx.Tx) ([]string, error) { return nil, nil }
	if r.next != nil {
		var err error
		if next, err = r.next.Queue(b, client, evs); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		inserted, err := next(ctx, tx)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(DISTINCT id) FROM events WHERE id = ANY($1)`, ids).Scan(&n); err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.calls, r.stored = append(r.calls, evs), append(r.stored, n)
		r.mu.Unlock()
		return inserted, nil
	}, nil
}

// routed returns every event given to Queue, in order.
func (r *recorder) routed() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []events.Event
	for _, c := range r.calls {
		out = append(out, c...)
	}
	return out
}

// insertOnly is an insert-only River client, as the API role runs it.
func insertOnly(t testing.TB) *river.Client[pgx.Tx] {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return client
}

// newOutbox returns an Outbox with an insert-only River client and the
// test registry as its router, and the recorder in between.
func newOutbox(t *testing.T) (*outbox.Outbox, *recorder) {
	t.Helper()
	rec := &recorder{next: testRegistry(t)}
	return outbox.New(insertOnly(t), rec), rec
}

// thing is a test/thing event with id (empty: the outbox makes one) about
// thing thingID.
func thing(t *testing.T, id, thingID string) events.Event {
	t.Helper()
	data, err := json.Marshal(map[string]string{"thingId": thingID, "colour": "blue"})
	require.NoError(t, err)
	return events.Event{ID: id, Name: thingEvent, Data: data}
}

type jobRow struct{ Kind, Queue string }

// jobsOf lists the kind and queue of every job an event triggered.
func jobsOf(ctx context.Context, t *testing.T, q db.DBTX, eventID string) []jobRow {
	t.Helper()
	rows, err := db.New(q).EventJobList(ctx, eventID)
	require.NoError(t, err)
	out := make([]jobRow, len(rows))
	for i, r := range rows {
		out[i] = jobRow{r.Kind, r.Queue}
	}
	return out
}

func count(ctx context.Context, t *testing.T, q db.DBTX, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(ctx, sql, args...).Scan(&n))
	return n
}

func TestPublish(t *testing.T) {
	t.Parallel()

	t.Run("StoresEventAndEnqueuesItsRuns", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob, _ := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, thing(t, "", "t-1"))
		require.NoError(t, err)
		require.Len(t, ids, 1)
		require.Len(t, ids[0], 26, "a generated id is a ULID")

		stored, err := db.New(tx).EventGet(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, thingEvent, stored.Name)
		require.JSONEq(t, `{"thingId":"t-1","colour":"blue"}`, string(stored.Data))
		require.WithinDuration(t, time.Now(), stored.Ts, time.Minute)

		require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, tx, ids[0]))
		var args json.RawMessage
		require.NoError(t, tx.QueryRow(ctx, `SELECT args FROM river_job WHERE kind = 'test_thing'`).Scan(&args))
		require.JSONEq(t, `{"event_id":"`+ids[0]+`","v":1}`, string(args), "a run's args name its event")
	})

	t.Run("KeepsClientIDAndTimestamp", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ev := thing(t, "client-id-1", "t-1")
		ev.TS = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ev.Source = "http"
		ob, rec := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, ev)
		require.NoError(t, err)
		require.Equal(t, []string{"client-id-1"}, ids)
		stored, err := db.New(tx).EventGet(ctx, "client-id-1")
		require.NoError(t, err)
		require.True(t, ev.TS.Equal(stored.Ts))
		require.Equal(t, "http", stored.Source)
		routed := rec.routed()
		require.Len(t, routed, 1)
		require.True(t, ev.TS.Equal(routed[0].TS), "the router gets the event's own ts")
		require.Equal(t, "http", routed[0].Source)
	})

	t.Run("InvalidEventWritesNothing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		bad := events.Event{Name: events.NameOrderCreated, Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":0,"pricePaise":10}]}`)}
		ob, rec := newOutbox(t)

		_, err := ob.Publish(ctx, tx, thing(t, "good-1", "t-1"), bad)
		var verr *events.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Contains(t, err.Error(), "events[1].data.items[0].quantity: must be > 0")
		require.Contains(t, err.Error(), "events[1].data.userId: is required")
		require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM events"))
		require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM river_job"))
		require.Empty(t, rec.routed(), "nothing routed")
	})

	t.Run("DuplicateIDIsStoredAndRoutedOnce", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob, rec := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, thing(t, "dup-1", "t-1"), thing(t, "dup-1", "t-1"))
		require.NoError(t, err)
		require.Equal(t, []string{"dup-1", "dup-1"}, ids)
		ids, err = ob.Publish(ctx, tx, thing(t, "dup-1", "t-1"))
		require.NoError(t, err)
		require.Equal(t, []string{"dup-1"}, ids)

		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM events WHERE id = 'dup-1'"))
		require.Len(t, rec.calls, 2, "one Queue per Publish")
		require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, tx, "dup-1"))
	})

	t.Run("EventNoFunctionListensToIsStoredWithoutRuns", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob, _ := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, events.Event{Name: "cart/abandoned", Data: json.RawMessage(`{"cartId":"c1"}`)})
		require.NoError(t, err)
		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM events WHERE id = $1 AND name = 'cart/abandoned'", ids[0]))
		require.Empty(t, jobsOf(ctx, t, tx, ids[0]))
	})

	t.Run("NothingToPublish", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		ob, rec := newOutbox(t)
		ids, err := ob.Publish(ctx, dbtest.TestTx(ctx, t))
		require.NoError(t, err)
		require.Empty(t, ids)
		require.Empty(t, rec.calls, "the router is not called")
	})
}

// TestQueue: Queue puts a publish whose runs need nothing but their events
// into the caller's batch, after the caller's own statements, so that the
// write and its events reach PostgreSQL in one round trip; the func it
// returns finishes the publish once the batch is read.
func TestQueue(t *testing.T) {
	t.Parallel()

	t.Run("OneStatementInTheCallersBatch", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob := outbox.New(insertOnly(t), testRegistry(t))

		var b pgx.Batch
		b.Queue(`CREATE TEMP TABLE caller_writes (n int)`)
		finish, err := ob.Queue(&b, thing(t, "queued-1", "t-1"))
		require.NoError(t, err)
		require.Equal(t, 2, b.Len(), "the caller's statement, then the publish's one")
		name, _ := dbtest.QueryName(b.QueuedQueries[1].SQL)
		require.Equal(t, "FnPublish", name)

		require.NoError(t, tx.SendBatch(ctx, &b).Close())
		ids, err := finish(ctx, tx)
		require.NoError(t, err)
		require.Equal(t, []string{"queued-1"}, ids)
		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM events WHERE id = 'queued-1'"))
		require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, tx, "queued-1"))
	})

	t.Run("RunsThatNeedMoreAreStoredByFinish", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob := outbox.New(insertOnly(t), testRegistry(t))
		// test-product is a singleton: its run's key is claimed first.
		ev := events.Event{ID: "queued-2", Name: events.NameProductUpdated,
			Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001"}`)}

		var b pgx.Batch
		finish, err := ob.Queue(&b, ev)
		require.NoError(t, err)
		require.Zero(t, b.Len(), "nothing queued")
		ids, err := finish(ctx, tx)
		require.NoError(t, err)
		require.Equal(t, []string{"queued-2"}, ids)
		require.Equal(t, []jobRow{{"test_product", "default"}}, jobsOf(ctx, t, tx, "queued-2"))
	})

	t.Run("FinishFailsWhenTheBatchWasNotRead", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob := outbox.New(insertOnly(t), testRegistry(t))

		var b pgx.Batch
		finish, err := ob.Queue(&b, thing(t, "queued-3", "t-1"))
		require.NoError(t, err)
		_, err = finish(ctx, tx)
		require.ErrorContains(t, err, "were not read")
		require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM events"))
	})

	t.Run("InvalidEventQueuesNothing", func(t *testing.T) {
		t.Parallel()
		ob := outbox.New(insertOnly(t), testRegistry(t))
		var b pgx.Batch
		_, err := ob.Queue(&b, thing(t, "queued-4", "t-1"), events.Event{Name: ""})
		var verr *events.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Zero(t, b.Len())
	})
}

// TestPublishRoutesNewEventsInOrder: the router gets, in one call in the
// publisher's transaction, the call's events in order, each with its id
// and ts; it stores them there, and only the events not stored before
// start runs, once for an id repeated in the call, in the call's order.
func TestPublishRoutesNewEventsInOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob, rec := newOutbox(t)
	_, err := ob.Publish(ctx, tx, thing(t, "old", "t-0"))
	require.NoError(t, err)
	rec.calls, rec.stored = nil, nil

	custom := events.Event{Name: "cart/abandoned", Data: json.RawMessage(`{"cartId":"c1"}`), Source: "http"}
	ids, err := ob.Publish(ctx, tx, thing(t, "b", "t-1"), thing(t, "old", "t-0"), custom, thing(t, "b", "t-1"), thing(t, "a", "t-2"))
	require.NoError(t, err)

	require.Len(t, rec.calls, 1, "one call per Publish")
	got := rec.calls[0]
	require.Equal(t, []int{4}, rec.stored, "the call's four ids are stored in the caller's transaction")
	names := make([][2]string, len(got))
	for i, ev := range got {
		names[i] = [2]string{ev.ID, ev.Name}
		require.False(t, ev.TS.IsZero(), "%s has its ts", ev.ID)
	}
	require.Equal(t, [][2]string{{"b", thingEvent}, {"old", thingEvent}, {ids[2], "cart/abandoned"}, {"b", thingEvent}, {"a", thingEvent}}, names)
	require.JSONEq(t, `{"thingId":"t-2","colour":"blue"}`, string(got[4].Data))
	require.Equal(t, "http", got[2].Source)

	rows, err := tx.Query(ctx, `SELECT args->>'event_id' FROM river_job WHERE kind = 'test_thing' ORDER BY id`)
	require.NoError(t, err)
	runs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"old", "b", "a"}, runs, "one run per new event, in the call's order; none again for old")
}

// TestPublishFailsWhenTheRouterFails: an error routing the events fails the
// call, so the caller rolls back its write with the events.
func TestPublishFailsWhenTheRouterFails(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	boom := errors.New("router down")
	ob := outbox.New(insertOnly(t), &recorder{err: boom})

	_, err := ob.Publish(ctx, tx, thing(t, "", "t-1"))
	require.ErrorIs(t, err, boom)
}

// TestPublishRolledBackLeavesNothing: the events and their runs are the
// caller's transaction's: rolled back, nothing of them is left; committed,
// both are there.
func TestPublishRolledBackLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	ob, _ := newOutbox(t)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = ob.Publish(ctx, tx, thing(t, "rolled-back", "t-1"))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	require.Zero(t, count(ctx, t, pool, "SELECT count(*) FROM events"))
	require.Zero(t, count(ctx, t, pool, "SELECT count(*) FROM river_job"))

	require.NoError(t, publishAndCommit(ctx, pool, ob, thing(t, "committed", "t-1")))
	require.Equal(t, 1, count(ctx, t, pool, "SELECT count(*) FROM events WHERE id = 'committed'"))
	require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, pool, "committed"))
}

// TestPublishWakesWaitingRuns: Publish wakes, in its transaction, the run
// parked on a wait that its event matches, and no other; an event whose
// transaction (here a savepoint) rolls back wakes none.
func TestPublishWakesWaitingRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	reg := testRegistry(t)
	ob := outbox.New(insertOnly(t), reg)
	start := func(thingID string) events.Event {
		return events.Event{Name: startEvent, Data: json.RawMessage(`{"thingId":"` + thingID + `"}`)}
	}
	waiting := fntest.Run(t, tx, reg, "test-waiter", start("t-1"))
	require.True(t, flow.IsParked(waiting.Err), "%v", waiting.Err)
	other := fntest.Run(t, tx, reg, "test-waiter", start("t-2"))
	require.True(t, flow.IsParked(other.Err), "%v", other.Err)
	state := func(res *fntest.Result) string {
		t.Helper()
		var s string
		require.NoError(t, tx.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&s))
		return s
	}
	require.Equal(t, "scheduled", state(waiting), "parked on its wait")

	sp, err := tx.Begin(ctx)
	require.NoError(t, err)
	_, err = ob.Publish(ctx, sp, thing(t, "", "t-1"))
	require.NoError(t, err)
	require.Equal(t, "available", state(waiting), "woken in the publisher's transaction")
	require.NoError(t, sp.Rollback(ctx))
	require.Equal(t, "scheduled", state(waiting), "a rolled-back event wakes nothing")

	ids, err := ob.Publish(ctx, tx, thing(t, "", "t-1"))
	require.NoError(t, err)
	require.Equal(t, "available", state(waiting))
	require.Equal(t, "scheduled", state(other), "another thing's wait is not woken")

	done := fntest.Work(t, tx, reg, "test-waiter", waiting.Job.ID)
	require.NoError(t, done.Err)
	require.JSONEq(t, `"`+ids[0]+`"`, string(done.Output), "the run got the event")
}

// TestPublishConcurrentDuplicate publishes the same event id from two
// transactions at once: the second waits on the first's row and then skips
// it, so there is one event row and one set of runs. If the first rolls back,
// the second's event is the one stored.
func TestPublishConcurrentDuplicate(t *testing.T) {
	t.Parallel()

	for _, firstCommits := range []bool{true, false} {
		name := "FirstCommits"
		if !firstCommits {
			name = "FirstRollsBack"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			pool := dbtest.NewPool(ctx, t)
			ob, _ := newOutbox(t)

			tx1, err := pool.Begin(ctx)
			require.NoError(t, err)
			_, err = ob.Publish(ctx, tx1, thing(t, "same-id", "t-1"))
			require.NoError(t, err)

			var wg sync.WaitGroup
			var err2 error
			wg.Go(func() { err2 = publishAndCommit(ctx, pool, ob, thing(t, "same-id", "t-1")) })

			waitForLockWait(ctx, t, pool)
			if firstCommits {
				require.NoError(t, tx1.Commit(ctx))
			} else {
				require.NoError(t, tx1.Rollback(ctx))
			}
			wg.Wait()
			require.NoError(t, err2)

			require.Equal(t, 1, count(ctx, t, pool, "SELECT count(*) FROM events WHERE id = 'same-id'"))
			require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, pool, "same-id"))
		})
	}
}

func publishAndCommit(ctx context.Context, pool *pgxpool.Pool, ob *outbox.Outbox, evs ...events.Event) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := ob.Publish(ctx, tx, evs...)
		return err
	})
}

// waitForLockWait returns once some session of this database waits on a lock:
// the second transaction is then blocked on the first's event row.
func waitForLockWait(ctx context.Context, t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	require.Eventually(t, func() bool {
		return count(ctx, t, pool, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0
	}, 10*time.Second, 5*time.Millisecond)
}

// TestPublishIDTakenByOtherEvent: an id stored with another name or other
// data is not a retried send but another event; it fails the call with an
// *IDConflictError naming its position, so a sender that guessed the id
// first cannot make the real event vanish unnoticed. The same event again,
// with its data spelt differently (key order, spaces), is still a duplicate.
func TestPublishIDTakenByOtherEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	ob, _ := newOutbox(t)
	require.NoError(t, publishAndCommit(ctx, pool, ob, thing(t, "taken-1", "t-1")))

	other := thing(t, "taken-1", "t-2")
	renamed := events.Event{ID: "taken-1", Name: "test/other", Data: thing(t, "", "t-1").Data}
	otherFresh := other // another event under an id new in this same call
	otherFresh.ID = "fresh-2"
	respelt := thing(t, "taken-1", "t-1")
	respelt.Data = json.RawMessage(`{ "colour": "blue",  "thingId": "t-1" }`)

	for _, tt := range []struct {
		name string
		evs  []events.Event
		want []int // the conflicting positions; none: a duplicate
	}{
		{"OtherData", []events.Event{thing(t, "fresh-1", "t-1"), other}, []int{1}},
		{"OtherName", []events.Event{renamed}, []int{0}},
		{"OtherDataInTheSameCall", []events.Event{thing(t, "fresh-2", "t-1"), otherFresh}, []int{1}},
		{"SameEventRespelt", []events.Event{respelt}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := publishAndCommit(ctx, pool, ob, tt.evs...)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			conflict, ok := errors.AsType[*outbox.IDConflictError](err)
			require.True(t, ok, "%v is an *IDConflictError", err)
			require.Equal(t, tt.want, conflict.Indexes)
			for _, ev := range tt.evs {
				if ev.ID != "taken-1" {
					require.Zero(t, count(ctx, t, pool, "SELECT count(*) FROM events WHERE id = $1", ev.ID), "nothing of the call is stored")
				}
			}
		})
	}
	stored, err := db.New(pool).EventGet(ctx, "taken-1")
	require.NoError(t, err)
	require.Equal(t, thingEvent, stored.Name)
	require.JSONEq(t, string(thing(t, "", "t-1").Data), string(stored.Data), "the first event stays as it was")
	require.Equal(t, []jobRow{{"test_thing", "things"}}, jobsOf(ctx, t, pool, "taken-1"), "one run, of the first event")
}

// TestPublishLowersUUIDs: the UUIDs of catalog data are stored, and given to
// the router, in lower case, so an upper-case id names the same row as
// PostgreSQL prints it and the same run key (one singleton run for both
// spellings); other values keep their case.
func TestPublishLowersUUIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	const upper, lower = "4A3C1E2F-9B7D-4C1E-8D2A-0C3B5E8F1A21", "4a3c1e2f-9b7d-4c1e-8d2a-0c3b5e8f1a21"
	ob, rec := newOutbox(t)

	ids, err := ob.Publish(ctx, tx,
		events.Event{Name: events.NameProductUpdated, Data: json.RawMessage(`{"productId":"` + upper + `","name":"ATTA <5kg>","extra":"` + upper + `"}`)},
		events.Event{Name: events.NameProductUpdated, Data: json.RawMessage(`{"productId":"` + lower + `","stock":2}`)})
	require.NoError(t, err)

	stored, err := db.New(tx).EventGet(ctx, ids[0])
	require.NoError(t, err)
	want := `{"productId":"` + lower + `","name":"ATTA <5kg>","extra":"` + upper + `"}`
	require.JSONEq(t, want, string(stored.Data))
	require.JSONEq(t, want, string(rec.routed()[0].Data), "the router gets the stored data")
	require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM river_job WHERE kind = 'test_product' AND args->>'key' = $1", lower),
		"one singleton run for both spellings")
	require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM river_job WHERE args->>'key' = $1", upper))
}
