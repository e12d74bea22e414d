package fn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// cluster is n River clients working a registry's functions on one
// database, as processes would.
type cluster struct {
	pool   *pgxpool.Pool         // a pool of the test's own on the database
	client *river.Client[pgx.Tx] // the first client
	outbox *outbox.Outbox        // publishes with the registry's routing
	events chan *river.Event     // the job events of all clients
}

// publish publishes evs in a transaction of its own.
func (c *cluster) publish(t *testing.T, evs ...events.Event) {
	t.Helper()
	require.NoError(t, db.InTx(t.Context(), c.pool, func(tx pgx.Tx) error {
		_, err := c.outbox.Publish(t.Context(), tx, evs...)
		return err
	}))
}

// processes starts n River clients working reg's functions, each on a pool
// of its own as separate processes would be, on one new database, and
// returns a publisher and the job events of all of them.
func processes(t *testing.T, reg *fn.Registry, n int) (func(evs ...events.Event), <-chan *river.Event) {
	t.Helper()
	c := startCluster(t, reg, n)
	return func(evs ...events.Event) { t.Helper(); c.publish(t, evs...) }, c.events
}

// startCluster starts n River clients working reg's functions, each on a
// pool of its own, on one new database.
func startCluster(t *testing.T, reg *fn.Registry, n int) *cluster {
	t.Helper()
	return startClusterWith(t, reg, n, fn.Runtime{})
}

// startClusterWith is startCluster with rt's settings (its DB is the
// cluster's).
func startClusterWith(t *testing.T, reg *fn.Registry, n int, rt fn.Runtime) *cluster {
	t.Helper()
	ctx := t.Context()
	url := dbtest.NewURL(ctx, t)
	all := make(chan *river.Event, 1000)
	var clients []*river.Client[pgx.Tx]
	for range n {
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		workers := river.NewWorkers()
		rt.DB = pool
		require.NoError(t, reg.AddWorkers(workers, rt))
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 5}},
			FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
			TestOnly: true,
		})
		require.NoError(t, err)
		evs, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobSnoozed, river.EventKindJobFailed, river.EventKindJobCancelled)
		t.Cleanup(cancel)
		go func() {
			for ev := range evs {
				all <- ev
			}
		}()
		require.NoError(t, client.Start(ctx))
		t.Cleanup(func() { _ = client.Stop(context.WithoutCancel(ctx)) })
		clients = append(clients, client)
	}
	return &cluster{pool: dbtest.NewPoolURL(ctx, t, url), client: clients[0], outbox: outbox.New(clients[0], reg), events: all}
}

// next returns the next job event of kind.
func next(t *testing.T, evs <-chan *river.Event, kind river.EventKind) *river.Event {
	t.Helper()
	for {
		select {
		case ev := <-evs:
			if ev.Kind == kind {
				return ev
			}
		case <-t.Context().Done():
			t.Fatalf("no %s event", kind)
		}
	}
}

// gate is a handler that reports each run's shop when it starts and runs
// until released.
type gate struct {
	started chan string
	mu      sync.Mutex
	release map[string]chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan string, 10), release: map[string]chan struct{}{}}
}

func (g *gate) ch(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release[id] == nil {
		g.release[id] = make(chan struct{})
	}
	return g.release[id]
}

