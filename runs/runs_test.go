package runs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/runs"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// service returns runs of two test functions, read from tx.
func service(t *testing.T, tx pgx.Tx) *runs.Service {
	t.Helper()
	reg, err := fn.NewRegistry(
		fn.New(fn.Options{ID: "send-receipt", Version: 3}, fn.On(events.NameOrderCreated),
			func(context.Context, fn.Input[events.OrderCreated]) (any, error) { return nil, nil }),
		fn.New(fn.Options{ID: "index-product"}, fn.On(events.NameSearchIndex),
			func(context.Context, fn.Input[events.SearchIndex]) (any, error) { return nil, nil }),
		fn.New(fn.Options{ID: "count-orders", BatchEvents: &fn.BatchEvents{MaxSize: 10, Timeout: time.Minute}}, fn.On(events.NameOrderCreated),
			func(context.Context, fn.Input[events.OrderCreated]) (any, error) { return nil, nil }),
	)
	require.NoError(t, err)
	return runs.New(tx, reg)
}

// job is a River job row of a test: a run of kind in state.
type job struct {
	kind, state, eventID string
	attempt              int
	errors               []string
	createdAt            time.Time
}

// insert writes j's row and returns its id.
func insert(t *testing.T, tx pgx.Tx, j job) int64 {
	t.Helper()
	args := map[string]any{"v": 3}
	if j.eventID != "" {
		args["event_id"] = j.eventID
	}
	rawArgs, err := json.Marshal(args)
	require.NoError(t, err)
	var errs []string
	for i, e := range j.errors {
		b, err := json.Marshal(map[string]any{"at": time.Now(), "attempt": i + 1, "error": e})
		require.NoError(t, err)
		errs = append(errs, string(b))
	}
	if j.createdAt.IsZero() {
		j.createdAt = time.Now()
	}
	var id int64
	require.NoError(t, tx.QueryRow(t.Context(), `
		INSERT INTO river_job (kind, args, state, attempt, max_attempts, queue, priority, created_at, scheduled_at,
		                       attempted_at, finalized_at, errors)
		VALUES ($1, $2, $3::river_job_state, $4::smallint, 10, 'default', 1, $5, $5,
		        CASE WHEN $4::smallint > 0 THEN now() - interval '2 seconds' END,
		        CASE WHEN $3::text IN ('completed', 'cancelled', 'discarded') THEN now() END, $6::jsonb[])
		RETURNING id`, j.kind, rawArgs, j.state, j.attempt, j.createdAt, errs).Scan(&id))
	return id
}

// step records step name of job id, from started to completed.
func step(t *testing.T, tx pgx.Tx, id int64, name, output string, started, completed time.Time) {
	t.Helper()
	_, err := tx.Exec(t.Context(), `INSERT INTO flow_steps (job_id, step, output, started_at, completed_at) VALUES ($1, $2, $3, $4, $5)`,
		id, name, output, started, completed)
	require.NoError(t, err)
}

func list(t *testing.T, s *runs.Service, query string) *runs.Page {
	t.Helper()
	q, err := url.ParseQuery(query)
	require.NoError(t, err)
	f, err := s.ParseFilter(q)
	require.NoError(t, err)
	page, err := s.List(t.Context(), f)
	require.NoError(t, err)
	return page
}

func ids(page *runs.Page) []int64 {
	out := []int64{}
	for _, r := range page.Runs {
		out = append(out, r.ID)
	}
	return out
}

