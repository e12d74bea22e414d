package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// fastRetry retries after 50 ms, so retry tests take milliseconds rather
// than River's attempt⁴ seconds.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

// testBundle is one test's database, working River client and domain
// service.
type testBundle struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	mart   *mart.Service
	outbox *outbox.Outbox
}

type bundleOpts struct {
	deps         jobs.Deps
	periodicJobs []*river.PeriodicJob
	// alerter, when set, is the failed-job alerter (its DB defaults to the
	// bundle's pool).
	alerter *jobs.FailureAlerter
	pool     *pgxpool.Pool
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// setup starts a River client working every job kind on a fresh database
// (or opts.pool), with fast fetches and retries.
func setup(t *testing.T, opts bundleOpts) *testBundle {
	t.Helper()
	ctx := t.Context()
	pool := opts.pool
	if pool == nil {
		pool = dbtest.NewPool(ctx, t)
	}
	deps := opts.deps
	if deps.DB == nil {
		deps.DB = pool
	}
	workers := river.NewWorkers()
	require.NoError(t, jobs.AddWorkers(workers, deps))
	cfg := &river.Config{
		Queues:            jobs.Queues(jobs.DefaultQueueWorkers(), 10*time.Millisecond, 50*time.Millisecond),
		Workers:           workers,
		PeriodicJobs:      opts.periodicJobs,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		RetryPolicy:       fastRetry{},
		Logger:            testLogger(t),
	}
	b := &testBundle{pool: pool}
	if a := opts.alerter; a != nil {
		if a.DB == nil {
			a.DB = pool
		}
		cfg.Middleware = []rivertype.Middleware{a}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	})
	b.client = client
	b.outbox = outbox.New(client)
	b.mart = mart.NewService(pool, b.outbox)
	return b
}

// jobRow is what tests check of a river_job row.
type jobRow struct {
	ID      int64
	State   string
	Attempt int
	Errors  []rivertype.AttemptError
}

// waitJobs polls until kind has n jobs in a final state (completed,
// cancelled or discarded) and returns every job of kind.
func waitJobs(t *testing.T, pool *pgxpool.Pool, kind string, n int) []jobRow {
	t.Helper()
	var rows []jobRow
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rows = listJobs(t, pool, kind)
		done := 0
		for _, r := range rows {
			if r.State == "completed" || r.State == "cancelled" || r.State == "discarded" {
				done++
			}
		}
		assert.GreaterOrEqual(c, done, n)
	}, 15*time.Second, 20*time.Millisecond)
	return rows
}

func listJobs(t *testing.T, pool *pgxpool.Pool, kind string) []jobRow {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, state, attempt, errors FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	require.NoError(t, err)
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var r jobRow
		var errs [][]byte
		require.NoError(t, rows.Scan(&r.ID, &r.State, &r.Attempt, &errs))
		for _, e := range errs {
			var ae rivertype.AttemptError
			require.NoError(t, json.Unmarshal(e, &ae))
			r.Errors = append(r.Errors, ae)
		}
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// delivery is what tests check of a deliveries row.
type delivery struct {
	Channel, Recipient, Subject, Body, Provider, ProviderMessageID, Status, Key string
}

func listDeliveries(t *testing.T, pool *pgxpool.Pool) []delivery {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT channel, recipient, subject, body, provider, provider_message_id, status, idempotency_key FROM deliveries ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		require.NoError(t, rows.Scan(&d.Channel, &d.Recipient, &d.Subject, &d.Body, &d.Provider, &d.ProviderMessageID, &d.Status, &d.Key))
		out = append(out, d)
	}
	require.NoError(t, rows.Err())
	return out
}

func eventIDOf(t *testing.T, pool *pgxpool.Pool, name string) string {
	t.Helper()
	var id string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT id FROM events WHERE name = $1 ORDER BY received_at DESC LIMIT 1`, name).Scan(&id))
	return id
}

// resendRequest is one request the fake Resend server received.
type resendRequest struct {
	Key  string
	Body struct {
		From    string   `json:"from"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
		HTML    string   `json:"html"`
		Text    string   `json:"text"`
	}
	At time.Time
}

// fakeResend answers POST /emails as Resend does: 200 {"id": ...}, with
// errors shaped {"statusCode", "message", "name"}, and Resend's idempotency:
// a key it already accepted gets the first answer again and sends nothing.
// script holds the status of each successive request (then 200).
type fakeResend struct {
	*httptest.Server

	mu       sync.Mutex
	script   []int
	requests []resendRequest
	sent     map[string]string // idempotency key → email id
}

func newFakeResend(t *testing.T, script ...int) *fakeResend {
	f := &fakeResend{script: script, sent: make(map[string]string)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeResend) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/emails" || r.Header.Get("Authorization") != "Bearer re_test" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"statusCode":404,"message":"not found","name":"not_found"}`))
		return
	}
	req := resendRequest{Key: r.Header.Get("Idempotency-Key"), At: time.Now()}
	_ = json.NewDecoder(r.Body).Decode(&req.Body)
	f.requests = append(f.requests, req)
	status := http.StatusOK
	if len(f.script) > 0 {
		status, f.script = f.script[0], f.script[1:]
	}
	switch status {
	case http.StatusOK:
		id, ok := f.sent[req.Key]
		if !ok {
			id = fmt.Sprintf("email-%d", len(f.sent)+1)
			f.sent[req.Key] = id
		}
		_, _ = fmt.Fprintf(w, `{"id":%q}`, id)
	case http.StatusTooManyRequests:
		w.Header().Set("ratelimit-limit", "2")
		w.Header().Set("ratelimit-remaining", "0")
		w.Header().Set("ratelimit-reset", "2")
		w.Header().Set("retry-after", "2")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"statusCode":429,"message":"Too many requests. You can only make 2 requests per second.","name":"rate_limit_exceeded"}`))
	case http.StatusUnprocessableEntity:
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"statusCode":422,"message":"Invalid ` + "`to`" + ` field. The email address needs to follow the ` + "`email@example.com`" + ` format.","name":"validation_error"}`))
	default:
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"statusCode":500,"message":"An unexpected error occurred.","name":"internal_server_error"}`))
	}
}

// Requests returns the requests so far.
func (f *fakeResend) Requests() []resendRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]resendRequest(nil), f.requests...)
}

// Sent returns how many distinct emails were sent (by idempotency key).
func (f *fakeResend) Sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func contains(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		require.True(t, strings.Contains(s, p), "%q does not contain %q", s, p)
	}
}

func dbtestPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return dbtest.NewPool(t.Context(), t)
}

// waitSettled polls until kind has jobs and all of them are in a final
// state (for kinds whose jobs coalesce, so their number varies).
func waitSettled(t *testing.T, pool *pgxpool.Pool, kind string) []jobRow {
	t.Helper()
	var rows []jobRow
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rows = listJobs(t, pool, kind)
		assert.NotEmpty(c, rows)
		for _, r := range rows {
			assert.Contains(c, []string{"completed", "cancelled", "discarded"}, r.State)
		}
	}, 15*time.Second, 20*time.Millisecond)
	return rows
}
