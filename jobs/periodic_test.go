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
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobs"
)

// TestCleanupSchedule: scheduled-cleanup's trigger runs daily at the
// configured time in its time zone (or, a test setting, every that long),
// and a malformed time or an unknown zone is refused.
func TestCleanupSchedule(t *testing.T) {
	t.Parallel()
	trigger, err := jobs.CleanupSchedule("03:00", "Asia/Kolkata", 0)
	require.NoError(t, err)
	require.Len(t, trigger, 1)
	require.Equal(t, "0 3 * * * Asia/Kolkata", trigger[0].Describe)
	s := trigger[0].Schedule
	ist := time.FixedZone("IST", 5*3600+1800)
	for _, tt := range []struct{ now, next time.Time }{
		{time.Date(2026, 11, 27, 2, 59, 0, 0, ist), time.Date(2026, 11, 27, 3, 0, 0, 0, ist)},
		{time.Date(2026, 11, 27, 3, 0, 0, 0, ist), time.Date(2026, 11, 28, 3, 0, 0, 0, ist)},
		{time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 3, 0, 0, 0, ist)}, // 04:30 on the 28th in India
	} {
		require.True(t, tt.next.Equal(s.Next(tt.now)), "Next(%s) = %s", tt.now, s.Next(tt.now))
	}

	every, err := jobs.CleanupSchedule("03:00", "UTC", time.Second)
	require.NoError(t, err)
	at := time.Date(2026, 11, 27, 3, 0, 0, 400_000_000, time.UTC)
	require.True(t, every[0].Schedule.Next(at).Equal(at.Truncate(time.Second).Add(time.Second)), "every second, on the second")

	for _, bad := range [][2]string{{"3am", "UTC"}, {"24:00", "UTC"}, {"03:60", "UTC"}, {"03:00", "Mars/Olympus"}} {
		_, err := jobs.CleanupSchedule(bad[0], bad[1], 0)
		require.Error(t, err, bad)
	}
}

// TestRegistryPeriodicJobs: the registry's periodic jobs are those of its
// scheduled functions: scheduled-cleanup (Deps.Cleanup) alone, daily, so an
// idle server inserts no other job.
func TestRegistryPeriodicJobs(t *testing.T) {
	t.Parallel()
	reg, err := jobs.NewRegistry(jobs.Deps{DB: dbtest.TestTx(t.Context(), t)})
	require.NoError(t, err)
	var scheduled []string
	for _, f := range reg.Functions() {
		for _, tr := range f.Triggers() {
			if tr.Schedule != nil {
				scheduled = append(scheduled, f.ID()+" "+tr.Describe)
			}
		}
	}
	require.Equal(t, []string{"scheduled-cleanup 0 3 * * * Asia/Kolkata"}, scheduled)
	periodic, err := reg.PeriodicJobs()
	require.NoError(t, err)
	require.Len(t, periodic, 1)
}

