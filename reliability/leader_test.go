package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mohallamart/backend/internal/testserver"
)

// cleanupEvery is the scheduled cleanup's period in scenario 9
// (TEST_CLEANUP_EVERY). A period can be left without a run only when a
// failover outlasts it: from the kill until the new leader's periodic
// enqueuer runs, which River starts after its other maintenance services,
// one after the other, each after a random pause of up to a second (about
// 6 s at worst), and an eighth of a period before the period's end.
const cleanupEvery = 6 * time.Second

// standInForDeadLeader does for a SIGKILLed leader what the passing of
// time does: its term lapses (River's leader TTL, 15 s), as if a
// follower's election attempt (every 5 s) came just then. It deletes the
// dead leader's row with the notification River sends when a leader
// resigns, which wakes the followers. Only the dead client's row is
// touched; the jobs it left running wait for River's rescuer.
func (c *cluster) standInForDeadLeader(ctx context.Context, clientID string) error {
	if _, err := c.pool.Exec(ctx, `WITH gone AS (DELETE FROM river_leader WHERE leader_id = $1 RETURNING leader_id)
		SELECT pg_notify(current_schema() || '.river_leadership', json_build_object('leader_id', leader_id, 'action', 'resigned')::text)
		FROM gone`, clientID); err != nil {
		return fmt.Errorf("lapse the dead leader's term: %w", err)
	}
	return nil
}

