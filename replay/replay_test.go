package replay_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/replay"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is a test transaction with an insert-only River client, an outbox
// and a replay service on it.
type env struct {
	tx  pgx.Tx
	ob  *outbox.Outbox
	svc *replay.Service
}

func newEnv(t *testing.T) env {
	t.Helper()
	tx := dbtest.TestTx(t.Context(), t)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return env{tx: tx, ob: outbox.New(client), svc: replay.New(tx, client)}
}

func (e env) publish(t *testing.T, p events.Payload, id string) {
	t.Helper()
	ev, err := events.New(p)
	require.NoError(t, err)
	ev.ID = id
	_, err = e.ob.Publish(t.Context(), e.tx, ev)
	require.NoError(t, err)
}

func (e env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.tx.QueryRow(context.WithoutCancel(t.Context()), sql, args...).Scan(&n))
	return n
}

func (e env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := e.tx.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

// completeAll marks every job completed, as workers would have.
func (e env) completeAll(t *testing.T) {
	t.Helper()
	e.exec(t, `UPDATE river_job SET state = 'completed', finalized_at = now()`)
}

// TestReplay: replaying user/created enqueues each event's welcome email
// again, linked to its event and marked as a replay, in batches with
// progress; the events' analytics are queued again; events received
// outside the window are left alone.
func TestReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for _, id := range []string{"u-1", "u-2", "u-3", "u-old"} {
		e.publish(t, events.UserCreated{UserID: id, Email: id + "@example.com", Name: "Asha"}, "signup-"+id)
	}
	e.publish(t, events.UserDeleted{UserID: "10000000-0000-4000-8000-000000000009"}, "delete-u-9")
	e.exec(t, `UPDATE events SET received_at = now() - interval '3 days' WHERE id = 'signup-u-old'`)
	e.completeAll(t)
	e.exec(t, `DELETE FROM analytics_pending`)

	e.svc.BatchSize = 2
	var seen [][2]int
	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: time.Now().Add(-24 * time.Hour)},
		func(done, total int) { seen = append(seen, [2]int{done, total}) })
	require.NoError(t, err)
	require.Equal(t, 3, res.Events)
	require.Equal(t, map[string]int{"send_welcome_email": 3}, res.Enqueued)
	require.Empty(t, res.Skipped)
	require.Equal(t, 3, res.Tracked)
	require.Equal(t, [][2]int{{2, 3}, {3, 3}}, seen)
	require.NotEmpty(t, res.ReplayID)

	rows, err := e.tx.Query(ctx, `SELECT args ->> 'event_id', metadata, tags FROM river_job WHERE state = 'available' ORDER BY id`)
	require.NoError(t, err)
	var eventIDs []string
	for rows.Next() {
		var (
			id   string
			meta []byte
			tags []string
		)
		require.NoError(t, rows.Scan(&id, &meta, &tags))
		var m replay.Metadata
		require.NoError(t, json.Unmarshal(meta, &m))
		require.Equal(t, replay.Metadata{Replay: true, ReplayID: res.ReplayID}, m)
		require.Equal(t, []string{replay.Tag}, tags)
		eventIDs = append(eventIDs, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"signup-u-1", "signup-u-2", "signup-u-3"}, eventIDs)
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM analytics_pending WHERE event_id LIKE 'signup-u-_'`))
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM analytics_pending`))
}

// TestReplayFunctionFilterAndDryRun: --function keeps one function (the
// analytics one queues only analytics); a dry run counts the same and
// writes nothing.
func TestReplayFunctionFilterAndDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.publish(t, events.OrderUpdated{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001",
		PreviousStatus: "placed", Status: "confirmed"}, "upd-1")
	e.publish(t, events.UserCreated{UserID: "u-1", Email: "a@example.com", Name: "Asha"}, "signup-1")
	e.completeAll(t)
	e.exec(t, `DELETE FROM analytics_pending`)
	since := time.Now().Add(-time.Hour)
	jobs := func() int { return e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available'`) }

	dry, err := e.svc.Replay(ctx, replay.Request{Name: events.NameOrderUpdated, Since: since, DryRun: true}, nil)
	require.NoError(t, err)
	require.True(t, dry.DryRun)
	require.Equal(t, 1, dry.Events)
	require.Equal(t, map[string]int{"send_order_update": 1, "remind_stalled_order": 1}, dry.Enqueued)
	require.Equal(t, 0, jobs(), "a dry run writes nothing")

	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameOrderUpdated, Since: since, Function: "remind_stalled_order"}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"remind_stalled_order": 1}, res.Enqueued)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE state = 'available' AND kind = 'remind_stalled_order' AND args ->> 'event_id' = 'upd-1'`))
	require.Equal(t, 1, jobs())

	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: since, Function: replay.AnalyticsFunction}, nil)
	require.NoError(t, err)
	require.Empty(t, res.Enqueued)
	require.Equal(t, 1, res.Tracked)
	require.Equal(t, 1, jobs())
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM analytics_pending WHERE event_id = 'signup-1'`))

	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated, Since: since, Function: "send_welcome_email"}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"send_welcome_email": 1}, res.Enqueued)
	require.Zero(t, res.Tracked)

	_, err = e.svc.Replay(ctx, replay.Request{Name: "my/custom", Since: since}, nil)
	require.ErrorContains(t, err, "not an event of the catalog")
	_, err = e.svc.Replay(ctx, replay.Request{Name: events.NameUserCreated}, nil)
	require.ErrorContains(t, err, "since is required")
}

// TestReplayUniqueJobs: a unique job (index_product, unique by product
// while pending) that is already pending is skipped and reported, and two
// events of one batch for the same product enqueue one job.
func TestReplayUniqueJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	name := "Atta"
	const product = "40000000-0000-4000-8000-000000000001"
	e.publish(t, events.ProductUpdated{ProductID: product, Name: &name}, "pu-1")
	e.publish(t, events.ProductUpdated{ProductID: product, Name: &name}, "pu-2")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'index_product'`), "coalesced when published")
	since := time.Now().Add(-time.Hour)

	res, err := e.svc.Replay(ctx, replay.Request{Name: events.NameProductUpdated, Since: since}, nil)
	require.NoError(t, err)
	require.Empty(t, res.Enqueued)
	require.Equal(t, map[string]int{"index_product": 2}, res.Skipped, "the pending job does the work")

	e.completeAll(t)
	res, err = e.svc.Replay(ctx, replay.Request{Name: events.NameProductUpdated, Since: since}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"index_product": 1}, res.Enqueued)
	require.Equal(t, map[string]int{"index_product": 1}, res.Skipped)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'index_product' AND state = 'available' AND metadata ->> 'replay' = 'true'`))
}
