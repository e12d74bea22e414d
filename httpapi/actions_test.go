package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fieldOf is the field the first detail of a 400 names.
func fieldOf(t *testing.T, r response) string {
	t.Helper()
	m := requireError(t, r, http.StatusBadRequest)
	details, ok := m["details"].([]any)
	require.True(t, ok, "a 400 names the field: %s", r.body)
	require.NotEmpty(t, details)
	return details[0].(map[string]any)["field"].(string)
}

// TestAdminPauseResumeAndCancel: with the admin credentials, pausing
// send-welcome-email holds its queued runs (a dry run only counts them),
// GET /admin/functions/paused lists it with who paused it, resuming
// releases them; a bulk cancel by an event field cancels one user's run
// (the dry run counts it first) and POST /admin/runs/retry brings it back.
func TestAdminPauseResumeAndCancel(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)
	for _, email := range []string{"pause1@example.com", "pause2@example.com"} {
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("signup-"+email, email)).status)
	}
	welcome := func(state string) int {
		return b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = $1::river_job_state`, state)
	}

	r := b.admin(t, "POST", "/admin/functions/send-welcome-email/pause", map[string]any{"dryRun": true})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, map[string]any{"function": "send-welcome-email", "dryRun": true, "alreadyPaused": false, "held": 2.0}, r.json(t))
	require.Equal(t, 2, welcome("available"))

	r = b.admin(t, "POST", "/admin/functions/send-welcome-email/pause", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 2.0, r.json(t)["held"])
	require.Equal(t, 2, welcome("pending"))
	r = b.admin(t, "GET", "/admin/functions/paused", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	paused := r.json(t)["paused"].([]any)
	require.Len(t, paused, 1)
	require.Equal(t, adminUser, paused[0].(map[string]any)["pausedBy"])

	r = b.admin(t, "POST", "/admin/functions/send-welcome-email/resume", map[string]any{})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, map[string]any{"function": "send-welcome-email", "dryRun": false, "wasPaused": true, "released": 2.0}, r.json(t))
	require.Equal(t, 2, welcome("available"))

	match := "data.userId=" + userIDFor("pause1@example.com")
	r = b.admin(t, "POST", "/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "match": match, "dryRun": true})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1.0, r.json(t)["matched"])
	require.Zero(t, welcome("cancelled"))
	r = b.admin(t, "POST", "/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "match": match})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1.0, r.json(t)["cancelled"])
	require.Equal(t, 1, welcome("cancelled"))

	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	r = b.admin(t, "POST", "/admin/runs/retry", map[string]any{"function": "send-welcome-email", "since": since, "dryRun": true})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, map[string]any{"dryRun": true, "matched": 1.0, "retried": 0.0}, r.json(t))
	r = b.admin(t, "POST", "/admin/runs/retry", map[string]any{"function": "send-welcome-email", "since": since, "match": match})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1.0, r.json(t)["retried"])
	require.Equal(t, 2, welcome("available"))
}

// TestAdminActionsRefuseBadInput: each bad field is a 400 naming it, and
// nothing is paused, cancelled or retried; without the admin credentials
// the actions are a 401 (an event or API key a 403).
func TestAdminActionsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setupAdmin(t)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("signup-bad", "bad@example.com")).status)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		path  string
		body  any
		field string
	}{
		{"/admin/functions/no-such/pause", nil, "function"},
		{"/admin/functions/send_welcome_email/resume", nil, "function"},
		{"/admin/functions/send-welcome-email/pause", map[string]any{"dryRun": "yes"}, "dryRun"},
		{"/admin/functions/send-welcome-email/pause", map[string]any{"function": "x"}, "function"},
		{"/admin/runs/cancel", map[string]any{}, "function"},
		{"/admin/runs/cancel", map[string]any{"function": "no-such"}, "function"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "since": "yesterday"}, "since"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "until": "2020-01-01"}, "until"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "since": since, "until": "2020-01-01T00:00:00Z"}, "until"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "match": "userId=1"}, "match"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "errorLike": "x"}, "errorLike"},
		{"/admin/runs/cancel", map[string]any{"function": "send-welcome-email", "bogus": 1}, "bogus"},
		{"/admin/runs/retry", map[string]any{"since": since}, "function"},
		{"/admin/runs/retry", map[string]any{"function": "send-welcome-email"}, "since"},
		{"/admin/runs/retry", map[string]any{"function": "send-welcome-email", "since": since, "reason": "x"}, "reason"},
		{"/admin/runs/retry", map[string]any{"function": "send-welcome-email", "since": since, "match": "data.=x"}, "match"},
	} {
		require.Equal(t, c.field, fieldOf(t, b.admin(t, "POST", c.path, c.body)), "%s %v", c.path, c.body)
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM fn_paused`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = 'available'`))

	for _, path := range []string{"/admin/functions/send-welcome-email/pause", "/admin/functions/send-welcome-email/resume", "/admin/runs/cancel", "/admin/runs/retry", "/admin/functions/paused"} {
		method := "POST"
		if path == "/admin/functions/paused" {
			method = "GET"
		}
		body := map[string]any{"function": "send-welcome-email", "since": since}
		if method == "GET" || path != "/admin/runs/cancel" && path != "/admin/runs/retry" {
			body = nil
		}
		requireError(t, b.do(t, method, path, "", body), http.StatusUnauthorized)
		requireError(t, b.do(t, method, path, testKey, body), http.StatusForbidden)
		requireError(t, b.do(t, method, path, apiKey, body), http.StatusForbidden)
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM fn_paused`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = 'available'`))
}
