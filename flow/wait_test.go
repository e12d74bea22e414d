package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// testEvent is the (custom) event the flow_test jobs wait for.
const testEvent = "flow_test/order_updated"

// waitFn is a flow_test function: it waits for a testEvent whose orderId is
// the job's key, then records what it got in a step "after". onParked, if
// set, runs when the wait parks the job, before Work returns.
func waitFn(onParked func()) func(ctx context.Context, job *river.Job[testArgs]) error {
	return func(ctx context.Context, job *river.Job[testArgs]) error {
		ev, ok, err := flow.WaitForEvent(ctx, "wait", flow.Wait{
			Event: testEvent, Key: "orderId", Value: job.Args.Key, Timeout: job.Args.Timeout, After: job.Args.After,
		})
		if flow.IsParked(err) && onParked != nil {
			onParked()
		}
		if err != nil {
			return err
		}
		_, err = flow.Run(ctx, "after", func(context.Context) (string, error) {
			if !ok {
				return "timed out", nil
			}
			return "got " + ev.ID, nil
		})
		return err
	}
}

// publish publishes a testEvent for order key in tx with ob and returns its id.
func publish(t *testing.T, ob *outbox.Outbox, tx pgx.Tx, key string) string {
	t.Helper()
	data, err := json.Marshal(map[string]string{"orderId": key, "status": "packed"})
	require.NoError(t, err)
	ids, err := ob.Publish(t.Context(), tx, events.Event{Name: testEvent, Data: data})
	require.NoError(t, err)
	return ids[0]
}

// insertOnly is an outbox with an insert-only River client.
func insertOnly(t *testing.T) *outbox.Outbox {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return outbox.New(client, noRoutes(t))
}

// noRoutes is a router of no function: the flow_test jobs are inserted by
// the tests, and the events they publish only wake them.
func noRoutes(t *testing.T) *fn.Registry {
	t.Helper()
	reg, err := fn.NewRegistry()
	require.NoError(t, err)
	return reg
}