func (g *gate) handle(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
	g.started <- fn.Field(in.Event, "data.shopId") + "/" + fn.Field(in.Event, "data.n")
	select {
	case <-g.ch(fn.Field(in.Event, "data.n")):
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestConcurrencyAcrossProcesses(t *testing.T) {
	t.Parallel()
	g := newGate()
	reg := registry(t, fn.New(fn.Options{ID: "serial", Concurrency: []fn.Concurrency{{Key: "data.shopId", Limit: 1}}}, fn.On("test/thing"), g.handle))
	publish, evs := processes(t, reg, 2)
	publish(thing(map[string]any{"shopId": "s1", "n": "1"}), thing(map[string]any{"shopId": "s1", "n": "2"}), thing(map[string]any{"shopId": "s2", "n": "3"}))

	first, second := <-g.started, <-g.started
	require.NotEqual(t, first[:2], second[:2], "two runs of one shop never run at once; another shop's does")
	for _, s := range []string{first, second} {
		close(g.ch(s[3:]))
	}
	third := <-g.started
	require.Equal(t, "s1", third[:2], "the waiting run starts once the slot is free")
	close(g.ch(third[3:]))
	for range 3 {
		next(t, evs, river.EventKindJobCompleted)
	}
}

func TestThrottleAcrossProcesses(t *testing.T) {
	t.Parallel()
	g := newGate()
	reg := registry(t, fn.New(fn.Options{ID: "throttled", Throttle: &fn.Throttle{Key: "data.shopId", Limit: 1, Period: time.Hour}}, fn.On("test/thing"), g.handle))
	publish, evs := processes(t, reg, 2)
	publish(thing(map[string]any{"shopId": "s1", "n": "1"}), thing(map[string]any{"shopId": "s1", "n": "2"}))
	first := <-g.started
	close(g.ch(first[3:]))
	// One run completes; the other waits its turn, snoozed until the
	// period has passed (in either order).
	var snoozed *river.Event
	for completed := false; !completed || snoozed == nil; {
		select {
		case ev := <-evs:
			switch ev.Kind { //nolint:exhaustive // the others do not happen here
			case river.EventKindJobCompleted:
				completed = true
			case river.EventKindJobSnoozed:
				snoozed = ev
			}
		case <-t.Context().Done():
			t.Fatal("no completion and snooze")
		}
	}
	require.Greater(t, time.Until(snoozed.Job.ScheduledAt), 30*time.Minute, "it waits for the hour's period, not failing")
	select {
	case s := <-g.started:
		t.Fatalf("run %s started within the throttle's period", s)
	default:
	}
}

func TestRateLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	g := newGate()
	reg := registry(t, fn.New(fn.Options{ID: "limited", RateLimit: &fn.RateLimit{Key: "data.shopId", Limit: 1, Period: time.Hour}}, fn.On("test/thing"), g.handle))
	publish, evs := processes(t, reg, 2)
	publish(thing(map[string]any{"shopId": "s1", "n": "1"}), thing(map[string]any{"shopId": "s1", "n": "2"}), thing(map[string]any{"shopId": "s1", "n": "3"}))
	first := <-g.started
	close(g.ch(first[3:]))
	for range 3 {
		next(t, evs, river.EventKindJobCompleted) // the two dropped complete, as does the one that ran
	}
	select {
	case s := <-g.started:
		t.Fatalf("run %s started past the rate limit", s)
	default:
	}
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	double := fn.New(fn.Options{ID: "double"}, fn.On("test/unused"), func(_ context.Context, in fn.Input[struct{ N int }]) (any, error) {
		return map[string]int{"n": in.Data.N * 2}, nil
	})
	results := make(chan int, 1)
	reg := registry(t, double, fn.New(fn.Options{ID: "caller"}, fn.On("test/thing"), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
		out, err := fn.Invoke[struct{ N int }](ctx, "double it", double, map[string]int{"N": 21}, time.Hour)
		if err != nil {
			return nil, err
		}
		results <- out.N
		return out, nil
	}))
	publish, evs := processes(t, reg, 1)
	publish(thing(nil))
	require.Equal(t, 42, <-results, "the invoking run gets the invoked function's result")
	next(t, evs, river.EventKindJobCompleted)
}

// TestBatchTakeWaitsForPublisherInFlight: a publisher that added an event
// to a batch whose run was scheduled (so it scheduled none) and had not
// committed when that run began to take the batch: the run waits for it
// and takes its event too. Nothing is left behind with no run to take it.
func TestBatchTakeWaitsForPublisherInFlight(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := startBatchInFlight(t, fn.Options{}, fn.Runtime{})
	// The run must be waiting for the publisher, not taking: look until a
	// backend runs the wait; a batch handed out first was taken too soon.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for b.count(t, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%wait_for_writers%' AND datname = current_database()
		AND pid <> pg_backend_pid()`) == 0 {
		select {
		case ids := <-b.batches:
			t.Fatalf("the run took %v while a publisher of the batch was in flight", ids)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the run never waited for the publisher")
		}
	}
	require.NoError(t, b.tx.Commit(ctx))

	require.Equal(t, []string{"e0", "e1"}, <-b.batches, "the run took the event of the publisher in flight")
	next(t, b.events, river.EventKindJobCompleted)
	require.Zero(t, b.count(t, `SELECT count(*) FROM fn_batch_events`), "nothing is left in the batch")
}

// TestBatchTakeOutlastedByPublisher: a publisher in flight that outlasts
// the run's wait for it: the run takes what it sees and schedules the next
// run, which takes the publisher's event once committed.
func TestBatchTakeOutlastedByPublisher(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := startBatchInFlight(t, fn.Options{}, fn.Runtime{PublishersWait: time.Millisecond})
	require.Equal(t, []string{"e0"}, <-b.batches, "the run takes what it sees")
	next(t, b.events, river.EventKindJobCompleted)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch' AND state = 'available'
		AND scheduled_at > now() + interval '50 minutes'`), "and schedules the next run, due when a new batch would be")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id = ''`), "the batch is marked again")

	require.NoError(t, b.tx.Commit(ctx))
	_, err := b.pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now() WHERE kind = 'batch' AND state = 'available'`)
	require.NoError(t, err)
	require.Equal(t, []string{"e1"}, <-b.batches, "the next run takes the publisher's event")
	next(t, b.events, river.EventKindJobCompleted)
	require.Zero(t, b.count(t, `SELECT count(*) FROM fn_batch_events`), "nothing is left in the batch")
}

