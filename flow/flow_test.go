package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
)

// testArgs are the args of the flow_test jobs the tests work.
type testArgs struct {
	// Key is the value of the data field "orderId" the job's wait matches.
	Key string `json:"key"`
	// Timeout is the wait's timeout.
	Timeout time.Duration `json:"timeout"`
	// After is the wait's After event.
	After string `json:"after,omitempty"`
}

func (testArgs) Kind() string { return "flow_test" }

// funcWorker works flow_test jobs with fn, in a flow run.
type funcWorker struct {
	river.WorkerDefaults[testArgs]

	db db.DB
	fn func(ctx context.Context, job *river.Job[testArgs]) error
}

func (w *funcWorker) Work(ctx context.Context, job *river.Job[testArgs]) error {
	return flow.Do(ctx, w.db, job.JobRow, func(ctx context.Context) error { return w.fn(ctx, job) })
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// txWorker works flow_test jobs with fn one at a time in tx, which the test
// rolls back.
func txWorker(t *testing.T, tx pgx.Tx, fn func(ctx context.Context, job *river.Job[testArgs]) error) *rivertest.Worker[testArgs, pgx.Tx] {
	t.Helper()
	return rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{Logger: testLogger(t)}, &funcWorker{db: tx, fn: fn})
}

// stepRow is a flow_steps row as an operator reads it.
type stepRow struct {
	Step   string
	Output string
}

