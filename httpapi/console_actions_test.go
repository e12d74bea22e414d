package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/runs"
)

// setupConsole serves the handler stack with the console and the actions.
func setupConsole(t *testing.T) *testBundle {
	t.Helper()
	return setup(t, func(o *httpapi.Opts) {
		reg := jobstest.Registry(t, o.DB)
		client, err := river.NewClient(riverpgxv5.New(o.DB), &river.Config{})
		require.NoError(t, err)
		o.Runs, o.Control = runs.New(o.DB, reg), control.New(o.DB, client, reg)
	})
}

// postForm sends form to path as a same-origin page does, with the admin
// credentials and, when given, the browser's fetch headers.
func (b *testBundle) postForm(t *testing.T, path string, form url.Values, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(adminUser, adminPass)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, req)
}

// TestConsoleActions: the actions page has the forms; a form's first post
// is its dry run, a page with the count and a button that confirms (and
// nothing changes); the confirmed post acts, through the same code as the
// routes. A bad field shows the page again with the field named (400),
// and a page of another site is refused.
func TestConsoleActions(t *testing.T) {
	t.Parallel()
	b := setupConsole(t)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("signup-console", "console@example.com")).status)
	welcome := func(state string) int {
		return b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = $1::river_job_state`, state)
	}

	r := b.admin(t, "GET", "/admin/actions?function=send-welcome-email", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	for _, want := range []string{"No function is paused.", `action="/admin/actions/pause"`, `action="/admin/actions/cancel"`,
		`action="/admin/actions/retry"`, `action="/admin/actions/replay"`, "<option selected>send-welcome-email</option>"} {
		require.Contains(t, string(r.body), want)
	}

	pause := url.Values{"function": {"send-welcome-email"}}
	r = b.postForm(t, "/admin/actions/pause", pause, "Sec-Fetch-Site", "same-origin", "Origin", b.srv.URL)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "holds its 1 runs ready to start now")
	require.Contains(t, string(r.body), `<input type="hidden" name="confirm" value="yes">`)
	require.Zero(t, b.count(t, `SELECT count(*) FROM fn_paused`), "the first post is the dry run")

	pause.Set("confirm", "yes")
	r = b.postForm(t, "/admin/actions/pause", pause, "Sec-Fetch-Site", "same-origin", "Origin", b.srv.URL)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "Paused send-welcome-email: 1 runs held.")
	require.Equal(t, 1, welcome("pending"))
	r = b.admin(t, "GET", "/admin/actions", nil)
	require.Contains(t, string(r.body), `<tr data-function="send-welcome-email">`)
	require.Contains(t, string(r.body), `<td class="num held">1</td>`)

	cancel := url.Values{"function": {"send-welcome-email"}, "since": {"yesterday"}}
	r = b.postForm(t, "/admin/actions/cancel", cancel)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "since: must be a time")
	cancel.Set("since", "1h")
	cancel.Set("match", "userId=1")
	r = b.postForm(t, "/admin/actions/cancel", cancel)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "match: must be data.FIELD=VALUE")
	cancel.Set("match", "data.userId="+userIDFor("console@example.com"))
	cancel.Set("confirm", "yes")
	r = b.postForm(t, "/admin/actions/cancel", cancel, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	requireError(t, r, http.StatusForbidden)
	require.Equal(t, 1, welcome("pending"), "nothing cancelled by bad input or another site")

	r = b.postForm(t, "/admin/actions/resume", url.Values{"function": {"send-welcome-email"}})
	require.Contains(t, string(r.body), "releases its 1 held runs")
	r = b.postForm(t, "/admin/actions/resume", url.Values{"function": {"send-welcome-email"}, "confirm": {"yes"}})
	require.Contains(t, string(r.body), "Resumed send-welcome-email: 1 held runs released.")
	require.Equal(t, 1, welcome("available"))
	requireError(t, b.postForm(t, "/admin/actions/explode", url.Values{}), http.StatusNotFound)
}
