package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestWaitDrainedAndIdle checks the polls that end a scenario's phases
// against jobs and batched events in each state: waitDrained waits for the
// jobs of its kinds inserted after its mark (and for every tracked event),
// waitIdle for any job that can run now. A timeout of 0 makes each poll
// ask once.
func TestWaitDrainedAndIdle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	r := &serverRun{pool: pool}
	const kind = "send_order_confirmation"
	kinds := []string{kind}
	check := func(wantDrained, wantIdle bool, m jobMark, what string) {
		t.Helper()
		drained, err := r.waitDrained(ctx, m, kinds, 0)
		require.NoError(t, err)
		require.Equal(t, wantDrained, drained, "drained: %s", what)
		idle, err := r.waitIdle(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, wantIdle, idle, "idle: %s", what)
	}

	before := insertJob(ctx, t, pool, kind, "available")
	m, err := r.mark(ctx)
	require.NoError(t, err)
	check(true, false, m, "a job of the kind inserted before the mark")
	setState(ctx, t, pool, before, "completed")
	check(true, true, m, "nothing unfinished")

	other := insertJob(ctx, t, pool, "index_product", "available")
	check(true, false, m, "another kind's job after the mark")
	setState(ctx, t, pool, other, "completed")

	job := insertJob(ctx, t, pool, kind, "scheduled")
	check(false, true, m, "a scheduled job of the kind after the mark")
	for _, state := range []string{"available", "running", "retryable"} {
		setState(ctx, t, pool, job, state)
		check(false, false, m, state+" job of the kind after the mark")
	}
	setState(ctx, t, pool, job, "completed")
	check(true, true, m, "the job completed")

	track := insertJob(ctx, t, pool, kindTrackAnalytics, "scheduled")
	check(false, true, m, "a scheduled track_analytics run")
	setState(ctx, t, pool, track, "completed")

	_, err = pool.Exec(ctx, `INSERT INTO fn_batch_events (function, key, event_id) VALUES ('track-analytics', '', ''), ('track-analytics', '', 'ev-1')`)
	require.NoError(t, err)
	check(false, false, m, "an event waiting in its batch")
	_, err = pool.Exec(ctx, `DELETE FROM fn_batch_events WHERE event_id = 'ev-1'`)
	require.NoError(t, err)
	check(true, true, m, "the batch's marker alone")
}

// insertJob inserts a job of kind in state and returns its id.
func insertJob(ctx context.Context, t *testing.T, pool *pgxpool.Pool, kind, state string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, scheduled_at)
		VALUES ('{}', $1, 3, 'default', $2::river_job_state, now()) RETURNING id`, kind, state).Scan(&id))
	return id
}

// setState moves job id to state (finalized when completed).
func setState(ctx context.Context, t *testing.T, pool *pgxpool.Pool, id int64, state string) {
	t.Helper()
	_, err := pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state,
		finalized_at = CASE WHEN $2 = 'completed' THEN now() END,
		attempted_at = CASE WHEN $2 = 'running' THEN now() END, attempt = 1 WHERE id = $1`, id, state)
	require.NoError(t, err)
}
