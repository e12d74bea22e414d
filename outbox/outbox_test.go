package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newOutbox returns an Outbox with an insert-only River client, as the API
// role runs it.
func newOutbox(t *testing.T) *outbox.Outbox {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return outbox.New(client)
}

func userCreated(t *testing.T, id string) events.Event {
	t.Helper()
	ev, err := events.New(events.UserCreated{UserID: "10000000-0000-4000-8000-000000000001", Email: "asha@example.com", Name: "Asha"})
	require.NoError(t, err)
	ev.ID = id
	return ev
}

type jobRow struct{ Kind, Queue string }

// jobsOf lists the kind and queue of every job an event triggered.
func jobsOf(ctx context.Context, t *testing.T, q db.DBTX, eventID string) []jobRow {
	t.Helper()
	rows, err := db.New(q).EventJobList(ctx, eventID)
	require.NoError(t, err)
	out := make([]jobRow, len(rows))
	for i, r := range rows {
		out[i] = jobRow{r.Kind, r.Queue}
	}
	return out
}

// tracked reports whether eventID is queued for analytics.
func tracked(ctx context.Context, t *testing.T, q db.DBTX, eventID string) bool {
	t.Helper()
	return count(ctx, t, q, "SELECT count(*) FROM analytics_pending WHERE event_id = $1", eventID) == 1
}

func count(ctx context.Context, t *testing.T, q db.DBTX, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(ctx, sql, args...).Scan(&n))
	return n
}

func TestPublish(t *testing.T) {
	t.Parallel()

	t.Run("StoresEventAndEnqueuesItsJobs", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, userCreated(t, ""))
		require.NoError(t, err)
		require.Len(t, ids, 1)
		require.Len(t, ids[0], 26, "a generated id is a ULID")

		stored, err := db.New(tx).EventGet(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, events.NameUserCreated, stored.Name)
		require.JSONEq(t, `{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha"}`, string(stored.Data))
		require.WithinDuration(t, time.Now(), stored.Ts, time.Minute)

		welcome := rivertest.RequireInsertedTx[*riverpgxv5.Driver](ctx, t, tx, &jobargs.SendWelcomeEmailArgs{}, &rivertest.RequireInsertedOpts{Queue: jobargs.QueueEmail})
		require.Equal(t, ids[0], welcome.Args.EventID)
		require.Equal(t, "10000000-0000-4000-8000-000000000001", welcome.Args.UserID)
		require.ElementsMatch(t, []jobRow{{"send_welcome_email", "email"}}, jobsOf(ctx, t, tx, ids[0]))
		require.True(t, tracked(ctx, t, tx, ids[0]), "queued for analytics")
	})

	t.Run("KeepsClientIDAndTimestamp", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ev := userCreated(t, "client-id-1")
		ev.TS = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ev.Source = "http"

		ids, err := newOutbox(t).Publish(ctx, tx, ev)
		require.NoError(t, err)
		require.Equal(t, []string{"client-id-1"}, ids)
		stored, err := db.New(tx).EventGet(ctx, "client-id-1")
		require.NoError(t, err)
		require.True(t, ev.TS.Equal(stored.Ts))
		require.Equal(t, "http", stored.Source)
	})

	t.Run("InvalidEventWritesNothing", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		bad := events.Event{Name: events.NameOrderCreated, Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":0,"pricePaise":10}]}`)}

		_, err := newOutbox(t).Publish(ctx, tx, userCreated(t, "good-1"), bad)
		var verr *events.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Contains(t, err.Error(), "events[1].data.items[0].quantity: must be > 0")
		require.Contains(t, err.Error(), "events[1].data.userId: is required")
		require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM events"))
		require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM river_job"))
	})

	t.Run("DuplicateIDIsStoredAndEnqueuedOnce", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)
		ob := newOutbox(t)

		ids, err := ob.Publish(ctx, tx, userCreated(t, "dup-1"), userCreated(t, "dup-1"))
		require.NoError(t, err)
		require.Equal(t, []string{"dup-1", "dup-1"}, ids)
		ids, err = ob.Publish(ctx, tx, userCreated(t, "dup-1"))
		require.NoError(t, err)
		require.Equal(t, []string{"dup-1"}, ids)

		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM events WHERE id = 'dup-1'"))
		require.Len(t, jobsOf(ctx, t, tx, "dup-1"), 1)
		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM analytics_pending WHERE event_id = 'dup-1'"))
	})

	t.Run("CustomEventIsStoredWithoutJobs", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		tx := dbtest.TestTx(ctx, t)

		ids, err := newOutbox(t).Publish(ctx, tx, events.Event{Name: "cart/abandoned", Data: json.RawMessage(`{"cartId":"c1"}`)})
		require.NoError(t, err)
		require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM events WHERE id = $1 AND name = 'cart/abandoned'", ids[0]))
		require.Empty(t, jobsOf(ctx, t, tx, ids[0]))
	})

	t.Run("NothingToPublish", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		ids, err := newOutbox(t).Publish(ctx, dbtest.TestTx(ctx, t))
		require.NoError(t, err)
		require.Empty(t, ids)
	})
}

