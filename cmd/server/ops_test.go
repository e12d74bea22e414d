package main

import (
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// productionServerEnv is what startServer adds, with extra, to run the
// server in production: secrets production takes, and the operations
// listener on a port of its own choosing (its default, :9090, would be
// every interface and one port for all tests).
func productionServerEnv(extra ...string) []string {
	return append([]string{"APP_ENV=production", "EVENT_KEYS=" + strong("EVENT_KEYS"), "API_KEYS=" + strong("API_KEYS"),
		"ADMIN_USER=ops", "ADMIN_PASSWORD=" + strong("ADMIN_PASSWORD"), "OPS_ADDR=127.0.0.1:0"}, extra...)
}

// opsBase is the base URL of the operations listener, as the server logged
// it when it began serving.
func (s *runningServer) opsBase(t *testing.T) string {
	t.Helper()
	return "http://" + s.waitForLog(t, regexp.MustCompile(`(?:ops_addr=|"ops_addr":")([^\s"]+)`))[1]
}

// fetch GETs url with the Host header host (the URL's when "") and returns
// the status and body.
func fetch(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestBinaryOpsListener: in production /metrics is served on OPS_ADDR only,
// not on the API's port; a worker listens on OPS_ADDR alone. In
// development without OPS_ADDR the operations routes share ADDR, which is
// on loopback and answers only to localhost, 127.0.0.1 and [::1] (421 for
// any other Host: DNS rebinding); production serves what its proxy sends.
func TestBinaryOpsListener(t *testing.T) {
	t.Parallel()
	t.Run("Production", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, productionServerEnv("ROLE=api")...)
		ops := s.opsBase(t)
		require.NotEqual(t, s.base, ops)
		status, _ := fetch(t, s.base+"/metrics", "")
		require.Equal(t, http.StatusNotFound, status, "no metrics on the API port")
		status, _ = fetch(t, s.base+"/readyz", "mohallamart.example")
		require.Equal(t, http.StatusOK, status, "the load balancer's check stays on the API port")
		status, body := fetch(t, ops+"/metrics", "")
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, "\nmohallamart_ready 1\n")
		require.Contains(t, body, `mohallamart_http_requests_total{route="GET /readyz",status="200"} 1`, "the API listener counts into the one registry")
		status, _ = fetch(t, ops+"/healthz", "")
		require.Equal(t, http.StatusOK, status)
		status, _ = fetch(t, ops+"/v1/schemas", "")
		require.Equal(t, http.StatusNotFound, status, "no API on the operations port")
	})
	t.Run("ProductionWorker", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, productionServerEnv("ROLE=worker")...)
		require.Equal(t, s.base, s.opsBase(t), "a worker listens on OPS_ADDR only")
		status, body := fetch(t, s.base+"/metrics", "")
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, "\nmohallamart_ready 1\n")
	})
	t.Run("Development", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		require.Equal(t, s.base, s.opsBase(t))
		status, body := fetch(t, s.base+"/metrics", "")
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, "\nmohallamart_ready 1\n")
		require.Contains(t, s.logs.String(), "Metrics      "+s.base+"/metrics")

		port := s.base[strings.LastIndex(s.base, ":")+1:]
		for _, path := range []string{"/healthz", "/dev/mailbox", "/metrics"} {
			status, body := fetch(t, s.base+path, "evil.example:"+port)
			require.Equal(t, http.StatusMisdirectedRequest, status, "%s: %s", path, body)
			status, _ = fetch(t, s.base+path, "localhost:"+port)
			require.Equal(t, http.StatusOK, status, path)
		}
	})
}

// TestBinaryRefusesAnUnmigratedDatabase: a server started on a database
// that no migration was applied to (and told not to migrate) exits with a
// sentence that says what to run, not River's SQL error about a missing
// table.
func TestBinaryRefusesAnUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t.Context(), t)
	pool, err := pgxpool.New(t.Context(), dbURL)
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	pool.Close()
	require.NoError(t, err)

	cmd := exec.CommandContext(t.Context(), buildServer(t), "serve") //nolint:gosec // the binary just built
	cmd.Env = append([]string{"DATABASE_URL=" + dbURL, "ADDR=127.0.0.1:0", "MIGRATE_ON_START=false"}, productionServerEnv()...)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the server must not serve: %s", out)
	require.Contains(t, string(out), "run `server migrate up`")
	require.NotContains(t, string(out), "SQLSTATE")
}
