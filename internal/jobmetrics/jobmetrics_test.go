package jobmetrics_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/jobmetrics"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// outcomeArgs is a test job that ends the way Outcome says.
type outcomeArgs struct {
	Outcome string `json:"outcome"`
}

func (outcomeArgs) Kind() string { return "metrics_test" }

// retryLater schedules every retry an hour away, so a failed attempt that
// may be retried is not worked again during the test.
type retryLater struct{}

func (retryLater) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

// scrape returns what reg serves at /metrics.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// TestObserveJobs works one job of each outcome through a real River client
// and checks the counters and run-time histogram by kind and outcome.
func TestObserveJobs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	reg := prometheus.NewRegistry()
	m, err := jobmetrics.Register(reg, pool)
	require.NoError(t, err)

	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(_ context.Context, job *river.Job[outcomeArgs]) error {
		switch job.Args.Outcome {
		case "fail":
			return errors.New("attempt failed")
		case "cancel":
			return river.JobCancel(errors.New("not worth doing"))
		default:
			return nil
		}
	}))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:      slog.New(slog.DiscardHandler), // failures are expected
		Queues:      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:     workers,
		RetryPolicy: retryLater{},
	})
	require.NoError(t, err)

	done := m.ObserveJobs(ctx, client)
	finished, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer cancel()
	require.NoError(t, client.Start(ctx))
	_, err = client.InsertMany(ctx, []river.InsertManyParams{
		{Args: outcomeArgs{Outcome: "complete"}},
		{Args: outcomeArgs{Outcome: "fail"}, InsertOpts: &river.InsertOpts{MaxAttempts: 1}}, // discarded
		{Args: outcomeArgs{Outcome: "fail"}, InsertOpts: &river.InsertOpts{MaxAttempts: 5}}, // retried later
		{Args: outcomeArgs{Outcome: "cancel"}},
	})
	require.NoError(t, err)
	for range 4 {
		<-finished
	}
	// Stopping the client closes the subscriptions after delivering every
	// event; done says the metrics have counted them all.
	require.NoError(t, client.Stop(ctx))
	<-done

	text := scrape(t, reg)
	for _, want := range []string{
		`mohallamart_jobs_total{kind="metrics_test",outcome="completed"} 1`,
		`mohallamart_jobs_total{kind="metrics_test",outcome="failed"} 2`,
		`mohallamart_jobs_total{kind="metrics_test",outcome="discarded"} 1`,
		`mohallamart_jobs_total{kind="metrics_test",outcome="cancelled"} 1`,
		`mohallamart_job_run_duration_seconds_count{kind="metrics_test"} 4`,
	} {
		require.Contains(t, text, want)
	}
}

// TestBacklog checks the backlog gauges: available jobs per queue (jobs
// scheduled for later are not waiting yet) and the oldest one's age.
func TestBacklog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	reg := prometheus.NewRegistry()
	_, err := jobmetrics.Register(reg, tx)
	require.NoError(t, err)

	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	_, err = client.InsertManyTx(ctx, tx, []river.InsertManyParams{
		{Args: outcomeArgs{}, InsertOpts: &river.InsertOpts{Queue: "email"}},
		{Args: outcomeArgs{}, InsertOpts: &river.InsertOpts{Queue: "analytics"}},
		{Args: outcomeArgs{}, InsertOpts: &river.InsertOpts{Queue: "analytics", ScheduledAt: time.Now().Add(time.Hour)}},
	})
	require.NoError(t, err)

	text := scrape(t, reg)
	for _, want := range []string{
		`mohallamart_jobs_available{queue="email"} 1`,
		`mohallamart_jobs_available{queue="analytics"} 1`,
		`mohallamart_jobs_oldest_available_age_seconds{queue="email"}`,
		`mohallamart_jobs_oldest_available_age_seconds{queue="analytics"}`,
	} {
		require.Contains(t, text, want)
	}
}

// TestBacklogDatabaseDown: without a database, gathering the backlog fails
// fast and says why (served with promhttp.ContinueOnError, the scrape then
// leaves the backlog out).
func TestBacklogDatabaseDown(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	_, err = jobmetrics.Register(reg, pool)
	require.NoError(t, err)

	_, err = reg.Gather()
	require.ErrorContains(t, err, "query job backlog")
}

// TestRegisterTwice: the metrics names are the registry's to keep unique.
func TestRegisterTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	_, err := jobmetrics.Register(reg, nil)
	require.NoError(t, err)
	_, err = jobmetrics.Register(reg, nil)
	require.ErrorContains(t, err, "register job metrics")
}
