package fn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/fn/fntest"
)

func TestDeclarationsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		f    *fn.Function
		want string
	}{
		{"bad id", fn.New(fn.Options{ID: "Send Email"}, fn.On("test/thing"), noop), `id "Send Email"`},
		{"no trigger", fn.New(fn.Options{ID: "t"}, nil, noop), "no trigger"},
		{"too many retries", fn.New(fn.Options{ID: "t", Retries: 21}, fn.On("test/thing"), noop), "retries must be between 0 and 20"},
		{"key a catalog event lacks", fn.New(fn.Options{ID: "t", Concurrency: []fn.Concurrency{{Key: "data.shopId", Limit: 1}}},
			fn.On(events.NameUserCreated), noop), "concurrency[0].key: user/created has no field data.shopId"},
		{"nested key a catalog event lacks", fn.New(fn.Options{ID: "t", Debounce: &fn.Debounce{Key: "data.items.sku", Period: time.Second}},
			fn.On(events.NameOrderCreated), noop), "debounce.key: order/created has no field data.items.sku"},
		{"not a data path", fn.New(fn.Options{ID: "t", Idempotency: &fn.Idempotency{Key: "userId"}}, fn.On("test/thing"), noop), "idempotency.key"},
		{"cancelOn match the cancelling event lacks", fn.New(fn.Options{ID: "t", CancelOn: []fn.CancelOn{{Event: events.NameUserDeleted, Match: "data.orderId"}}},
			fn.On(events.NameOrderCreated), noop), "cancelOn[0].match: user/deleted has no field data.orderId"},
		{"cancelOns on two paths", fn.New(fn.Options{ID: "t", CancelOn: []fn.CancelOn{{Event: "test/a", Match: "data.orderId"}, {Event: "test/b", Match: "data.userId"}}},
			fn.On("test/thing"), noop), "cancelOn[1].match: a function's cancelOns match on one field path"},
		{"handler takes another payload", fn.New(fn.Options{ID: "t"}, fn.On(events.NameUserCreated),
			func(_ context.Context, _ fn.Input[events.OrderCreated]) (any, error) { return nil, nil }), "its data is events.UserCreated"},
		{"bad cron", fn.New(fn.Options{ID: "t"}, fn.OnCron("every day", "Asia/Kolkata"), noop), `cron "every day"`},
		{"bad zone", fn.New(fn.Options{ID: "t"}, fn.OnCron("0 3 * * *", "Mars/Olympus"), noop), "time zone"},
		{"rate limit without a period", fn.New(fn.Options{ID: "t", RateLimit: &fn.RateLimit{Limit: 1}}, fn.On("test/thing"), noop), "rateLimit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fn.NewRegistry(tt.f)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "function "+tt.f.ID())
		})
	}
	_, err := fn.NewRegistry(fn.New(fn.Options{ID: "t"}, fn.On("a/b"), noop), fn.New(fn.Options{ID: "t"}, fn.On("a/c"), noop))
	require.ErrorContains(t, err, "declared twice")
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t, fn.New(fn.Options{ID: "once", Idempotency: &fn.Idempotency{Key: "data.userId", TTL: time.Hour}}, fn.On("test/thing"), noop))
	a := publish(t, tx, reg, thing(map[string]any{"userId": "u1"}), thing(map[string]any{"userId": "u1"}))
	publish(t, tx, reg, thing(map[string]any{"userId": "u1"}))
	b := publish(t, tx, reg, thing(map[string]any{"userId": "u2"}))
	got := runs(t, tx, "once")
	require.Len(t, got, 2, "one run per key within the TTL")
	require.Equal(t, []string{a[0], b[0]}, []string{got[0].EventID, got[1].EventID}, "the first event of a key runs")

	_, err := tx.Exec(t.Context(), `UPDATE fn_idempotency SET expires_at = now() - interval '1 second' WHERE key = 'u1'`)
	require.NoError(t, err)
	c := publish(t, tx, reg, thing(map[string]any{"userId": "u1"}))
	got = runs(t, tx, "once")
	require.Len(t, got, 3, "once the TTL has passed, the key starts a run again")
	require.Equal(t, c[0], got[2].EventID)
}