// TestPublishConcurrentDuplicate publishes the same event id from two
// transactions at once: the second waits on the first's row and then skips
// it, so there is one event row and one set of jobs. If the first rolls back,
// the second's event is the one stored.
func TestPublishConcurrentDuplicate(t *testing.T) {
	t.Parallel()

	for _, firstCommits := range []bool{true, false} {
		name := "FirstCommits"
		if !firstCommits {
			name = "FirstRollsBack"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			pool := dbtest.NewPool(ctx, t)
			ob := newOutbox(t)

			tx1, err := pool.Begin(ctx)
			require.NoError(t, err)
			_, err = ob.Publish(ctx, tx1, userCreated(t, "same-id"))
			require.NoError(t, err)

			var wg sync.WaitGroup
			var err2 error
			wg.Go(func() { err2 = publishAndCommit(ctx, pool, ob, userCreated(t, "same-id")) })

			waitForLockWait(ctx, t, pool)
			if firstCommits {
				require.NoError(t, tx1.Commit(ctx))
			} else {
				require.NoError(t, tx1.Rollback(ctx))
			}
			wg.Wait()
			require.NoError(t, err2)

			require.Equal(t, 1, count(ctx, t, pool, "SELECT count(*) FROM events WHERE id = 'same-id'"))
			require.ElementsMatch(t, []jobRow{{"send_welcome_email", "email"}}, jobsOf(ctx, t, pool, "same-id"))
			require.True(t, tracked(ctx, t, pool, "same-id"), "queued for analytics once")
		})
	}
}

func publishAndCommit(ctx context.Context, pool *pgxpool.Pool, ob *outbox.Outbox, evs ...events.Event) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := ob.Publish(ctx, tx, evs...)
		return err
	})
}

