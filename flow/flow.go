// Package flow writes a River worker as a function of steps, the way
// Inngest functions are written: step.run, step.sleep, step.sleepUntil and
// step.waitForEvent are Run (and RunTx), Sleep, SleepUntil and
// WaitForEvent.
//
//	func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
//		return flow.Do(ctx, w.db, job.JobRow, func(ctx context.Context) error {
//			order, err := flow.Run(ctx, "load", func(ctx context.Context) (Order, error) { ... })
//			if err != nil {
//				return err
//			}
//			_, updated, err := flow.WaitForEvent(ctx, "wait for update", flow.Wait{...})
//			...
//		})
//	}
//
// Each finished step is a row of flow_steps (job_id, step, output,
// started_at, completed_at) with its output as JSON. When River runs the job again (a
// retry, or the run after a Sleep or WaitForEvent parked it), Work runs from
// the top and every step already recorded returns its recorded output
// without running; the first step not recorded runs. Code between steps runs
// on every run, so it must be cheap and deterministic; a step's output is
// what it returned after a round trip through JSON, on the first run too.
//
// Run records a step after it returns, and writes that record with the run's
// next write to the database instead of in a statement of its own: the next
// RunTx, RunWrite, Sleep or WaitForEvent step's transaction, a Flush (which
// a step calls to write the records with its own statement, as the send step
// of package jobs does with its claim before it calls a provider), or at the
// latest when the function given to Do returns, with or without an error. A
// crash before that write runs the step again, as a crash before any record
// would: its effect must be idempotent (a provider idempotency key, a unique
// key) or nil. RunTx records the step in the transaction in which it does
// its work, so the work and its record commit together or not at all;
// RunWrite does the same for work that is one statement of the caller's.
//
// Sleep, SleepUntil and WaitForEvent park the job: they return an error
// that snoozes it (river.JobSnooze, which uses no attempt) until the step
// can go on, so a waiting job holds no worker. outbox.Publish wakes a job
// parked by WaitForEvent in the transaction that stores the matching event
// (WakeTx). A wait matches an event by name and by one field of its data, at
// any depth of nested objects ("address.city"), and optionally by a further
// condition in Go (Wait.If).
//
// A run's steps may be called from several goroutines at once (each with a
// name of its own), as a helper that runs Run steps in parallel does: they
// are recorded as they finish. Started tells a run that goes on from one
// that has not started yet. A test of a job's function can give the outputs
// of some of its steps (WithResults, WaitResult), which are then taken as
// recorded and not run.
package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
)

// flushTimeout bounds the write of the records left when a run ends, which
// runs even when the job's context has ended (its timeout), so that the
// steps it finished are not run again.
const flushTimeout = 5 * time.Second

// run is the state of one run of a job's function: the job, the database
// its steps are recorded in, the steps recorded by earlier runs (or given by
// a test), and the records of the steps it finished that are not written
// yet. Its steps may run in several goroutines at once: mu guards the rest.
type run struct {
	db    db.DB
	jobID int64
	given map[string]json.RawMessage // outputs given by WithResults; read-only

	mu      sync.Mutex
	loaded  bool
	steps   map[string]*db.FlowStepListRow // recorded by earlier runs
	used    map[string]bool                // step names this run has begun
	pending Records                        // finished by this run, not written yet
}

type (
	runKey     struct{}
	resultsKey struct{}
)

// recorded is the output of a step an earlier run recorded, or one given by
// WithResults (given: it has no completion time, and nothing is written for
// it).
type recorded struct {
	output      json.RawMessage
	completedAt time.Time
	given       bool
}

// Records are step records of a run's job, column by column: step i is
// Steps[i], begun at StartedAt[i] and finished at CompletedAt[i] with
// output Outputs[i] (JSON). A
// statement inserts them into flow_steps with unnest, as
// db.FlowStepsInsert does (and db.DeliveryClaim and db.DeliveryRecordSent
// in a CTE, for package jobs).
type Records struct {
	Steps       []string
	Outputs     []json.RawMessage
	StartedAt   []time.Time
	CompletedAt []time.Time
}

// Len is the number of records.
func (rs Records) Len() int { return len(rs.Steps) }

// record is the one record of step name, begun at startedAt and finished
// at completedAt with output.
func record(name string, output json.RawMessage, startedAt, completedAt time.Time) Records {
	return Records{
		Steps: []string{name}, Outputs: []json.RawMessage{output},
		StartedAt: []time.Time{startedAt}, CompletedAt: []time.Time{completedAt},
	}
}

