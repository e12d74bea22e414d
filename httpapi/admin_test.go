package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/jobs/jobstest"
)

// doAuth sends a request with a JSON body (none when body is nil),
// authenticated by auth.
func (b *testBundle) doAuth(t *testing.T, method, path string, body any, auth func(*http.Request)) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	return send(t, req)
}

// admin sends a request with the admin credentials.
func (b *testBundle) admin(t *testing.T, method, path string, body any) response {
	t.Helper()
	return b.doAuth(t, method, path, body, func(req *http.Request) { req.SetBasicAuth(adminUser, adminPass) })
}

// TestAdminReplayAndRetry: with the admin credentials, POST
// /admin/events/replay enqueues a stored event's function again, marked as
// a replay; GET /admin/jobs/failed groups the failed jobs and POST
// /admin/jobs/retry retries them.
func TestAdminReplayAndRetry(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)
	deleted := map[string]any{"name": "user/deleted", "id": "delete-admin", "data": map[string]any{"userId": userIDFor("admin@example.com")}}
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, deleted).status)
	_, err := b.pool.Exec(t.Context(), `UPDATE river_job SET state = 'completed', finalized_at = now()`)
	require.NoError(t, err)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	r := b.admin(t, "POST", "/admin/events/replay", map[string]any{"name": "user/deleted", "since": since, "dryRun": true})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1.0, r.json(t)["enqueued"].(map[string]any)["end_user_sessions"])
	require.Zero(t, b.count(t, `SELECT count(*) FROM river_job WHERE state = 'available'`))

	r = b.admin(t, "POST", "/admin/events/replay", map[string]any{"name": "user/deleted", "since": since, "function": "end-user-sessions"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	res := r.json(t)
	require.Equal(t, 1.0, res["events"])
	require.Equal(t, map[string]any{"end_user_sessions": 1.0}, res["enqueued"], "that function only")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE state = 'available' AND args ->> 'event_id' = 'delete-admin'
		AND metadata ->> 'replay_id' = $1`, res["replayId"]))

	_, err = b.pool.Exec(t.Context(), `UPDATE river_job SET state = 'discarded', finalized_at = now(),
		errors = ARRAY[jsonb_build_object('at', now(), 'attempt', 1, 'error', 'end sessions: connection reset', 'trace', '')] WHERE state = 'available'`)
	require.NoError(t, err)
	r = b.admin(t, "GET", "/admin/jobs/failed?since="+since, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	groups := r.json(t)["groups"].([]any)
	require.Len(t, groups, 1)
	g := groups[0].(map[string]any)
	require.Equal(t, "end_user_sessions", g["kind"])
	require.Equal(t, "end sessions: connection reset", g["error"])
	require.Equal(t, 1.0, g["jobs"])

	r = b.admin(t, "POST", "/admin/jobs/retry", map[string]any{"kind": "end_user_sessions", "since": since, "errorLike": "connection"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1.0, r.json(t)["retried"])
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE state = 'available'`))

	requireError(t, b.admin(t, "POST", "/admin/events/replay", map[string]any{"name": "user/created"}), http.StatusBadRequest)
	requireError(t, b.admin(t, "POST", "/admin/events/replay", map[string]any{"name": "user/created", "since": since, "bogus": 1}), http.StatusBadRequest)
	requireError(t, b.admin(t, "GET", "/admin/jobs/failed?since=yesterday", nil), http.StatusBadRequest)
}

// TestAdminRoutesNeedAdminCredentials: no credentials or wrong ones are a
// 401, an event key or an API key a 403; nothing is replayed or retried.
func TestAdminRoutesNeedAdminCredentials(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("signup-keys", "keys@example.com")).status)
	jobs := b.count(t, `SELECT count(*) FROM river_job`)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	routes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/admin/events/replay", map[string]any{"name": "user/created", "since": since}},
		{"GET", "/admin/jobs/failed", nil},
		{"POST", "/admin/jobs/retry", map[string]any{"kind": "send_welcome_email", "since": since}},
	}
	for _, rt := range routes {
		r := b.do(t, rt.method, rt.path, "", rt.body)
		requireError(t, r, http.StatusUnauthorized)
		require.Contains(t, r.header.Get("WWW-Authenticate"), "Basic")
		requireError(t, b.do(t, rt.method, rt.path, testKey, rt.body), http.StatusForbidden)
		requireError(t, b.do(t, rt.method, rt.path, apiKey, rt.body), http.StatusForbidden)
		requireError(t, b.doAuth(t, rt.method, rt.path, rt.body, func(req *http.Request) { req.SetBasicAuth(adminUser, "wrong") }), http.StatusUnauthorized)
	}
	require.Equal(t, jobs, b.count(t, `SELECT count(*) FROM river_job`), "the event's own jobs only")
}

// setupAdmin serves the handler stack with the /admin routes.
func setupAdmin(t *testing.T) *testBundle {
	t.Helper()
	return setup(t, func(o *httpapi.Opts) {
		client, err := river.NewClient(riverpgxv5.New(o.DB), &river.Config{})
		require.NoError(t, err)
		o.Control = control.New(o.DB, client, jobstest.Registry(t, o.DB))
	})
}
