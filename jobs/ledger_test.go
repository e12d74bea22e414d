package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/notify"
)

// ledgerJobs inserts n running jobs (the deliveries' and step records'
// jobs) and returns their ids.
func ledgerJobs(ctx context.Context, t *testing.T, d db.DBTX, n int) []int64 {
	t.Helper()
	rows, err := d.Query(ctx, `INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, attempt)
		SELECT '{}', 'ledger_test', 3, 1, 'default', 'running', 1 FROM generate_series(1, $1) RETURNING id`, n)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return ids
}

// ledgerMessage is an email to to, sent for event eventID.
func ledgerMessage(eventID, to string) message {
	return message{origin: origin{eventID: eventID, kind: "ledger_test"}, channel: notify.ChannelEmail, recipient: to,
		subject: "Hello", body: "text", html: "<p>html</p>", key: IdempotencyKey(eventID, "ledger_test", to)}
}

// steps are records of the named steps, each with output {"step": name}.
func steps(names ...string) flow.Records {
	var rs flow.Records
	now := time.Now()
	for _, n := range names {
		rs.Steps = append(rs.Steps, n)
		rs.Outputs = append(rs.Outputs, json.RawMessage(fmt.Sprintf(`{"step": %q}`, n)))
		rs.StartedAt, rs.CompletedAt = append(rs.StartedAt, now), append(rs.CompletedAt, now)
	}
	return rs
}

// stepsOf returns job's recorded step names, in order.
func stepsOf(ctx context.Context, t *testing.T, d db.DBTX, job int64) []string {
	t.Helper()
	rows, err := d.Query(ctx, `SELECT step FROM flow_steps WHERE job_id = $1 ORDER BY step`, job)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// TestLedgerWritesManyJobsInOneStatement: claimMany and recordMany write
// what claim and record write, for many jobs' messages and step records
// at once; a key claimed before returns the earlier row.
func TestLedgerWritesManyJobsInOneStatement(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	jobs := ledgerJobs(ctx, t, tx, 3)
	l := newLedger(tx)
	a, b, c := ledgerMessage("e-a", "a@example.com"), ledgerMessage("e-b", "b@example.com"), ledgerMessage("", "c@example.com")

	rows, err := l.claimMany(ctx, []claimReq{{jobs[0], a, steps("load", "render")}, {jobs[1], b, steps("load")}, {jobs[2], c, flow.Records{}}})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for i, m := range []message{a, b, c} {
		require.Equal(t, m.key, rows[i].IdempotencyKey, "row %d is its request's", i)
		require.Equal(t, statusSending, rows[i].Status)
		require.Equal(t, jobs[i], *rows[i].JobID)
		require.Equal(t, m.html, rows[i].HTML)
	}
	require.Equal(t, "e-a", *rows[0].EventID)
	require.Nil(t, rows[2].EventID, "no event: NULL, as claim writes it")
	require.Equal(t, []string{"load", "render"}, stepsOf(ctx, t, tx, jobs[0]))
	require.Equal(t, []string{"load"}, stepsOf(ctx, t, tx, jobs[1]))

	_, err = l.recordMany(ctx, []recordReq{
		{jobs[0], a.key, notify.Receipt{Provider: "resend", MessageID: "m-a", Status: "sent"}, steps("send", "record")},
		{jobs[1], b.key, notify.Receipt{Provider: "capture", Status: "captured"}, flow.Records{}},
	})
	require.NoError(t, err)
	var status, provider, id string
	require.NoError(t, tx.QueryRow(ctx, `SELECT status, provider, provider_message_id FROM deliveries WHERE idempotency_key = $1`, a.key).Scan(&status, &provider, &id))
	require.Equal(t, [3]string{"sent", "resend", "m-a"}, [3]string{status, provider, id})
	require.Equal(t, []string{"load", "record", "render", "send"}, stepsOf(ctx, t, tx, jobs[0]))

	again, err := l.claimMany(ctx, []claimReq{{jobs[0], a, flow.Records{}}, {jobs[2], ledgerMessage("e-d", "d@example.com"), flow.Records{}}})
	require.NoError(t, err)
	require.Equal(t, "sent", again[0].Status, "a key claimed before returns its row: nothing to send")
	require.Equal(t, rows[0].ID, again[0].ID)
	require.Equal(t, statusSending, again[1].Status)
}

// TestLedgerConcurrentSends: jobs that claim and record at once, as a
// worker pool's do, each get their own row, sent once, with their steps.
func TestLedgerConcurrentSends(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	const n = 40
	jobs := ledgerJobs(ctx, t, pool, n)
	l := newLedger(pool)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, job := range jobs {
		wg.Go(func() {
			m := ledgerMessage(uuid.NewString(), fmt.Sprintf("u%d@example.com", i))
			row, err := l.claim(ctx, job, m, steps("load", "render"))
			if err == nil && row.IdempotencyKey != m.key {
				err = fmt.Errorf("job %d got the row of %s", job, row.IdempotencyKey)
			}
			if err == nil {
				err = l.record(ctx, job, m.key, notify.Receipt{Provider: "capture", Status: "captured"}, steps("send", "record"))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "job %d", jobs[i])
	}
	var rows, captured, recorded int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'captured') FROM deliveries WHERE job_id = ANY($1)`, jobs).Scan(&rows, &captured))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM flow_steps WHERE job_id = ANY($1)`, jobs).Scan(&recorded))
	require.Equal(t, [3]int{n, n, 4 * n}, [3]int{rows, captured, recorded})
}