// concat returns rs followed by more, sharing neither's arrays.
func (rs Records) concat(more Records) Records {
	return Records{
		Steps:       slices.Concat(rs.Steps, more.Steps),
		Outputs:     slices.Concat(rs.Outputs, more.Outputs),
		StartedAt:   slices.Concat(rs.StartedAt, more.StartedAt),
		CompletedAt: slices.Concat(rs.CompletedAt, more.CompletedAt),
	}
}

// Do runs fn, one run of job's function: the steps run with the context fn
// gets are the job's. Steps are recorded in d, the database River's jobs
// are in (a pool; in tests, a transaction whose Begin makes savepoints).
// Call it from Work and return its error (wrapped or not).
//
// When fn returns, Do writes the records of the Run steps it finished that
// no later write took along (one statement, even if the job's context has
// ended), so every step the run finished is in flow_steps once Work
// returns, whether fn succeeded, failed or parked the job: a retry skips
// them. fn's error is returned as it is; a failed write is returned with it.
//
// If ctx carries step results (WithResults), the steps they name are taken
// as recorded with those outputs.
func Do(ctx context.Context, d db.DB, job *rivertype.JobRow, fn func(ctx context.Context) error) error {
	given, _ := ctx.Value(resultsKey{}).(map[string]json.RawMessage)
	r := &run{db: d, jobID: job.ID, given: given, used: make(map[string]bool)}
	err := fn(context.WithValue(ctx, runKey{}, r))
	pending := r.take()
	if pending.Len() == 0 {
		return err
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if ferr := r.insert(fctx, r.db, pending); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// WithResults returns a copy of ctx that gives Do the outputs of steps, by
// step name, for a test of a job's function: a step whose name is in
// results is taken as recorded by an earlier run with that output. Run,
// RunTx and RunWrite return it without calling their function, Sleep and
// SleepUntil return nil without parking, and WaitForEvent returns what it
// holds (build it with WaitResult) without waiting. Nothing is written for
// these steps; the others run as they would. Pass the returned context to
// Do (the map is copied).
func WithResults(ctx context.Context, results map[string]json.RawMessage) context.Context {
	return context.WithValue(ctx, resultsKey{}, maps.Clone(results))
}

// Started reports whether an earlier run of the job in ctx recorded any
// step (or ctx gives step results: see WithResults), telling a run that
// goes on from one that has not started yet. It reads the recorded steps
// as the first step does, once per run.
func Started(ctx context.Context) (bool, error) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return false, errors.New("flow: started: no job in the context: run the function with flow.Do")
	}
	if len(r.given) > 0 {
		return true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(ctx); err != nil {
		return false, err
	}
	return len(r.steps) > 0, nil
}

// begin starts step name of the run in ctx. It returns the step's output if
// an earlier run recorded it (or it is given: see WithResults). The run's
// recorded steps are read once, by its first step not given. Steps may
// begin in several goroutines at once.
func begin(ctx context.Context, name string) (*run, *recorded, error) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return nil, nil, fmt.Errorf("flow: step %q: no job in the context: run the function with flow.Do", name)
	}
	if name == "" {
		return nil, nil, errors.New("flow: a step needs a name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used[name] {
		return nil, nil, fmt.Errorf("flow: step %q: a job's step names must be unique", name)
	}
	r.used[name] = true
	if out, ok := r.given[name]; ok {
		return r, &recorded{output: out, given: true}, nil
	}
	if err := r.load(ctx); err != nil {
		return nil, nil, err
	}
	row := r.steps[name]
	if row == nil {
		return r, nil, nil
	}
	return r, &recorded{output: row.Output, completedAt: row.CompletedAt}, nil
}

// Preload gives the run in ctx the steps earlier runs of its job recorded,
// read by the caller along with what it reads first (so the run's first
// step reads nothing). Steps given before are kept.
func Preload(ctx context.Context, steps []*db.FlowStepListRow) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return
	}
	r.steps = make(map[string]*db.FlowStepListRow, len(steps))
	for _, row := range steps {
		r.steps[row.Step] = row
	}
	r.loaded = true
}