// steps returns the recorded steps of job jobID, by name.
func steps(t *testing.T, q db.DBTX, jobID int64) []stepRow {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT step, output::text FROM flow_steps WHERE job_id = $1 ORDER BY step`, jobID)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stepRow])
	require.NoError(t, err)
	return out
}

type order struct {
	ID         string `json:"id"`
	TotalPaise int64  `json:"totalPaise"`
}

// TestRunSkipsFinishedSteps: a retry skips the steps an earlier attempt
// finished, handing on their recorded outputs, and runs the rest; every
// output is readable with SQL.
func TestRunSkipsFinishedSteps(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	calls := map[string]int{}
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		o, err := flow.Run(ctx, "load", func(context.Context) (order, error) {
			calls["load"]++
			return order{ID: "o-1", TotalPaise: 24900}, nil
		})
		if err != nil {
			return err
		}
		charge, err := flow.Run(ctx, "charge", func(context.Context) (string, error) {
			calls["charge"]++
			if calls["charge"] == 1 {
				return "", errors.New("card network down")
			}
			return "ch_1", nil
		})
		if err != nil {
			return err
		}
		_, err = flow.Run(ctx, "receipt", func(context.Context) (string, error) {
			calls["receipt"]++
			return fmt.Sprintf("%s paid %d paise (%s)", o.ID, o.TotalPaise, charge), nil
		})
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "step charge: card network down")
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Equal(t, map[string]int{"load": 1, "charge": 1}, calls)
	require.Equal(t, []stepRow{{"load", `{"id": "o-1", "totalPaise": 24900}`}}, steps(t, tx, res.Job.ID))

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, map[string]int{"load": 1, "charge": 2, "receipt": 1}, calls, "load ran once")
	require.Equal(t, []stepRow{
		{"charge", `"ch_1"`},
		{"load", `{"id": "o-1", "totalPaise": 24900}`},
		{"receipt", `"o-1 paid 24900 paise (ch_1)"`},
	}, steps(t, tx, res.Job.ID), "the retry got load's output from its record")
}

// TestRunRecordsWithNextWrite: a Run step's record waits for the run's next
// write, here a RunTx step's transaction, which writes it with its own in
// one statement; the records keep the order in which the steps finished.
func TestRunRecordsWithNextWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	var writtenBeforeTx []stepRow
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		for _, name := range []string{"a", "b"} {
			if _, err := flow.Run(ctx, name, func(context.Context) (string, error) { return name, nil }); err != nil {
				return err
			}
		}
		_, err := flow.RunTx(ctx, "c", func(ctx context.Context, tx pgx.Tx) (string, error) {
			writtenBeforeTx = steps(t, tx, job.ID)
			return "c", nil
		})
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Empty(t, writtenBeforeTx, "no write of their own for a and b")
	type writtenRow struct{ Step, XID string } // XID: the (sub)transaction that wrote it
	rows, err := tx.Query(ctx, `SELECT step, xmin::text FROM flow_steps WHERE job_id = $1 ORDER BY completed_at`, res.Job.ID)
	require.NoError(t, err)
	written, err := pgx.CollectRows(rows, pgx.RowToStructByPos[writtenRow])
	require.NoError(t, err)
	require.Len(t, written, 3)
	require.Equal(t, []string{"a", "b", "c"}, []string{written[0].Step, written[1].Step, written[2].Step}, "in the order they finished")
	require.Equal(t, written[2].XID, written[0].XID, "a written by c's transaction")
	require.Equal(t, written[2].XID, written[1].XID, "b written by c's transaction")
}

// TestRecordsKeptWhenAWriteFails: a write that fails (here the record of
// a RunTx step, which takes the earlier steps' records along) leaves those
// records for the end of the run, so the retry skips the steps that
// finished.
func TestRecordsKeptWhenAWriteFails(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	// A trigger fails the first record of the step charge (a sequence, not
	// rolled back with the savepoint, counts them).
	_, err := tx.Exec(ctx, `
		CREATE SEQUENCE charge_records;
		CREATE FUNCTION fail_first_charge_record() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.step = 'charge' AND nextval('charge_records') = 1 THEN RAISE EXCEPTION 'simulated failure of the write'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_first_charge_record BEFORE INSERT ON flow_steps FOR EACH ROW EXECUTE FUNCTION fail_first_charge_record();`)
	require.NoError(t, err)
	calls := map[string]int{}
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		if _, err := flow.Run(ctx, "load", func(context.Context) (int, error) { calls["load"]++; return 1, nil }); err != nil {
			return err
		}
		_, err := flow.RunTx(ctx, "charge", func(context.Context, pgx.Tx) (int, error) { calls["charge"]++; return 2, nil })
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "simulated failure of the write")
	require.Equal(t, []stepRow{{"load", "1"}}, steps(t, tx, res.Job.ID), "load written when the run ended")

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, map[string]int{"load": 1, "charge": 2}, calls)
	require.Equal(t, []stepRow{{"charge", "2"}, {"load", "1"}}, steps(t, tx, res.Job.ID))
}

// TestFlushWritesWithTheStepsWrite: Flush hands the records of the
// finished steps to a write of the step's own (a claim before an outside
// call), so they are recorded even if the call then fails, and the retry
// skips them; RunWrite does the same with the step's own record.
func TestFlushWritesWithTheStepsWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	_, err := tx.Exec(ctx, `CREATE TABLE claims (n serial, job_id bigint NOT NULL, records int NOT NULL)`)
	require.NoError(t, err)
	// claimWrite inserts a claim and the records in one statement.
	claimWrite := func(jobID int64) func(ctx context.Context, rs flow.Records) error {
		return func(ctx context.Context, rs flow.Records) error {
			_, err := tx.Exec(ctx, `
				WITH s AS (
					INSERT INTO flow_steps (job_id, step, output, completed_at)
					SELECT $1, unnest($2::text[]), unnest($3::jsonb[]), unnest($4::timestamptz[])
				)
				INSERT INTO claims (job_id, records) VALUES ($1, $5)`, jobID, rs.Steps, rs.Outputs, rs.CompletedAt, rs.Len())
			return err
		}
	}
	calls := map[string]int{}
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		if _, err := flow.Run(ctx, "render", func(context.Context) (string, error) { calls["render"]++; return "hi", nil }); err != nil {
			return err
		}
		if _, err := flow.Run(ctx, "send", func(ctx context.Context) (string, error) {
			calls["send"]++
			if err := flow.Flush(ctx, claimWrite(job.ID)); err != nil {
				return "", err
			}
			if calls["send"] == 1 {
				return "", errors.New("provider: 500")
			}
			return "msg-1", nil
		}); err != nil {
			return err
		}
		_, err := flow.RunWrite(ctx, "record", true, claimWrite(job.ID))
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "step send: provider: 500")
	require.Equal(t, []stepRow{{"render", `"hi"`}}, steps(t, tx, res.Job.ID))

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, map[string]int{"render": 1, "send": 2}, calls)
	require.Equal(t, []stepRow{{"record", "true"}, {"render", `"hi"`}, {"send", `"msg-1"`}}, steps(t, tx, res.Job.ID))
	rows, err := tx.Query(ctx, `SELECT records FROM claims ORDER BY n`)
	require.NoError(t, err)
	claims, err := pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	require.Equal(t, []int{1, 0, 2}, claims, "render with the first claim, none with the second, send and record with the record")

	_, err = flow.RunWrite(ctx, "orphan", 1, claimWrite(0))
	require.ErrorContains(t, err, "run the function with flow.Do")
	require.ErrorContains(t, flow.Flush(ctx, claimWrite(0)), "run the function with flow.Do")
}

// TestStepNeedsRunAndUniqueName: a step outside flow.Do, or a step name
// used twice in one run, is an error, not a silently skipped step.
func TestStepNeedsRunAndUniqueName(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, err := flow.Run(ctx, "orphan", func(context.Context) (int, error) { return 1, nil })
	require.ErrorContains(t, err, "run the function with flow.Do")

	tx := dbtest.TestTx(ctx, t)
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		for range 2 {
			if _, err := flow.Run(ctx, "same", func(context.Context) (int, error) { return 1, nil }); err != nil {
				return err
			}
		}
		return nil
	})
	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, `flow: step "same": a job's step names must be unique`)
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
}

