package main

import (
	"bytes"
	"io"
	"testing"

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

// TestFunctionsAndRunsCommands: `server functions pause` holds a
// function's queued runs (a dry run first counts them), `functions paused`
// lists it, `functions resume` releases them; `server runs cancel` cancels
// the runs of one user's event (--match), `runs retry` makes them
// available again; bad input names the flag or field.
func TestFunctionsAndRunsCommands(t *testing.T) {
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
	users := []string{"10000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000002"}
	for _, id := range users {
		ev, err := events.New(events.UserDeleted{UserID: id})
		require.NoError(t, err)
		ev.ID = "delete-" + id
		require.NoError(t, db.InTx(ctx, pool, func(tx pgx.Tx) error { _, err := ob.Publish(ctx, tx, ev); return err }))
	}
	count := func(sql string) (n int) {
		require.NoError(t, pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	cmd := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, run(ctx, args, env, &out))
		return out.String()
	}
	state := func(s string) string {
		return `SELECT count(*) FROM river_job WHERE kind = 'end_user_sessions' AND state = '` + s + `'`
	}

	require.Equal(t, "Would pause end-user-sessions and hold its 2 runs ready to start. Dry run: nothing was changed.\n",
		cmd("functions", "pause", "end-user-sessions", "--dry-run"))
	require.Equal(t, 2, count(state("available")))
	require.Contains(t, cmd("functions", "pause", "end-user-sessions"), "Paused end-user-sessions: held 2 runs")
	require.Equal(t, 2, count(state("pending")))
	require.Regexp(t, `(?m)^end-user-sessions +2 +\S+ +cli`, cmd("functions", "paused"))
	require.Equal(t, "Would resume end-user-sessions and release its 2 held runs. Dry run: nothing was changed.\n",
		cmd("functions", "resume", "--dry-run", "end-user-sessions"))
	require.Equal(t, "Resumed end-user-sessions: released 2 held runs.\n", cmd("functions", "resume", "end-user-sessions"))
	require.Equal(t, 2, count(state("available")))
	require.Equal(t, "No paused functions.\n", cmd("functions", "paused"))

	match := "data.userId=" + users[0]
	require.Equal(t, "Would cancel 1 end-user-sessions runs (1 queued, 0 running). Dry run: nothing was changed.\n",
		cmd("runs", "cancel", "--function", "end-user-sessions", "--match", match, "--since", "1h", "--dry-run"))
	require.Contains(t, cmd("runs", "cancel", "--function", "end-user-sessions", "--match", match, "--reason", "user asked"),
		"Cancelled 1 queued end-user-sessions runs; asked 0 running ones to stop.\n")
	require.Equal(t, 1, count(state("cancelled")+` AND errors[1] ->> 'error' = 'user asked'`))
	require.Equal(t, 1, count(state("available")))
	require.Contains(t, cmd("runs", "retry", "--function", "end-user-sessions", "--since", "1h", "--dry-run"), "Would retry 1 end-user-sessions jobs.")
	require.Contains(t, cmd("runs", "retry", "--function", "end-user-sessions", "--since", "1h", "--match", match), "Retried 1 end-user-sessions jobs.\n")
	require.Equal(t, 2, count(state("available")))

	for _, bad := range []struct {
		args []string
		err  string
	}{
		{[]string{"functions", "pause"}, "usage: server functions"},
		{[]string{"functions", "pause", "no-such-function"}, `function is "no-such-function", which is not a function`},
		{[]string{"functions", "stop", "end-user-sessions"}, "usage: server functions"},
		{[]string{"runs", "cancel"}, "usage: server runs"},
		{[]string{"runs", "cancel", "--function", "end-user-sessions", "--match", "userId=1"}, "match must be data.FIELD=VALUE"},
		{[]string{"runs", "cancel", "--function", "end-user-sessions", "--since", "soon"}, `--since: "soon" is not a time`},
		{[]string{"runs", "retry", "--function", "end-user-sessions"}, "usage: server runs"},
	} {
		require.ErrorContains(t, run(ctx, bad.args, env, io.Discard), bad.err, "%v", bad.args)
	}
	require.Equal(t, 2, count(state("available")), "bad input changed nothing")
	require.Zero(t, count(`SELECT count(*) FROM fn_paused`))
}
