package control_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Two orders, and the customer of both.
const (
	orderA   = "6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7a"
	orderB   = "6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7b"
	customer = "10000000-0000-4000-8000-000000000005"
)

// testRegistry is the registry of the tests: test-only functions on a
// catalog event, so that what a test counts does not change with the
// application's functions. test-order runs on every order/updated;
// test-other too, and is never paused or cancelled (its runs must stay as
// they are).
func testRegistry(t *testing.T, handler fn.Handler[json.RawMessage]) *fn.Registry {
	t.Helper()
	if handler == nil {
		handler = func(context.Context, fn.Input[json.RawMessage]) (any, error) { return "done", nil }
	}
	reg, err := fn.NewRegistry(
		fn.New(fn.Options{ID: "test-order"}, fn.On(events.NameOrderUpdated), handler),
		fn.New(fn.Options{ID: "test-other"}, fn.On(events.NameOrderUpdated), handler),
	)
	require.NoError(t, err)
	return reg
}

// env is a test transaction with an insert-only River client, and an
// outbox and a control service on it.
type env struct {
	tx  pgx.Tx
	ob  *outbox.Outbox
	svc *control.Service
}

func newEnv(t *testing.T) env {
	t.Helper()
	tx := dbtest.TestTx(t.Context(), t)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	reg := testRegistry(t, nil)
	return env{tx: tx, ob: outbox.New(client, reg), svc: control.New(tx, client, reg)}
}

// updated is an order/updated event of order, with id.
func updated(t *testing.T, order, id string) events.Event {
	t.Helper()
	ev, err := events.New(events.OrderUpdated{OrderID: order, UserID: customer, PreviousStatus: "placed", Status: "confirmed"})
	require.NoError(t, err)
	ev.ID = id
	return ev
}

func (e env) publish(t *testing.T, evs ...events.Event) {
	t.Helper()
	_, err := e.ob.Publish(t.Context(), e.tx, evs...)
	require.NoError(t, err)
}

