package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/fn/fntest"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// fastRetry retries after 50 ms, so retry tests take milliseconds rather
// than River's attempt⁴ seconds.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

// testBundle is one test's database, working River client and domain
// service: for tests of the whole pipeline, where a write's runs are
// fetched and worked by River as in production.
type testBundle struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	reg    *fn.Registry
	mart   *mart.Service
	outbox *outbox.Outbox
	// finished are the jobs the client has finished.
	finished *jobWatcher
}

type bundleOpts struct {
	deps jobs.Deps
	// periodic runs the registry's periodic jobs (scheduled-cleanup).
	periodic bool
	// alerter, when set, is the failed-job alerter (its DB defaults to the
	// bundle's pool, its Router to the bundle's registry).
	alerter *jobs.FailureAlerter
	pool    *pgxpool.Pool
	// queues overrides jobs.DefaultQueueWorkers for the queues it names.
	queues map[string]int
	// stopped leaves the client stopped: the test builds a backlog, then
	// calls start.
	stopped bool
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// setup starts a River client working every function on a fresh database
// (or opts.pool), with fast fetches and retries.
func setup(t *testing.T, opts bundleOpts) *testBundle {
	t.Helper()
	ctx := t.Context()
	pool := opts.pool
	if pool == nil {
		pool = dbtest.NewPool(ctx, t)
	}
	deps := opts.deps
	if deps.DB == nil {
		deps.DB = pool
	}
	reg, err := jobs.NewRegistry(deps)
	require.NoError(t, err)
	workers := river.NewWorkers()
	require.NoError(t, jobs.AddWorkers(workers, reg, deps))
	queues := jobs.DefaultQueueWorkers()
	maps.Copy(queues, opts.queues)
	cfg := &river.Config{
		Queues:            jobs.Queues(queues, 10*time.Millisecond, 50*time.Millisecond),
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		RetryPolicy:       fastRetry{},
		Logger:            testLogger(t),
	}
	if opts.periodic {
		cfg.PeriodicJobs, err = reg.PeriodicJobs()
		require.NoError(t, err)
		cfg.TestOnly = true // no random delay before the leader's maintenance services start
	}
	b := &testBundle{pool: pool, reg: reg}
	if a := opts.alerter; a != nil {
		if a.DB == nil {
			a.DB = pool
		}
		if a.Router == nil {
			a.Router = reg
		}
		cfg.Middleware = []rivertype.Middleware{a}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	require.NoError(t, err)
	b.finished = watchJobs(t, client) // before Start, so no job finishes unseen
	if !opts.stopped {
		require.NoError(t, client.Start(ctx))
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	})
	b.client = client
	b.outbox = outbox.New(client, reg)
	b.mart = mart.NewService(pool, b.outbox)
	return b
}

// waitJobs waits until the bundle's client has finished n jobs of kind
// (completed, cancelled or discarded them) and returns those n, in the order
// they finished. It waits on the client's events, so it takes as long as
// the jobs do and no longer.
func (b *testBundle) waitJobs(t *testing.T, kind string, n int) []*rivertype.JobRow {
	t.Helper()
	return b.finished.wait(t, kind, n)
}

// waitUntil waits until done holds, checking it again each time the
// bundle's client finishes a job of kind: for what a number of runs not
// known in advance brings about (the batches of track-analytics).
func (b *testBundle) waitUntil(t *testing.T, kind string, done func() bool) {
	t.Helper()
	for {
		n := b.finished.count(kind) // before done(): a job finishing meanwhile is not missed
		if done() {
			return
		}
		b.finished.wait(t, kind, n+1)
	}
}

// jobWatcher records the jobs a River client finishes, as the client
// reports them through Subscribe.
type jobWatcher struct {
	mu   sync.Mutex
	done map[string][]*rivertype.JobRow // by kind, in the order they finished
	// changed is closed, and replaced, when a job finishes.
	changed chan struct{}
}

// watchJobs subscribes to client's finished jobs until the test ends.
func watchJobs(t *testing.T, client *river.Client[pgx.Tx]) *jobWatcher {
	w := &jobWatcher{done: make(map[string][]*rivertype.JobRow), changed: make(chan struct{})}
	w.watch(t, client)
	return w
}

// watch adds client's finished jobs to w's until the test ends: one watcher
// for several clients (processes).
func (w *jobWatcher) watch(t *testing.T, client *river.Client[pgx.Tx]) {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	t.Cleanup(cancel) // closes events, which ends the goroutine
	go func() {
		for ev := range events {
			if ev.Kind == river.EventKindJobFailed && ev.Job.State != rivertype.JobStateDiscarded {
				continue // retryable: it has yet to finish
			}
			w.mu.Lock()
			w.done[ev.Job.Kind] = append(w.done[ev.Job.Kind], ev.Job)
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
	}()
}

// count is how many jobs of kind have finished so far.
func (w *jobWatcher) count(kind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.done[kind])
}

// wait returns the first n jobs of kind to finish, once they have. A wait
// that outlasts the test binary's -timeout fails the test, naming what it
// waited for, just before the binary would panic.
func (w *jobWatcher) wait(t *testing.T, kind string, n int) []*rivertype.JobRow {
	t.Helper()
	var expired <-chan time.Time
	if deadline, ok := t.Deadline(); ok {
		timer := time.NewTimer(time.Until(deadline) - 5*time.Second)
		defer timer.Stop()
		expired = timer.C
	}
	for {
		w.mu.Lock()
		done, changed := w.done[kind], w.changed
		w.mu.Unlock()
		if len(done) >= n {
			return done[:n:n]
		}
		select {
		case <-changed:
		case <-expired:
			t.Fatalf("waited for %d %s jobs to finish; %d did", n, kind, len(done))
		}
	}
}

// txBundle is one test's transaction, rolled back when the test ends, the
// function registry with the test's deps on it, and the domain service
// writing in it: for tests of one function at a time. The runs a write
// inserts stay in the transaction, unworked, until the test works them with
// package fntest (run, work).
type txBundle struct {
	tx     pgx.Tx
	client *river.Client[pgx.Tx] // inserts only
	reg    *fn.Registry
	mart   *mart.Service
	outbox *outbox.Outbox
}

// setupTx begins the test's transaction and builds the registry from deps
// with deps.DB the transaction (the functions' own transactions are
// savepoints in it).
func setupTx(t *testing.T, deps jobs.Deps) *txBundle {
	t.Helper()
	tx := dbtest.TestTx(t.Context(), t)
	deps.DB = tx
	reg, err := jobs.NewRegistry(deps)
	require.NoError(t, err)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	ob := outbox.New(client, reg)
	return &txBundle{tx: tx, client: client, reg: reg, mart: mart.NewService(tx, ob), outbox: ob}
}

// run publishes ev in the test's transaction and works the run of function
// id that it starts, once (fntest.Run).
func (b *txBundle) run(t *testing.T, id string, ev events.Event, opts ...fntest.Option) *fntest.Result {
	t.Helper()
	return fntest.Run(t, b.tx, b.reg, id, ev, opts...)
}

// work works run jobID of function id once more (fntest.Work): a run a
// write inserted, a retry, or the run after a snooze.
func (b *txBundle) work(t *testing.T, id string, jobID int64, opts ...fntest.Option) *fntest.Result {
	t.Helper()
	return fntest.Work(t, b.tx, b.reg, id, jobID, opts...)
}

// requireState checks the state res left its run in.
func requireState(t *testing.T, res *fntest.Result, state rivertype.JobState) {
	t.Helper()
	require.NotNil(t, res.Job, "the run was not worked: %v", res.Err)
	require.Equal(t, state, res.Job.State, "run error: %v", res.Err)
}

// requireSnoozed checks that res's run was snoozed (a wait that uses no
// attempt) until wait after the attempt that ran between before and after.
func requireSnoozed(t *testing.T, res *fntest.Result, before, after time.Time, wait time.Duration) {
	t.Helper()
	requireWaiting(t, res)
	require.WithinRange(t, res.Job.ScheduledAt, before.Add(wait).Truncate(time.Microsecond), after.Add(wait), "snoozed for Retry-After")
}

// requireWaiting checks that res's run was snoozed: River counts the snooze
// in its metadata and schedules the run for later, in state scheduled (or
// available, with its scheduled time ahead, for a short snooze).
func requireWaiting(t *testing.T, res *fntest.Result) {
	t.Helper()
	require.NotNil(t, res.Job, "the run was not worked: %v", res.Err)
	require.Contains(t, []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled}, res.Job.State, "run error: %v", res.Err)
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	require.NoError(t, json.Unmarshal(res.Job.Metadata, &meta))
	require.Positive(t, meta.Snoozes, "snoozed")
	require.True(t, res.Job.ScheduledAt.After(time.Now().Add(-time.Second)), "scheduled at %s", res.Job.ScheduledAt)
}

