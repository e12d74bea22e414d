package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/internal/testserver"
)

// hungAfter is how long a test waits for the server process (to serve, to
// pick up jobs, to exit after SIGTERM) before it declares it hung, kills it
// and fails. It only ends a hung test: a working server is done long before,
// however loaded the machine; the tests wait on the server's own signals.
const hungAfter = testserver.HungAfter

func TestMain(m *testing.M) { os.Exit(testserver.Run(m, dbtest.Run)) }

// buildServer builds the server binary on the first call of the test
// process and returns its path.
func buildServer(t *testing.T) string {
	t.Helper()
	return testserver.Binary(t)
}

// runningServer is the built binary running against a test database.
type runningServer struct {
	*testserver.Server
	base  string
	dbURL string
	pool  *pgxpool.Pool
	logs  *testserver.Buffer
}

// startServer builds (once) and starts the server (ROLE=all) on a fresh
// test database and a port of its choosing, with env added to a minimal
// environment, and waits until it logs that it serves.
func startServer(t *testing.T, env ...string) *runningServer {
	t.Helper()
	return startServerOn(t, dbtest.NewURL(t.Context(), t), env...)
}

// startServerOn is startServer on the database at dbURL, which other
// processes may share (env may set ROLE=worker).
func startServerOn(t *testing.T, dbURL string, env ...string) *runningServer {
	t.Helper()
	return startServerEnv(t, dbURL, append([]string{
		"ADDR=127.0.0.1:0", "ROLE=all", "APP_ENV=development",
		"MIGRATE_ON_START=false", "EVENT_KEYS=k1", "API_KEYS=a1", "LOG_LEVEL=debug",
	}, env...))
}

// startServerEnv builds (once) and starts the server on the database at
// dbURL with env and DATABASE_URL as its whole environment; env must give
// an ADDR on port 0. It waits until the server logs that it serves and
// /healthz answers (not /readyz: a test counts the requests to it).
func startServerEnv(t *testing.T, dbURL string, env []string) *runningServer {
	t.Helper()
	pool, err := pgxpool.New(context.WithoutCancel(t.Context()), dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	srv := testserver.Start(t, testserver.Options{Env: append([]string{"DATABASE_URL=" + dbURL}, env...), ReadyPath: "/healthz"})
	return &runningServer{Server: srv, base: srv.Base, dbURL: dbURL, pool: pool, logs: srv.Logs}
}

// waitForLog waits until the server logs a line matching re and returns
// re's submatches. It fails the test if the server exits first, and kills a
// server that neither logs it nor exits within hungAfter.
func (s *runningServer) waitForLog(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	return s.WaitLog(t, re)
}

// postEvents sends a JSON array of events to the event API.
func (s *runningServer) postEvents(t *testing.T, evs []string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.base+"/v1/events", strings.NewReader("["+strings.Join(evs, ",")+"]"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// terminate sends SIGTERM and requires the server to exit by itself with
// status 0. hungAfter only kills a server that would never exit; how soon
// it exits is up to SHUTDOWN_TIMEOUT, which the tests check by what the
// shutdown leaves behind.
func (s *runningServer) terminate(t *testing.T) {
	t.Helper()
	_, err := s.Stop(hungAfter)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("server exited with %d", exitErr.ExitCode())
	}
	require.NoError(t, err, "server hung: still running %s after SIGTERM, or failed", hungAfter)
	require.Contains(t, s.logs.String(), "Shutting down")
	require.Contains(t, s.logs.String(), "Stopped")
}

// waitJobPickedUp waits until a worker has fetched one of the database's
// River jobs (attempted_at is set when a job starts running, and stays set,
// so this is seen even if the job has finished in between). No signal
// tells the test that, so it polls the database for the state; hungAfter
// only fails a test whose server never works a job.
func (s *runningServer) waitJobPickedUp(t *testing.T) {
	t.Helper()
	s.waitFor(t, "job picked up", func() bool {
		var picked bool
		err := s.pool.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM river_job WHERE attempted_at IS NOT NULL)").Scan(&picked)
		require.NoError(t, err, "no job picked up")
		return picked
	})
}

// waitFor polls done until it holds: for what only the database shows, such
// as jobs another process completes. hungAfter only fails a test whose
// condition never holds.
func (s *runningServer) waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	hung := time.NewTimer(hungAfter)
	defer hung.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-tick.C:
		case <-hung.C:
			t.Fatalf("no %s after %s", what, hungAfter)
		}
	}
}

// jobStates counts the database's River jobs by state.
func (s *runningServer) jobStates(t *testing.T, kind string) map[string]int {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), "SELECT state::text, count(*) FROM river_job WHERE kind LIKE $1 GROUP BY state", kind)
	require.NoError(t, err)
	states := map[string]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		require.NoError(t, rows.Scan(&state, &n))
		states[state] = n
	}
	require.NoError(t, rows.Err())
	return states
}