// TestWaitMatchedWhileJobRuns: an event committed after the wait is
// registered but before River parks the job (the gap between the two) makes
// the park an immediate wake-up; the next run returns the event. Another
// order's event does not match.
func TestWaitMatchedWhileJobRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob := insertOnly(t)
	var matching string
	w := txWorker(t, tx, waitFn(func() {
		publish(t, ob, tx, "o-2")
		matching = publish(t, ob, tx, "o-1")
	}))

	res, err := w.Work(ctx, t, tx, testArgs{Key: "o-1", Timeout: time.Hour}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Equal(t, rivertype.JobStateAvailable, res.Job.State, "woken as it parked")
	require.False(t, res.Job.ScheduledAt.After(time.Now()), "available now, not in an hour")

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, matching, waitedFor(t, tx, res.Job.ID))
	recorded := steps(t, tx, res.Job.ID)
	require.Equal(t, stepRow{"after", `"got ` + matching + `"`}, recorded[0])
	require.Equal(t, "wait", recorded[1].Step)
	var open int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM flow_waits`).Scan(&open))
	require.Zero(t, open, "a finished wait is removed")
}

// TestWaitSeesEventsSinceItsAfterEvent: a wait with After matches an event
// received after that one even if it came before the wait began (the job
// ran late); the After event itself, though it matches too, does not count.
func TestWaitSeesEventsSinceItsAfterEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob := insertOnly(t)
	trigger := publish(t, ob, tx, "o-1")
	publish(t, ob, tx, "o-2")
	update := publish(t, ob, tx, "o-1")
	w := txWorker(t, tx, waitFn(nil))

	res, err := w.Work(ctx, t, tx, testArgs{Key: "o-1", Timeout: time.Hour, After: trigger}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind, "no park: the update was already there")
	require.Equal(t, update, waitedFor(t, tx, res.Job.ID))
}

// clientBundle is a River client working flow_test jobs on a fresh
// database, and what it reports about them.
type clientBundle struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	outbox *outbox.Outbox
	events <-chan *river.Event
}

func startClient(t *testing.T, fn func(ctx context.Context, job *river.Job[testArgs]) error) *clientBundle {
	t.Helper()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	workers := river.NewWorkers()
	river.AddWorker(workers, &funcWorker{db: pool, fn: fn})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            testLogger(t),
	})
	require.NoError(t, err)
	evs, cancel := client.Subscribe(river.EventKindJobSnoozed, river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	t.Cleanup(cancel)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	})
	return &clientBundle{pool: pool, client: client, outbox: outbox.New(client, noRoutes(t)), events: evs}
}

// next waits for the client to report the job's next outcome and fails the
// test unless it is kind. A wait that outlasts the test binary's -timeout
// fails the test, naming what it waited for, just before the binary would
// panic.
func (b *clientBundle) next(t *testing.T, kind river.EventKind) *rivertype.JobRow {
	t.Helper()
	var expired <-chan time.Time
	if deadline, ok := t.Deadline(); ok {
		timer := time.NewTimer(time.Until(deadline) - 5*time.Second)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case ev := <-b.events:
		require.Equal(t, kind, ev.Kind, "job %d: %v", ev.Job.ID, ev.Job.Errors)
		return ev.Job
	case <-expired:
		t.Fatalf("waited for the job to be %s", kind)
		return nil
	}
}

// publishCommitted publishes a testEvent for order key in a transaction of
// its own and commits it (commit false: rolls it back).
func (b *clientBundle) publishTx(t *testing.T, key string, commit bool) string {
	t.Helper()
	ctx := t.Context()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	id := publish(t, b.outbox, tx, key)
	if commit {
		require.NoError(t, tx.Commit(ctx))
	}
	return id
}

// TestWaitWokenByEventCommittedElsewhere: a job parked on a wait with an
// hour to go runs again as soon as another transaction commits a matching
// event, and gets that event; the wait used no attempt.
func TestWaitWokenByEventCommittedElsewhere(t *testing.T) {
	t.Parallel()
	b := startClient(t, waitFn(nil))
	res, err := b.client.Insert(t.Context(), testArgs{Key: "o-1", Timeout: time.Hour}, nil)
	require.NoError(t, err)
	parked := b.next(t, river.EventKindJobSnoozed)
	require.Equal(t, rivertype.JobStateScheduled, parked.State)

	b.publishTx(t, "o-2", true)
	id := b.publishTx(t, "o-1", true)
	done := b.next(t, river.EventKindJobCompleted)
	require.Equal(t, res.Job.ID, done.ID)
	require.Equal(t, 1, done.Attempt)
	require.Equal(t, id, waitedFor(t, b.pool, done.ID))
}

// TestWaitTimesOut: with no matching event, the job parks until the
// deadline, then the wait reports that nothing arrived.
func TestWaitTimesOut(t *testing.T) {
	t.Parallel()
	b := startClient(t, waitFn(nil))
	start := time.Now()
	_, err := b.client.Insert(t.Context(), testArgs{Key: "o-1", Timeout: time.Second}, nil)
	require.NoError(t, err)
	b.next(t, river.EventKindJobSnoozed)
	done := b.next(t, river.EventKindJobCompleted)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "not before the deadline")
	require.Empty(t, waitedFor(t, b.pool, done.ID))
	require.Equal(t, []stepRow{{"after", `"timed out"`}, {"wait", `{"event": null}`}}, steps(t, b.pool, done.ID))
}

// TestWaitIgnoresRolledBackEvent: a matching event published in a
// transaction that rolls back neither matches the wait nor wakes the job;
// at the deadline the wait times out, its last look not finding it either.
func TestWaitIgnoresRolledBackEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := startClient(t, waitFn(nil))
	res, err := b.client.Insert(ctx, testArgs{Key: "o-1", Timeout: time.Hour}, nil)
	require.NoError(t, err)
	parked := b.next(t, river.EventKindJobSnoozed)

	b.publishTx(t, "o-1", false)
	var (
		state       string
		scheduledAt time.Time
		matched     *string
	)
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT j.state, j.scheduled_at, w.matched_event_id FROM river_job j JOIN flow_waits w ON w.job_id = j.id WHERE j.id = $1`, res.Job.ID).
		Scan(&state, &scheduledAt, &matched))
	require.Equal(t, "scheduled", state, "not woken")
	require.True(t, parked.ScheduledAt.Equal(scheduledAt), "still parked until the deadline")
	require.Nil(t, matched)

	// The hour passes: the deadline is now, and River's scheduler makes the job available.
	_, err = b.pool.Exec(ctx, `
		WITH w AS (UPDATE flow_waits SET deadline = now() WHERE job_id = $1 RETURNING job_id)
		UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id IN (SELECT job_id FROM w)`, res.Job.ID)
	require.NoError(t, err)
	done := b.next(t, river.EventKindJobCompleted)
	require.Empty(t, waitedFor(t, b.pool, done.ID), "timed out")
}