// requireRetried checks that res's attempt failed with an error and its
// run will be retried (retryable; or available at once, with its time
// ahead, for a short backoff).
func requireRetried(t *testing.T, res *fntest.Result) {
	t.Helper()
	require.Error(t, res.Err)
	require.NotNil(t, res.Job)
	require.Contains(t, []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRetryable}, res.Job.State)
	require.NotEmpty(t, res.Job.Errors)
	require.Equal(t, res.Job.Attempt, res.Job.Errors[len(res.Job.Errors)-1].Attempt, "the error of this attempt")
}

// pendingRuns returns the runs of kind in tx not worked yet (available, or
// scheduled for later: a batch, a debounce).
func pendingRuns(t *testing.T, b *txBundle, kind string) []*rivertype.JobRow {
	t.Helper()
	res, err := b.client.JobListTx(t.Context(), b.tx, river.NewJobListParams().Kinds(kind).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled).OrderBy(river.JobListOrderByID, river.SortOrderAsc))
	require.NoError(t, err)
	return res.Jobs
}

// pendingRun returns the one run of kind in tx not worked yet (the run a
// write inserted).
func pendingRun(t *testing.T, b *txBundle, kind string) *rivertype.JobRow {
	t.Helper()
	runs := pendingRuns(t, b, kind)
	require.Len(t, runs, 1, "pending %s runs", kind)
	return runs[0]
}