// TestBinaryGracefulShutdown builds the server, runs it (ROLE=all) against a
// test database, enqueues jobs through the event API, sends SIGTERM while
// they are being worked, and checks that the process exits 0 by itself and
// leaves no job running: each is completed or back in the queue for retry.
func TestBinaryGracefulShutdown(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 2 * time.Second
	s := startServer(t, "SHUTDOWN_TIMEOUT="+shutdownTimeout.String())

	var batch []string
	for i := range 1000 {
		batch = append(batch, fmt.Sprintf(`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-%012d","email":"u%d@example.com","name":"U"}}`, i, i))
	}
	s.postEvents(t, batch)
	s.waitJobPickedUp(t)
	s.terminate(t)

	// No job is left running, the periodic ones the leader may have
	// inserted by then included.
	states := s.jobStates(t, "%")
	t.Logf("job states after shutdown: %v", states)
	for state := range states {
		require.Contains(t, []string{"completed", "available", "retryable", "scheduled"}, state)
	}
	// One welcome email job per user/created (one per user: each is a
	// new user).
	total := 0
	for _, n := range s.jobStates(t, "send_welcome_email") {
		total += n
	}
	require.Equal(t, 1000, total, "one welcome email job per user/created")
}

// TestBinaryShutdownCancelsSlowJobs runs the server against a Resend that
// never answers, so welcome emails are still running at SHUTDOWN_TIMEOUT:
// SIGTERM must cancel them and put them back in the queue (River makes them
// available again for this or another process), and exit 0 with no job left
// running.
func TestBinaryShutdownCancelsSlowJobs(t *testing.T) {
	t.Parallel()
	resend := providerfake.NewResend(providerfake.Options{Key: "re_test_key", Script: providerfake.Always(providerfake.Hang)})
	t.Cleanup(resend.Close)

	const shutdownTimeout = 500 * time.Millisecond
	s := startServer(t, append(resend.Env(), "SHUTDOWN_TIMEOUT="+shutdownTimeout.String())...)
	var evs []string
	for i := range 3 {
		evs = append(evs, fmt.Sprintf(`{"name":"user/created","data":{"userId":"u%d","email":"u%d@example.com","name":"U"}}`, i, i))
	}
	s.postEvents(t, evs)
	ctx, cancel := context.WithTimeout(t.Context(), hungAfter)
	defer cancel()
	require.NoError(t, resend.Wait(ctx, func(c providerfake.Counts) bool { return c.Requests >= 3 }), "the three welcome emails reached Resend")

	// Resend never answers: the server exits only because it cancels the
	// jobs at SHUTDOWN_TIMEOUT.
	s.terminate(t)
	require.Contains(t, s.logs.String(), "Jobs still running near SHUTDOWN_TIMEOUT; cancelling them")
	require.NotContains(t, s.logs.String(), "re_test_key", "the API key must never be logged")
	states := s.jobStates(t, "send_welcome_email")
	require.Equal(t, map[string]int{"available": 3}, states, "jobs cancelled by the shutdown go back to the queue, to be retried")
}

// TestBinaryShutdownOneDeadline: with an HTTP request and jobs both stuck
// on outside services that never answer (a Typesense search, Resend), the
// HTTP drain and the jobs' stop share one deadline: the server's own log
// shows it stopped within SHUTDOWN_TIMEOUT of starting to shut down (plus
// scheduling slack), where draining one after the other took twice that.
func TestBinaryShutdownOneDeadline(t *testing.T) {
	t.Parallel()
	typesense := providerfake.NewTypesense(providerfake.Options{Key: "ts_test_key", Script: func(label string, _ int) providerfake.Answer {
		if label == "search" {
			return providerfake.Hang
		}
		return providerfake.OK
	}})
	t.Cleanup(typesense.Close)
	resend := providerfake.NewResend(providerfake.Options{Key: "re_test_key", Script: providerfake.Always(providerfake.Hang)})
	t.Cleanup(resend.Close)

	const shutdownTimeout = 2 * time.Second
	s := startServer(t, append(append(resend.Env(), typesense.Env()...), "SHUTDOWN_TIMEOUT="+shutdownTimeout.String())...)
	s.postEvents(t, []string{`{"name":"user/created","data":{"userId":"u1","email":"u1@example.com","name":"U"}}`})
	go func() {
		req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodGet, s.base+"/v1/search/products?q=atta", nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer a1")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), hungAfter)
	defer cancel()
	require.NoError(t, typesense.Wait(ctx, func(c providerfake.Counts) bool { return c.Queries >= 1 }), "the search reached Typesense")
	require.NoError(t, resend.Wait(ctx, func(c providerfake.Counts) bool { return c.Requests >= 1 }), "the email reached Resend")

	s.terminate(t)
	at := func(msg string) time.Time {
		m := regexp.MustCompile(`time=(\S+) level=\w+ msg="?` + regexp.QuoteMeta(msg)).FindStringSubmatch(s.logs.String())
		require.NotNil(t, m, "log line %q", msg)
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		require.NoError(t, err)
		return ts
	}
	took := at("Stopped").Sub(at("Shutting down"))
	t.Logf("stopped %s after SIGTERM (SHUTDOWN_TIMEOUT %s)", took.Round(time.Millisecond), shutdownTimeout)
	require.Less(t, took, shutdownTimeout+time.Second, "one deadline for HTTP and jobs")
}
