package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/runs"
)

// setupRuns serves the handler stack with the runs API and the console.
func setupRuns(t *testing.T) *testBundle {
	t.Helper()
	return setup(t, func(o *httpapi.Opts) { o.Runs = runs.New(o.DB, jobstest.Registry(t, o.DB)) })
}

// TestRunsAPI: an event's runs are listed by GET /admin/runs?event_id= and
// each is answered by GET /admin/runs/{id}; a browser gets the console's
// pages at the same addresses.
func TestRunsAPI(t *testing.T) {
	t.Parallel()
	b := setupRuns(t)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("signup-runs", "runs@example.com")).status)

	r := b.admin(t, "GET", "/admin/runs?event_id=signup-runs&function=send-welcome-email", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	page := r.json(t)
	require.Equal(t, "", page["next"])
	list := page["runs"].([]any)
	require.Len(t, list, 1)
	run := list[0].(map[string]any)
	require.Equal(t, "send-welcome-email", run["function"])
	require.Equal(t, "queued", run["status"], "no worker runs in this test")
	require.Equal(t, []any{"signup-runs"}, run["eventIds"])
	for _, field := range []string{"id", "version", "attempt", "startedAt", "endedAt", "durationMs", "steps", "error", "logs"} {
		require.Contains(t, run, field)
	}

	id := fmt.Sprint(run["id"])
	r = b.admin(t, "GET", "/admin/runs/"+id, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, run, r.json(t))
	requireError(t, b.admin(t, "GET", "/admin/runs/999999999", nil), http.StatusNotFound)
	requireError(t, b.admin(t, "GET", "/admin/runs/x", nil), http.StatusNotFound)

	// A step and a logged line, as a worker would have written them.
	_, err := b.pool.Exec(t.Context(), `INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
		VALUES ($1, 'render', '{"userId":"u1","email":"runs@example.com"}', now() - interval '20 ms', now())`, run["id"])
	require.NoError(t, err)
	_, err = b.pool.Exec(t.Context(), `INSERT INTO run_logs (job_id, attempt, lines) VALUES ($1, 1, ARRAY['12:00:00.000 INFO Rendered template=welcome'])`, run["id"])
	require.NoError(t, err)

	html := func(path string) response {
		return b.doAuth(t, "GET", path, nil, func(req *http.Request) {
			req.SetBasicAuth(adminUser, adminPass)
			req.Header.Set("Accept", "text/html,application/xhtml+xml")
		})
	}
	for path, want := range map[string]string{
		"/admin/runs/" + id:         "send-welcome-email",
		"/admin/runs":               "send-welcome-email",
		"/admin/":                   "user/created",
		"/admin/events/signup-runs": "send-welcome-email",
		"/admin/functions":          "send-order-confirmation",
	} {
		r := html(path)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/html"), path)
		require.Contains(t, string(r.body), want, path)
		require.NotContains(t, string(r.body), "runs@example.com", "%s shows no personal data", path)
		require.Contains(t, string(r.body), `href="/admin/functions"`, "%s has the console's nav", path)
	}
	runPage := string(html("/admin/runs/" + id).body)
	require.Contains(t, runPage, `data-step="render"`, "the step's bar")
	require.Contains(t, runPage, "20 ms")
	require.Contains(t, runPage, "INFO Rendered template=welcome")
	require.Contains(t, runPage, "&#34;[hidden]&#34;", "the email, hidden")
	r = html("/admin/?entity=order:42")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, string(r.body), "entity: must be order:")
	require.Equal(t, http.StatusNotFound, html("/admin/events/nope").status)
}

// TestRunsBadFilters: a filter the API cannot take is a 400 naming it.
func TestRunsBadFilters(t *testing.T) {
	t.Parallel()
	b := setupRuns(t)
	for query, field := range map[string]string{
		"status=done": "status", "function=send_welcome_email": "function", "entity=order:42": "entity",
		"entity=basket:00000000-0000-4000-8000-000000000000": "entity",
		"since=yesterday": "since", "cursor=-1": "cursor", "limit=1000": "limit",
	} {
		r := b.admin(t, "GET", "/admin/runs?"+query, nil)
		requireError(t, r, http.StatusBadRequest)
		require.Contains(t, r.details(t), field, query)
	}
}

// TestRunsNeedAdminCredentials: the runs API and every console page take
// the admin credentials only.
func TestRunsNeedAdminCredentials(t *testing.T) {
	t.Parallel()
	b := setupRuns(t)
	for _, path := range []string{"/admin/runs", "/admin/runs/1", "/admin/", "/admin/events/x", "/admin/functions"} {
		r := b.do(t, "GET", path, "", nil)
		requireError(t, r, http.StatusUnauthorized)
		require.Contains(t, r.header.Get("WWW-Authenticate"), "Basic")
		requireError(t, b.do(t, "GET", path, testKey, nil), http.StatusForbidden)
		requireError(t, b.do(t, "GET", path, apiKey, nil), http.StatusForbidden)
		requireError(t, b.doAuth(t, "GET", path, nil, func(req *http.Request) { req.SetBasicAuth(adminUser, "wrong") }), http.StatusUnauthorized)
	}
}