// load reads the steps earlier runs of the job recorded, unless it has
// already. The caller holds r.mu.
func (r *run) load(ctx context.Context) error {
	if r.loaded {
		return nil
	}
	rows, err := db.New(r.db).FlowStepList(ctx, r.jobID)
	if err != nil {
		return fmt.Errorf("flow: load steps of job %d: %w", r.jobID, err)
	}
	r.steps = make(map[string]*db.FlowStepListRow, len(rows))
	for _, row := range rows {
		r.steps[row.Step] = row
	}
	r.loaded = true
	return nil
}

// keep keeps the record of step name, begun at started and finished now
// with output, for the run's next write.
func (r *run) keep(name string, output json.RawMessage, started time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = r.pending.concat(record(name, output, started, now()))
}

// take returns the records not written yet and leaves none: the caller
// writes them, or gives them back (giveBack) if its write fails.
func (r *run) take() Records {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending
	r.pending = Records{}
	return p
}

// giveBack puts records taken by a write that failed back in front of those
// kept since, for a later write.
func (r *run) giveBack(rs Records) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = rs.concat(r.pending)
}

// write runs w with the records not written yet followed by own (a step's
// own record, or none), and counts them written once w returns nil. w's
// error is returned as it is.
func (r *run) write(own Records, w func(rs Records) error) error {
	taken := r.take()
	if err := w(taken.concat(own)); err != nil {
		r.giveBack(taken)
		return err
	}
	return nil
}

// writeIn writes the records not written yet and own in q, in one statement.
func (r *run) writeIn(ctx context.Context, q db.DBTX, own Records) error {
	return r.write(own, func(rs Records) error { return r.insert(ctx, q, rs) })
}

// insert writes rs in q (the run's database, or the transaction that did a
// step's work) in one statement.
func (r *run) insert(ctx context.Context, q db.DBTX, rs Records) error {
	err := db.New(q).FlowStepsInsert(ctx, db.FlowStepsInsertParams{
		JobID: r.jobID, Steps: rs.Steps, Outputs: rs.Outputs, StartedAts: rs.StartedAt, CompletedAts: rs.CompletedAt,
	})
	if err != nil {
		return fmt.Errorf("flow: record steps %q: %w", rs.Steps, err)
	}
	return nil
}

// now is a step's completion time as PostgreSQL stores it. Records carry
// the time their step finished, not the time they are written, so a run's
// steps keep their order in flow_steps when several are written at once.
func now() time.Time { return time.Now().Truncate(time.Microsecond) }

// Run runs step name of the job in ctx: fn, unless an earlier run of the job
// recorded the step, in which case it returns the recorded output without
// calling fn. fn's output is recorded as JSON once it returns; the record is
// written with the run's next write (see Flush and Do), so the next step
// that writes, or the end of the run, makes it durable. An error from fn is
// returned (wrapped, so river.JobCancel and river.JobSnooze still work) and
// records nothing, so the next run calls fn again; the steps finished before
// it are written when the run ends.
//
// A crash after fn's effect and before the record is written runs fn again:
// make its effect idempotent, or use RunTx when the effect is in PostgreSQL.
func Run[T any](ctx context.Context, name string, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	r, done, err := begin(ctx, name)
	if err != nil {
		return zero, err
	}
	if done != nil {
		return decode[T](name, done.output)
	}
	started := now()
	out, err := fn(ctx)
	if err != nil {
		return zero, fmt.Errorf("step %s: %w", name, err)
	}
	raw, err := encode(name, out)
	if err != nil {
		return zero, err
	}
	r.keep(name, raw, started)
	return decode[T](name, raw)
}

// RunTx runs step name of the job in ctx, as Run does, with fn doing its
// work in a transaction that also records the step (and the run's records
// not written yet): the work and the record commit together or not at all,
// so a crash can never leave the work done and the step to do (nor the step
// recorded and the work undone). If another run of the job recorded the
// step meanwhile, the record fails and the transaction, fn's work with it,
// rolls back.
func RunTx[T any](ctx context.Context, name string, fn func(ctx context.Context, tx pgx.Tx) (T, error)) (T, error) {
	var zero T
	r, done, err := begin(ctx, name)
	if err != nil {
		return zero, err
	}
	if done != nil {
		return decode[T](name, done.output)
	}
	var raw json.RawMessage
	started := now()
	err = db.InTx(ctx, r.db, func(tx pgx.Tx) error {
		out, err := fn(ctx, tx)
		if err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		if raw, err = encode(name, out); err != nil {
			return err
		}
		return r.writeIn(ctx, tx, record(name, raw, started, now()))
	})
	if err != nil {
		return zero, err
	}
	return decode[T](name, raw)
}

