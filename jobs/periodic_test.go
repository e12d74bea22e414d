package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobs"
)

func TestDailySchedule(t *testing.T) {
	t.Parallel()
	s, err := jobs.ParseDailySchedule("03:00", "Asia/Kolkata")
	require.NoError(t, err)
	ist := time.FixedZone("IST", 5*3600+1800)
	for _, tt := range []struct {
		now, last, next time.Time
	}{
		{time.Date(2026, 11, 27, 2, 59, 0, 0, ist), time.Date(2026, 11, 26, 3, 0, 0, 0, ist), time.Date(2026, 11, 27, 3, 0, 0, 0, ist)},
		{time.Date(2026, 11, 27, 3, 0, 0, 0, ist), time.Date(2026, 11, 27, 3, 0, 0, 0, ist), time.Date(2026, 11, 28, 3, 0, 0, 0, ist)},
		{time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 3, 0, 0, 0, ist), time.Date(2026, 11, 29, 3, 0, 0, 0, ist)},
	} {
		require.True(t, tt.last.Equal(s.Last(tt.now)), "Last(%s) = %s", tt.now, s.Last(tt.now))
		require.True(t, tt.next.Equal(s.Next(tt.now)), "Next(%s) = %s", tt.now, s.Next(tt.now))
	}
	for _, bad := range [][2]string{{"3am", "UTC"}, {"24:00", "UTC"}, {"03:00", "Mars/Olympus"}} {
		_, err := jobs.ParseDailySchedule(bad[0], bad[1])
		require.Error(t, err, bad)
	}
}

// periodicHungAfter bounds the waits of TestPeriodicJobsAcrossClients only
// to end a hung test: the waits end on River's events long before.
const periodicHungAfter = 2 * time.Minute

// clientGroup is River clients working every job kind and running the
// periodic jobs on one database, as the server's processes do.
type clientGroup struct {
	pool    *pgxpool.Pool
	clients []*river.Client[pgx.Tx]
	// completed gets a value (at most one waits) when a client completes
	// a job.
	completed chan struct{}
}

// startClients starts n clients on pool with the periodic jobs opts
// configure.
func startClients(t *testing.T, pool *pgxpool.Pool, opts jobs.PeriodicOpts, n int) *clientGroup {
	t.Helper()
	g := &clientGroup{pool: pool, completed: make(chan struct{}, 1)}
	periodic, err := jobs.PeriodicJobs(opts)
	require.NoError(t, err)
	for range n {
		workers := river.NewWorkers()
		require.NoError(t, jobs.AddWorkers(workers, jobs.Deps{DB: pool}))
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Queues:            jobs.Queues(jobs.DefaultQueueWorkers(), 10*time.Millisecond, 50*time.Millisecond),
			Workers:           workers,
			PeriodicJobs:      periodic,
			FetchCooldown:     10 * time.Millisecond,
			FetchPollInterval: 50 * time.Millisecond,
			Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			TestOnly:          true, // no random delay before the leader's maintenance services start
		})
		require.NoError(t, err)
		// Subscribed before Start, so no completion is missed.
		events, _ := client.Subscribe(river.EventKindJobCompleted) // closed by Stop
		go func() {
			for range events {
				select {
				case g.completed <- struct{}{}:
				default:
				}
			}
		}()
		require.NoError(t, client.Start(t.Context()))
		g.clients = append(g.clients, client)
	}
	t.Cleanup(func() { g.stop(t) })
	return g
}

