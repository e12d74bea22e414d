package fn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/internal/groupcommit"
	"github.com/mohallamart/backend/limit"
	"github.com/mohallamart/backend/outbox"
)

// Runtime is what the workers of a Registry need.
type Runtime struct {
	// DB is the database of the jobs and the application. Required.
	DB db.DB
	// Logger receives the runs dropped by a rateLimit; nil discards.
	Logger *slog.Logger
	// MaxTimeout, when positive, caps every function's attempt timeout (a
	// test setting: River's rescuer then retries the runs of a killed
	// process sooner).
	MaxTimeout time.Duration
	// Aliases maps a function id to older River kinds its worker also
	// works (runs enqueued before a rename).
	Aliases map[string][]string
	// Dropped, when set, counts each run a rateLimit dropped, by function
	// id (a metric); the run is logged either way.
	Dropped func(function string)
	// PublishersWait, when positive, replaces flow.PublishersInFlightWait
	// as the bound on a batch's run's wait for its publishers in flight (a
	// test setting).
	PublishersWait time.Duration
}

// AddWorkers registers a worker for every function (and one for the
// onFailure runs of each function that declares it).
func (r *Registry) AddWorkers(workers *river.Workers, rt Runtime) error {
	if rt.DB == nil {
		return errors.New("fn: Runtime.DB is required")
	}
	x := r.executor(rt)
	for _, f := range r.fns {
		args := Args{kind: f.Kind(), aliases: rt.Aliases[f.ID()]}
		if err := addWorker(workers, args, &worker{x: x, f: f}); err != nil {
			return err
		}
		if f.opts.OnFailure != nil {
			if err := addWorker(workers, Args{kind: failureKind(f)}, &failureWorker{x: x, f: f}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Worker returns the worker of the River kind kind (a function's runs, or
// its onFailure runs) with rt, as AddWorkers registers it: for package
// fntest, which works one run in a test's transaction. It is nil for a kind
// no function has.
func (r *Registry) Worker(kind string, rt Runtime) river.Worker[Args] {
	x := r.executor(rt)
	for _, f := range r.fns {
		switch kind {
		case f.Kind():
			return &worker{x: x, f: f}
		case failureKind(f):
			if f.opts.OnFailure != nil {
				return &failureWorker{x: x, f: f}
			}
		}
	}
	return nil
}

// observerKey is the context key of WithObserver's function.
type observerKey struct{}

// WithObserver returns ctx with observe, which the worker calls with the
// handler's result and error when a run's handler returns: how package
// fntest sees a run's result without storing it.
func WithObserver(ctx context.Context, observe func(result any, err error)) context.Context {
	return context.WithValue(ctx, observerKey{}, observe)
}

func addWorker(workers *river.Workers, args Args, w river.Worker[Args]) (err error) {
	defer func() {
		if p := recover(); p != nil { // AddWorkerArgs panics on a kind registered twice
			err = fmt.Errorf("fn: register %s: %v", args.Kind(), p)
		}
	}()
	river.AddWorkerArgs(workers, args, w)
	return nil
}

func failureKind(f *Function) string { return f.Kind() + "_on_failure" }

// executor returns the executor of r's functions with rt (a discarding
// logger when it has none).
func (r *Registry) executor(rt Runtime) *executor {
	if rt.Logger == nil {
		rt.Logger = slog.New(slog.DiscardHandler)
	}
	x := &executor{reg: r, rt: rt, limiter: limit.New(rt.DB, rt.Logger)}
	x.runEvents = groupcommit.NewReads(runEventsBatch, x.readRunEvents)
	return x
}

// executor runs the functions of a registry.
type executor struct {
	reg     *Registry
	rt      Runtime
	limiter *limit.Limiter
	// runEvents reads what runs with a trigger event start with; the reads
	// of runs that start while one is being read go together as the next
	// statement (a group read: one statement for the runs a fetch hands
	// out at once, instead of one each).
	runEvents *groupcommit.Batcher[runEventReq, *db.FnRunEventsRow]
}

// runEventsBatch bounds how many runs' reads one statement makes.
const runEventsBatch = 64

// runEventReq is the start of run jobID of function fn, with trigger event
// eventID.
type runEventReq struct {
	jobID   int64
	fn      string
	eventID string
}

// readRunEvents reads reqs' events, recorded steps and paused flags in one
// statement (FnRunEvents), in reqs' order: nil for a run whose event is not
// stored.
func (x *executor) readRunEvents(ctx context.Context, reqs []runEventReq) ([]*db.FnRunEventsRow, error) {
	var p db.FnRunEventsParams
	for _, r := range reqs {
		p.JobIds = append(p.JobIds, r.jobID)
		p.Fns = append(p.Fns, r.fn)
		p.EventIds = append(p.EventIds, r.eventID)
	}
	rows, err := db.New(x.rt.DB).FnRunEvents(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("load the events of %d runs: %w", len(reqs), err)
	}
	return groupcommit.ByPlace(len(reqs), rows, func(r *db.FnRunEventsRow) int64 { return r.Ord })
}

type execKey struct{}

// execState is the run in a handler's context.
type execState struct {
	job     *rivertype.JobRow
	trigger events.Event
}

type execRef struct {
	x     *executor
	state *execState
}

// current returns the executor and the run of the handler's ctx.
func current(ctx context.Context) (*executor, *execState, error) {
	e, ok := ctx.Value(execKey{}).(execRef)
	if !ok {
		return nil, nil, errors.New("fn: no run in the context: call steps from a function's handler")
	}
	return e.x, e.state, nil
}

// worker works the runs of one function.
type worker struct {
	river.WorkerDefaults[Args]

	x *executor
	f *Function
}

// Timeout is the function's attempt timeout (Timeouts.Attempt), capped by
// Runtime.MaxTimeout.
func (w *worker) Timeout(*river.Job[Args]) time.Duration {
	t := w.f.timeout()
	if m := w.x.rt.MaxTimeout; m > 0 && m < t {
		return m
	}
	return t
}

// NextRetry is the function's Backoff, if it declares one.
func (w *worker) NextRetry(job *river.Job[Args]) time.Time {
	if w.f.opts.Backoff == nil {
		return time.Time{}
	}
	return time.Now().Add(w.f.opts.Backoff(job.Attempt))
}

// Work runs the function's handler for the run, with its options, as steps
// of package flow. When the run fails for good it enqueues the function's
// onFailure run; an invoked run publishes its result (or error) for the
// run that invoked it.
func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	state := &execState{job: job.JobRow}
	ctx = context.WithValue(ctx, execKey{}, execRef{x: w.x, state: state})
	var (
		invocation string
		result     any
		batch      []string // the events a batch run took
	)
	err := flow.Do(ctx, w.x.rt.DB, job.JobRow, func(ctx context.Context) error {
		in, err := w.x.input(ctx, w.f, job)
		batch = in.taken
		if err != nil || in.held || in.events == nil && in.scheduledFor.IsZero() {
			return err // nil: held (its function is paused), or nothing to do (a debounce or batch another run took)
		}
		if len(in.events) > 0 && in.events[0].Name == InvokedEvent {
			invocation = in.events[0].ID
			in.events[0] = invokedData(in.events[0])
		}
		if len(in.events) > 0 {
			state.trigger = in.events[0]
		}
		return w.x.runWithOptions(ctx, w.f, job, in, func(ctx context.Context) error {
			result, err = w.f.run(ctx, in)
			if observe, ok := ctx.Value(observerKey{}).(func(any, error)); ok {
				observe(result, err)
			}
			return err
		})
	})
	final := err != nil && isFinal(job.JobRow, err)
	var after []error // what the run's end must do, each tried even if one before failed
	var cancel *rivertype.JobCancelError
	switch {
	case w.f.opts.BatchEvents == nil || !final:
		// A run that ends otherwise (an operator's cancel, say) leaves its
		// recorded take to the trigger that sees it end (fn_batch_run_ended).
	case errors.As(err, &cancel):
		// The handler refused the batch for good: its take is dropped, so
		// that the run's end does not hand it back.
		after = append(after, w.x.dropTake(ctx, job.ID))
	default:
		// A batch whose last attempt failed goes back to wait for the next
		// run, so a sink that is down for longer than the retries loses
		// nothing.
		after = append(after, w.x.handBack(ctx, w.f, job.JobRow, job.Args.Key, batch))
	}
	if invocation != "" && (err == nil || final) {
		after = append(after, w.x.finished(ctx, job.JobRow, invocation, result, err))
	}
	if final && w.f.opts.OnFailure != nil {
		after = append(after, w.x.enqueueFailure(ctx, w.f, job, err))
	}
	if ferr := errors.Join(after...); ferr != nil {
		return errors.Join(err, ferr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", w.f.ID(), err)
	}
	return nil
}

// isFinal reports whether err ends the run for good: a cancellation, or a
// failure of its last attempt (not a snooze, which is a wait).
func isFinal(job *rivertype.JobRow, err error) bool {
	var (
		cancel *rivertype.JobCancelError
		snooze *rivertype.JobSnoozeError
	)
	switch {
	case errors.As(err, &cancel):
		return true
	case errors.As(err, &snooze):
		return false
	}
	return job.Attempt >= job.MaxAttempts
}

// batchStep is the step in which a batch run takes its events.
const batchStep = "$batch"

// input loads the events of a run: its trigger event, or the events a
// debounce or batch run takes (a step, so a retry has the same ones).
func (x *executor) input(ctx context.Context, f *Function, job *river.Job[Args]) (rawInput, error) {
	in := rawInput{job: job.JobRow, version: job.Args.V}
	if in.version == 0 {
		in.version = 1
	}
	if job.Args.Period != nil {
		in.scheduledFor = *job.Args.Period
	}
	var ids []string
	if job.Args.EventID != "" {
		// One read, shared with the runs starting at the same time: the
		// event, the steps earlier runs recorded, and whether the function
		// is paused.
		row, err := x.runEvents.Do(ctx, runEventReq{jobID: job.ID, fn: f.ID(), eventID: job.Args.EventID})
		if err != nil {
			return in, fmt.Errorf("load event: %w", err)
		}
		if row == nil {
			return in, river.JobCancel(fmt.Errorf("event %s not found", job.Args.EventID))
		}
		if in.held, err = x.start(ctx, f, job.JobRow, row.Steps, row.Paused); in.held || err != nil {
			return in, err
		}
		in.events = []events.Event{{ID: row.ID, Name: row.Name, Data: row.Data, TS: row.Ts, Source: row.Source}}
		return in, nil
	}
	// A run without an event reads its recorded steps (which its first step
	// would) and whether the function is paused, in one read.
	row, err := db.New(x.rt.DB).FnRunStart(ctx, db.FnRunStartParams{JobID: job.ID, Fn: f.ID()})
	if err != nil {
		return in, fmt.Errorf("load steps: %w", err)
	}
	if in.held, err = x.start(ctx, f, job.JobRow, row.Steps, row.Paused); in.held || err != nil {
		return in, err
	}
	switch {
	case f.opts.Debounce != nil:
		id, err := flow.RunTx(ctx, "$debounce", func(ctx context.Context, tx pgx.Tx) (string, error) {
			row, err := db.New(tx).FnDebounceTake(ctx, db.FnDebounceTakeParams{Fn: f.ID(), Key: job.Args.Key})
			if err != nil {
				return "", fmt.Errorf("take debounced event: %w", err)
			}
			if row.EventID == "" && row.WaitMs >= 0 {
				return "", river.JobSnooze(time.Duration(row.WaitMs) * time.Millisecond)
			}
			return row.EventID, nil
		})
		if err != nil || id == "" {
			return in, err
		}
		ids = []string{id}
	case f.opts.BatchEvents != nil:
		var err error
		ids, err = flow.RunTx(ctx, batchStep, func(ctx context.Context, tx pgx.Tx) ([]string, error) {
			settled, err := x.closeBatch(ctx, tx, f, job.Args.Key)
			if err != nil {
				return nil, err
			}
			return x.takeBatch(ctx, tx, f, job.Args.Key, !settled)
		})
		if err != nil {
			// The batch may be closed (its mark removed, committed) with
			// its events still there: mark it again, with a run, so that
			// they wait for no new event even if this run fails for good.
			return in, errors.Join(err, x.reopenBatch(ctx, f, job.Args.Key))
		}
		if len(ids) == 0 {
			return in, nil
		}
		in.taken = ids
	default: // a scheduled run, which has no event
		return in, nil
	}
	rows, err := db.New(x.rt.DB).FnEventsGet(ctx, ids)
	if err != nil {
		return in, fmt.Errorf("load events: %w", err)
	}
	byID := make(map[string]*db.Event, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	for _, id := range ids {
		if r := byID[id]; r != nil { // an event past retention is gone
			in.events = append(in.events, events.Event{ID: r.ID, Name: r.Name, Data: r.Data, TS: r.Ts, Source: r.Source})
		}
	}
	if len(in.events) == 0 {
		return in, river.JobCancel(fmt.Errorf("events %v not found", ids))
	}
	return in, nil
}

// start gives the run in ctx the steps its job recorded (steps: JSON, as
// FnRunEvents and FnRunStart read them) and, when its function is paused,
// holds it (hold), reporting whether it did.
func (x *executor) start(ctx context.Context, f *Function, job *rivertype.JobRow, raw json.RawMessage, paused bool) (bool, error) {
	var steps []*db.FlowStepListRow
	if err := json.Unmarshal(raw, &steps); err != nil {
		return false, fmt.Errorf("load steps: %w", err)
	}
	flow.Preload(ctx, steps)
	if !paused {
		return false, nil
	}
	return x.hold(ctx, f, job)
}

// hold holds a run of f, whose function is paused, before it runs any
// of its code: its job goes to River's pending state until the function
// is resumed (see package control). False when the function was resumed
// meanwhile: the run goes on.
func (x *executor) hold(ctx context.Context, f *Function, job *rivertype.JobRow) (bool, error) {
	n, err := db.New(x.rt.DB).FnRunHold(ctx, db.FnRunHoldParams{Fn: f.ID(), JobID: job.ID})
	if err != nil {
		return false, fmt.Errorf("hold run of paused function: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	x.rt.Logger.InfoContext(ctx, "Run held: its function is paused", slog.String("function", f.ID()), slog.Int64("job_id", job.ID))
	return true, nil
}

// handBack leaves the batch of a run that failed for good (job) able to
// run again, in one transaction. The events the run took go back to the
// batch, with a run if it has none: those in hand (taken), or, when the
// last attempt failed before it replayed its $batch step, those an earlier
// attempt's step recorded. A run that took none may have failed before it
// closed its batch, whose mark then counts on it, or after a close whose
// reopen failed: the batch gets a run unless another is live.
func (x *executor) handBack(ctx context.Context, f *Function, job *rivertype.JobRow, key string, taken []string) error {
	var done func() // logs what was done, once committed
	err := x.inTx(ctx, func(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error {
		q := db.New(tx)
		if taken == nil {
			var err error
			if taken, err = recordedTake(ctx, q, job.ID); err != nil {
				return err
			}
		}
		if taken == nil {
			needsRun, err := q.FnBatchRescue(ctx, db.FnBatchRescueParams{Fn: f.ID(), Key: key, JobID: job.ID})
			if err != nil || !needsRun {
				return err
			}
			done = func() {
				x.rt.Logger.WarnContext(ctx, "Batch run failed for good before it took its events: its batch has a run again",
					slog.String("function", f.ID()), slog.Int64("job_id", job.ID))
			}
			return x.scheduleBatch(ctx, tx, client, f, key, time.Now().Add(f.opts.BatchEvents.Timeout), true)
		}
		if len(taken) == 0 {
			return nil
		}
		if err := q.FlowStepDelete(ctx, db.FlowStepDeleteParams{JobID: job.ID, Step: batchStep}); err != nil {
			return err
		}
		p := db.FnBatchAddParams{EventIds: taken}
		for range taken {
			p.Functions, p.Keys = append(p.Functions, f.ID()), append(p.Keys, key)
		}
		rows, err := q.FnBatchAdd(ctx, p)
		if err != nil {
			return err
		}
		done = func() {
			x.rt.Logger.WarnContext(ctx, "Failed batch put back to wait for the next run",
				slog.String("function", f.ID()), slog.Int("events", len(taken)))
		}
		if !slices.ContainsFunc(rows, func(r *db.FnBatchAddRow) bool { return r.Marked }) {
			return nil
		}
		return x.scheduleBatch(ctx, tx, client, f, key, time.Now().Add(f.opts.BatchEvents.Timeout), true)
	})
	if err != nil {
		return fmt.Errorf("hand back batch: %w", err)
	}
	if done != nil {
		done()
	}
	return nil
}

// dropTake forgets the events a batch run (job) took, once its handler
// cancelled it: the trigger that sees the run end hands back a take it
// finds recorded.
func (x *executor) dropTake(ctx context.Context, jobID int64) error {
	err := x.inTx(ctx, func(ctx context.Context, tx pgx.Tx, _ *river.Client[pgx.Tx]) error {
		return db.New(tx).FlowStepDelete(ctx, db.FlowStepDeleteParams{JobID: jobID, Step: batchStep})
	})
	if err != nil {
		return fmt.Errorf("drop cancelled batch: %w", err)
	}
	return nil
}

// recordedTake reads the events job's $batch step recorded, nil if it
// recorded none.
func recordedTake(ctx context.Context, q *db.Queries, jobID int64) ([]string, error) {
	steps, err := q.FlowStepList(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("read recorded take: %w", err)
	}
	for _, s := range steps {
		if s.Step != batchStep {
			continue
		}
		ids := []string{}
		if err := json.Unmarshal(s.Output, &ids); err != nil {
			return nil, fmt.Errorf("read recorded take: %w", err)
		}
		return ids, nil
	}
	return nil, nil
}

// reopenBatch marks a batch that has events and no mark, and schedules its
// run, due when a new batch would be, in one transaction: after a take
// that failed once the batch was closed. It runs even when the run's
// context is done (the attempt timed out, say), bounded on its own.
func (x *executor) reopenBatch(ctx context.Context, f *Function, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reopenTimeout)
	defer cancel()
	err := x.inTx(ctx, func(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error {
		reopened, err := db.New(tx).FnBatchReopen(ctx, db.FnBatchReopenParams{Fn: f.ID(), Key: key, IfWaiting: true})
		if err != nil || !reopened {
			return err
		}
		return x.scheduleBatch(ctx, tx, client, f, key, time.Now().Add(f.opts.BatchEvents.Timeout), true)
	})
	if err != nil {
		return fmt.Errorf("reopen batch: %w", err)
	}
	return nil
}

// reopenTimeout bounds reopenBatch.
const reopenTimeout = 10 * time.Second

// closeBatch removes a batch's mark, committed at once on a connection of
// its own, so that the next event schedules a new run, then waits (in tx,
// which has locked nothing yet) for the publishers in flight: one that
// found the mark before it was removed scheduled no run and counts on this
// one, which must see its events. It reports whether they all ended within
// flow.PublishersInFlightWait (or Runtime.PublishersWait).
func (x *executor) closeBatch(ctx context.Context, tx pgx.Tx, f *Function, key string) (bool, error) {
	if err := db.New(x.rt.DB).FnBatchClose(ctx, db.FnBatchCloseParams{Fn: f.ID(), Key: key}); err != nil {
		return false, fmt.Errorf("close batch: %w", err)
	}
	wait := flow.PublishersInFlightWait
	if x.rt.PublishersWait > 0 {
		wait = x.rt.PublishersWait
	}
	settled, err := db.New(tx).FnBatchWaitForPublishers(ctx, wait.Seconds())
	if err != nil {
		return false, fmt.Errorf("wait for the batch's publishers in flight: %w", err)
	}
	return settled, nil
}

// takeBatch takes up to MaxSize events of a batch in tx. When it took a
// full batch, more may wait: it schedules the next run at once (even if a
// publisher has marked the batch since it was closed, with a run due
// later). When its publishers in flight had not all ended (unsettled),
// some may still commit events that counted on this run: it marks the
// batch again, with a run due when a new batch would be, unless a
// publisher has done so.
func (x *executor) takeBatch(ctx context.Context, tx pgx.Tx, f *Function, key string, unsettled bool) ([]string, error) {
	q := db.New(tx)
	ids, err := q.FnBatchTake(ctx, db.FnBatchTakeParams{Fn: f.ID(), Key: key, MaxSize: int32(f.opts.BatchEvents.MaxSize)}) //nolint:gosec // a batch size fits
	if err != nil {
		return nil, fmt.Errorf("take batch: %w", err)
	}
	full := len(ids) >= f.opts.BatchEvents.MaxSize
	if !full && !unsettled {
		return ids, nil
	}
	reopened, err := q.FnBatchReopen(ctx, db.FnBatchReopenParams{Fn: f.ID(), Key: key})
	if err != nil {
		return nil, err
	}
	if !full && !reopened {
		return ids, nil
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return nil, fmt.Errorf("schedule next batch: %w", err)
	}
	at := time.Now()
	if !full {
		at = at.Add(f.opts.BatchEvents.Timeout)
	}
	if err := x.scheduleBatch(ctx, tx, client, f, key, at, reopened); err != nil {
		return nil, err
	}
	return ids, nil
}

// scheduleBatch inserts the run of f's batch key, due at, in tx: available
// with its time ahead, as a publisher inserts a batch's run (see
// FnBatchRunsScheduled), not scheduled for River's scheduler's next round.
// own: the caller marked the batch for this run, whose mark names it.
func (x *executor) scheduleBatch(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], f *Function, key string, at time.Time, own bool) error {
	args, opts := f.keyedRun(key, at)
	res, err := client.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return fmt.Errorf("schedule next batch: %w", err)
	}
	if !own && res.Job.State != rivertype.JobStateScheduled {
		return nil // available already, and the mark is another run's
	}
	err = db.New(tx).FnBatchRunsScheduled(ctx, db.FnBatchRunsScheduledParams{Own: own, IDs: []int64{res.Job.ID}, Functions: []string{f.ID()}, Keys: []string{key}})
	if err != nil {
		return fmt.Errorf("schedule next batch: %w", err)
	}
	return nil
}

// runWithOptions runs fn under f's run-time options: the start and finish
// timeouts, rateLimit, throttle and concurrency.
func (x *executor) runWithOptions(ctx context.Context, f *Function, job *river.Job[Args], in rawInput, fn func(ctx context.Context) error) error {
	o := f.opts
	ev := events.Event{}
	if len(in.events) > 0 {
		ev = in.events[0]
	}
	// Whether an earlier run began the function costs a query: asked only
	// by the options that need it.
	started := false
	if o.Timeouts.Start > 0 || o.Throttle != nil {
		var err error
		if started, err = flow.Started(ctx); err != nil {
			return err
		}
	}
	if o.Timeouts.Start > 0 && !started && time.Since(job.CreatedAt) > o.Timeouts.Start {
		return river.JobCancel(fmt.Errorf("not started within %s (timeouts.start)", o.Timeouts.Start))
	}
	if o.Timeouts.Finish > 0 {
		start, err := flow.Run(ctx, "$start", func(context.Context) (time.Time, error) { return time.Now(), nil })
		if err != nil {
			return err
		}
		deadline := start.Add(o.Timeouts.Finish)
		if !time.Now().Before(deadline) {
			return river.JobCancel(fmt.Errorf("not finished within %s (timeouts.finish)", o.Timeouts.Finish))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if rl := o.RateLimit; rl != nil && (rl.If == nil || rl.If(ev)) {
		allowed, err := flow.Run(ctx, "$rateLimit", func(ctx context.Context) (bool, error) {
			slot, err := x.limiter.Acquire(ctx, limit.Rule{
				Key: f.ID() + "/rateLimit/" + keyOf(ev, rl.Key), Rate: rl.Limit, Per: rl.Period, Lease: time.Millisecond,
			}, job.ID)
			if limit.IsFull(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			return true, slot.Release(ctx)
		})
		if err != nil {
			return err
		}
		if !allowed {
			x.rt.Logger.WarnContext(ctx, "Run dropped by rateLimit", slog.String("function", f.ID()),
				slog.Int64("job_id", job.ID), slog.String("key", keyOf(ev, rl.Key)),
				slog.Int("limit", rl.Limit), slog.Duration("period", rl.Period))
			if x.rt.Dropped != nil {
				x.rt.Dropped(f.ID())
			}
			return nil
		}
	}
	var rules []limit.Rule
	lease := x.leaseOf(f)
	if t := o.Throttle; t != nil && !started {
		rules = append(rules, limit.Rule{Key: f.ID() + "/throttle/" + keyOf(ev, t.Key), Rate: t.Limit, Per: t.Period, Lease: lease})
	}
	for i, c := range o.Concurrency {
		rules = append(rules, limit.Rule{Key: fmt.Sprintf("%s/concurrency/%d/%s", f.ID(), i, keyOf(ev, c.Key)), Concurrency: c.Limit, Lease: lease})
	}
	return x.inSlots(ctx, job.ID, rules, fn)
}

// leaseOf is how long a slot of f's runs counts if its holder dies: its
// attempt timeout and a margin.
func (x *executor) leaseOf(f *Function) time.Duration {
	return f.timeout() + 10*time.Second
}

// inSlots runs fn holding a slot under each rule, or returns the
// *limit.FullError (a snooze: the run waits) of the first without capacity.
func (x *executor) inSlots(ctx context.Context, jobID int64, rules []limit.Rule, fn func(ctx context.Context) error) error {
	if len(rules) == 0 {
		return fn(ctx)
	}
	return x.limiter.Do(ctx, rules[0], jobID, func(ctx context.Context) error {
		return x.inSlots(ctx, jobID, rules[1:], fn)
	})
}

// invokedData is an InvokedEvent with its data as the invoked function sees
// it: the data given to Invoke.
func invokedData(ev events.Event) events.Event {
	var d struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(ev.Data, &d) == nil && d.Data != nil {
		ev.Data = d.Data
	}
	return ev
}

// finishedData is a FinishedEvent's data.
type finishedData struct {
	InvocationID string          `json:"invocationId"`
	FunctionID   string          `json:"functionId"`
	Result       json.RawMessage `json:"result,omitempty"`
	Error        string          `json:"error,omitempty"`
}

// finished publishes the FinishedEvent of an invoked run: its result, or
// the error that ended it.
func (x *executor) finished(ctx context.Context, job *rivertype.JobRow, invocation string, result any, runErr error) error {
	d := finishedData{InvocationID: invocation, FunctionID: x.reg.byKind[job.Kind].ID()}
	if runErr != nil {
		d.Error = runErr.Error()
	} else if raw, err := json.Marshal(result); err == nil {
		d.Result = raw
	} else {
		d.Error = "encode result: " + err.Error()
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("finish invocation: %w", err)
	}
	ev := events.Event{ID: "finished:" + invocation, Name: FinishedEvent, Data: data, Source: "fn"}
	return x.publish(ctx, ev)
}

// publish publishes evs in a transaction of their own.
func (x *executor) publish(ctx context.Context, evs ...events.Event) error {
	err := x.inTx(ctx, func(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error {
		_, err := outbox.New(client, x.reg).Publish(ctx, tx, evs...)
		return err
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction of its own on the run's database, with the
// River client working the run, after the run: even when the run's
// context has ended (its timeout), for at most 10 s.
func (x *executor) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return db.InTx(ctx, x.rt.DB, func(tx pgx.Tx) error { return fn(ctx, tx, client) })
}

// enqueueFailure enqueues f's onFailure run for a run that failed for good;
// its args are unique by the failed run, so it is enqueued once.
func (x *executor) enqueueFailure(ctx context.Context, f *Function, job *river.Job[Args], runErr error) error {
	args := Args{kind: failureKind(f), EventID: job.Args.EventID, Failed: &FailedRun{JobID: job.ID, Error: runErr.Error()}}
	err := x.inTx(ctx, func(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error {
		_, err := client.InsertTx(ctx, tx, args, &river.InsertOpts{
			Queue: f.insertOpts(0).Queue, MaxAttempts: 5,
			UniqueOpts: river.UniqueOpts{ByArgs: true},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("enqueue onFailure: %w", err)
	}
	return nil
}

// failureWorker works the onFailure runs of one function.
type failureWorker struct {
	river.WorkerDefaults[Args]

	x *executor
	f *Function
}

// Work calls the function's OnFailure with the failed run's error and
// event.
func (w *failureWorker) Work(ctx context.Context, job *river.Job[Args]) error {
	fail := Failure{FunctionID: w.f.ID()}
	if job.Args.Failed != nil {
		fail.RunID, fail.Error = job.Args.Failed.JobID, job.Args.Failed.Error
	}
	if job.Args.EventID != "" {
		rows, err := db.New(w.x.rt.DB).FnEventsGet(ctx, []string{job.Args.EventID})
		if err != nil {
			return fmt.Errorf("%s onFailure: load event: %w", w.f.ID(), err)
		}
		if len(rows) == 1 {
			r := rows[0]
			fail.Event = events.Event{ID: r.ID, Name: r.Name, Data: r.Data, TS: r.Ts, Source: r.Source}
		}
	}
	if err := w.f.opts.OnFailure(ctx, fail); err != nil {
		return fmt.Errorf("%s onFailure: %w", w.f.ID(), err)
	}
	return nil
}