// TestRunTxCommitsWorkWithStep: a RunTx step's work and its record commit
// together. When the record fails (a crash before the commit), the work is
// undone too; once recorded, later runs skip it, so the work is done once.
func TestRunTxCommitsWorkWithStep(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	// charges is the step's work; a trigger fails the first record of the
	// step (a sequence, not rolled back with the savepoint, counts them).
	_, err := tx.Exec(ctx, `
		CREATE TABLE charges (order_id text NOT NULL);
		CREATE SEQUENCE charge_records;
		CREATE FUNCTION fail_first_charge_record() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.step = 'charge' AND nextval('charge_records') = 1 THEN RAISE EXCEPTION 'simulated crash before commit'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_first_charge_record BEFORE INSERT ON flow_steps FOR EACH ROW EXECUTE FUNCTION fail_first_charge_record();`)
	require.NoError(t, err)
	charges := func() int {
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM charges`).Scan(&n))
		return n
	}
	emails := 0
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		_, err := flow.RunTx(ctx, "charge", func(ctx context.Context, tx pgx.Tx) (int, error) {
			_, err := tx.Exec(ctx, `INSERT INTO charges VALUES ('o-1')`)
			return 24900, err
		})
		if err != nil {
			return err
		}
		_, err = flow.Run(ctx, "email", func(context.Context) (bool, error) {
			emails++
			if emails == 1 {
				return false, errors.New("mail server down")
			}
			return true, nil
		})
		return err
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "simulated crash before commit")
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Zero(t, charges(), "the charge rolled back with its record")
	require.Empty(t, steps(t, tx, res.Job.ID))

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.ErrorContains(t, err, "step email: mail server down")
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Equal(t, 1, charges())

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, charges(), "the third run skipped the recorded charge")
	require.Equal(t, []stepRow{{"charge", "24900"}, {"email", "true"}}, steps(t, tx, res.Job.ID))
}

// TestSleepParksTheJob: a sleep snoozes the job until its wake time without
// using an attempt; a run before then parks it again; the run after it goes
// on past the sleep.
func TestSleepParksTheJob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	woke := 0
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		if err := flow.Sleep(ctx, "nap", time.Hour); err != nil {
			return err
		}
		woke++
		return nil
	})

	before := time.Now()
	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Equal(t, rivertype.JobStateScheduled, res.Job.State)
	require.WithinRange(t, res.Job.ScheduledAt, before.Add(time.Hour), time.Now().Add(time.Hour))
	require.Zero(t, res.Job.Attempt, "a snooze gives its attempt back")
	var wakeAt time.Time
	require.NoError(t, tx.QueryRow(ctx, `SELECT completed_at FROM flow_steps WHERE job_id = $1 AND step = 'nap'`, res.Job.ID).Scan(&wakeAt))
	require.WithinRange(t, wakeAt, before.Add(time.Hour), time.Now().Add(time.Hour))

	res, err = w.WorkJob(ctx, t, tx, res.Job) // woken early
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Zero(t, woke)
	require.WithinDuration(t, wakeAt, res.Job.ScheduledAt, time.Second, "parked until the same wake time")

	// The hour passes.
	_, err = tx.Exec(ctx, `UPDATE flow_steps SET completed_at = now() - interval '1 second' WHERE job_id = $1`, res.Job.ID)
	require.NoError(t, err)
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, woke)
	require.Equal(t, 1, res.Job.Attempt)
}

// waitedFor returns the id of the event job's wait step recorded ("" when it
// timed out), or fails the test if the step is not recorded.
func waitedFor(t *testing.T, q db.DBTX, jobID int64) string {
	t.Helper()
	var out struct {
		Event *struct {
			ID   string          `json:"id"`
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		} `json:"event"`
	}
	var raw []byte
	require.NoError(t, q.QueryRow(t.Context(), `SELECT output FROM flow_steps WHERE job_id = $1 AND step = 'wait'`, jobID).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &out))
	if out.Event == nil {
		return ""
	}
	return out.Event.ID
}

// TestRunRecordedWhenTheJobTimesOut: a step that finished before the job's
// context ended (its timeout) is still recorded by the end of the run, so
// the retry skips it.
func TestRunRecordedWhenTheJobTimesOut(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	calls := 0
	fn := func(ctx context.Context, job *river.Job[testArgs]) error {
		if _, err := flow.Run(ctx, "a", func(context.Context) (string, error) { calls++; return "a", nil }); err != nil {
			return err
		}
		<-ctx.Done() // the job's timeout
		return ctx.Err()
	}
	w := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{Logger: testLogger(t), JobTimeout: 50 * time.Millisecond}, &funcWorker{db: tx, fn: fn})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, []stepRow{{"a", `"a"`}}, steps(t, tx, res.Job.ID))
	_, err = w.WorkJob(ctx, t, tx, res.Job)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, calls, "the retry skipped a")
}

// TestSleepUntil: a sleep to a time parks the job until that time, which
// later runs keep whatever time they pass; a sleep to a time already past
// does not park, and is recorded with the run's next write.
func TestSleepUntil(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	wakeAt := time.Now().Add(time.Hour).Truncate(time.Second)
	runs, woke := 0, 0
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		runs++
		if err := flow.SleepUntil(ctx, "past", time.Now().Add(-time.Minute)); err != nil {
			return err
		}
		if err := flow.SleepUntil(ctx, "nap", wakeAt.Add(time.Duration(runs-1)*time.Hour)); err != nil {
			return err
		}
		woke++
		return nil
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.Equal(t, rivertype.JobStateScheduled, res.Job.State)
	require.WithinDuration(t, wakeAt, res.Job.ScheduledAt, time.Second)
	var napAt time.Time
	require.NoError(t, tx.QueryRow(ctx, `SELECT completed_at FROM flow_steps WHERE job_id = $1 AND step = 'nap'`, res.Job.ID).Scan(&napAt))
	require.True(t, wakeAt.Equal(napAt), "nap's completed_at is its wake time: %s", napAt)
	require.Len(t, steps(t, tx, res.Job.ID), 2, "past recorded with nap's write")

	res, err = w.WorkJob(ctx, t, tx, res.Job) // woken early, with another time
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind)
	require.WithinDuration(t, wakeAt, res.Job.ScheduledAt, time.Second, "the first run's wake time")

	// The hour passes.
	_, err = tx.Exec(ctx, `UPDATE flow_steps SET completed_at = now() - interval '1 second' WHERE job_id = $1 AND step = 'nap'`, res.Job.ID)
	require.NoError(t, err)
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, woke)
}

// TestWithResults: step results given by a test are taken as recorded:
// Run, RunTx and RunWrite return them without running, Sleep does not park,
// WaitForEvent returns the given event (or its timeout), and nothing is
// written for them; the steps not given run and are recorded.
func TestWithResults(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	type got struct {
		Order    order
		Charge   string
		Recorded bool
		Event    events.Event
		Updated  bool
		Late     bool
	}
	var g got
	calls := 0
	w := txWorker(t, tx, func(ctx context.Context, job *river.Job[testArgs]) error {
		started, err := flow.Started(ctx)
		if err != nil || !started {
			return errors.Join(err, errors.New("given results count as started"))
		}
		if g.Order, err = flow.Run(ctx, "load", func(context.Context) (order, error) { calls++; return order{}, nil }); err != nil {
			return err
		}
		if g.Charge, err = flow.RunTx(ctx, "charge", func(context.Context, pgx.Tx) (string, error) { calls++; return "", nil }); err != nil {
			return err
		}
		if g.Recorded, err = flow.RunWrite(ctx, "record", false, func(context.Context, flow.Records) error { calls++; return nil }); err != nil {
			return err
		}
		if err := flow.Sleep(ctx, "nap", time.Hour); err != nil {
			return err
		}
		wait := flow.Wait{Event: testEvent, Key: "orderId", Value: "o-9", Timeout: time.Hour, If: func(events.Event) bool { calls++; return false }}
		if g.Event, g.Updated, err = flow.WaitForEvent(ctx, "wait", wait); err != nil {
			return err
		}
		if _, g.Late, err = flow.WaitForEvent(ctx, "late", wait); err != nil {
			return err
		}
		_, err = flow.Run(ctx, "after", func(context.Context) (string, error) { return "done " + g.Charge, nil })
		return err
	})
	ev := events.Event{ID: "ev-9", Name: testEvent, Data: json.RawMessage(`{"orderId":"o-9"}`), TS: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	results := map[string]json.RawMessage{
		"load":   json.RawMessage(`{"id": "o-9", "totalPaise": 100}`),
		"charge": json.RawMessage(`"ch_9"`),
		"record": json.RawMessage(`true`),
		"nap":    json.RawMessage(`null`),
		"wait":   flow.WaitResult(&ev),
		"late":   flow.WaitResult(nil),
	}

	res, err := w.Work(flow.WithResults(ctx, results), t, tx, testArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Zero(t, calls)
	require.Equal(t, got{Order: order{ID: "o-9", TotalPaise: 100}, Charge: "ch_9", Recorded: true, Event: ev, Updated: true}, g)
	require.Equal(t, []stepRow{{"after", `"done ch_9"`}}, steps(t, tx, res.Job.ID), "only the step not given is written")
	var waits int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM flow_waits`).Scan(&waits))
	require.Zero(t, waits)
}