// waitCompleted waits until kind has n completed jobs, checking the database
// each time a client completes a job.
func (g *clientGroup) waitCompleted(t *testing.T, kind string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), periodicHungAfter)
	defer cancel()
	for {
		var done int
		require.NoError(t, g.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND state = 'completed'`, kind).Scan(&done))
		if done >= n {
			return
		}
		select {
		case <-g.completed:
		case <-ctx.Done():
			t.Fatalf("%d of %d %s jobs completed after %s", done, n, kind, periodicHungAfter)
		}
	}
}

// stop stops the followers, then the leader. A follower stopping just as
// the leader resigns could win an election and never resign that term: the
// next leader would wait for it to expire (River's leader TTL, 15 s).
func (g *clientGroup) stop(t *testing.T) {
	t.Helper()
	var leader string
	err := g.pool.QueryRow(context.WithoutCancel(t.Context()), `SELECT leader_id FROM river_leader`).Scan(&leader)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		require.NoError(t, err)
	}
	stop := func(c *river.Client[pgx.Tx]) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), periodicHungAfter)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	}
	var leaderClient *river.Client[pgx.Tx]
	for _, c := range g.clients {
		if c.ID() == leader {
			leaderClient = c
			continue
		}
		stop(c)
	}
	if leaderClient != nil {
		stop(leaderClient)
	}
}

// TestPeriodicJobsAcrossClients runs three River clients on one database:
// the hourly session cleanup (a one-second period here) runs once per
// period, and a daily cleanup missed while "down" runs once, also after the
// clients restart.
func TestPeriodicJobsAcrossClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)

	// The daily run was due a few minutes ago; yesterday's ran.
	now := time.Now()
	dueAt := now.Add(-3 * time.Minute).In(time.UTC)
	daily, err := jobs.ParseDailySchedule(fmt.Sprintf("%02d:%02d", dueAt.Hour(), dueAt.Minute()), "UTC")
	require.NoError(t, err)
	missed := daily.Last(now)
	_, err = pool.Exec(ctx, `INSERT INTO periodic_runs (name, period_start) VALUES ('scheduled_cleanup', $1)`, missed.Add(-24*time.Hour))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', 'ancient', now() - interval '90 days')`)
	require.NoError(t, err)

	opts := jobs.PeriodicOpts{Daily: daily, SessionCleanupInterval: time.Second}

	began := time.Now()
	clients := startClients(t, pool, opts, 3)
	clients.waitCompleted(t, "scheduled_cleanup", 1)
	clients.waitCompleted(t, "cleanup_expired_sessions", 3) // three periods
	clients.stop(t)
	elapsed := time.Since(began)

	sessionRuns := countJobs(t, pool, "cleanup_expired_sessions", "")
	require.GreaterOrEqual(t, sessionRuns, 3, "it ran every period")
	require.LessOrEqual(t, sessionRuns, int(elapsed/time.Second)+1, "at most once per period across three clients")
	var perPeriod int
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM river_job
		WHERE kind = 'cleanup_expired_sessions' GROUP BY unique_key) x`).Scan(&perPeriod))
	require.Equal(t, 1, perPeriod)

	var runs []time.Time
	rows, err := pool.Query(ctx, `SELECT period_start FROM periodic_runs WHERE name = 'scheduled_cleanup' ORDER BY period_start`)
	require.NoError(t, err)
	for rows.Next() {
		var p time.Time
		require.NoError(t, rows.Scan(&p))
		runs = append(runs, p)
	}
	require.NoError(t, rows.Err())
	require.Len(t, runs, 2)
	require.True(t, runs[1].Equal(missed), "the missed day ran: %s", runs[1])
	var logs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Zero(t, logs, "the daily cleanup deleted the old log")

	// The service restarts: the daily run for the same day does not repeat.
	// The leader inserts its run-on-start jobs in one transaction, before
	// the next session cleanup.
	_, err = pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', 'ancient', now() - interval '90 days')`)
	require.NoError(t, err)
	clients = startClients(t, pool, opts, 3)
	clients.waitCompleted(t, "cleanup_expired_sessions", sessionRuns+1) // the new leader is up
	clients.stop(t)
	var runCount int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM periodic_runs WHERE name = 'scheduled_cleanup'`).Scan(&runCount))
	require.Equal(t, 2, runCount)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Equal(t, 1, logs, "no second cleanup for the same day")
	require.Equal(t, countJobs(t, pool, "scheduled_cleanup", ""), countJobs(t, pool, "scheduled_cleanup", "completed"),
		"every scheduled_cleanup job completed")
}

// countJobs counts kind's jobs, those in state if it is not empty.
func countJobs(t *testing.T, pool *pgxpool.Pool, kind, state string) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1 AND ($2 = '' OR state::text = $2)`, kind, state).Scan(&n))
	return n
}

// TestCleanupEveryPeriod runs scheduled_cleanup every second (CleanupEvery,
// the test setting) on three clients: each period is recorded once in
// periodic_runs, the periods follow each other without a gap, and each has
// one job.
func TestCleanupEveryPeriod(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	daily, err := jobs.ParseDailySchedule("03:00", "UTC")
	require.NoError(t, err)
	clients := startClients(t, pool, jobs.PeriodicOpts{Daily: daily, CleanupEvery: time.Second}, 3)
	clients.waitCompleted(t, "scheduled_cleanup", 3)
	clients.stop(t)

	var runs, jobsN, perPeriod int
	var first, last time.Time
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*), min(period_start), max(period_start) FROM periodic_runs
		WHERE name = 'scheduled_cleanup'`).Scan(&runs, &first, &last))
	require.GreaterOrEqual(t, runs, 3)
	require.Equal(t, int(last.Sub(first)/time.Second)+1, runs, "one run for every second from %s to %s", first, last)
	require.True(t, first.Equal(first.Truncate(time.Second)), "periods start on the second: %s", first)
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*), coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM river_job
		WHERE kind = 'scheduled_cleanup' GROUP BY args->>'period') x`).Scan(&jobsN, &perPeriod))
	require.Equal(t, 1, perPeriod, "one job per period")
	require.GreaterOrEqual(t, jobsN, runs)
}