// TestFullBatchRunsNextAtOnce: a run that takes a full batch schedules the
// next run at once, even when a publisher marked the batch (with a run due
// a batch's timeout later) while the run waited for the publishers in
// flight.
func TestFullBatchRunsNextAtOnce(t *testing.T) {
	t.Parallel()
	b := startBatchInFlight(t, fn.Options{BatchEvents: &fn.BatchEvents{MaxSize: 2, Timeout: time.Hour}}, fn.Runtime{})
	b.publish(t, thingWithID("e2", nil)) // the batch is closed: e2 marks it, its run due in an hour
	require.NoError(t, b.tx.Commit(t.Context()))
	require.Equal(t, []string{"e0", "e1"}, <-b.batches, "a full batch")
	require.Equal(t, []string{"e2"}, <-b.batches, "the next run, at once")
}

// TestBatchTakeFailedAfterClose: a run whose take fails for good once it
// has closed its batch (here its attempt times out while it waits for a
// publisher in flight) marks the batch again with a run, which takes the
// events.
func TestBatchTakeFailedAfterClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := startBatchInFlight(t, fn.Options{NoRetries: true}, fn.Runtime{MaxTimeout: 50 * time.Millisecond})
	next(t, b.events, river.EventKindJobFailed)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id = ''`), "the batch is marked again")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch' AND state IN ('available', 'scheduled')`), "with a run")

	require.NoError(t, b.tx.Commit(ctx))
	// The run is due in an hour: make it due now. Its attempt has 50 ms
	// too (MaxTimeout), which a loaded machine can miss: such an attempt
	// fails in turn and marks the batch again (or, if it took the events,
	// puts them back) with a run, made due by the next round.
	for {
		_, err := b.pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now() WHERE kind = 'batch' AND state = 'available'`)
		require.NoError(t, err)
		select {
		case ids := <-b.batches:
			require.Equal(t, []string{"e0", "e1"}, ids, "which takes the events")
			return
		case <-b.events: // a failed attempt, say: the next round makes its run due
		case <-ctx.Done():
			t.Fatal("the batch was never taken")
		}
	}
}

// TestBatchLoadFailedAfterTake: a batch run that took its events and then
// fails for good before it could load them (here the load is cancelled
// while it waits for a lock) puts them back in the batch, with a run,
// which takes them.
func TestBatchLoadFailedAfterTake(t *testing.T) {
	t.Parallel()
	c, batches := startBatch(t, fn.Options{NoRetries: true}, nil)
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))

	// The run takes the batch, then waits for the lock to load the events.
	lock := c.lock(t, `LOCK TABLE events IN ACCESS EXCLUSIVE MODE`)
	c.due(t)
	loading := c.blockedIn(t, "FnEventsGet")
	require.Zero(t, c.count(t, `SELECT count(*) FROM fn_batch_events`), "the run took the batch")
	c.cancelBackend(t, loading, lock)
	next(t, c.events, river.EventKindJobFailed)

	require.Equal(t, 2, c.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id IN ('e0', 'e1')`), "the events are back in the batch")
	require.Equal(t, 1, c.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id = ''`), "which is marked")
	c.due(t)
	require.Equal(t, []string{"e0", "e1"}, <-batches, "and whose run takes them")
}

// TestBatchCloseFailed: a batch run that fails for good before it closed
// its batch (here its close is cancelled while it waits for a lock) leaves
// the batch marked, which tells publishers a run is scheduled: the batch
// gets a run again, which takes the events.
func TestBatchCloseFailed(t *testing.T) {
	t.Parallel()
	c, batches := startBatch(t, fn.Options{NoRetries: true}, nil)
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))

	lock := c.lock(t, `SELECT 1 FROM fn_batch_events WHERE event_id = '' FOR UPDATE`)
	c.due(t)
	c.cancelBackend(t, c.blockedIn(t, "FnBatchClose"), lock)
	next(t, c.events, river.EventKindJobFailed)

	require.Equal(t, 1, c.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id = ''`), "the batch is still marked")
	require.Equal(t, 1, c.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch' AND state = 'available'`), "with a run again")
	c.publish(t, thingWithID("e2", nil))
	require.Equal(t, 1, c.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch' AND state = 'available'`), "which a new event counts on, scheduling none")
	c.due(t)
	require.Equal(t, []string{"e0", "e1", "e2"}, <-batches, "and which takes the events")
}

// TestBatchFailedBeforeReplay: a batch run whose first attempt took the
// events and failed, and whose last attempt fails for good before it
// replays that take (here its read of the recorded steps is cancelled
// while it waits for a lock), puts back the events the take recorded.
func TestBatchFailedBeforeReplay(t *testing.T) {
	t.Parallel()
	c, batches := startBatch(t, fn.Options{Retries: 1, Backoff: func(int) time.Duration { return time.Hour }}, errors.New("the sink is down"))
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
	c.due(t)
	require.Equal(t, []string{"e0", "e1"}, <-batches, "the first attempt takes the events, and fails")
	next(t, c.events, river.EventKindJobFailed)
	require.Zero(t, c.count(t, `SELECT count(*) FROM fn_batch_events`), "the take is recorded, not put back: a retry has the same events")

	lock := c.lock(t, `LOCK TABLE flow_steps IN ACCESS EXCLUSIVE MODE`)
	_, err := c.pool.Exec(t.Context(), `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE kind = 'batch' AND state = 'retryable'`)
	require.NoError(t, err)
	c.cancelBackend(t, c.blockedIn(t, "FnRunStart"), lock)
	next(t, c.events, river.EventKindJobFailed)

	require.Equal(t, 2, c.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id IN ('e0', 'e1')`), "the recorded events are back in the batch")
	require.Zero(t, c.count(t, `SELECT count(*) FROM flow_steps WHERE step = '$batch'`), "and the take forgotten: a retry of the run takes anew")
	require.Equal(t, 1, c.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch' AND state = 'available'`), "with a run")
	c.due(t)
	require.Equal(t, []string{"e0", "e1"}, <-batches, "which takes them")
}

