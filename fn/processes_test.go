package fn_test

import (
	"context"
	"encoding/json"
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
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// processes starts n River clients working reg's functions, each on a pool
// of its own as separate processes would be, on one new database, and
// returns a publisher and the job events of all of them.
func processes(t *testing.T, reg *fn.Registry, n int) (func(evs ...events.Event), <-chan *river.Event) {
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
		require.NoError(t, reg.AddWorkers(workers, fn.Runtime{DB: pool}))
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
	pool := dbtest.NewPoolURL(ctx, t, url)
	publish := func(evs ...events.Event) {
		t.Helper()
		require.NoError(t, db.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := outbox.New(clients[0], reg).Publish(ctx, tx, evs...)
			return err
		}))
	}
	return publish, all
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
