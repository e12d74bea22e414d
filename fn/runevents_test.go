package fn

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// TestReadRunEventsByRun: one statement reads the starts of several runs,
// and each gets its own event, its own job's recorded steps and its own
// function's pause, in the order asked; a run whose event is gone gets
// none (and is cancelled by its caller), without failing the others.
func TestReadRunEventsByRun(t *testing.T) {
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	_, err := tx.Exec(ctx, `INSERT INTO events (id, name, data, ts, source) VALUES
		('ev-a', 'test/a', '{"n": 1}', now(), 'test'), ('ev-b', 'test/b', '{"n": 2}', now(), 'test')`)
	require.NoError(t, err)
	var recorded, fresh int64
	for _, id := range []*int64{&recorded, &fresh} {
		require.NoError(t, tx.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, priority, queue, state)
			VALUES ('{}', 'test_fn', 3, 1, 'default', 'running') RETURNING id`).Scan(id))
	}
	_, err = tx.Exec(ctx, `INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
		VALUES ($1, 'load', '"loaded"', now(), now())`, recorded)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO fn_paused (function, paused_by) VALUES ('paused-fn', 'test')`)
	require.NoError(t, err)

	x := (&Registry{}).executor(Runtime{DB: tx})
	rows, err := x.readRunEvents(ctx, []runEventReq{
		{jobID: recorded, fn: "running-fn", eventID: "ev-b"},
		{jobID: fresh, fn: "running-fn", eventID: "ev-gone"},
		{jobID: fresh, fn: "paused-fn", eventID: "ev-a"},
	})
	require.NoError(t, err)
	require.Len(t, rows, 3)

	require.NotNil(t, rows[0])
	require.Equal(t, "ev-b", rows[0].ID)
	require.JSONEq(t, `{"n": 2}`, string(rows[0].Data))
	require.False(t, rows[0].Paused)
	var steps []struct {
		Step   string          `json:"step"`
		Output json.RawMessage `json:"output"`
	}
	require.NoError(t, json.Unmarshal(rows[0].Steps, &steps))
	require.Len(t, steps, 1)
	require.Equal(t, "load", steps[0].Step)
	require.JSONEq(t, `"loaded"`, string(steps[0].Output))

	require.Nil(t, rows[1], "the run whose event is gone")

	require.NotNil(t, rows[2])
	require.Equal(t, "ev-a", rows[2].ID)
	require.True(t, rows[2].Paused)
	require.JSONEq(t, `[]`, string(rows[2].Steps))
}