// TestStarted: Started tells a job's first run (no step recorded) from a
// later one, and needs a run.
func TestStarted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	var seen []bool
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		started, err := flow.Started(ctx)
		if err != nil {
			return err
		}
		seen = append(seen, started)
		if _, err := flow.Run(ctx, "a", func(context.Context) (int, error) { return 1, nil }); err != nil {
			return err
		}
		if len(seen) == 1 {
			return errors.New("first run fails after a")
		}
		return nil
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "first run fails after a")
	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, []bool{false, true}, seen)

	_, err = flow.Started(ctx)
	require.ErrorContains(t, err, "run the function with flow.Do")
}

// TestConcurrentRunSteps: steps of one run may run in several goroutines
// at once; each is recorded once, and the next run of the job runs none of
// them again.
func TestConcurrentRunSteps(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	const n = 5
	var calls atomic.Int32
	runs := 0
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		runs++
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = flow.Run(ctx, fmt.Sprintf("step %d", i), func(context.Context) (int, error) {
					calls.Add(1)
					return i * 10, nil
				})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if runs == 1 {
			return errors.New("first run fails after the steps")
		}
		return nil
	})

	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.ErrorContains(t, err, "first run fails after the steps")
	want := []stepRow{{"step 0", "0"}, {"step 1", "10"}, {"step 2", "20"}, {"step 3", "30"}, {"step 4", "40"}}
	require.Equal(t, want, steps(t, tx, res.Job.ID))
	require.EqualValues(t, n, calls.Load())

	res, err = w.WorkJob(ctx, t, tx, res.Job)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.EqualValues(t, n, calls.Load(), "the second run ran none of them")
	require.Equal(t, want, steps(t, tx, res.Job.ID))
}

