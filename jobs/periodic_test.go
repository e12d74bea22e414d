package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// TestPeriodicJobsAcrossClients runs three River clients on one database:
// the hourly session cleanup (a one-second period here) runs once per
// period, and a daily cleanup missed while "down" runs once, also after the
// clients restart.
func TestPeriodicJobsAcrossClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)

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

	start := func() []*testBundle {
		periodic, err := jobs.PeriodicJobs(jobs.PeriodicOpts{Daily: daily, SessionCleanupInterval: time.Second})
		require.NoError(t, err)
		var bs []*testBundle
		for range 3 {
			bs = append(bs, setup(t, bundleOpts{pool: pool, periodicJobs: periodic}))
		}
		return bs
	}
	stop := func(bs []*testBundle) {
		for _, b := range bs {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			require.NoError(t, b.client.Stop(stopCtx))
			cancel()
		}
	}

	began := time.Now()
	clients := start()
	waitJobs(t, pool, "scheduled_cleanup", 1)
	time.Sleep(3 * time.Second)
	stop(clients)
	elapsed := time.Since(began)

	sessionRuns := listJobs(t, pool, "cleanup_expired_sessions")
	require.GreaterOrEqual(t, len(sessionRuns), 3, "it ran every period")
	require.LessOrEqual(t, len(sessionRuns), int(elapsed/time.Second)+1, "at most once per period across three clients")
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
	require.Len(t, runs, 2)
	require.True(t, runs[1].Equal(missed), "the missed day ran: %s", runs[1])
	var logs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Zero(t, logs, "the daily cleanup deleted the old log")

	// The service restarts: the daily run for the same day does not repeat.
	_, err = pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', 'ancient', now() - interval '90 days')`)
	require.NoError(t, err)
	clients = start()
	waitJobs(t, pool, "cleanup_expired_sessions", len(sessionRuns)+1) // the new leader is up
	stop(clients)
	var runCount int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM periodic_runs WHERE name = 'scheduled_cleanup'`).Scan(&runCount))
	require.Equal(t, 2, runCount)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Equal(t, 1, logs, "no second cleanup for the same day")
	for _, r := range listJobs(t, pool, "scheduled_cleanup") {
		require.Equal(t, "completed", r.State)
	}
}
