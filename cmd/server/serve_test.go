package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// TestBinaryGracefulShutdown builds the server, runs it (ROLE=all) against a
// test database, enqueues jobs through the event API, sends SIGTERM while
// they are being worked, and checks that the process exits 0 in time and
// leaves no job running: each is completed or back in the queue for retry.
func TestBinaryGracefulShutdown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	bin := filepath.Join(t.TempDir(), "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	dbURL := dbtest.NewURL(ctx, t)
	addr := freeAddr(t)
	const shutdownTimeout = 2 * time.Second
	var logs syncBuffer
	cmd := exec.Command(bin, "serve") //nolint:gosec // the binary just built
	cmd.Env = []string{
		"DATABASE_URL=" + dbURL, "ADDR=" + addr, "ROLE=all", "APP_ENV=development",
		"MIGRATE_ON_START=false", "EVENT_KEYS=k1", "SHUTDOWN_TIMEOUT=" + shutdownTimeout.String(),
		"LOG_LEVEL=debug",
	}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz") //nolint:noctx // test polling
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "server did not come up:\n%s", logs.String())

	var batch []string
	for i := range 1000 {
		batch = append(batch, fmt.Sprintf(`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"u%d@example.com","name":"U"}}`, i))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/events", strings.NewReader("["+strings.Join(batch, ",")+"]"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	time.Sleep(50 * time.Millisecond) // let workers pick some jobs up
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("server exited with %d", exitErr.ExitCode())
		}
		require.NoError(t, err)
	case <-time.After(shutdownTimeout + cancelGrace + 5*time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	require.Contains(t, logs.String(), "Shutting down")
	require.Contains(t, logs.String(), "Stopped")

	pool, err := pgxpool.New(context.WithoutCancel(ctx), dbURL)
	require.NoError(t, err)
	defer pool.Close()
	rows, err := pool.Query(ctx, "SELECT state::text, count(*) FROM river_job GROUP BY state")
	require.NoError(t, err)
	states := map[string]int{}
	total := 0
	for rows.Next() {
		var (
			state string
			n     int
		)
		require.NoError(t, rows.Scan(&state, &n))
		states[state] = n
		total += n
	}
	require.NoError(t, rows.Err())
	t.Logf("job states after shutdown: %v", states)
	require.Equal(t, 2000, total, "two jobs per user/created")
	require.Zero(t, states["running"], "no job may be left running")
	for state := range states {
		require.Contains(t, []string{"completed", "available", "retryable", "scheduled"}, state)
	}
}
