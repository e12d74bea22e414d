package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/pgcluster"
)

// runBinary runs the built server with args and env, waiting for it to
// exit (hungAfter only ends one that never would), and returns its output
// and exit error.
func runBinary(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hungAfter)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildServer(t), args...) //nolint:gosec // the binary just built
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "server %s hung; output:\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

// TestBinarySecondCommandSharesPrivateCluster: with a server (`make run`)
// running on the private cluster under DATA_DIR, `server migrate status`
// and `server db-url` use that cluster and leave it running, and a second
// `server serve` refuses, naming the first. The server that started the
// cluster stops it on exit; its port stays the same.
func TestBinarySecondCommandSharesPrivateCluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster: skipped in -short mode")
	}
	dir := t.TempDir()
	env := []string{"DATABASE_URL=", "DATA_DIR=" + dir, "MIGRATE_ON_START=true"}
	first := startServer(t, env...)
	cmdEnv := append([]string{"APP_ENV=development", "ADDR=127.0.0.1:0", "LOG_LEVEL=warn"}, env...)

	readyz := func() int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, first.base+"/readyz", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, readyz())

	out, err := runBinary(t, cmdEnv, "serve")
	require.Error(t, err, "a second server on the same DATA_DIR refuses to run")
	require.Contains(t, out, fmt.Sprintf("DATA_DIR %s is held by pid %d, the server at %s", dir, first.Cmd.Process.Pid, first.base))

	out, err = runBinary(t, cmdEnv, "migrate", "status")
	require.NoError(t, err, out)
	require.Contains(t, out, "applied ")
	require.Equal(t, http.StatusOK, readyz(), "migrate status left the first server's database running")

	out, err = runBinary(t, cmdEnv, "db-url")
	require.NoError(t, err, out)
	url := strings.TrimSpace(out)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	var migrations int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM goose_db_version").Scan(&migrations))
	require.NoError(t, conn.Close(t.Context()))
	require.Positive(t, migrations, "db-url is the URL of the server's database")

	first.terminate(t)
	st, err := pgcluster.Inspect(t.Context(), dir)
	require.NoError(t, err)
	require.False(t, st.Running, "the server that started the cluster stops it on exit")
	require.Equal(t, url, st.URL("app"), "the cluster keeps its port")

	out, err = runBinary(t, cmdEnv, "db-url")
	require.Error(t, err)
	require.Contains(t, out, fmt.Sprintf("is not running (its URL is %s): start it with `make run`", url))
}
