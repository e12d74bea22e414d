package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/search"
)

// wiringArgs is a test job for TestMetricsOneRegistry.
type wiringArgs struct{}

func (wiringArgs) Kind() string { return "metrics_wiring" }

// TestMetricsOneRegistry checks that GET /metrics serves every metric of the
// table in docs/operations.md from the one registry newMetrics builds: HTTP and event
// counters, job counters fed by a working River client, the backlog,
// readiness and the runtime.
func TestMetricsOneRegistry(t *testing.T) {
	t.Parallel()
	text := servedMetrics(t)
	for _, want := range []string{
		`mohallamart_jobs_total{kind="metrics_wiring",outcome="completed"} 1`,
		`mohallamart_job_run_duration_seconds_count{kind="metrics_wiring"} 1`,
		`mohallamart_jobs_available{queue="email"} 1`,
		`mohallamart_jobs_oldest_available_age_seconds{queue="email"}`,
		`mohallamart_events_ingested_total{name="custom"} 1`,
		`mohallamart_http_requests_total{route="POST /v1/events",status="200"} 1`,
		`mohallamart_http_request_duration_seconds_count{route="POST /v1/events"} 1`,
		"\nmohallamart_ready 1\n",
		`go_goroutines`,
		`process_cpu_seconds_total`,
	} {
		require.Contains(t, text, want)
	}
}

// servedMetrics wires the metrics as serve does (newMetrics, a working
// River client, the HTTP handler) against a fresh database, makes every
// metric report a sample (a job worked, a job waiting, an event ingested,
// a request answered) and returns what GET /metrics then serves. A new
// metric must report a sample here too: TestDeployQueriesUseExportedMetrics
// takes the exported names from this text.
func servedMetrics(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	httpMetrics, jobMetrics, err := newMetrics(pool)
	require.NoError(t, err)
	jobMetrics.ExpectDrops("send-notification") // as buildJobs does for each function with a rateLimit

	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[wiringArgs]) error { return nil }))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:  slog.New(slog.DiscardHandler),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers: workers,
	})
	require.NoError(t, err)
	observed := jobMetrics.ObserveJobs(ctx, client)
	completed, cancel := client.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	require.NoError(t, client.Start(ctx))
	_, err = client.Insert(ctx, wiringArgs{}, nil)
	require.NoError(t, err)
	<-completed
	require.NoError(t, client.Stop(ctx))
	<-observed
	// A job in a queue this client does not work waits in the backlog.
	_, err = client.Insert(ctx, wiringArgs{}, &river.InsertOpts{Queue: "email"})
	require.NoError(t, err)

	migrator, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { _ = migrator.Close() })
	ob := outbox.New(client, jobstest.Registry(t, pool))
	handler, err := httpapi.NewHandler(httpapi.Opts{
		Logger: slog.New(slog.DiscardHandler), DB: pool, Migrator: migrator, Metrics: httpMetrics,
		Outbox: ob, Mart: mart.NewService(pool, ob), Search: search.NewPostgres(pool),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	do := func(method, path, body string) string {
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, b)
		return string(b)
	}
	do(http.MethodPost, "/v1/events", `{"name":"app/anything"}`)
	return do(http.MethodGet, "/metrics", "")
}