func (e env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.tx.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

func (e env) states(t *testing.T, kind string) map[string]int {
	t.Helper()
	rows, err := e.tx.Query(t.Context(), `SELECT state::text, count(*) FROM river_job WHERE kind = $1 GROUP BY state`, kind)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var (
			s string
			n int
		)
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// field is the field an Invalid error names.
func field(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, apperr.Invalid, apperr.CodeOf(err), "%v", err)
	d := apperr.DetailsOf(err)
	require.Len(t, d, 1, "%v", err)
	return d[0].Field
}

// TestPauseAndResume: a dry run counts the runs a pause would hold and
// changes nothing; the pause holds the function's queued runs (River's
// pending state) and no other function's; events published while it is
// paused still enqueue runs (the publish path does not look); the dry run
// of resume counts the held runs, and resume makes them available again,
// the one whose time is to come scheduled.
func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, updated(t, orderA, "upd-1"), updated(t, orderB, "upd-2"))
	_, err := e.tx.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour'
		WHERE kind = 'test_order' AND args ->> 'event_id' = 'upd-2'`)
	require.NoError(t, err)

	dry, err := e.svc.Pause(ctx, control.PauseRequest{Function: "test-order", DryRun: true})
	require.NoError(t, err)
	require.Equal(t, control.PauseResult{Function: "test-order", DryRun: true, Held: 1}, dry)
	require.Zero(t, e.count(t, `SELECT count(*) FROM fn_paused`), "a dry run writes nothing")
	require.Equal(t, map[string]int{"available": 1, "scheduled": 1}, e.states(t, "test_order"))

	res, err := e.svc.Pause(ctx, control.PauseRequest{Function: "test-order", By: "asha"})
	require.NoError(t, err)
	require.Equal(t, control.PauseResult{Function: "test-order", Held: 1}, res)
	require.Equal(t, map[string]int{"pending": 1, "scheduled": 1}, e.states(t, "test_order"),
		"the scheduled run is held when it comes due")
	require.Equal(t, map[string]int{"available": 2}, e.states(t, "test_other"))
	paused, err := e.svc.IsPaused(ctx, "test-order")
	require.NoError(t, err)
	require.True(t, paused)

	e.publish(t, updated(t, orderA, "upd-3"))
	require.Equal(t, map[string]int{"pending": 1, "scheduled": 1, "available": 1}, e.states(t, "test_order"),
		"publishing does not look at pauses: the worker holds the run")
	res, err = e.svc.Pause(ctx, control.PauseRequest{Function: "test-order", By: "ravi"})
	require.NoError(t, err)
	require.Equal(t, control.PauseResult{Function: "test-order", AlreadyPaused: true, Held: 1}, res)
	list, err := e.svc.Paused(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "test-order", list[0].Function)
	require.Equal(t, "asha", list[0].PausedBy, "the first pause is kept")
	require.Equal(t, 2, list[0].Held)

	// upd-2's run was held after its time came; it keeps its time.
	_, err = e.tx.Exec(ctx, `UPDATE river_job SET state = 'pending' WHERE kind = 'test_order' AND state = 'scheduled'`)
	require.NoError(t, err)
	rdry, err := e.svc.Resume(ctx, control.ResumeRequest{Function: "test-order", DryRun: true})
	require.NoError(t, err)
	require.Equal(t, control.ResumeResult{Function: "test-order", DryRun: true, WasPaused: true, Released: 3}, rdry)
	require.Equal(t, map[string]int{"pending": 3}, e.states(t, "test_order"))

	rres, err := e.svc.Resume(ctx, control.ResumeRequest{Function: "test-order"})
	require.NoError(t, err)
	require.Equal(t, control.ResumeResult{Function: "test-order", WasPaused: true, Released: 3}, rres)
	require.Equal(t, map[string]int{"available": 2, "scheduled": 1}, e.states(t, "test_order"))
	require.Zero(t, e.count(t, `SELECT count(*) FROM fn_paused`))
	rres, err = e.svc.Resume(ctx, control.ResumeRequest{Function: "test-order"})
	require.NoError(t, err)
	require.Equal(t, control.ResumeResult{Function: "test-order"}, rres, "resuming again changes nothing")
}

// TestPauseRefusesBadInput: an unknown or missing function is refused,
// naming the field, and nothing is written.
func TestPauseRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, updated(t, orderA, "upd-1"))
	for _, id := range []string{"", "no-such-function", "test_order"} {
		_, err := e.svc.Pause(ctx, control.PauseRequest{Function: id})
		require.Equal(t, "function", field(t, err), "%q", id)
		_, err = e.svc.Resume(ctx, control.ResumeRequest{Function: id})
		require.Equal(t, "function", field(t, err), "%q", id)
	}
	require.Zero(t, e.count(t, `SELECT count(*) FROM fn_paused`))
	require.Equal(t, map[string]int{"available": 1}, e.states(t, "test_order"))
}

// TestCancel: a bulk cancel selects a function's runs by when they were
// enqueued and by a field of their event; the dry run counts them (queued
// and running apart); the cancel cancels the queued ones (held ones too)
// with the reason as their last error, asks the running one to stop
// through River, and leaves finished runs and other functions' alone.
func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, updated(t, orderA, "upd-1"), updated(t, orderA, "upd-2"), updated(t, orderA, "upd-3"), updated(t, orderA, "upd-4"),
		updated(t, orderB, "upd-5"))
	set := func(eventID, sql string) {
		t.Helper()
		_, err := e.tx.Exec(ctx, `UPDATE river_job SET `+sql+` WHERE kind = 'test_order' AND args ->> 'event_id' = $1`, eventID)
		require.NoError(t, err)
	}
	set("upd-2", `state = 'pending'`)
	set("upd-3", `state = 'running', attempt = 1, attempted_at = now()`)
	set("upd-4", `state = 'completed', finalized_at = now()`)
	set("upd-1", `created_at = now() - interval '2 days'`)

	req := control.CancelRequest{Function: "test-order", Since: time.Now().Add(-24 * time.Hour), Match: "data.orderId=" + orderA, DryRun: true}
	dry, err := e.svc.Cancel(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, control.CancelResult{Function: "test-order", DryRun: true, Matched: 2, Queued: 1, Running: 1}, dry)
	require.Zero(t, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'cancelled'`), "a dry run changes nothing")

	req.DryRun, req.Reason = false, "order A was refunded by hand"
	res, err := e.svc.Cancel(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, control.CancelResult{Function: "test-order", Matched: 2, Queued: 1, Cancelled: 1, Running: 1, Stopped: 1}, res)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_order' AND state = 'cancelled'
		AND args ->> 'event_id' = 'upd-2' AND errors[array_length(errors, 1)] ->> 'error' = 'order A was refunded by hand'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE args ->> 'event_id' = 'upd-3' AND kind = 'test_order'
		AND state = 'running' AND metadata ? 'cancel_attempted_at'`), "River's JobCancel asked the running run to stop")
	require.Equal(t, map[string]int{"available": 2, "completed": 1, "cancelled": 1, "running": 1}, e.states(t, "test_order"),
		"upd-1 (enqueued before since) and upd-5 (order B) are left")
	require.Equal(t, map[string]int{"available": 5}, e.states(t, "test_other"))

	// Without since, upd-1 too; without match, order B's too.
	res, err = e.svc.Cancel(ctx, control.CancelRequest{Function: "test-order"}, nil)
	require.NoError(t, err)
	require.Equal(t, 2, res.Cancelled)
	require.Equal(t, 1, res.Stopped)
	require.Equal(t, map[string]int{"completed": 1, "cancelled": 3, "running": 1}, e.states(t, "test_order"))
}

// TestCancelRefusesBadInput: each bad field is named, and nothing is
// cancelled.
func TestCancelRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, updated(t, orderA, "upd-1"))
	now := time.Now()
	for _, bad := range []struct {
		req   control.CancelRequest
		field string
	}{
		{control.CancelRequest{}, "function"},
		{control.CancelRequest{Function: "no-such"}, "function"},
		{control.CancelRequest{Function: "test-order", Since: now, Until: now.Add(-time.Hour)}, "until"},
		{control.CancelRequest{Function: "test-order", Match: "orderId=" + orderA}, "match"},
		{control.CancelRequest{Function: "test-order", Match: "data.orderId"}, "match"},
		{control.CancelRequest{Function: "test-order", Match: "data.=1"}, "match"},
	} {
		_, err := e.svc.Cancel(ctx, bad.req, nil)
		require.Equal(t, bad.field, field(t, err), "%+v", bad.req)
	}
	require.Equal(t, map[string]int{"available": 1}, e.states(t, "test_order"))
}
