package fn_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/fn/fntest"
)

func TestTimeoutStart(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	called := false
	reg := registry(t, fn.New(fn.Options{ID: "late", Timeouts: fn.Timeouts{Start: time.Minute}}, fn.On("test/thing"),
		func(context.Context, fn.Input[json.RawMessage]) (any, error) { called = true; return nil, nil }))
	publish(t, tx, reg, thing(nil))
	r := runs(t, tx, "late")[0]
	_, err := tx.Exec(t.Context(), `UPDATE river_job SET created_at = now() - interval '2 minutes' WHERE id = $1`, r.ID)
	require.NoError(t, err)
	res := fntest.Work(t, tx, reg, "late", r.ID)
	require.False(t, called, "a run not started within timeouts.start does not start")
	require.Equal(t, "cancelled", string(res.Job.State))
}

func TestTimeoutFinish(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t, fn.New(fn.Options{ID: "slow", Timeouts: fn.Timeouts{Finish: 20 * time.Millisecond}}, fn.On("test/thing"),
		func(ctx context.Context, _ fn.Input[json.RawMessage]) (any, error) {
			<-ctx.Done() // the run's deadline, timeouts.finish after its start
			return nil, ctx.Err()
		}))
	publish(t, tx, reg, thing(nil))
	r := runs(t, tx, "slow")[0]
	res := fntest.Work(t, tx, reg, "slow", r.ID)
	require.ErrorIs(t, res.Err, context.DeadlineExceeded)
	require.Contains(t, res.Steps, "$start", "the run's start is recorded")
	res = fntest.Work(t, tx, reg, "slow", r.ID)
	require.Equal(t, "cancelled", string(res.Job.State), "a retry after timeouts.finish cancels the run")
}

func TestRateLimitDrops(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	sent := 0
	reg := registry(t, fn.New(fn.Options{ID: "alert", RateLimit: &fn.RateLimit{Key: "data.productId", Limit: 2, Period: time.Hour}}, fn.On("test/thing"),
		func(context.Context, fn.Input[json.RawMessage]) (any, error) { sent++; return nil, nil }))
	publish(t, tx, reg, thing(map[string]any{"productId": "p1"}), thing(map[string]any{"productId": "p1"}),
		thing(map[string]any{"productId": "p1"}), thing(map[string]any{"productId": "p2"}))
	var dropped int
	for _, r := range runs(t, tx, "alert") {
		res := fntest.Work(t, tx, reg, "alert", r.ID)
		require.NoError(t, res.Err)
		require.Equal(t, "completed", string(res.Job.State), "a dropped run is not a failure")
		if string(res.Steps["$rateLimit"]) == "false" {
			dropped++
		}
	}
	require.Equal(t, 3, sent, "two of p1 in the hour, and p2")
	require.Equal(t, 1, dropped)
}

func TestOnFailure(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	var got fn.Failure
	reg := registry(t, fn.New(fn.Options{ID: "fragile", NoRetries: true, OnFailure: func(_ context.Context, f fn.Failure) error {
		got = f
		return nil
	}}, fn.On("test/thing"), func(context.Context, fn.Input[json.RawMessage]) (any, error) {
		return nil, errors.New("provider said no")
	}))
	ids := publish(t, tx, reg, thing(map[string]any{"n": 1}))
	r := runs(t, tx, "fragile")[0]
	res := fntest.Work(t, tx, reg, "fragile", r.ID)
	require.ErrorContains(t, res.Err, "provider said no")
	require.Equal(t, "discarded", string(res.Job.State))
	failures := runs(t, tx, "fragile_on_failure")
	require.Len(t, failures, 1, "the onFailure run is enqueued once")
	require.NoError(t, fntest.Work(t, tx, reg, "fragile", failures[0].ID).Err)
	require.Equal(t, "fragile", got.FunctionID)
	require.Equal(t, r.ID, got.RunID)
	require.Contains(t, got.Error, "provider said no")
	require.Equal(t, ids[0], got.Event.ID, "with the failed run's event")
}

func TestSteps(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	calls := map[string]int{}
	reg := registry(t,
		fn.New(fn.Options{ID: "steps"}, fn.On("test/thing"), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
			err := fn.Parallel(ctx,
				func(ctx context.Context) error {
					_, err := fn.Run(ctx, "a", func(context.Context) (int, error) { calls["a"]++; return 1, nil })
					return err
				},
				func(ctx context.Context) error {
					_, err := fn.Run(ctx, "b", func(context.Context) (int, error) { calls["b"]++; return 2, nil })
					return err
				})
			if err != nil {
				return nil, err
			}
			if _, err := fn.SendEvent(ctx, "announce", events.Event{Name: "test/announced", Data: in.Event.Data}); err != nil {
				return nil, err
			}
			if err := fn.SleepUntil(ctx, "until tomorrow", time.Now().Add(24*time.Hour)); err != nil {
				return nil, err
			}
			return "done", nil
		}),
		fn.New(fn.Options{ID: "listener"}, fn.On("test/announced"), noop))
	publish(t, tx, reg, thing(map[string]any{"n": 7}))
	r := runs(t, tx, "steps")[0]
	res := fntest.Work(t, tx, reg, "steps", r.ID)
	require.Equal(t, "scheduled", string(res.Job.State), "SleepUntil parks the run")
	require.Equal(t, map[string]int{"a": 1, "b": 1}, calls, "parallel steps each ran once")
	for _, step := range []string{"a", "b", "announce", "until tomorrow"} {
		require.Contains(t, res.Steps, step)
	}
	require.Len(t, runs(t, tx, "listener"), 1, "SendEvent published through the outbox: its event started a run")

	res = fntest.Work(t, tx, reg, "steps", r.ID, fntest.Step("until tomorrow", map[string]any{}))
	require.NoError(t, res.Err)
	require.JSONEq(t, `"done"`, string(res.Output))
	require.Equal(t, map[string]int{"a": 1, "b": 1}, calls, "a finished step never runs again")
	require.Len(t, runs(t, tx, "listener"), 1, "nor is its event sent again")
}