// TestScheduledCleanupOncePerPeriod: a scheduled-cleanup run deletes what
// is past retention and records its period in periodic_runs; another run
// for a period already recorded deletes nothing.
func TestScheduledCleanupOncePerPeriod(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{Retention: jobs.Retention{Logs: 24 * time.Hour}})
	oldLog := func(message string) {
		t.Helper()
		_, err := b.tx.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', $1, now() - interval '2 days')`, message)
		require.NoError(t, err)
	}
	logs := func() []string {
		t.Helper()
		rows, err := b.tx.Query(ctx, `SELECT message FROM app_logs ORDER BY message`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	period := time.Date(2026, 11, 27, 21, 30, 0, 0, time.UTC) // 03:00 in India
	newRun := func() int64 {
		t.Helper()
		res, err := b.client.InsertTx(ctx, b.tx, runFor("scheduled_cleanup", period), &river.InsertOpts{Queue: jobs.QueueMaintenance})
		require.NoError(t, err)
		return res.Job.ID
	}

	oldLog("first")
	requireState(t, b.work(t, "scheduled-cleanup", newRun()), rivertype.JobStateCompleted)
	require.Empty(t, logs(), "the old log is gone")
	var recorded time.Time
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT period_start FROM periodic_runs WHERE name = 'scheduled_cleanup'`).Scan(&recorded))
	require.True(t, period.Equal(recorded), "period %s recorded", recorded)

	oldLog("second")
	requireState(t, b.work(t, "scheduled-cleanup", newRun()), rivertype.JobStateCompleted)
	require.Equal(t, []string{"second"}, logs(), "no second cleanup for the same period")
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
	// periodicInsert gets a value when a client (the leader) inserts, or
	// tries to insert, a scheduled_cleanup run.
	periodicInsert chan struct{}
}

// insertWatch is client middleware that reports every attempt to insert a
// scheduled_cleanup run, inserted or skipped as a duplicate.
type insertWatch struct {
	river.MiddlewareDefaults
	seen chan struct{}
}

func (w *insertWatch) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	res, err := doInner(ctx)
	for _, p := range params {
		if p.Kind == "scheduled_cleanup" {
			select {
			case w.seen <- struct{}{}:
			default:
			}
		}
	}
	return res, err
}

// startClients starts n clients on pool, each with the registry and
// periodic jobs of deps (with DB pool).
func startClients(t *testing.T, pool *pgxpool.Pool, deps jobs.Deps, n int) *clientGroup {
	t.Helper()
	g := &clientGroup{pool: pool, completed: make(chan struct{}, 1), periodicInsert: make(chan struct{}, 1)}
	deps.DB = pool
	for range n {
		reg, err := jobs.NewRegistry(deps)
		require.NoError(t, err)
		periodic, err := reg.PeriodicJobs()
		require.NoError(t, err)
		workers := river.NewWorkers()
		require.NoError(t, jobs.AddWorkers(workers, reg, deps))
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Queues:            jobs.Queues(jobs.DefaultQueueWorkers(), 10*time.Millisecond, 50*time.Millisecond),
			Workers:           workers,
			PeriodicJobs:      periodic,
			Middleware:        []rivertype.Middleware{&insertWatch{seen: g.periodicInsert}},
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
// the leader inserts the periodic runs due at its start once (not one per
// client), and a daily cleanup missed while "down" runs once, also after
// the clients restart.
func TestPeriodicJobsAcrossClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)

	// The daily run was due a few minutes ago; yesterday's ran.
	dueAt := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Minute)
	daily, err := jobs.CleanupSchedule(fmt.Sprintf("%02d:%02d", dueAt.Hour(), dueAt.Minute()), "UTC", 0)
	require.NoError(t, err)
	missed := dueAt
	_, err = pool.Exec(ctx, `INSERT INTO periodic_runs (name, period_start) VALUES ('scheduled_cleanup', $1)`, missed.Add(-24*time.Hour))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', 'ancient', now() - interval '90 days')`)
	require.NoError(t, err)
	deps := jobs.Deps{Cleanup: daily}

	clients := startClients(t, pool, deps, 3)
	clients.waitCompleted(t, "scheduled_cleanup", 1)
	clients.stop(t)
	require.Equal(t, 1, countJobs(t, pool, "scheduled_cleanup", ""), "the leader inserted the missed run once, not once per client")

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
	_, err = pool.Exec(ctx, `INSERT INTO app_logs (level, message, created_at) VALUES ('info', 'ancient', now() - interval '90 days')`)
	require.NoError(t, err)
	clients = startClients(t, pool, deps, 3)
	<-clients.periodicInsert // the new leader tried to insert the day's run
	clients.stop(t)
	var runCount int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM periodic_runs WHERE name = 'scheduled_cleanup'`).Scan(&runCount))
	require.Equal(t, 2, runCount)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM app_logs`).Scan(&logs))
	require.Equal(t, 1, logs, "no second cleanup for the same day")
	require.Equal(t, countJobs(t, pool, "scheduled_cleanup", ""), countJobs(t, pool, "scheduled_cleanup", "completed"),
		"every scheduled_cleanup run completed")
}

// countJobs counts kind's jobs, those in state if it is not empty.
func countJobs(t *testing.T, pool *pgxpool.Pool, kind, state string) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1 AND ($2 = '' OR state::text = $2)`, kind, state).Scan(&n))
	return n
}

// TestCleanupEveryPeriod runs scheduled-cleanup every second (the test
// setting of CleanupSchedule) on three clients: each period is recorded
// once in periodic_runs, the periods follow each other without a gap, and
// each has one run.
func TestCleanupEveryPeriod(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	every, err := jobs.CleanupSchedule("03:00", "UTC", time.Second)
	require.NoError(t, err)
	clients := startClients(t, pool, jobs.Deps{Cleanup: every}, 3)
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
