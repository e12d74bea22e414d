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
	"github.com/mohallamart/backend/outbox"
)

// TestReplayAndRetryCommands: `server events replay` enqueues the welcome
// emails of stored signups again, with progress lines off a terminal and a
// summary; --dry-run writes nothing. `server jobs failed` lists the failed
// ones grouped, and `server jobs retry` makes them available again.
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
	ob := outbox.New(client)
	for _, id := range []string{"u-1", "u-2"} {
		ev, err := events.New(events.UserCreated{UserID: id, Email: id + "@example.com", Name: "Asha"})
		require.NoError(t, err)
		ev.ID = "signup-" + id
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
	require.NoError(t, run(ctx, []string{"events", "replay", "--name", "user/created", "--since", "1h", "--dry-run"}, env, &out))
	require.Contains(t, out.String(), "2/2 events (100%)\n")
	require.Contains(t, out.String(), "send_welcome_email           would enqueue 2\n")
	require.Contains(t, out.String(), "Dry run: nothing was written.")
	require.Zero(t, count(replayed))

	out.Reset()
	require.NoError(t, run(ctx, []string{"events", "replay", "--name", "user/created", "--since", time.Now().Add(-time.Hour).Format(time.RFC3339), "--function", "send_welcome_email"}, env, &out))
	require.Regexp(t, `Replay \w{26}: 2 user/created events, function send_welcome_email\n`, out.String())
	require.Contains(t, out.String(), "send_welcome_email           enqueued 2\n")
	require.Equal(t, 2, count(replayed))

	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now(),
		errors = ARRAY[jsonb_build_object('at', now(), 'attempt', 1, 'error', 'load user ' || (args ->> 'user_id') || '0000000: not found', 'trace', '')]
		WHERE state = 'available'`)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, run(ctx, []string{"jobs", "failed", "--since", "1h"}, env, &out))
	require.Regexp(t, `(?m)^send_welcome_email +2 +2 +0 +\S+ +\S+ +load user u-<id>: not found$`, out.String())

	out.Reset()
	require.NoError(t, run(ctx, []string{"jobs", "retry", "--kind", "send_welcome_email", "--since", "1h", "--error-like", "not found"}, env, &out))
	require.Contains(t, out.String(), "2/2 jobs (100%)\nRetried 2 send_welcome_email jobs.\n")
	require.Equal(t, 2, count(replayed))

	require.ErrorContains(t, run(ctx, []string{"events", "replay", "--name", "user/created"}, env, io.Discard), "usage: server events replay")
	require.ErrorContains(t, run(ctx, []string{"jobs", "retry", "--since", "1h"}, env, io.Discard), "usage: server jobs")
	require.ErrorContains(t, run(ctx, []string{"events", "replay", "--name", "user/created", "--since", "yesterday"}, env, io.Discard), `"yesterday" is not a time`)
}