// cancelRun and deleteRun end a run as an operator does, with River's
// JobCancel and JobDelete.
func cancelRun(ctx context.Context, c *cluster, id int64) error {
	_, err := c.client.JobCancel(ctx, id)
	return err
}

func deleteRun(ctx context.Context, c *cluster, id int64) error {
	_, err := c.client.JobDelete(ctx, id)
	return err
}

// TestBatchRunEndedUnworked: a batch run that ends before it ran (an
// operator cancels or deletes it; River's rescuer discards it after a crash
// on its last attempt) takes its batch's mark with it, and the transaction
// that ends it gives the events waiting in its batch a run of their own
// (fn_batch_run_ended): they do not wait for the batch's next event, which
// may never come.
func TestBatchRunEndedUnworked(t *testing.T) {
	t.Parallel()
	for name, end := range map[string]func(ctx context.Context, c *cluster, id int64) error{
		"cancelled with River's JobCancel": cancelRun,
		"deleted with River's JobDelete":   deleteRun,
		"discarded, as River's rescuer discards": func(ctx context.Context, c *cluster, id int64) error {
			_, err := c.pool.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, id)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, batches := startBatch(t, fn.Options{NoRetries: true}, nil)
			c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
			var id int64
			require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT id FROM river_job WHERE kind = 'batch'`).Scan(&id))
			require.NoError(t, end(t.Context(), c, id))

			require.Zero(t, c.count(t, fmt.Sprintf(`SELECT count(*) FROM fn_batch_events WHERE run_id = %d`, id)), "the batch's mark went with its run")
			require.Equal(t, 1, c.count(t, fmt.Sprintf(`SELECT count(*) FROM river_job WHERE kind = 'batch' AND id <> %d`, id)),
				"the batch has a new run (its mark, which names it, goes when the run closes the batch)")
			require.Equal(t, []string{"e0", "e1"}, <-batches, "which takes the events waiting, with no new event")
		})
	}
}

// TestBatchRunDiscardedAfterTake: River's rescuer discards a batch run that
// had taken its events, as after a crash on its last attempt, when the
// worker's own hand-back never runs (here the worker hangs instead of
// dying, and what it does after is not counted). The transaction that
// discards it puts its take back in the batch and gives the batch a new
// run, which sends them.
func TestBatchRunDiscardedAfterTake(t *testing.T) {
	t.Parallel()
	batches := make(chan []string, 4)
	taking, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	reg := registry(t, fn.New(fn.Options{ID: "batch", NoRetries: true, BatchEvents: &fn.BatchEvents{MaxSize: 10, Timeout: time.Hour}},
		fn.On("test/thing"), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
			var ids []string
			for _, ev := range in.Events {
				ids = append(ids, ev.ID)
			}
			if calls.Add(1) == 1 { // the run the rescuer discards: it has taken its events and hangs
				close(taking)
				<-release
				return nil, nil
			}
			batches <- ids
			return nil, nil
		}))
	c := startCluster(t, reg, 1)
	var released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	t.Cleanup(free) // before the client stops: it waits for the hung run
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
	c.due(t)
	<-taking
	var id int64
	require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT id FROM river_job WHERE kind = 'batch' AND state = 'running'`).Scan(&id))
	require.Equal(t, 1, c.count(t, fmt.Sprintf(`SELECT count(*) FROM flow_steps WHERE job_id = %d AND step = '$batch'`, id)), "its take is recorded")
	require.Zero(t, c.count(t, `SELECT count(*) FROM fn_batch_events`), "and out of the batch")

	_, err := c.pool.Exec(t.Context(), `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, id)
	require.NoError(t, err)
	require.Zero(t, c.count(t, fmt.Sprintf(`SELECT count(*) FROM flow_steps WHERE job_id = %d AND step = '$batch'`, id)), "the take is no longer the discarded run's")
	free() // the hung worker ends; River finds its run no longer running
	require.Equal(t, []string{"e0", "e1"}, <-batches, "a new run sends the events")
}

// TestBatchRunCancelledHandsBackItsTake: a run an operator cancels while
// it holds its events (River UI's cancel of a running job, on an attempt
// that is not its last) ends cancelled with its take recorded, which the
// run's end hands back to its batch (fn_batch_run_ended), as a failed last
// attempt's worker does: the next run sends them with the events that came
// after.
func TestBatchRunCancelledHandsBackItsTake(t *testing.T) {
	t.Parallel()
	batches := make(chan []string, 4)
	taking := make(chan struct{})
	var calls atomic.Int32
	reg := registry(t, fn.New(fn.Options{ID: "batch", BatchEvents: &fn.BatchEvents{MaxSize: 10, Timeout: time.Hour}},
		fn.On("test/thing"), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
			var ids []string
			for _, ev := range in.Events {
				ids = append(ids, ev.ID)
			}
			if calls.Add(1) == 1 { // cancelled while it holds e0 and e1
				close(taking)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			batches <- ids
			return nil, nil
		}))
	c := startCluster(t, reg, 1)
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
	c.due(t)
	<-taking
	c.publish(t, thingWithID("e2", nil)) // after the take: the batch's next run
	var id int64
	require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT id FROM river_job WHERE kind = 'batch' AND state = 'running'`).Scan(&id))
	_, err := c.client.JobCancel(t.Context(), id)
	require.NoError(t, err)
	for ev := range c.events {
		if ev.Job.ID == id {
			require.Equal(t, river.EventKindJobCancelled, ev.Kind, "the run ends cancelled")
			break
		}
	}
	c.due(t)
	require.Equal(t, []string{"e0", "e1", "e2"}, <-batches, "the next run sends the cancelled run's events too")
}

