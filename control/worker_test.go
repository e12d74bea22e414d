package control_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// heldSignal is a slog handler that sends the job id of each "Run held"
// record to held: the signal that a worker held a run.
type heldSignal struct {
	slog.Handler
	held chan int64
}

func (h heldSignal) Enabled(context.Context, slog.Level) bool { return true }

func (h heldSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "Run held: its function is paused" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "job_id" {
				h.held <- a.Value.Int64()
			}
			return true
		})
	}
	return nil
}

// started is a handler that started: its run's River kind and context.
type started struct {
	kind string
	ctx  context.Context //nolint:containedctx // the test checks it was cancelled
}

// working is a River client working the test registry's functions on its
// own database, with a control service, and the signals of its runs.
type working struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	reg    *fn.Registry
	svc    *control.Service
	held   chan int64          // runs held (the worker's log)
	ran    chan string         // the event of each run whose handler ran
	events <-chan *river.Event // completed and cancelled runs
	block  chan struct{}       // closed: the handlers return
	runCtx chan started        // each handler, when it starts
}

func startWorking(t *testing.T, blocking bool) *working {
	t.Helper()
	ctx := t.Context()
	w := &working{
		pool: dbtest.NewPool(ctx, t), held: make(chan int64, 100), ran: make(chan string, 100),
		block: make(chan struct{}), runCtx: make(chan started, 100),
	}
	if !blocking {
		close(w.block)
	}
	w.reg = testRegistry(t, func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
		w.runCtx <- started{kind: in.Job.Kind, ctx: ctx}
		w.ran <- in.Event.ID
		select {
		case <-w.block:
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	workers := river.NewWorkers()
	require.NoError(t, w.reg.AddWorkers(workers, fn.Runtime{DB: w.pool, Logger: slog.New(heldSignal{held: w.held})}))
	client, err := river.NewClient(riverpgxv5.New(w.pool), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 5}},
		FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond, TestOnly: true,
	})
	require.NoError(t, err)
	evs, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	t.Cleanup(cancel)
	w.events, w.client = evs, client
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { _ = client.Stop(context.WithoutCancel(ctx)) })
	w.svc = control.New(w.pool, client, w.reg)
	return w
}

func (w *working) publish(t *testing.T, evs ...events.Event) {
	t.Helper()
	require.NoError(t, db.InTx(t.Context(), w.pool, func(tx pgx.Tx) error {
		_, err := outbox.New(w.client, w.reg).Publish(t.Context(), tx, evs...)
		return err
	}))
}

// nextEvent returns the next River event of kind for River kind jobKind.
func (w *working) nextEvent(t *testing.T, kind river.EventKind, jobKind string) *river.Event {
	t.Helper()
	for {
		select {
		case ev := <-w.events:
			if ev.Kind == kind && ev.Job.Kind == jobKind {
				return ev
			}
		case <-t.Context().Done():
			t.Fatalf("no %s event of %s", kind, jobKind)
		}
	}
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-t.Context().Done():
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

// TestPausedFunctionsRunsAreHeldByTheWorker: the runs of a paused function
// that a worker fetches (enqueued after the pause) hold themselves before
// their handler runs, with their attempt given back; the other function
// runs; after resume each held run runs once.
func TestPausedFunctionsRunsAreHeldByTheWorker(t *testing.T) {
	t.Parallel()
	w := startWorking(t, false)
	ctx := t.Context()
	_, err := w.svc.Pause(ctx, control.PauseRequest{Function: "test-order", By: "test"})
	require.NoError(t, err)
	w.publish(t, updated(t, orderA, "upd-1"), updated(t, orderB, "upd-2"))

	held := map[int64]bool{receive(t, w.held, "held run"): true, receive(t, w.held, "held run"): true}
	w.nextEvent(t, river.EventKindJobCompleted, "test_other")
	w.nextEvent(t, river.EventKindJobCompleted, "test_other")
	var pending int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'test_order' AND state = 'pending'
		AND attempt = 0 AND id = ANY($1)`, keys(held)).Scan(&pending))
	require.Equal(t, 2, pending, "held, with no attempt used")
	ran := map[string]int{}
	for range 2 {
		ran[receive(t, w.ran, "test-other's runs")]++
	}
	require.Equal(t, map[string]int{"upd-1": 1, "upd-2": 1}, ran, "only test-other ran")

	res, err := w.svc.Resume(ctx, control.ResumeRequest{Function: "test-order"})
	require.NoError(t, err)
	require.Equal(t, 2, res.Released)
	for range 2 {
		ev := w.nextEvent(t, river.EventKindJobCompleted, "test_order")
		require.True(t, held[ev.Job.ID])
		require.Equal(t, 1, ev.Job.Attempt, "the held run's first attempt")
	}
	ran = map[string]int{}
	for range 2 {
		ran[receive(t, w.ran, "test-order's runs")]++
	}
	require.Equal(t, map[string]int{"upd-1": 1, "upd-2": 1}, ran, "each held run ran once")
}

// TestCancelStopsARunningRun: a bulk cancel asks a running run to stop
// through River: its handler's context is cancelled and it ends cancelled.
func TestCancelStopsARunningRun(t *testing.T) {
	t.Parallel()
	w := startWorking(t, true)
	ctx := t.Context()
	w.publish(t, updated(t, orderA, "upd-1"))
	var runCtx context.Context
	for range 2 { // test-order's and test-other's
		if s := receive(t, w.runCtx, "a running run"); s.kind == "test_order" {
			runCtx = s.ctx
		}
	}

	res, err := w.svc.Cancel(ctx, control.CancelRequest{Function: "test-order", Match: "data.orderId=" + orderA}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Stopped)
	ev := w.nextEvent(t, river.EventKindJobCancelled, "test_order")
	require.Equal(t, "upd-1", eventOf(t, ev))
	require.Error(t, runCtx.Err(), "its handler's context was cancelled")
	close(w.block)
	w.nextEvent(t, river.EventKindJobCompleted, "test_other")
}

func eventOf(t *testing.T, ev *river.Event) string {
	t.Helper()
	var args struct {
		EventID string `json:"event_id"`
	}
	require.NoError(t, json.Unmarshal(ev.Job.EncodedArgs, &args))
	return args.EventID
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