// TestStepsRecordWhenTheyBegan: a step's record holds when it began and
// when it finished (a sleep: when it began and its wake time), as the
// operator's console draws them, with no statement of its own.
func TestStepsRecordWhenTheyBegan(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	w := txWorker(t, tx, func(ctx context.Context, _ *river.Job[testArgs]) error {
		if _, err := flow.Run(ctx, "slow", func(ctx context.Context) (int, error) {
			// A step whose work takes 20 ms (a timer stands for it), so
			// its recorded start and end are that far apart.
			<-time.After(20 * time.Millisecond)
			return 1, nil
		}); err != nil {
			return err
		}
		return flow.Sleep(ctx, "nap", time.Hour)
	})
	before := time.Now()
	res, err := w.Work(ctx, t, tx, testArgs{}, nil)
	require.NoError(t, err)
	rows, err := tx.Query(ctx, `SELECT step, started_at, completed_at FROM flow_steps WHERE job_id = $1 ORDER BY started_at`, res.Job.ID)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([3]any, error) {
		var name string
		var started, completed time.Time
		err := r.Scan(&name, &started, &completed)
		return [3]any{name, started, completed}, err
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "slow", got[0][0])
	started, completed := got[0][1].(time.Time), got[0][2].(time.Time)
	require.WithinRange(t, started, before.Truncate(time.Microsecond), time.Now())
	require.GreaterOrEqual(t, completed.Sub(started), 20*time.Millisecond, "the step's duration")
	require.Equal(t, "nap", got[1][0])
	require.False(t, got[1][1].(time.Time).Before(completed), "the sleep began after the step")
	require.WithinRange(t, got[1][2].(time.Time), before.Add(time.Hour), time.Now().Add(time.Hour), "its wake time")
}
