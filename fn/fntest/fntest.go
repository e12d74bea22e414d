// Package fntest runs one function for one event in a test, as Inngest's
// @inngest/test does: in the test's transaction (rolled back when the test
// ends), without a running River client, with the results of chosen steps
// given by the test.
//
//	res := fntest.Run(t, tx, reg, "send-welcome-email", ev)
//	require.NoError(t, res.Err)
//	require.JSONEq(t, `{"status":"captured"}`, string(res.Steps["send"]))
package fntest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// Option changes how Run runs the function.
type Option func(*config)

type config struct {
	steps map[string]json.RawMessage
}

// Step makes the step called name return output (marshalled to JSON)
// without running: a Sleep or WaitForEvent step does not park (give a
// WaitForEvent's output with flow.WaitResult).
func Step(name string, output any) Option {
	return func(c *config) {
		raw, err := json.Marshal(output)
		if err != nil {
			panic("fntest: step " + name + ": " + err.Error())
		}
		c.steps[name] = raw
	}
}

// Result is what one run did.
type Result struct {
	// Output is the handler's result as JSON (null when it returned none or
	// did not return).
	Output json.RawMessage
	// Err is the handler's error, or the run's (a snooze or cancellation
	// included).
	Err error
	// Steps are the outputs of the steps recorded by the run (and by
	// earlier runs of its job), by step name.
	Steps map[string]json.RawMessage
	// Job is the run's River job after the run: its state says whether it
	// completed, was snoozed (parked), cancelled or will be retried.
	Job *rivertype.JobRow
}

// Run publishes ev in tx through an outbox with reg's routing (so the
// function's options that act on publishing, such as idempotency, apply
// and the run is enqueued as in production), then works the run of
// function id that ev started, once, in tx. It fails the test when ev
// starts no run of the function. Step results given with Step replace
// those steps.
func Run(tb testing.TB, tx pgx.Tx, reg *fn.Registry, id string, ev events.Event, opts ...Option) *Result {
	tb.Helper()
	ctx := tb.Context()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		tb.Fatalf("fntest: River client: %v", err)
	}
	ids, err := outbox.New(client, reg).Publish(ctx, tx, ev)
	if err != nil {
		tb.Fatalf("fntest: publish %s: %v", ev.Name, err)
	}
	f := reg.Function(id)
	if f == nil {
		tb.Fatalf("fntest: no function %q in the registry", id)
	}
	var jobID int64
	err = tx.QueryRow(ctx, `SELECT id FROM river_job WHERE kind = $1 AND state IN ('available', 'scheduled')
		AND (args->>'event_id' = $2 OR NOT args ? 'event_id') ORDER BY id DESC LIMIT 1`, f.Kind(), ids[0]).Scan(&jobID)
	if err != nil {
		tb.Fatalf("fntest: %s started no run of %s: %v", ev.Name, id, err)
	}
	return Work(tb, tx, reg, id, jobID, opts...)
}

// Work works the run (River job) jobID of function id once more in tx: a
// retry, the run after a Sleep or WaitForEvent parked it, or the function's
// onFailure run.
func Work(tb testing.TB, tx pgx.Tx, reg *fn.Registry, id string, jobID int64, opts ...Option) *Result {
	tb.Helper()
	c := config{steps: map[string]json.RawMessage{}}
	for _, o := range opts {
		o(&c)
	}
	ctx := tb.Context()
	res := &Result{Output: json.RawMessage("null"), Steps: map[string]json.RawMessage{}}
	var handlerErr error
	ctx = fn.WithObserver(ctx, func(out any, err error) {
		handlerErr = err
		if raw, merr := json.Marshal(out); merr == nil {
			res.Output = raw
		}
	})
	if len(c.steps) > 0 {
		ctx = flow.WithResults(ctx, c.steps)
	}
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		tb.Fatalf("fntest: River client: %v", err)
	}
	job, err := client.JobGetTx(ctx, tx, jobID)
	if err != nil {
		tb.Fatalf("fntest: run %d: %v", jobID, err)
	}
	f := reg.Function(id)
	w := reg.Worker(job.Kind, fn.Runtime{DB: tx})
	if f == nil || w == nil || !strings.HasPrefix(job.Kind, f.Kind()) {
		tb.Fatalf("fntest: run %d (%s) is not a run of function %q of the registry", jobID, job.Kind, id)
	}
	// The run is due now, as River works it once it is: its job, and a
	// debounce's last event.
	if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1`, jobID); err != nil {
		tb.Fatalf("fntest: %v", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE fn_debounce SET run_at = now() WHERE function = $1 AND key = $2::jsonb->>'key'`, id, string(job.EncodedArgs)); err != nil {
		tb.Fatalf("fntest: %v", err)
	}
	tw := rivertest.NewWorker(tb, riverpgxv5.New(nil), &river.Config{}, w)
	wr, err := tw.WorkJob(ctx, tb, tx, job)
	res.Err = err
	if handlerErr != nil {
		res.Err = handlerErr
	}
	if wr != nil {
		res.Job = wr.Job
	}
	rows, err := db.New(tx).FlowStepList(ctx, jobID)
	if err != nil {
		tb.Fatalf("fntest: steps of run %d: %v", jobID, err)
	}
	for _, r := range rows {
		res.Steps[r.Step] = r.Output
	}
	return res
}