// TestStatus checks each status a run can have, as an operator reads it
// and filters by it.
func TestStatus(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	now := time.Now()
	queued := insert(t, tx, job{kind: "send_receipt", state: "available"})
	running := insert(t, tx, job{kind: "send_receipt", state: "running", attempt: 1})
	retrying := insert(t, tx, job{kind: "send_receipt", state: "retryable", attempt: 1, errors: []string{"step send: provider down"}})
	sleeping := insert(t, tx, job{kind: "send_receipt", state: "scheduled", attempt: 0})
	step(t, tx, sleeping, "nap", `{"until":"x"}`, now, now.Add(time.Hour))
	waiting := insert(t, tx, job{kind: "send_receipt", state: "scheduled", attempt: 0})
	_, err := tx.Exec(t.Context(), `INSERT INTO flow_waits (job_id, step, event_name, match_key, match_value, since, deadline)
		VALUES ($1, 'wait for payment', 'order/updated', 'orderId', 'o1', now(), now() + interval '1 day')`, waiting)
	require.NoError(t, err)
	completed := insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1})
	failed := insert(t, tx, job{kind: "send_receipt", state: "discarded", attempt: 10, errors: []string{"step send: no such mailbox asha@example.com"}})
	step(t, tx, failed, "load", `{"orderId":"o1"}`, now.Add(-time.Second), now.Add(-time.Second+time.Millisecond))
	cancelled := insert(t, tx, job{kind: "send_receipt", state: "cancelled", attempt: 1})
	paused := insert(t, tx, job{kind: "send_receipt", state: "pending"})
	insert(t, tx, job{kind: "not_a_function", state: "completed", attempt: 1})

	want := map[string]int64{
		runs.StatusQueued: queued, runs.StatusPaused: paused, runs.StatusSleeping: sleeping, runs.StatusWaiting: waiting,
		runs.StatusCompleted: completed, runs.StatusFailed: failed, runs.StatusCancelled: cancelled,
	}
	for status, id := range want {
		require.Equal(t, []int64{id}, ids(list(t, s, "status="+status)), status)
	}
	require.Equal(t, []int64{retrying, running}, ids(list(t, s, "status=running")), "running, and between attempts")
	require.Len(t, list(t, s, "").Runs, 9, "the jobs of declared functions only")

	run, err := s.Get(t.Context(), failed)
	require.NoError(t, err)
	require.Equal(t, "send-receipt", run.Function)
	require.Equal(t, 3, run.Version)
	require.Equal(t, "step send: no such mailbox [email]", *run.Error, "errors are redacted")
	require.Len(t, run.Steps, 2)
	require.Equal(t, "load", run.Steps[0].Name)
	require.Equal(t, runs.StepCompleted, run.Steps[0].Status)
	require.Equal(t, int64(1), *run.Steps[0].DurationMs())
	require.Equal(t, "send", run.Steps[1].Name, "the step the error names")
	require.Equal(t, runs.StepFailed, run.Steps[1].Status)
	require.Equal(t, "no such mailbox [email]", *run.Steps[1].Error)
	require.NotNil(t, run.DurationMs)

	run, err = s.Get(t.Context(), waiting)
	require.NoError(t, err)
	require.Equal(t, []string{"wait for payment"}, []string{run.Steps[0].Name})
	require.Equal(t, runs.StepWaiting, run.Steps[0].Status)

	_, err = s.Get(t.Context(), 1<<40)
	require.ErrorIs(t, err, runs.ErrNotFound)
}

// TestEntity finds the runs caused by the events about one order (and one
// product, through search/index's id), and no other.
func TestEntity(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	var userID, shopID, orderID, otherOrderID, productID string
	require.NoError(t, tx.QueryRow(t.Context(), `INSERT INTO users (email, name) VALUES ('e@example.com', 'E') RETURNING id`).Scan(&userID))
	require.NoError(t, tx.QueryRow(t.Context(), `INSERT INTO shops (name, owner_id, address) VALUES ('S', $1, 'A') RETURNING id`, userID).Scan(&shopID))
	require.NoError(t, tx.QueryRow(t.Context(), `INSERT INTO products (shop_id, name, price_paise, stock) VALUES ($1, 'P', 100, 1) RETURNING id`, shopID).Scan(&productID))
	for _, id := range []*string{&orderID, &otherOrderID} {
		require.NoError(t, tx.QueryRow(t.Context(), `INSERT INTO orders (user_id, shop_id, total_paise) VALUES ($1, $2, 100) RETURNING id`, userID, shopID).Scan(id))
	}
	event := func(id, name string, data map[string]any) string {
		raw, err := json.Marshal(data)
		require.NoError(t, err)
		_, err = tx.Exec(t.Context(), `INSERT INTO events (id, name, data, ts) VALUES ($1, $2, $3, now())`, id, name, raw)
		require.NoError(t, err)
		return id
	}
	mine := insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1,
		eventID: event("ev-mine", "order/created", map[string]any{"orderId": orderID, "userId": userID, "email": "e@example.com"})})
	insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1,
		eventID: event("ev-other", "order/created", map[string]any{"orderId": otherOrderID, "userId": userID})})
	indexed := insert(t, tx, job{kind: "index_product", state: "completed", attempt: 1,
		eventID: event("ev-index", "search/index", map[string]any{"type": "product", "id": productID})})

	// A batched run names no event in its args: its $batch step names
	// the events it took.
	batch := insert(t, tx, job{kind: "count_orders", state: "completed", attempt: 1})
	now := time.Now()
	step(t, tx, batch, "$batch", `["ev-other","ev-mine"]`, now, now)

	page := list(t, s, "entity=order:"+orderID)
	require.Equal(t, []int64{batch, mine}, ids(page))
	require.Equal(t, []string{"ev-other", "ev-mine"}, page.Runs[0].EventIDs)
	require.Equal(t, []string{"ev-mine"}, page.Runs[1].EventIDs)
	require.Equal(t, []int64{indexed}, ids(list(t, s, "entity=product:"+productID)))
	require.Len(t, list(t, s, "entity=user:"+userID).Runs, 3, "both orders name the user")
	require.Empty(t, list(t, s, "entity=order:00000000-0000-4000-8000-000000000000").Runs, "no such order")
	require.Equal(t, []int64{batch, mine}, ids(list(t, s, "event_id=ev-mine")))
	require.Equal(t, []int64{batch}, ids(list(t, s, "event_id=ev-other&function=count-orders")))
	require.Equal(t, []int64{indexed}, ids(list(t, s, "function=index-product")))

	evs, err := s.Events(t.Context(), runs.EventFilter{Entity: "order:" + orderID})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, []runs.RunCount{{Function: "count-orders", Status: "completed", Runs: 1}, {Function: "send-receipt", Status: "completed", Runs: 1}}, evs[0].Runs)
	require.Contains(t, string(evs[0].Data), `"[hidden]"`, "no personal data in the event's data")
}