// TestWaitSeesEventOfPublisherInFlight: a wait registered while a matching
// event's transaction is still open, after its Publish looked for waits and
// found none, is not missed: the wait's first look waits for that publisher
// to commit, then finds the event, so the job goes on without parking. (The
// wait matches events from its After event on, as remind_stalled_order's
// does: the event in flight was received before the wait began.)
func TestWaitSeesEventOfPublisherInFlight(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := startClient(t, waitFn(nil))
	after := b.publishTx(t, "o-0", true) // the job's trigger, say
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)                //nolint:errcheck // a no-op after Commit
	id := publish(t, b.outbox, tx, "o-1") // no wait yet: Publish wakes nothing

	res, err := b.client.Insert(ctx, testArgs{Key: "o-1", Timeout: time.Hour, After: after}, nil)
	require.NoError(t, err)
	// The wait is registered (committed) while the event is not. Only the
	// database shows that, so the test looks until it does.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var registered bool
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flow_waits WHERE job_id = $1)`, res.Job.ID).Scan(&registered))
		if registered {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the wait was never registered")
		}
	}
	require.NoError(t, tx.Commit(ctx))

	done := b.next(t, river.EventKindJobCompleted)
	require.Equal(t, res.Job.ID, done.ID)
	require.Equal(t, id, waitedFor(t, b.pool, done.ID))
}

// publishData publishes a testEvent with data in tx with ob and returns its
// id.
func publishData(t *testing.T, ob *outbox.Outbox, tx pgx.Tx, data map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	ids, err := ob.Publish(t.Context(), tx, events.Event{Name: testEvent, Data: raw})
	require.NoError(t, err)
	return ids[0]
}

// waitState is a job's state and its wait step's flow_waits row.
type waitState struct {
	JobState string
	Matched  *string
	Rejected []string
}

// stateOf returns job jobID's state and its wait step's row.
func stateOf(t *testing.T, q db.DBTX, jobID int64) waitState {
	t.Helper()
	var s waitState
	require.NoError(t, q.QueryRow(t.Context(), `
		SELECT j.state, w.matched_event_id, w.rejected_event_ids
		FROM river_job j JOIN flow_waits w ON w.job_id = j.id AND w.step = 'wait' WHERE j.id = $1`, jobID).
		Scan(&s.JobState, &s.Matched, &s.Rejected))
	return s
}

// TestWaitMatchesNestedField: a wait's Key is a path into the event's data.
// A parked wait on address.city is woken by a published event whose nested
// address has that city, not by one with another city; a wait whose first
// look finds such an event already published goes on without parking. A
// leading "data." is dropped from the path it stores.
func TestWaitMatchesNestedField(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob := insertOnly(t)
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		ev, ok, err := flow.WaitForEvent(ctx, "wait", flow.Wait{
			Event: testEvent, Key: "data.address.city", Value: job.Args.Key, Timeout: job.Args.Timeout, After: job.Args.After,
		})
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("timed out")
		}
		_, err = flow.Run(ctx, "after", func(context.Context) (string, error) { return "got " + ev.ID, nil })
		return err
	})
	trigger := publishData(t, ob, tx, map[string]any{"orderId": "o-0"})

	res, err := w.Work(ctx, t, tx, testArgs{Key: "Pune", Timeout: time.Hour}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	var key string
	require.NoError(t, tx.QueryRow(ctx, `SELECT match_key FROM flow_waits WHERE job_id = $1`, res.Job.ID).Scan(&key))
	require.Equal(t, "address.city", key)

	publishData(t, ob, tx, map[string]any{"orderId": "o-1", "address": map[string]any{"city": "Mumbai", "pin": "400001"}})
	publishData(t, ob, tx, map[string]any{"orderId": "o-1", "city": "Pune"}) // top-level, not address.city
	require.Equal(t, waitState{JobState: "scheduled", Rejected: []string{}}, stateOf(t, tx, res.Job.ID), "other cities wake nothing")

	pune := publishData(t, ob, tx, map[string]any{"orderId": "o-1", "address": map[string]any{"city": "Pune", "geo": map[string]any{"lat": 18.5}}})
	require.Equal(t, waitState{JobState: "available", Matched: &pune, Rejected: []string{}}, stateOf(t, tx, res.Job.ID), "woken by Pune")
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, pune, waitedFor(t, tx, res.Job.ID))

	// A later job's first look finds the Pune event (received after its
	// After event) among the others.
	res, err = w.Work(ctx, t, tx, testArgs{Key: "Pune", Timeout: time.Hour, After: trigger}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind, "no park: the event was there")
	require.Equal(t, pune, waitedFor(t, tx, res.Job.ID))
}

// TestWaitIfPassesOverEvents: a wait's If turns down matching events. An
// event it turns down that woke the job leaves the wait open, and the job
// parks again; of two matching events published together, the first turned
// down, the wait returns the second. Every event is shown to If once.
func TestWaitIfPassesOverEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob := insertOnly(t)
	var shown []string
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		_, _, err := flow.WaitForEvent(ctx, "wait", flow.Wait{
			Event: testEvent, Key: "orderId", Value: job.Args.Key, Timeout: job.Args.Timeout,
			If: func(ev events.Event) bool {
				var data struct{ Status string }
				shown = append(shown, ev.ID)
				return json.Unmarshal(ev.Data, &data) == nil && data.Status == "delivered"
			},
		})
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{Key: "o-1", Timeout: time.Hour}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)

	packed := publishData(t, ob, tx, map[string]any{"orderId": "o-1", "status": "packed"})
	require.Equal(t, "available", stateOf(t, tx, res.Job.ID).JobState, "woken: If runs in the job")
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind, "parked again: packed was turned down")
	require.Equal(t, []string{packed}, shown)
	require.Equal(t, waitState{JobState: "scheduled", Rejected: []string{packed}}, stateOf(t, tx, res.Job.ID), "open again")

	ids, err := ob.Publish(ctx, tx,
		events.Event{Name: testEvent, Data: json.RawMessage(`{"orderId": "o-1", "status": "shipped"}`)},
		events.Event{Name: testEvent, Data: json.RawMessage(`{"orderId": "o-1", "status": "delivered"}`)})
	require.NoError(t, err)
	shipped, delivered := ids[0], ids[1]
	require.Equal(t, waitState{JobState: "available", Matched: &shipped, Rejected: []string{packed}}, stateOf(t, tx, res.Job.ID))
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, delivered, waitedFor(t, tx, res.Job.ID))
	require.Equal(t, []string{packed, shipped, delivered}, shown)
}

// TestWaitNeedsFieldPath: a Key that is not a path of keys is an error,
// not a wait that never matches.
func TestWaitNeedsFieldPath(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	for _, key := range []string{"", "data.", "address..city", ".orderId", "orderId."} {
		w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
			_, _, err := flow.WaitForEvent(ctx, "wait", flow.Wait{Event: testEvent, Key: key, Value: "x", Timeout: time.Hour})
			return err
		})
		_, err := w.Work(ctx, t, tx, testArgs{}, nil)
		require.ErrorContains(t, err, "a Wait needs an Event, a Key (the path of a field)", "key %q", key)
	}
}