// waitForLockWait returns once some session of this database waits on a lock:
// the second transaction is then blocked on the first's event row.
func waitForLockWait(ctx context.Context, t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	require.Eventually(t, func() bool {
		return count(ctx, t, pool, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0
	}, 10*time.Second, 5*time.Millisecond)
}

// TestPublishCoalescesUniqueJobsInOneCall: two events of one call that
// trigger the same unique job (two updates of one product) enqueue it once,
// instead of failing the insert (River cannot insert the same unique key
// twice in one statement).
func TestPublishCoalescesUniqueJobsInOneCall(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	update := func(stock int) events.Event {
		return events.Event{Name: events.NameProductUpdated, Data: json.RawMessage(fmt.Sprintf(`{"productId":"40000000-0000-4000-8000-000000000001","stock":%d}`, stock))}
	}
	_, err := newOutbox(t).Publish(ctx, tx, update(1), update(2), events.Event{Name: events.NameSearchIndex, Data: json.RawMessage(`{"type":"product","id":"40000000-0000-4000-8000-000000000001"}`)})
	require.NoError(t, err)
	require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM river_job WHERE kind = 'index_product'"))
}

// TestPublishIDTakenByOtherEvent: an id stored with another name or other
// data is not a retried send but another event; it fails the call with an
// *IDConflictError naming its position, so a sender that guessed the id
// first cannot make the real event vanish unnoticed. The same event again,
// with its data spelt differently (key order, spaces), is still a duplicate.
func TestPublishIDTakenByOtherEvent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	ob := newOutbox(t)
	require.NoError(t, publishAndCommit(ctx, pool, ob, userCreated(t, "taken-1")))

	other := userCreated(t, "taken-1")
	other.Data = json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"mallory@example.com","name":"Asha"}`)
	renamed := events.Event{ID: "taken-1", Name: events.NameUserUpdated, Data: userCreated(t, "").Data}
	otherFresh := other // another event under an id new in this same call
	otherFresh.ID = "fresh-2"
	respelt := userCreated(t, "taken-1")
	respelt.Data = json.RawMessage(`{ "name": "Asha", "email": "asha@example.com", "userId": "10000000-0000-4000-8000-000000000001" }`)

	for _, tt := range []struct {
		name string
		evs  []events.Event
		want []int // the conflicting positions; none: a duplicate
	}{
		{"OtherData", []events.Event{userCreated(t, "fresh-1"), other}, []int{1}},
		{"OtherName", []events.Event{renamed}, []int{0}},
		{"OtherDataInTheSameCall", []events.Event{userCreated(t, "fresh-2"), otherFresh}, []int{1}},
		{"SameEventRespelt", []events.Event{respelt}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := publishAndCommit(ctx, pool, ob, tt.evs...)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			conflict, ok := errors.AsType[*outbox.IDConflictError](err)
			require.True(t, ok, "%v is an *IDConflictError", err)
			require.Equal(t, tt.want, conflict.Indexes)
			for _, ev := range tt.evs {
				if ev.ID != "taken-1" {
					require.Zero(t, count(ctx, t, pool, "SELECT count(*) FROM events WHERE id = $1", ev.ID), "nothing of the call is stored")
				}
			}
		})
	}
	stored, err := db.New(pool).EventGet(ctx, "taken-1")
	require.NoError(t, err)
	require.Equal(t, events.NameUserCreated, stored.Name)
	require.JSONEq(t, string(userCreated(t, "").Data), string(stored.Data), "the first event stays as it was")
	require.Len(t, jobsOf(ctx, t, pool, "taken-1"), 1)
}

// TestPublishLowersUUIDs: the UUIDs of catalog data are stored, and given to
// jobs, in lower case, so an upper-case id names the same row as PostgreSQL
// prints it and the same unique job; other values keep their case.
func TestPublishLowersUUIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	const upper, lower = "4A3C1E2F-9B7D-4C1E-8D2A-0C3B5E8F1A21", "4a3c1e2f-9b7d-4c1e-8d2a-0c3b5e8f1a21"

	ids, err := newOutbox(t).Publish(ctx, tx,
		events.Event{Name: events.NameProductUpdated, Data: json.RawMessage(`{"productId":"` + upper + `","name":"ATTA <5kg>","extra":"` + upper + `"}`)},
		events.Event{Name: events.NameProductUpdated, Data: json.RawMessage(`{"productId":"` + lower + `","stock":2}`)})
	require.NoError(t, err)

	stored, err := db.New(tx).EventGet(ctx, ids[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"productId":"`+lower+`","name":"ATTA <5kg>","extra":"`+upper+`"}`, string(stored.Data))
	require.Equal(t, 1, count(ctx, t, tx, "SELECT count(*) FROM river_job WHERE kind = 'index_product' AND args->>'product_id' = $1", lower),
		"one index_product job for both spellings")
	require.Zero(t, count(ctx, t, tx, "SELECT count(*) FROM river_job WHERE args->>'product_id' = $1", upper))
}