// TestBadFilters names each field it cannot take.
func TestBadFilters(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	for query, field := range map[string]string{
		"status=done":     "status",
		"function=nope":   "function",
		"entity=order:42": "entity",
		"entity=invoice:" + strings.Repeat("0", 8) + "-0000-4000-8000-000000000000": "entity",
		"since=yesterday": "since",
		"cursor=abc":      "cursor",
		"limit=0":         "limit",
	} {
		q, err := url.ParseQuery(query)
		require.NoError(t, err)
		_, err = s.ParseFilter(q)
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae, query)
		require.Equal(t, apperr.Invalid, ae.Code)
		require.Equal(t, field, ae.Details[0].Field, query)
	}
}

// TestPagination walks every run, newest first, a page at a time.
func TestPagination(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	var all []int64
	for range 5 {
		all = append([]int64{insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1})}, all...)
	}
	var got []int64
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		page := list(t, s, "limit=2&cursor="+cursor)
		got = append(got, ids(page)...)
		if page.Next == "" {
			require.Len(t, page.Runs, 1)
			break
		}
		cursor = page.Next
	}
	require.Equal(t, all, got)
	old := insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1, createdAt: time.Now().Add(-48 * time.Hour)})
	require.NotContains(t, ids(list(t, s, "since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))), old)
}

// TestOutputsPassTheAllowList shows ids and amounts of a step's output and
// hides a customer's name and address.
func TestOutputsPassTheAllowList(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	id := insert(t, tx, job{kind: "send_receipt", state: "completed", attempt: 1})
	now := time.Now()
	step(t, tx, id, "load", `{"orderId":"o1","name":"Asha","email":"asha@example.com","totalPaise":500,"note":"call 9876543210"}`, now, now)
	run, err := s.Get(t.Context(), id)
	require.NoError(t, err)
	require.JSONEq(t, `{"orderId":"o1","name":"[hidden]","email":"[hidden]","totalPaise":500,"note":"[hidden]"}`, string(run.Steps[0].Output))
}

// TestLogs keeps what a run logs, bounded, and writes nothing for a run
// that logs nothing.
func TestLogs(t *testing.T) {
	tx := dbtest.TestTx(t.Context(), t)
	s := service(t, tx)
	logger := slog.New(logctx.NewHandler(slog.DiscardHandler))
	mw := runs.NewLogMiddleware(tx, slog.New(slog.NewTextHandler(t.Output(), nil)))
	chatty := insert(t, tx, job{kind: "send_receipt", state: "running", attempt: 1})
	quiet := insert(t, tx, job{kind: "send_receipt", state: "running", attempt: 1})

	err := mw.Work(t.Context(), &rivertype.JobRow{ID: chatty, Attempt: 1}, func(ctx context.Context) error {
		for i := range runs.LogLines + 10 {
			logger.InfoContext(ctx, "Rendered", slog.Int("line", i))
		}
		logger.Info("Not the job's context: not kept")
		return fmt.Errorf("step send: failed")
	})
	require.EqualError(t, err, "step send: failed", "the job's error is returned as it is")
	require.NoError(t, mw.Work(t.Context(), &rivertype.JobRow{ID: quiet, Attempt: 1}, func(context.Context) error { return nil }))

	run, err := s.Get(t.Context(), chatty)
	require.NoError(t, err)
	require.Len(t, run.Logs, runs.LogLines+1)
	require.Contains(t, run.Logs[0], "INFO Rendered line=0")
	require.Equal(t, "(attempt 1: 10 more lines not kept)", run.Logs[runs.LogLines])
	var rows int
	require.NoError(t, tx.QueryRow(t.Context(), `SELECT count(*) FROM run_logs WHERE job_id = $1`, quiet).Scan(&rows))
	require.Zero(t, rows, "no write for a run that logged nothing")

	// The bytes bound: long lines stop at LogBytes.
	long := insert(t, tx, job{kind: "send_receipt", state: "running", attempt: 1})
	require.NoError(t, mw.Work(t.Context(), &rivertype.JobRow{ID: long, Attempt: 1}, func(ctx context.Context) error {
		for range 10 {
			logger.InfoContext(ctx, strings.Repeat("x", 2000))
		}
		return nil
	}))
	run, err = s.Get(t.Context(), long)
	require.NoError(t, err)
	total := 0
	for _, l := range run.Logs[:len(run.Logs)-1] {
		total += len(l)
	}
	require.LessOrEqual(t, total, runs.LogBytes)
	require.Contains(t, run.Logs[len(run.Logs)-1], "more lines not kept")

	// The rows go with their job.
	_, err = tx.Exec(t.Context(), `DELETE FROM river_job WHERE id = $1`, chatty)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(t.Context(), `SELECT count(*) FROM run_logs WHERE job_id = $1`, chatty).Scan(&rows))
	require.Zero(t, rows)
}