// TestBatchRunEndedWhileRetrying: a batch run that failed and waits for its
// retry keeps its take (the retry sends the same events); cancelled or
// deleted then, it never runs again, so the transaction that ends it puts
// the take back in its batch and gives the batch a run, which sends them.
func TestBatchRunEndedWhileRetrying(t *testing.T) {
	t.Parallel()
	for name, end := range map[string]func(ctx context.Context, c *cluster, id int64) error{
		"cancelled with River's JobCancel": cancelRun,
		"deleted with River's JobDelete":   deleteRun,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hour := func(int) time.Duration { return time.Hour } // the retry waits while the run is ended
			c, batches := startBatch(t, fn.Options{Backoff: hour}, errors.New("sink down"))
			c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
			c.due(t)
			require.Equal(t, []string{"e0", "e1"}, <-batches, "the first attempt takes the events, and fails")
			var id int64
			for ev := range c.events {
				if ev.Kind == river.EventKindJobFailed {
					id = ev.Job.ID
					break
				}
			}
			var state string
			require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state))
			require.Equal(t, "retryable", state, "it waits for its retry")
			require.NoError(t, end(t.Context(), c, id))
			require.Equal(t, 1, c.count(t, fmt.Sprintf(`SELECT count(*) FROM river_job WHERE kind = 'batch' AND id <> %d`, id)), "the batch has a new run")
			require.Equal(t, []string{"e0", "e1"}, <-batches, "which sends the events the ended run held")
		})
	}
}