// publish publishes payloads in tx and returns the events' ids.
func (b *txBundle) publish(t *testing.T, payloads ...events.Payload) []string {
	t.Helper()
	ids, err := b.outbox.Publish(t.Context(), b.tx, newEvents(t, payloads...)...)
	require.NoError(t, err)
	return ids
}

func newEvents(t *testing.T, payloads ...events.Payload) []events.Event {
	t.Helper()
	evs := make([]events.Event, len(payloads))
	for i, p := range payloads {
		evs[i] = event(t, p)
	}
	return evs
}

// event is p's event with an id of its own, so a test knows it before
// publishing (fntest.Run publishes the event it is given).
func event(t *testing.T, p events.Payload) events.Event {
	t.Helper()
	ev, err := events.New(p)
	require.NoError(t, err)
	ev.ID = ulid.Make().String()
	return ev
}

// handRun is a run of a function inserted by hand, with its args as River
// stores them (fn.Args's JSON: "event_id", "period", ...), for a test that
// chooses its insert options (one attempt, say) or runs a scheduled
// function without waiting for its schedule.
type handRun struct {
	kind string
	args string
}

// Kind is the function's River kind.
func (r handRun) Kind() string { return r.kind }

// MarshalJSON returns the args as given.
func (r handRun) MarshalJSON() ([]byte, error) { return []byte(r.args), nil }

// runOf is the hand-inserted run of the function of kind for event eventID.
func runOf(kind, eventID string) handRun {
	return handRun{kind: kind, args: fmt.Sprintf(`{"event_id": %q, "v": 1}`, eventID)}
}

// runFor is the hand-inserted run of the scheduled function of kind for
// the period that starts at period.
func runFor(kind string, period time.Time) handRun {
	return handRun{kind: kind, args: fmt.Sprintf(`{"period": %q, "v": 1}`, period.UTC().Format(time.RFC3339Nano))}
}

// jobRow is what tests check of a river_job row.
type jobRow struct {
	ID      int64
	State   string
	Attempt int
	Errors  []rivertype.AttemptError
}

func listJobs(t *testing.T, q db.DBTX, kind string) []jobRow {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT id, state, attempt, errors FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	require.NoError(t, err)
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var r jobRow
		var errs [][]byte
		require.NoError(t, rows.Scan(&r.ID, &r.State, &r.Attempt, &errs))
		for _, e := range errs {
			var ae rivertype.AttemptError
			require.NoError(t, json.Unmarshal(e, &ae))
			r.Errors = append(r.Errors, ae)
		}
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// delivery is what tests check of a deliveries row.
type delivery struct {
	Channel, Recipient, Subject, Body, Provider, ProviderMessageID, Status, Key string
}

func listDeliveries(t *testing.T, q db.DBTX) []delivery {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT channel, recipient, subject, body, provider, provider_message_id, status, idempotency_key FROM deliveries ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		require.NoError(t, rows.Scan(&d.Channel, &d.Recipient, &d.Subject, &d.Body, &d.Provider, &d.ProviderMessageID, &d.Status, &d.Key))
		out = append(out, d)
	}
	require.NoError(t, rows.Err())
	return out
}

func eventIDOf(t *testing.T, q db.DBTX, name string) string {
	t.Helper()
	var id string
	require.NoError(t, q.QueryRow(t.Context(), `SELECT id FROM events WHERE name = $1 ORDER BY received_at DESC LIMIT 1`, name).Scan(&id))
	return id
}

// newFakeResend starts a fake Resend (API key re_test) that records its
// requests and answers them with script's answers in turn (then OK), with
// Retry-After: 2 on a 429.
func newFakeResend(t *testing.T, script ...providerfake.Answer) *providerfake.Resend {
	t.Helper()
	return closed(t, providerfake.NewResend(providerfake.Options{Key: "re_test", Script: providerfake.Sequence(script...), Record: true, RetryAfter: 2 * time.Second}))
}

// closed closes f when the test ends.
func closed[F interface{ Close() }](t *testing.T, f F) F {
	t.Helper()
	t.Cleanup(f.Close)
	return f
}

func contains(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		require.True(t, strings.Contains(s, p), "%q does not contain %q", s, p)
	}
}

func dbtestPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return dbtest.NewPool(t.Context(), t)
}
