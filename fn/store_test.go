package fn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// storeFunctions are functions whose runs need nothing but their events
// (one statement, FnPublish), and one with an idempotency key (the
// planned path), so that a call mixing them takes the planned path.
func storeFunctions() []*fn.Function {
	return []*fn.Function{
		fn.New(fn.Options{ID: "plain", Queue: "email", Retries: 3,
			Priority: func(events.Event) int { return 3 },
			CancelOn: []fn.CancelOn{{Event: "test/cancel", Match: "data.orderId"}}}, fn.On("test/thing"), noop),
		fn.New(fn.Options{ID: "defaults"}, fn.On("test/thing"), noop),
		fn.New(fn.Options{ID: "batched", BatchEvents: &fn.BatchEvents{MaxSize: 10, Timeout: time.Minute}}, fn.On("test/thing"), noop),
		fn.New(fn.Options{ID: "once", Idempotency: &fn.Idempotency{Key: "data.orderId"}}, fn.On("test/once"), noop),
	}
}

// jobRow is what a job row holds, but its id and times.
type jobRow struct {
	Kind, Queue, State, Args, Metadata string
	Priority, MaxAttempts              int
	Tags                               []string
	UniqueKey                          []byte
	Due                                bool // scheduled_at ahead of created_at
}

// jobRows returns tx's job rows, oldest first.
func jobRows(t *testing.T, tx pgx.Tx) []jobRow {
	t.Helper()
	rows, err := tx.Query(t.Context(), `SELECT kind, queue, state::text, args::text, metadata::text, priority, max_attempts,
		tags::text[], unique_key, scheduled_at > created_at + interval '1 second' FROM river_job ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (jobRow, error) {
		var j jobRow
		err := r.Scan(&j.Kind, &j.Queue, &j.State, &j.Args, &j.Metadata, &j.Priority, &j.MaxAttempts, &j.Tags, &j.UniqueKey, &j.Due)
		return j, err
	})
	require.NoError(t, err)
	return out
}

// TestStoreInsertsRunsAsRiverDoes: a publish stored in one statement
// writes the same events, runs and batch rows as the same publish through
// River's InsertManyTx (InsertOptions.ThroughRiver), for plain runs,
// options, cancelOn keys, a batch and a call that needs the planned path.
func TestStoreInsertsRunsAsRiverDoes(t *testing.T) {
	t.Parallel()
	calls := [][]events.Event{
		{thingWithID("e-1", map[string]any{"orderId": "o-1"}), thingWithID("e-2", map[string]any{"orderId": "o-2"})},
		{thingWithID("e-1", map[string]any{"orderId": "o-1"})}, // stored already: nothing new
		{thingWithID("e-3", map[string]any{"orderId": "o-3"}), {ID: "e-4", Name: "test/once", Data: json.RawMessage(`{"orderId":"o-4"}`)}},
		{{ID: "e-5", Name: "test/cancel", Data: json.RawMessage(`{"orderId":"o-2"}`)}},
	}
	type stored struct {
		jobs    []jobRow
		batches [][2]string
		events  []string
	}
	publishAll := func(throughRiver bool) stored {
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		reg := registry(t, storeFunctions()...)
		reg.SetInsertOptions(fn.InsertOptions{ThroughRiver: throughRiver})
		client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
		require.NoError(t, err)
		for _, evs := range calls {
			_, err := outbox.New(client, reg).Publish(ctx, tx, evs...)
			require.NoError(t, err)
		}
		var s stored
		s.jobs = jobRows(t, tx)
		rows, err := tx.Query(ctx, `SELECT function, event_id FROM fn_batch_events ORDER BY function, key, event_id`)
		require.NoError(t, err)
		s.batches, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
			var b [2]string
			return b, r.Scan(&b[0], &b[1])
		})
		require.NoError(t, err)
		rows, err = tx.Query(ctx, `SELECT id FROM events ORDER BY id`)
		require.NoError(t, err)
		s.events, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return s
	}

	direct, viaRiver := publishAll(false), publishAll(true)
	require.Equal(t, viaRiver, direct)
	require.Equal(t, []string{"e-1", "e-2", "e-3", "e-4", "e-5"}, direct.events)
	require.Equal(t, [][2]string{{"batched", ""}, {"batched", "e-1"}, {"batched", "e-2"}, {"batched", "e-3"}}, direct.batches)
	kinds := map[string]int{}
	for _, j := range direct.jobs {
		kinds[j.Kind+" "+j.State]++
	}
	require.Equal(t, map[string]int{
		"plain available": 2, "plain cancelled": 1, "defaults available": 3, "batched available": 1, "once available": 1,
	}, kinds, "one run per new event and function, the batch's run once, o-2's run cancelled")
	for _, j := range direct.jobs {
		if j.Kind == "plain" {
			require.Equal(t, jobRow{Kind: "plain", Queue: "email", State: j.State, Args: j.Args, Metadata: "{}", Priority: 3, MaxAttempts: 4, Tags: []string{}}, j)
		}
		require.Equal(t, j.Kind == "batched", j.Due, "%s: only the batch's run is due later", j.Kind)
	}
}

// TestStoreNotifiesTheQueue: a run stored in one statement wakes a worker
// of its queue through River's insert notification: the worker polls only
// once an hour, and the run is worked.
func TestStoreNotifiesTheQueue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	worked := make(chan string, 1)
	reg := registry(t, fn.New(fn.Options{ID: "woken"}, fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
		worked <- in.Event.ID
		return nil, nil
	}))
	workers := river.NewWorkers()
	require.NoError(t, reg.AddWorkers(workers, fn.Runtime{DB: pool}))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		FetchPollInterval: time.Hour, TestOnly: true,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx)) // its producers LISTEN before Start returns
	t.Cleanup(func() { _ = client.Stop(context.WithoutCancel(ctx)) })

	var ids []string
	require.NoError(t, db.InTx(ctx, pool, func(tx pgx.Tx) error {
		ids, err = outbox.New(client, reg).Publish(ctx, tx, thing(map[string]any{"n": 1}))
		return err
	}))
	select {
	case id := <-worked:
		require.Equal(t, ids[0], id)
	case <-time.After(time.Minute): // a failure detector: the poll would come after an hour
		t.Fatal("the run was not worked: no insert notification woke the queue")
	}
}

// thingWithID is a test/thing event with id and data d.
func thingWithID(id string, d map[string]any) events.Event {
	ev := thing(d)
	ev.ID = id
	return ev
}