// TestPeriodicLeaderKilled runs three ROLE=worker processes with the
// scheduled cleanup every cleanupEvery (TEST_CLEANUP_EVERY) and SIGKILLs
// the leader, the one that inserts periodic jobs, at random moments, each
// time starting a new worker: every period from the first to the last
// before the processes stopped has exactly one run recorded in
// periodic_runs and one scheduled_cleanup job, none is missed or doubled,
// and no job is left running.
func TestPeriodicLeaderKilled(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, fmt.Sprintf("9. periodic job every %s, 3 workers, the leader SIGKILLed %d times", cleanupEvery, leaderKills), &figures)
	ctx := t.Context()
	// The workers have little to do: they fetch once a second when no
	// insert wakes them (not every 100 ms), sparing the shared database.
	// A run a killed leader left running times out, and is rescued, as
	// soon as a period ends.
	c := newCluster(t, "TEST_CLEANUP_EVERY="+cleanupEvery.String(), "TEST_MAX_JOB_TIMEOUT="+cleanupEvery.String(), "FETCH_POLL_INTERVAL=1s")
	testserver.Binary(t) // built before the clock starts
	began := time.Now()
	c.startMany("worker", 3)
	var (
		dead      []string
		failovers []time.Duration
		since     = began.Truncate(cleanupEvery) // the first leader's first run will do
	)
	for range leaderKills {
		// A leader is in charge and has recorded a period that began
		// after the last failover (or the workers' start).
		c.waitFor("a leader and a period recorded since "+since.Format(time.StampMilli), `SELECT EXISTS (SELECT 1 FROM river_leader) AND EXISTS (SELECT 1 FROM periodic_runs
			WHERE name = 'scheduled_cleanup' AND period_start >= $1)`, since)
		// The kill comes at a random moment of the period: before or after
		// the leader inserted the next period's run.
		select {
		case <-time.After(rand.N(cleanupEvery)):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		var leader string
		if err := c.pool.QueryRow(ctx, `SELECT leader_id FROM river_leader`).Scan(&leader); err != nil {
			t.Fatalf("the leader: %v", err)
		}
		p := c.procOf(leader)
		if p == nil {
			t.Fatalf("no process logged River client %s", leader)
		}
		p.kill()
		killed := time.Now()
		dead = append(dead, leader)
		if err := c.standInForDeadLeader(ctx, leader); err != nil {
			t.Fatal(err)
		}
		c.waitFor("a new leader", `SELECT EXISTS (SELECT 1 FROM river_leader WHERE leader_id <> $1)`, leader)
		var next string
		if err := c.pool.QueryRow(ctx, `SELECT leader_id FROM river_leader`).Scan(&next); err != nil {
			t.Fatal(err)
		}
		np := c.procOf(next)
		if np == nil {
			t.Fatalf("no process logged River client %s", next)
		}
		// The failover ends when the new leader's periodic enqueuer runs
		// (it first inserts the current period's run, unless that is in).
		failovers = append(failovers, c.waitLogged(np, "maintenance.PeriodicJobEnqueuer: Run loop started", killed).Sub(killed))
		c.start("worker")
		since = time.Now()
	}
	// A period begun after the last failover, inserted by the new
	// leader's schedule, then the processes stop.
	c.waitFor("a period recorded after the last kill", `SELECT EXISTS (SELECT 1 FROM periodic_runs WHERE name = 'scheduled_cleanup' AND period_start >= $1)`, since)
	// River's rescuer retries what the dead leaders left running, each job
	// once its timeout has passed (the cleanup's is its period, with
	// TEST_CLEANUP_EVERY).
	c.waitFor("no job of a killed leader running", `SELECT `+leftRunningBy, dead)
	stopping := time.Now()
	figures = audit{}.run(t, c)

	var runs []time.Time
	rows, err := c.pool.Query(ctx, `SELECT period_start FROM periodic_runs WHERE name = 'scheduled_cleanup' ORDER BY period_start`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p time.Time
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatal("no scheduled_cleanup run recorded")
	}
	missed := 0
	for i := 1; i < len(runs); i++ {
		if gap := runs[i].Sub(runs[i-1]); gap != cleanupEvery {
			missed += int(gap/cleanupEvery) - 1
			t.Errorf("no run for the %d period(s) between %s and %s", int(gap/cleanupEvery)-1, runs[i-1].Format(time.TimeOnly), runs[i].Format(time.TimeOnly))
		}
	}
	if runs[0].After(began.Truncate(cleanupEvery).Add(cleanupEvery)) {
		t.Errorf("the first run %v is not for the period the workers started in, or the next", runs)
	}
	if last := stopping.Truncate(cleanupEvery).Add(-cleanupEvery); runs[len(runs)-1].Before(last) {
		t.Errorf("no run for the period before the processes stopped (%s)", last.Format(time.TimeOnly))
	}
	// One job per period; each completed, except one inserted for the
	// period in which the processes stopped.
	var doubled, unfinished, retried int
	if err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM river_job WHERE kind = 'scheduled_cleanup' GROUP BY args->>'period' HAVING count(*) > 1) d),
		(SELECT count(*) FROM river_job WHERE kind = 'scheduled_cleanup' AND state <> 'completed' AND (args->>'period')::timestamptz < $1),
		(SELECT count(*) FROM river_job WHERE kind = 'scheduled_cleanup' AND attempt > 1)`, stopping.Truncate(cleanupEvery)).
		Scan(&doubled, &unfinished, &retried); err != nil {
		t.Fatal(err)
	}
	if doubled != 0 || unfinished != 0 {
		t.Errorf("%d periods with more than one scheduled_cleanup job, %d jobs of past periods not completed", doubled, unfinished)
	}
	var worst time.Duration
	for _, f := range failovers {
		worst = max(worst, f)
	}
	figures = fmt.Sprintf("%d periods from %s to %s, %d runs recorded, %d missed, %d periods with two jobs; %d leader kills, failover (the kill → the new leader's periodic enqueuer running) at most %s; %d runs retried after their worker died, %d jobs of the dead leaders rescued by River; ",
		int(runs[len(runs)-1].Sub(runs[0])/cleanupEvery)+1, runs[0].Format(time.TimeOnly), runs[len(runs)-1].Format(time.TimeOnly), len(runs), missed, doubled,
		len(failovers), worst.Round(time.Millisecond), retried, c.rescuesBy(dead)) + figures
}