func TestDebounce(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	var seen []string
	reg := registry(t, fn.New(fn.Options{ID: "settle", Debounce: &fn.Debounce{Key: "data.address.city", Period: time.Hour, Timeout: 2 * time.Hour}},
		fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
			seen = append(seen, in.Event.ID)
			return nil, nil
		}))
	pune := func(n int) events.Event {
		return thing(map[string]any{"n": n, "address": map[string]any{"city": "Pune"}})
	}
	publish(t, tx, reg, pune(1), pune(2))
	last := publish(t, tx, reg, pune(3))
	other := publish(t, tx, reg, thing(map[string]any{"address": map[string]any{"city": "Goa"}}))
	got := runs(t, tx, "settle")
	require.Len(t, got, 2, "one pending run per key")
	require.Equal(t, "Pune", got[0].Key)
	require.Equal(t, "scheduled", got[0].State, "the run waits out the period")

	res := fntest.Work(t, tx, reg, "settle", got[0].ID)
	require.NoError(t, res.Err)
	require.Equal(t, []string{last[0]}, seen, "the run gets the last event of the burst")
	require.Equal(t, "completed", string(res.Job.State))

	publish(t, tx, reg, pune(4))
	require.Len(t, runs(t, tx, "settle"), 3, "an event after the run took the burst starts a new run")
	_ = other
}

func TestBatchEvents(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	var batches [][]string
	reg := registry(t, fn.New(fn.Options{ID: "batch", BatchEvents: &fn.BatchEvents{MaxSize: 3, Timeout: time.Hour}},
		fn.On("test/thing"), func(_ context.Context, in fn.Input[json.RawMessage]) (any, error) {
			var ids []string
			for _, ev := range in.Events {
				ids = append(ids, ev.ID)
			}
			require.Len(t, in.Batch, len(in.Events))
			batches = append(batches, ids)
			return nil, nil
		}))
	require.Empty(t, runs(t, tx, "batch"), "no event, no run")
	var ids []string
	for i := range 4 {
		ids = append(ids, publish(t, tx, reg, thing(map[string]any{"n": i}))...)
	}
	got := runs(t, tx, "batch")
	require.Len(t, got, 1, "the first event of a batch schedules its one run")

	require.NoError(t, fntest.Work(t, tx, reg, "batch", got[0].ID).Err)
	require.Equal(t, [][]string{ids[:3]}, batches, "a run takes up to maxSize events, oldest first")
	got = runs(t, tx, "batch")
	require.Len(t, got, 2, "a full batch schedules the next run at once")
	require.NoError(t, fntest.Work(t, tx, reg, "batch", got[1].ID).Err)
	require.Equal(t, [][]string{ids[:3], ids[3:]}, batches)
	require.Len(t, runs(t, tx, "batch"), 2, "nothing left: no more runs")
}

func TestSingleton(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t,
		fn.New(fn.Options{ID: "skip", Singleton: &fn.Singleton{Key: "data.userId", Mode: fn.SingletonSkip}}, fn.On("test/thing"), noop),
		fn.New(fn.Options{ID: "cancel", Singleton: &fn.Singleton{Key: "data.userId", Mode: fn.SingletonCancel}}, fn.On("test/thing"), noop))
	first := publish(t, tx, reg, thing(map[string]any{"userId": "u1"}))
	second := publish(t, tx, reg, thing(map[string]any{"userId": "u1"}))
	publish(t, tx, reg, thing(map[string]any{"userId": "u2"}))

	skip := runs(t, tx, "skip")
	require.Len(t, skip, 2, "skip: a key's new run is dropped while one is pending")
	require.Equal(t, first[0], skip[0].EventID)

	cancel := runs(t, tx, "cancel")
	require.Len(t, cancel, 3)
	require.Equal(t, "cancelled", cancel[0].State, "cancel: the key's pending run is cancelled")
	require.Equal(t, second[0], cancel[1].EventID)
	require.Equal(t, "available", cancel[1].State)
	require.Equal(t, "available", cancel[2].State, "another key is left alone")

	require.NoError(t, fntest.Work(t, tx, reg, "skip", skip[0].ID).Err)
	publish(t, tx, reg, thing(map[string]any{"userId": "u1"}))
	require.Len(t, runs(t, tx, "skip"), 3, "once the run finished, the key runs again")
}

