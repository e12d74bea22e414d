// Package flow writes a River worker as a function of steps, the way
// Inngest functions are written: step.run, step.sleep and
// step.waitForEvent are Run (and RunTx), Sleep and WaitForEvent.
//
//	func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
//		ctx = flow.With(ctx, w.db, job.JobRow)
//		order, err := flow.Run(ctx, "load", func(ctx context.Context) (Order, error) { ... })
//		if err != nil {
//			return err
//		}
//		_, updated, err := flow.WaitForEvent(ctx, "wait for update", flow.Wait{...})
//		...
//	}
//
// Each finished step is a row of flow_steps (job_id, step, output,
// completed_at) with its output as JSON. When River runs the job again (a
// retry, or the run after a Sleep or WaitForEvent parked it), Work runs from
// the top and every step already recorded returns its recorded output
// without running; the first step not recorded runs. Code between steps runs
// on every run, so it must be cheap and deterministic; a step's output is
// what it returned after a round trip through JSON, on the first run too.
//
// Run records a step after it returns, so a crash in between runs it again:
// its effect must be idempotent (a provider idempotency key, a unique key).
// RunTx records the step in the transaction in which it does its work, so the
// work and its record commit together or not at all.
//
// Sleep and WaitForEvent park the job: they return an error that snoozes it
// (river.JobSnooze, which uses no attempt) until the step can go on, so a
// waiting job holds no worker. outbox.Publish wakes a job parked by
// WaitForEvent in the transaction that stores the matching event (WakeTx).
package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
)

// run is the state of one run of a job's function: the job, the database
// its steps are recorded in, and the steps recorded by earlier runs.
type run struct {
	db    db.DB
	jobID int64

	mu     sync.Mutex
	loaded bool
	steps  map[string]*db.FlowStepListRow // recorded by earlier runs
	used   map[string]bool                // step names this run has begun
}

type runKey struct{}

// With returns ctx carrying job, the job being worked, so the steps run with
// the returned context are the job's: call it first in Work. Steps are
// recorded in d, the database River's jobs are in (a pool; in tests, a
// transaction whose Begin makes savepoints).
func With(ctx context.Context, d db.DB, job *rivertype.JobRow) context.Context {
	return context.WithValue(ctx, runKey{}, &run{db: d, jobID: job.ID, used: make(map[string]bool)})
}

// begin starts step name of the run in ctx. It returns the step's record if
// an earlier run recorded it. The run's recorded steps are read once, by its
// first step.
func begin(ctx context.Context, name string) (*run, *db.FlowStepListRow, error) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return nil, nil, fmt.Errorf("flow: step %q: no job in the context: call flow.With first in Work", name)
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
	if !r.loaded {
		rows, err := db.New(r.db).FlowStepList(ctx, r.jobID)
		if err != nil {
			return nil, nil, fmt.Errorf("flow: load steps of job %d: %w", r.jobID, err)
		}
		r.steps = make(map[string]*db.FlowStepListRow, len(rows))
		for _, row := range rows {
			r.steps[row.Step] = row
		}
		r.loaded = true
	}
	return r, r.steps[name], nil
}

// record stores step name as finished with output, in q (the run's
// database, or the transaction that did the step's work). completedAt nil
// means now.
func (r *run) record(ctx context.Context, q db.DBTX, name string, output json.RawMessage, completedAt *time.Time) error {
	err := db.New(q).FlowStepInsert(ctx, db.FlowStepInsertParams{JobID: r.jobID, Step: name, Output: output, CompletedAt: completedAt})
	if err != nil {
		return fmt.Errorf("flow: record step %q: %w", name, err)
	}
	return nil
}

// Run runs step name of the job in ctx: fn, unless an earlier run of the job
// recorded the step, in which case it returns the recorded output without
// calling fn. fn's output is recorded as JSON once it returns; an error from
// fn is returned (wrapped, so river.JobCancel and river.JobSnooze still
// work) and records nothing, so the next run calls fn again.
//
// A crash after fn's effect and before the record runs fn again: make its
// effect idempotent, or use RunTx when the effect is in PostgreSQL.
func Run[T any](ctx context.Context, name string, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	r, done, err := begin(ctx, name)
	if err != nil {
		return zero, err
	}
	if done != nil {
		return decode[T](name, done.Output)
	}
	out, err := fn(ctx)
	if err != nil {
		return zero, fmt.Errorf("step %s: %w", name, err)
	}
	raw, err := encode(name, out)
	if err != nil {
		return zero, err
	}
	if err := r.record(ctx, r.db, name, raw, nil); err != nil {
		return zero, err
	}
	return decode[T](name, raw)
}

// RunTx runs step name of the job in ctx, as Run does, with fn doing its
// work in a transaction that also records the step: the work and the record
// commit together or not at all, so a crash can never leave the work done
// and the step to do (nor the step recorded and the work undone). If another
// run of the job recorded the step meanwhile, the record fails and the
// transaction, fn's work with it, rolls back.
func RunTx[T any](ctx context.Context, name string, fn func(ctx context.Context, tx pgx.Tx) (T, error)) (T, error) {
	var zero T
	r, done, err := begin(ctx, name)
	if err != nil {
		return zero, err
	}
	if done != nil {
		return decode[T](name, done.Output)
	}
	var raw json.RawMessage
	err = db.InTx(ctx, r.db, func(tx pgx.Tx) error {
		out, err := fn(ctx, tx)
		if err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		if raw, err = encode(name, out); err != nil {
			return err
		}
		return r.record(ctx, tx, name, raw, nil)
	})
	if err != nil {
		return zero, err
	}
	return decode[T](name, raw)
}

// sleepOutput is a sleep's recorded output.
type sleepOutput struct {
	Until time.Time `json:"until"`
}

// Sleep is a step that parks the job for d: the first run records the wake
// time (completed_at of the step's row) and returns the error that parks the
// job until then; a run at or after the wake time returns nil. Return its
// error from Work as it is (or wrapped).
func Sleep(ctx context.Context, name string, d time.Duration) error {
	r, done, err := begin(ctx, name)
	if err != nil {
		return err
	}
	var until time.Time
	if done != nil {
		until = done.CompletedAt
	} else {
		until = time.Now().Add(d).Truncate(time.Microsecond) // what PostgreSQL stores
		raw, err := encode(name, sleepOutput{Until: until})
		if err != nil {
			return err
		}
		if err := r.record(ctx, r.db, name, raw, &until); err != nil {
			return err
		}
	}
	if rest := time.Until(until); rest > 0 {
		return park(rest)
	}
	return nil
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
