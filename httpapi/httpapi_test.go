package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
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

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	testKey      = "test-key-1" // event keys
	testKeyOther = "test-key-2"
	publicKey    = "test-public-key" // a public event key: analytics/track only
	apiKey       = "test-api-key"
	adminUser    = "ops"
	adminPass    = "s3cret"
)

type testBundle struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	srv    *httptest.Server
	opts   httpapi.Opts // what srv's handler was built with
}

// setup serves the real handler stack against a fresh database, with two
// event keys, an API key and admin credentials unless opt changes them.
func setup(t *testing.T, opt func(*httpapi.Opts)) *testBundle {
	t.Helper()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	return setupWithPool(t, pool, opt)
}

func setupWithPool(t *testing.T, pool *pgxpool.Pool, opt func(*httpapi.Opts)) *testBundle {
	t.Helper()
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	require.NoError(t, err)
	migrator, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { _ = migrator.Close() })
	ui, err := httpapi.NewRiverUI(ctx, client, logger)
	require.NoError(t, err)
	metrics, err := httpapi.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	reg := jobstest.Registry(t, pool)
	ob := outbox.New(client, reg)
	opts := httpapi.Opts{
		Logger: logger, DB: pool, Migrator: migrator, Metrics: metrics,
		Outbox: ob, Routes: reg, Mart: mart.NewService(pool, ob), Search: search.NewPostgres(pool), RiverUI: ui,
		EventKeys: []string{testKey, testKeyOther}, APIKeys: []string{apiKey}, AdminUser: adminUser, AdminPassword: adminPass,
	}
	if opt != nil {
		opt(&opts)
	}
	h, err := httpapi.NewHandler(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testBundle{pool: pool, client: client, srv: srv, opts: opts}
}

// tWriter sends log output to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// response is an answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// details returns the error answer's details as field → message.
func (r response) details(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range r.json(t)["details"].([]any) {
		m := d.(map[string]any)
		out[m["field"].(string)] = m["message"].(string)
	}
	return out
}

// do sends a request with the Bearer key (none when key is "").
func (b *testBundle) do(t *testing.T, method, path, key string, body any) response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// count runs a count(*) query in the test (plain SQL is fine in tests).
func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.WithoutCancel(t.Context()), sql, args...).Scan(&n))
	return n
}

// requireError checks an error answer's status and shape.
func requireError(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	m := r.json(t)
	require.NotEmpty(t, m["error"])
	require.NotEmpty(t, m["requestId"])
	require.Equal(t, r.header.Get("X-Request-Id"), m["requestId"])
	return m
}

// fixture is a user, their shop with one product in stock, and an order
// of it, created through the REST API.
type fixture struct {
	userID, shopID, productID, orderID string
}

func newFixture(t *testing.T, b *testBundle) fixture {
	t.Helper()
	create := func(path string, body map[string]any) string {
		t.Helper()
		r := b.do(t, "POST", path, apiKey, body)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		return r.json(t)["id"].(string)
	}
	var f fixture
	f.userID = create("/v1/users", map[string]any{"email": strings.ToLower(rand.Text()) + "@example.com", "name": "Asha"})
	f.shopID = create("/v1/shops", map[string]any{"name": "Kirana", "ownerId": f.userID})
	f.productID = create("/v1/products", map[string]any{"shopId": f.shopID, "name": "Atta 5kg", "pricePaise": 24900, "stock": 10})
	f.orderID = create("/v1/orders", map[string]any{"userId": f.userID, "shopId": f.shopID,
		"items": []any{map[string]any{"productId": f.productID, "quantity": 1}}})
	return f
}
