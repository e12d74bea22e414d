package replay_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/replay"
)

// fail settles the jobs of kind that an event triggered as state, with
// lastError as their last error, finalized at `at`.
func (e env) fail(t *testing.T, eventID, state, lastError string, at time.Time) {
	t.Helper()
	e.exec(t, `UPDATE river_job SET state = $2::river_job_state, finalized_at = $4, attempt = max_attempts,
		errors = ARRAY[jsonb_build_object('at', $4::timestamptz, 'attempt', 1, 'error', 'an earlier error', 'trace', ''),
		               jsonb_build_object('at', $4::timestamptz, 'attempt', 2, 'error', $3::text, 'trace', '')]
		WHERE args ->> 'event_id' = $1`, eventID, state, lastError, at)
}

// TestFailedAndRetry: dead letters group by kind and last error, with the
// ids in the error replaced so that one failure of many rows is one group;
// a bulk retry of one group makes its jobs available again, in batches,
// and a dry run only counts.
func TestFailedAndRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	day := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	ids := []string{"01JDQ7Z5K3M4N5P6Q7R8S9T0VW", "01JDQ7Z5K3M4N5P6Q7R8S9T0VX", "01JDQ7Z5K3M4N5P6Q7R8S9T0VY"}
	for i, id := range ids {
		e.publish(t, events.UserCreated{UserID: id, Email: "a@example.com", Name: "Asha"}, "signup-"+id)
		e.fail(t, "signup-"+id, "discarded", "  load user "+id+": user not found  ", day.Add(time.Duration(i)*time.Hour))
	}
	e.publish(t, events.UserCreated{UserID: "u-5", Email: "b@example.com", Name: "Asha"}, "signup-u-5")
	e.fail(t, "signup-u-5", "cancelled", "resend: 422 invalid recipient", day)
	e.publish(t, events.OrderCancelled{OrderID: "6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7c", UserID: "10000000-0000-4000-8000-000000000005"}, "cancel-1")
	e.fail(t, "cancel-1", "discarded", "order 6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7c not found", day)
	e.publish(t, events.UserCreated{UserID: "u-6", Email: "c@example.com", Name: "Asha"}, "signup-u-6")
	e.fail(t, "signup-u-6", "discarded", "load user u-6: user not found", day.Add(-48*time.Hour))

	groups, err := e.svc.Failed(ctx, day.Add(-time.Hour), "")
	require.NoError(t, err)
	require.Equal(t, []replay.FailedGroup{
		{Kind: "test_user", Error: "load user <id>: user not found", Jobs: 3, Discarded: 3, FirstSeen: day, LastSeen: day.Add(2 * time.Hour)},
		{Kind: "test_order", Error: "order <id> not found", Jobs: 1, Discarded: 1, FirstSeen: day, LastSeen: day},
		{Kind: "test_user", Error: "resend: 422 invalid recipient", Jobs: 1, Cancelled: 1, FirstSeen: day, LastSeen: day},
	}, utc(groups))
	groups, err = e.svc.Failed(ctx, day.Add(-time.Hour), "test_order")
	require.NoError(t, err)
	require.Len(t, groups, 1)

	available := func() int {
		return e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_user' AND state = 'available'`)
	}
	req := replay.RetryRequest{Kind: "test_user", Since: day.Add(-time.Hour), ErrorLike: "USER NOT FOUND", DryRun: true}
	res, err := e.svc.Retry(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, replay.RetryResult{DryRun: true, Matched: 3}, res)
	require.Zero(t, available())

	e.svc.BatchSize = 2
	var seen [][2]int
	req.DryRun = false
	res, err = e.svc.Retry(ctx, req, func(done, total int) { seen = append(seen, [2]int{done, total}) })
	require.NoError(t, err)
	require.Equal(t, replay.RetryResult{Matched: 3, Retried: 3}, res)
	require.Equal(t, [][2]int{{2, 3}, {3, 3}}, seen)
	require.Equal(t, 3, available())
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available' AND args ->> 'event_id' LIKE 'signup-01JDQ%' AND max_attempts > attempt`),
		"River gives a job that used its attempts one more")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'discarded' AND args ->> 'event_id' = 'signup-u-6'`), "finalized before since")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'cancelled' AND kind = 'test_user'`), "another error")

	_, err = e.svc.Retry(ctx, replay.RetryRequest{Since: day}, nil)
	require.ErrorContains(t, err, "function is required")
}

// TestRetryByFunctionAndMatch: a retry names the function by its id and
// keeps, with match, the runs whose event has a value at a field of its
// data, and with until those that failed before a time; bad input is
// refused naming the field, and changes nothing.
func TestRetryByFunctionAndMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	day := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	const orderA, orderB = "6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7a", "6f1c2b9e-8a4d-4c1e-9b7a-2d3e4f5a6b7b"
	for i, order := range []string{orderA, orderB, orderA} {
		id := "upd-" + order[len(order)-1:] + "-" + string(rune('0'+i))
		e.publish(t, events.OrderUpdated{OrderID: order, UserID: "10000000-0000-4000-8000-000000000005", PreviousStatus: "placed", Status: "confirmed"}, id)
		e.fail(t, id, "discarded", "smtp down", day.Add(time.Duration(i)*time.Hour))
	}
	req := replay.RetryRequest{Function: "test-order", Since: day.Add(-time.Hour), Match: "data.orderId=" + orderA, DryRun: true}
	res, err := e.svc.Retry(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, replay.RetryResult{DryRun: true, Matched: 2}, res)

	req.Until = day.Add(time.Hour)
	res, err = e.svc.Retry(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Matched, "the first failed before until")

	req.Until, req.DryRun = time.Time{}, false
	res, err = e.svc.Retry(ctx, req, nil)
	require.NoError(t, err)
	require.Equal(t, replay.RetryResult{Matched: 2, Retried: 2}, res)
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_order' AND state = 'available'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_order' AND state = 'discarded' AND args ->> 'event_id' LIKE 'upd-b%'`))

	for _, bad := range []struct {
		req   replay.RetryRequest
		field string
	}{
		{replay.RetryRequest{Function: "no-such", Since: day}, "function"},
		{replay.RetryRequest{Function: "test-order", Kind: "test_order", Since: day}, "kind"},
		{replay.RetryRequest{Function: "test-order"}, "since"},
		{replay.RetryRequest{Function: "test-order", Since: day, Until: day.Add(-time.Hour)}, "until"},
		{replay.RetryRequest{Function: "test-order", Since: day, Match: "orderId=" + orderB}, "match"},
		{replay.RetryRequest{Function: "test-order", Since: day, Match: "data..x=1"}, "match"},
	} {
		_, err := e.svc.Retry(ctx, bad.req, nil)
		require.Error(t, err)
		require.Equal(t, bad.field, apperr.DetailsOf(err)[0].Field, "%+v", bad.req)
	}
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'test_order' AND state = 'discarded'`), "bad input changes nothing")
}

func utc(groups []replay.FailedGroup) []replay.FailedGroup {
	for i := range groups {
		groups[i].FirstSeen, groups[i].LastSeen = groups[i].FirstSeen.UTC(), groups[i].LastSeen.UTC()
	}
	return groups
}