// TestBatchRefusedByHandlerDropsItsTake: a handler that cancels its batch
// run (river.JobCancel: refused for good) drops the events it took; the
// run's end hands nothing back, and the next run sends only later events.
func TestBatchRefusedByHandlerDropsItsTake(t *testing.T) {
	t.Parallel()
	c, batches := startBatch(t, fn.Options{}, river.JobCancel(errors.New("refused")))
	c.publish(t, thingWithID("e0", nil), thingWithID("e1", nil))
	c.due(t)
	require.Equal(t, []string{"e0", "e1"}, <-batches, "the run takes the events and refuses them")
	for ev := range c.events {
		if ev.Kind == river.EventKindJobCancelled {
			break
		}
	}
	require.Zero(t, c.count(t, `SELECT count(*) FROM fn_batch_events`), "nothing is handed back")
	c.publish(t, thingWithID("e2", nil))
	c.due(t)
	require.Equal(t, []string{"e2"}, <-batches, "the next run sends only the later event")
}

// TestBatchRunEndedFreesOnlyItsOwnMark: a mark goes only with the run it
// names. Here a run has closed its batch (and is still live, as one that is
// taking its events would be) when a publisher marks the batch with a
// second run: the second run's end frees its mark, though the first run is
// live, and marks the batch for a third run, since events wait; the first
// run's end leaves that third run's mark.
func TestBatchRunEndedFreesOnlyItsOwnMark(t *testing.T) {
	t.Parallel()
	c, _ := startBatch(t, fn.Options{NoRetries: true}, nil)
	require.NoError(t, c.client.Stop(t.Context())) // no run is worked: the marks are the trigger's alone
	marks := `SELECT count(*) FROM fn_batch_events WHERE event_id = ''`
	c.publish(t, thingWithID("e0", nil))
	_, err := c.pool.Exec(t.Context(), `DELETE FROM fn_batch_events WHERE event_id = ''`) // closed, as its run closes it
	require.NoError(t, err)
	c.publish(t, thingWithID("e1", nil)) // marks the batch, with a second run
	var first int64
	require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT min(id) FROM river_job WHERE kind = 'batch'`).Scan(&first))

	_, err = c.client.JobCancel(t.Context(), first+1)
	require.NoError(t, err)
	require.Zero(t, c.count(t, fmt.Sprintf(`SELECT count(*) FROM fn_batch_events WHERE run_id = %d`, first+1)), "the second run's mark goes with it, though the first is live")
	var third int64
	require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT run_id FROM fn_batch_events WHERE event_id = ''`).Scan(&third))
	require.Greater(t, third, first+1, "and the events waiting get a third run")
	c.publish(t, thingWithID("e2", nil)) // finds the mark: schedules nothing
	_, err = c.client.JobCancel(t.Context(), first)
	require.NoError(t, err)
	require.Equal(t, 1, c.count(t, marks), "the first run's end leaves the third run's mark")
	require.Equal(t, 1, c.count(t, fmt.Sprintf(`SELECT count(*) FROM fn_batch_events WHERE run_id = %d`, third)), "the third run's")
}