// RunWrite runs step name of the job in ctx, whose output out is known
// before its work, as RunTx does, for work that is one statement (or a
// transaction) of the caller's: write must do the work and insert rs into
// flow_steps in that statement or transaction. rs holds this step's record
// and the run's records not written yet, so a step that is one statement
// costs that statement and nothing more. If the step is recorded already,
// RunWrite returns its recorded output without calling write; an error from
// write is returned (wrapped) and records nothing.
func RunWrite[T any](ctx context.Context, name string, out T, write func(ctx context.Context, rs Records) error) (T, error) {
	var zero T
	r, done, err := begin(ctx, name)
	if err != nil {
		return zero, err
	}
	if done != nil {
		return decode[T](name, done.output)
	}
	raw, err := encode(name, out)
	if err != nil {
		return zero, err
	}
	at := now()
	if err := r.write(record(name, raw, at, at), func(rs Records) error { return write(ctx, rs) }); err != nil {
		return zero, fmt.Errorf("step %s: %w", name, err)
	}
	return decode[T](name, raw)
}

// Flush writes the records of the run's finished steps that are not written
// yet with write, which must insert rs into flow_steps in the statement or
// transaction in which it does its own work (rs may be empty). A step calls
// it before an outside call that may fail, so the steps finished before it
// are recorded by a write it makes anyway: package jobs's send step claims
// its message and writes the records in one statement, then calls the
// provider. Once write returns nil the records are written; its error is
// returned as it is and they wait for the next write.
func Flush(ctx context.Context, write func(ctx context.Context, rs Records) error) error {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return errors.New("flow: flush: no job in the context: run the function with flow.Do")
	}
	return r.write(Records{}, func(rs Records) error { return write(ctx, rs) })
}

// sleepOutput is a sleep's recorded output.
type sleepOutput struct {
	Until time.Time `json:"until"`
}

// Sleep is a step that parks the job for d from its first run: SleepUntil
// with the time d from now, which only the first run records.
func Sleep(ctx context.Context, name string, d time.Duration) error {
	return SleepUntil(ctx, name, time.Now().Add(d))
}

// SleepUntil is a step that parks the job until t: the first run records
// the wake time (completed_at of the step's row) and returns the error that
// parks the job until then; a run at or after the wake time returns nil, as
// does the first run when t is not in the future (the step is then
// recorded with the run's next write, as Run's are). Later runs keep the
// wake time the first run recorded, whatever t they pass. Return its error
// from Work as it is (or wrapped).
func SleepUntil(ctx context.Context, name string, t time.Time) error {
	r, done, err := begin(ctx, name)
	if err != nil {
		return err
	}
	if done != nil {
		if done.given {
			return nil
		}
		if rest := time.Until(done.completedAt); rest > 0 {
			return park(rest)
		}
		return nil
	}
	until := t.Truncate(time.Microsecond) // what PostgreSQL stores
	raw, err := encode(name, sleepOutput{Until: until})
	if err != nil {
		return err
	}
	started := now()
	if !until.After(started) {
		r.keep(name, raw, started)
		return nil
	}
	if err := r.writeIn(ctx, r.db, record(name, raw, started, until)); err != nil {
		return err
	}
	return park(time.Until(until))
}

// parkError parks a job: a snooze (no attempt used, no failure) until a
// Sleep or WaitForEvent step can go on.
type parkError struct{ snooze error }

func (e *parkError) Error() string { return "flow: parked: " + e.snooze.Error() }
func (e *parkError) Unwrap() error { return e.snooze }

// park returns the error that parks the job for d.
func park(d time.Duration) error { return &parkError{snooze: river.JobSnooze(max(d, 0))} }

// IsParked reports whether err is a Sleep or WaitForEvent step parking its
// job: a river.JobSnooze that is part of the function, not a failure (so a
// limit on snoozes, which are otherwise retries of a rate-limited call, should
// let it through).
func IsParked(err error) bool {
	var p *parkError
	return errors.As(err, &p)
}

func encode(name string, v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("flow: step %q: encode output: %w", name, err)
	}
	return raw, nil
}

func decode[T any](name string, raw json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("flow: step %q: decode recorded output: %w", name, err)
	}
	return v, nil
}