func TestCancelOn(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t, fn.New(fn.Options{ID: "remind", CancelOn: []fn.CancelOn{
		{Event: "test/cancelled", Match: "data.order.id", If: func(ev events.Event) bool { return fn.Field(ev, "data.really") != "false" }},
	}}, fn.On("test/placed"), noop))
	placed := func(id string) events.Event {
		return events.Event{Name: "test/placed", Data: json.RawMessage(`{"order": {"id": "` + id + `"}}`)}
	}
	cancelled := func(id, really string) events.Event {
		return events.Event{Name: "test/cancelled", Data: json.RawMessage(`{"order": {"id": "` + id + `"}, "really": ` + really + `}`)}
	}
	publish(t, tx, reg, placed("o1"), placed("o2"))
	publish(t, tx, reg, cancelled("o1", `"false"`))
	require.Equal(t, []string{"available", "available"}, states(runs(t, tx, "remind")), "if: a cancelling event it rejects cancels nothing")
	publish(t, tx, reg, cancelled("o1", "true"))
	require.Equal(t, []string{"cancelled", "available"}, states(runs(t, tx, "remind")), "the run whose trigger matches at data.order.id is cancelled")

	// Placed and cancelled in one batch: the run is inserted, then cancelled.
	publish(t, tx, reg, placed("o3"), cancelled("o3", "true"))
	require.Equal(t, "cancelled", runs(t, tx, "remind")[2].State)
}

func TestCancelOnTimeout(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t, fn.New(fn.Options{ID: "remind", CancelOn: []fn.CancelOn{{Event: "test/cancelled", Match: "data.id", Timeout: time.Hour}}},
		fn.On("test/placed"), noop))
	publish(t, tx, reg, events.Event{Name: "test/placed", Data: json.RawMessage(`{"id": "a"}`)}, events.Event{Name: "test/placed", Data: json.RawMessage(`{"id": "a"}`)})
	_, err := tx.Exec(t.Context(), `UPDATE river_job SET created_at = now() - interval '2 hours' WHERE id = (SELECT min(id) FROM river_job WHERE kind = 'remind')`)
	require.NoError(t, err)
	publish(t, tx, reg, events.Event{Name: "test/cancelled", Data: json.RawMessage(`{"id": "a"}`)})
	require.Equal(t, []string{"available", "cancelled"}, states(runs(t, tx, "remind")), "a run enqueued before the timeout is left alone")
}

func TestPriorityRetriesQueue(t *testing.T) {
	t.Parallel()
	tx := dbtest.TestTx(t.Context(), t)
	reg := registry(t,
		fn.New(fn.Options{ID: "urgent", Queue: "email", Retries: 2, Priority: func(ev events.Event) int {
			if fn.Field(ev, "data.vip") == "true" {
				return 1
			}
			return 3
		}}, fn.On("test/thing"), noop),
		fn.New(fn.Options{ID: "once", NoRetries: true}, fn.On("test/thing"), noop))
	publish(t, tx, reg, thing(map[string]any{"vip": true}), thing(map[string]any{"vip": false}))
	got := runs(t, tx, "urgent")
	require.Equal(t, []int{1, 3}, []int{got[0].Priority, got[1].Priority})
	require.Equal(t, 3, got[0].Attempts, "retries 2: three attempts")
	require.Equal(t, 1, runs(t, tx, "once")[0].Attempts)
	var queue string
	require.NoError(t, tx.QueryRow(t.Context(), `SELECT queue FROM river_job WHERE id = $1`, got[0].ID).Scan(&queue))
	require.Equal(t, "email", queue)
}

func states(rs []run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.State
	}
	return out
}