func TestWaitForEventMatchesAPathWithIf(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t, fn.New(fn.Options{ID: "await"}, fn.On("test/asked"), func(ctx context.Context, _ fn.Input[json.RawMessage]) (any, error) {
		ev, ok, err := fn.WaitForEvent(ctx, "answer", fn.Wait{
			Event: "test/answered", Match: "data.q.id", Timeout: time.Hour,
			If: func(ev events.Event) bool { return fn.Field(ev, "data.final") == "true" },
		})
		if err != nil || !ok {
			return nil, err
		}
		return fn.Field(ev, "data.text"), nil
	}))
	publish(t, tx, reg, events.Event{Name: "test/asked", Data: json.RawMessage(`{"q": {"id": "q1"}}`)})
	r := runs(t, tx, "await")[0]
	require.Equal(t, "scheduled", string(fntest.Work(t, tx, reg, "await", r.ID).Job.State), "the run waits, parked")
	publish(t, tx, reg,
		events.Event{Name: "test/answered", Data: json.RawMessage(`{"q": {"id": "q2"}, "final": true, "text": "other"}`)},
		events.Event{Name: "test/answered", Data: json.RawMessage(`{"q": {"id": "q1"}, "final": false, "text": "draft"}`)},
		events.Event{Name: "test/answered", Data: json.RawMessage(`{"q": {"id": "q1"}, "final": true, "text": "42"}`)})
	res := fntest.Work(t, tx, reg, "await", r.ID)
	require.NoError(t, res.Err)
	require.JSONEq(t, `"42"`, string(res.Output), "the first event matching data.q.id for which If holds")
}

// TestVersions shows the rule for a run parked while its function
// changed: steps are matched by name, so a finished step is not run again,
// a step added before the run's position runs when the run reaches it, and
// a removed step is not run. Input.Version is the version the run was
// enqueued under.
func TestVersions(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	var ran []string
	step := func(ctx context.Context, name string) error {
		_, err := fn.Run(ctx, name, func(context.Context) (bool, error) { ran = append(ran, name); return true, nil })
		return err
	}
	v1 := registry(t, fn.New(fn.Options{ID: "onboard", Version: 1}, fn.On("test/thing"), func(ctx context.Context, _ fn.Input[json.RawMessage]) (any, error) {
		if err := step(ctx, "greet"); err != nil {
			return nil, err
		}
		if err := fn.Sleep(ctx, "wait a day", 24*time.Hour); err != nil {
			return nil, err
		}
		return nil, step(ctx, "old tip")
	}))
	var version int
	v2 := registry(t, fn.New(fn.Options{ID: "onboard", Version: 2}, fn.On("test/thing"), func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
		version = in.Version
		for _, name := range []string{"greet", "ask for a photo"} {
			if err := step(ctx, name); err != nil {
				return nil, err
			}
		}
		if err := fn.Sleep(ctx, "wait a day", 24*time.Hour); err != nil {
			return nil, err
		}
		return nil, step(ctx, "new tip")
	}))
	publish(t, tx, v1, thing(nil))
	r := runs(t, tx, "onboard")[0]
	require.Equal(t, "scheduled", string(fntest.Work(t, tx, v1, "onboard", r.ID).Job.State))
	require.Equal(t, []string{"greet"}, ran)

	_, err := tx.Exec(t.Context(), `UPDATE flow_steps SET completed_at = now() - interval '1 second' WHERE job_id = $1 AND step = 'wait a day'`, r.ID)
	require.NoError(t, err) // the day has passed
	res := fntest.Work(t, tx, v2, "onboard", r.ID)
	require.NoError(t, res.Err)
	require.Equal(t, []string{"greet", "ask for a photo", "new tip"}, ran)
	require.Equal(t, 1, version, "the run keeps the version it was enqueued under")
}

func TestFailedBatchGoesBack(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	fail := true
	var sent []string
	reg := registry(t, fn.New(fn.Options{ID: "sink", NoRetries: true, BatchEvents: &fn.BatchEvents{MaxSize: 10, Timeout: time.Hour}},
		fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
			if fail {
				return nil, errors.New("sink down")
			}
			for _, ev := range in.Events {
				sent = append(sent, ev.ID)
			}
			return nil, nil
		}))
	ids := publish(t, tx, reg, thing(map[string]any{"n": 1}), thing(map[string]any{"n": 2}))
	res := fntest.Work(t, tx, reg, "sink", runs(t, tx, "sink")[0].ID)
	require.Equal(t, "discarded", string(res.Job.State))
	got := runs(t, tx, "sink")
	require.Len(t, got, 2, "the batch's events went back, with a run of their own")

	fail = false
	require.NoError(t, fntest.Work(t, tx, reg, "sink", got[1].ID).Err)
	require.Equal(t, ids, sent, "nothing of a failed batch is lost")
}
