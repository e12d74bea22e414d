package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// syncBuffer is a bytes.Buffer safe for the process's output goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// buildServer builds the server binary once per test that needs it.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// runningServer is the built binary running against a test database.
type runningServer struct {
	base   string
	dbURL  string
	cmd    *exec.Cmd
	exited chan error
	logs   *syncBuffer
}

// startServer builds and starts the server (ROLE=all) with env added to a
// minimal environment, and waits until it answers /healthz.
func startServer(t *testing.T, env ...string) *runningServer {
	t.Helper()
	bin := buildServer(t)
	s := &runningServer{dbURL: dbtest.NewURL(t.Context(), t), exited: make(chan error, 1), logs: &syncBuffer{}}
	addr := freeAddr(t)
	s.base = "http://" + addr
	s.cmd = exec.Command(bin, "serve") //nolint:gosec // the binary just built
	s.cmd.Env = append([]string{
		"DATABASE_URL=" + s.dbURL, "ADDR=" + addr, "ROLE=all", "APP_ENV=development",
		"MIGRATE_ON_START=false", "EVENT_KEYS=k1", "API_KEYS=a1", "LOG_LEVEL=debug",
	}, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server output:\n%s", s.logs.String())
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.base + "/healthz") //nolint:noctx // test polling
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "server did not come up:\n%s", s.logs.String())
	return s
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

// terminate sends SIGTERM and requires a clean exit (status 0) within limit.
func (s *runningServer) terminate(t *testing.T, limit time.Duration) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-s.exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("server exited with %d", exitErr.ExitCode())
		}
		require.NoError(t, err)
	case <-time.After(limit):
		t.Fatal("server did not exit after SIGTERM")
	}
	require.Contains(t, s.logs.String(), "Shutting down")
	require.Contains(t, s.logs.String(), "Stopped")
}

// jobStates counts the database's River jobs by state.
func (s *runningServer) jobStates(t *testing.T, kind string) map[string]int {
	t.Helper()
	pool, err := pgxpool.New(context.WithoutCancel(t.Context()), s.dbURL)
	require.NoError(t, err)
	defer pool.Close()
	rows, err := pool.Query(t.Context(), "SELECT state::text, count(*) FROM river_job WHERE kind LIKE $1 GROUP BY state", kind)
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
// they are being worked, and checks that the process exits 0 in time and
// leaves no job running: each is completed or back in the queue for retry.
func TestBinaryGracefulShutdown(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 2 * time.Second
	s := startServer(t, "SHUTDOWN_TIMEOUT="+shutdownTimeout.String())

	var batch []string
	for i := range 1000 {
		batch = append(batch, fmt.Sprintf(`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"u%d@example.com","name":"U"}}`, i))
	}
	s.postEvents(t, batch)
	time.Sleep(50 * time.Millisecond) // let workers pick some jobs up
	s.terminate(t, shutdownTimeout+cancelGrace+5*time.Second)

	states := s.jobStates(t, "send_welcome_email")
	t.Logf("job states after shutdown: %v", states)
	total := 0
	for state, n := range states {
		require.Contains(t, []string{"completed", "available", "retryable", "scheduled"}, state)
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
	var requests atomic.Int32
	release := make(chan struct{})
	resend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // after the body, a closed connection cancels r.Context()
		select {                           // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); resend.Close() })

	const shutdownTimeout = 500 * time.Millisecond
	s := startServer(t, "SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
		"RESEND_API_KEY=re_test_key", "RESEND_BASE_URL="+resend.URL, "EMAIL_FROM=MohallaMart <orders@example.com>")
	var evs []string
	for i := range 3 {
		evs = append(evs, fmt.Sprintf(`{"name":"user/created","data":{"userId":"u%d","email":"u%d@example.com","name":"U"}}`, i, i))
	}
	s.postEvents(t, evs)
	require.Eventually(t, func() bool { return requests.Load() == 3 }, 10*time.Second, 10*time.Millisecond,
		"the three welcome emails never reached Resend")

	s.terminate(t, shutdownTimeout+cancelGrace+5*time.Second)
	require.Contains(t, s.logs.String(), "Jobs still running at SHUTDOWN_TIMEOUT; cancelling them")
	require.NotContains(t, s.logs.String(), "re_test_key", "the API key must never be logged")
	states := s.jobStates(t, "send_welcome_email")
	require.Equal(t, map[string]int{"available": 3}, states, "jobs cancelled by the shutdown go back to the queue, to be retried")
}
