package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/internal/testserver"
)

func TestRiverUI(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("", "ui@example.com")).status)

	get := func(path string, auth bool) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+path, nil)
		require.NoError(t, err)
		if auth {
			req.SetBasicAuth(adminUser, adminPass)
		}
		return send(t, req)
	}
	r := get("/riverui/", false)
	requireError(t, r, http.StatusUnauthorized)
	require.Contains(t, r.header.Get("WWW-Authenticate"), "Basic")
	requireError(t, get("/riverui/api/jobs?state=available", false), http.StatusUnauthorized)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+"/riverui/", nil)
	require.NoError(t, err)
	req.SetBasicAuth(adminUser, "wrong")
	requireError(t, send(t, req), http.StatusUnauthorized)

	page := get("/riverui/", true)
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.header.Get("Content-Type"), "text/html")
	require.Contains(t, string(page.body), "<div id=\"root\"")

	jobs := get("/riverui/api/jobs?state=available&kinds=send_welcome_email", true)
	require.Equal(t, http.StatusOK, jobs.status, "%s", jobs.body)
	data := jobs.json(t)["data"].([]any)
	require.Len(t, data, 1, "the welcome email job")
	require.Equal(t, "send_welcome_email", data[0].(map[string]any)["kind"])

	// A cross-site state-changing request is refused even with credentials.
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/riverui/api/jobs/cancel", strings.NewReader(`{"ids":["1"]}`))
	require.NoError(t, err)
	req.SetBasicAuth(adminUser, adminPass)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, send(t, req).status)
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	r := b.do(t, "GET", "/healthz", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	r = b.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "ready", r.json(t)["status"])

	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("", "m@example.com")).status)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"app/anything"}`).status)
	requireError(t, b.do(t, "GET", "/v1/users/"+missingID, apiKey, nil), http.StatusNotFound)

	r = b.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	text := string(r.body)
	for _, want := range []string{
		`mohallamart_http_requests_total{route="POST /v1/events",status="200"} 2`,
		`mohallamart_http_requests_total{route="GET /v1/users/{id}",status="404"} 1`,
		`mohallamart_http_request_duration_seconds_count{route="POST /v1/events"} 2`,
		`mohallamart_events_ingested_total{name="user/created"} 1`,
		`mohallamart_events_ingested_total{name="custom"} 1`,
		"\nmohallamart_ready 1\n",
	} {
		require.Contains(t, text, want)
	}
}

// TestDatabaseDown points the handler at a PostgreSQL that is not there:
// requests fail fast with 503 and /readyz says why, without the detail.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var logs testserver.Buffer
	b := setupWithPool(t, pool, func(o *httpapi.Opts) {
		o.DBTimeout = 2 * time.Second
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})

	start := time.Now()
	r := b.do(t, "POST", "/v1/events", testKey, userCreated("", "down@example.com"))
	m := requireError(t, r, http.StatusServiceUnavailable)
	require.Contains(t, m["error"], "database is unavailable")
	requireError(t, b.do(t, "GET", "/v1/users/"+missingID, apiKey, nil), http.StatusServiceUnavailable)
	require.Less(t, time.Since(start), 5*time.Second)

	// /readyz has no auth: the reason is public, the database's error is
	// only logged.
	r = b.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Equal(t, "database unreachable", r.json(t)["reason"])
	require.NotContains(t, string(r.body), "nobody")
	require.Contains(t, logs.String(), `"msg":"Not ready: database unreachable"`)
	require.Contains(t, logs.String(), "user=nobody")
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/healthz", "", nil).status)
	// The scrape still answers, and says the process is not ready.
	r = b.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), "\nmohallamart_ready 0\n")
}

// TestOpsOnly is ROLE=worker: health and metrics only.
func TestOpsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) { o.OpsOnly = true })
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/healthz", "", nil).status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/readyz", "", nil).status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/metrics", "", nil).status)
	requireError(t, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`), http.StatusNotFound)
	requireError(t, b.do(t, "POST", "/e/"+testKey, "", `{"name":"a/b"}`), http.StatusNotFound)
	requireError(t, b.do(t, "GET", "/riverui/", "", nil), http.StatusNotFound)
}

func TestReadyzMigrationsPending(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	m, err := db.NewMigrator(b.pool)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	_, err = m.Down(t.Context())
	require.NoError(t, err)
	r := b.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Equal(t, "1 migrations pending; run `server migrate up`", r.json(t)["reason"])
	require.Contains(t, string(b.do(t, "GET", "/metrics", "", nil).body), "\nmohallamart_ready 0\n")
}

// TestRequestLog checks the request log line: request id, route, status,
// and never the event key of /e/{eventKey}.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	var buf testserver.Buffer
	b := setup(t, func(o *httpapi.Opts) {
		o.Logger = slog.New(logctx.NewHandler(slog.NewJSONHandler(&buf, nil)))
	})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/e/"+testKey, strings.NewReader(`{"name":"a/b"}`))
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "req-123")
	r := send(t, req)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "req-123", r.header.Get("X-Request-Id"))
	logs := buf.String()
	require.Contains(t, logs, `"request_id":"req-123"`)
	require.Contains(t, logs, `"route":"POST /e/{eventKey}"`)
	require.NotContains(t, logs, testKey)
}