// startBatch starts a cluster of one client working a batch function
// "batch" with opts (batches of 10, due in an hour) whose handler reports
// the event ids of each batch it runs, failing its first run with fail
// when not nil.
func startBatch(t *testing.T, opts fn.Options, fail error) (*cluster, <-chan []string) {
	t.Helper()
	batches := make(chan []string, 4)
	var calls atomic.Int32
	opts.ID = "batch"
	opts.BatchEvents = &fn.BatchEvents{MaxSize: 10, Timeout: time.Hour}
	reg := registry(t, fn.New(opts, fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
		var ids []string
		for _, ev := range in.Events {
			ids = append(ids, ev.ID)
		}
		batches <- ids
		if calls.Add(1) == 1 && fail != nil {
			return nil, fail
		}
		return nil, nil
	}))
	return startCluster(t, reg, 1), batches
}

// due makes the batch runs waiting for their time due now.
func (c *cluster) due(t *testing.T) {
	t.Helper()
	_, err := c.pool.Exec(t.Context(), `UPDATE river_job SET scheduled_at = now() WHERE kind = 'batch' AND state = 'available'`)
	require.NoError(t, err)
}

// lock runs query, which takes a lock, in a transaction it returns open.
func (c *cluster) lock(t *testing.T, query string) pgx.Tx {
	t.Helper()
	ctx := t.Context()
	tx, err := c.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	_, err = tx.Exec(ctx, query)
	require.NoError(t, err)
	return tx
}

// blockedIn waits until a backend runs the query named name and waits for
// a lock, and returns its pid.
func (c *cluster) blockedIn(t *testing.T, name string) int {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var pid int
		require.NoError(t, c.pool.QueryRow(t.Context(), `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%name: ' || $1 || ' %'`, name).Scan(&pid))
		if pid != 0 {
			return pid
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("no backend waited in %s", name)
		}
	}
}

// cancelBackend cancels the statement backend pid runs, then ends lock,
// the transaction it waited for.
func (c *cluster) cancelBackend(t *testing.T, pid int, lock pgx.Tx) {
	t.Helper()
	_, err := c.pool.Exec(t.Context(), `SELECT pg_cancel_backend($1)`, pid)
	require.NoError(t, err)
	require.NoError(t, lock.Rollback(t.Context()))
}

// batchInFlight is a cluster working a batch function whose run has closed
// its batch while a publisher (tx) that counted on that run is in flight.
type batchInFlight struct {
	*cluster
	tx      pgx.Tx        // the publisher, not committed
	batches chan []string // the event ids of each batch the function runs
}

// startBatchInFlight starts a batch function with opts (by default
// batches of 10, due in an hour) and rt's settings, publishes event e0 (its
// batch's first: the batch is marked and its run scheduled), then e1 in a
// transaction left open, then makes the run due, and returns once the run
// has closed the batch.
func startBatchInFlight(t *testing.T, opts fn.Options, rt fn.Runtime) *batchInFlight {
	t.Helper()
	ctx := t.Context()
	b := &batchInFlight{batches: make(chan []string, 4)}
	opts.ID = "batch"
	if opts.BatchEvents == nil {
		opts.BatchEvents = &fn.BatchEvents{MaxSize: 10, Timeout: time.Hour}
	}
	reg := registry(t, fn.New(opts,
		fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
			var ids []string
			for _, ev := range in.Events {
				ids = append(ids, ev.ID)
			}
			b.batches <- ids
			return nil, nil
		}))
	b.cluster = startClusterWith(t, reg, 1, rt)
	b.publish(t, thingWithID("e0", nil))

	var err error
	b.tx, err = b.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.tx.Rollback(context.WithoutCancel(ctx)) }) // a no-op after Commit
	_, err = b.outbox.Publish(ctx, b.tx, thingWithID("e1", nil))
	require.NoError(t, err)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'batch'`), "the batch has its run: the publisher schedules none")

	_, err = b.pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now() WHERE kind = 'batch'`)
	require.NoError(t, err)
	// The run has closed its batch (its mark is gone, committed) while the
	// publisher has not committed; or, if it could not wait for the
	// publisher, it may have marked the batch again since, with the next
	// run. Only the database shows that, so the test looks until it does.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for b.count(t, `SELECT count(*) FROM fn_batch_events WHERE event_id = ''
		AND (SELECT count(*) FROM river_job WHERE kind = 'batch') = 1`) > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the run never closed its batch")
		}
	}
	return b
}

// count runs a count query on the cluster's database.
func (c *cluster) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	require.NoError(t, c.pool.QueryRow(t.Context(), query).Scan(&n))
	return n
}
