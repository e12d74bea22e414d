package main

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/outbox"
)

// TestReplayAndRetryCommands: `server events replay` enqueues the session
// clean-ups of stored account deletions (end-user-sessions) again, with
// progress lines off a terminal and a summary; --dry-run writes nothing.
// `server jobs failed` lists the failed ones grouped, and `server jobs
// retry` makes them available again.
func TestReplayAndRetryCommands(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL := dbtest.NewURL(ctx, t)
	env := envFunc("DATABASE_URL", dbURL, "MIGRATE_ON_START", "false", "LOG_LEVEL", "warn")
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	ob := outbox.New(client, jobstest.Registry(t, pool))
	for _, id := range []string{"10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"} {
		ev, err := events.New(events.UserDeleted{UserID: id})
		require.NoError(t, err)
		ev.ID = "delete-" + id
		require.NoError(t, db.InTx(ctx, pool, func(tx pgx.Tx) error { _, err := ob.Publish(ctx, tx, ev); return err }))
	}
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now()`)
	require.NoError(t, err)
	count := func(sql string) (n int) {
		require.NoError(t, pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	replayed := `SELECT count(*) FROM river_job WHERE state = 'available' AND metadata ->> 'replay' = 'true'`

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"events", "replay", "--name", "user/deleted", "--since", "1h", "--dry-run"}, env, &out))
	require.Contains(t, out.String(), "2/2 events (100%)\n")
	require.Contains(t, out.String(), "end_user_sessions            would enqueue 2\n")
	require.Contains(t, out.String(), "Dry run: nothing was written.")
	require.Zero(t, count(replayed))

	out.Reset()
	require.NoError(t, run(ctx, []string{"events", "replay", "--name", "user/deleted", "--since", time.Now().Add(-time.Hour).Format(time.RFC3339), "--function", "end-user-sessions"}, env, &out))
	require.Regexp(t, `Replay \w{26}: 2 user/deleted events, function end-user-sessions\n`, out.String())
	require.Contains(t, out.String(), "end_user_sessions            enqueued 2\n")
	require.Equal(t, 2, count(replayed))

	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now(),
		errors = ARRAY[jsonb_build_object('at', now(), 'attempt', 1, 'error',
			'end sessions of user ' || (SELECT data ->> 'userId' FROM events WHERE id = river_job.args ->> 'event_id') || ': timeout', 'trace', '')]
		WHERE state = 'available'`)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, run(ctx, []string{"jobs", "failed", "--since", "1h"}, env, &out))
	require.Regexp(t, `(?m)^end_user_sessions +2 +2 +0 +\S+ +\S+ +end sessions of user <id>: timeout$`, out.String())

	out.Reset()
	require.NoError(t, run(ctx, []string{"jobs", "retry", "--kind", "end_user_sessions", "--since", "1h", "--error-like", "timeout"}, env, &out))
	require.Contains(t, out.String(), "2/2 jobs (100%)\nRetried 2 end_user_sessions jobs.\n")
	require.Equal(t, 2, count(replayed))

	require.ErrorContains(t, run(ctx, []string{"events", "replay", "--name", "user/created"}, env, io.Discard), "usage: server events replay")
	require.ErrorContains(t, run(ctx, []string{"jobs", "retry", "--since", "1h"}, env, io.Discard), "usage: server jobs")
	require.ErrorContains(t, run(ctx, []string{"events", "replay", "--name", "user/created", "--since", "yesterday"}, env, io.Discard), `"yesterday" is not a time`)
}
