package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/jobs/jobstest"
)

const trackEvent = `{"name":"analytics/track","data":{"event":"page_view"}}`

// withPublicKey adds the public event key publicKey, for analytics/track.
func withPublicKey(o *httpapi.Opts) {
	o.PublicEventKeys, o.PublicEventNames = []string{publicKey}, []string{"analytics/track"}
}

// TestPublicEventKeys: a public event key (for browser pages) sends the
// names of PUBLIC_EVENT_NAMES and nothing else. Any other name in a
// request is a 403 naming the event, on both event routes, and nothing of
// the request is stored; a server-side event key sends every name.
func TestPublicEventKeys(t *testing.T) {
	t.Parallel()
	b := setup(t, withPublicKey)

	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", publicKey, trackEvent).status)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/e/"+publicKey, "", "["+trackEvent+"]").status)

	relay := `{"name":"notification/send","data":{"channel":"email","to":"anyone@evil.example","subject":"Hi","message":"Hello"}}`
	cleanup := `{"name":"cleanup/old_logs","data":{"olderThanDays":1}}`
	events, jobs := b.count(t, "SELECT count(*) FROM events"), b.count(t, "SELECT count(*) FROM river_job")
	for _, tc := range []struct {
		path, key, body, event, field string
	}{
		{"/v1/events", publicKey, "[" + trackEvent + "," + relay + "]", "notification/send", "events[1].name"},
		{"/e/" + publicKey, "", relay, "notification/send", "name"},
		{"/v1/events", publicKey, cleanup, "cleanup/old_logs", "name"},
		{"/e/" + publicKey, "", "[" + cleanup + "," + trackEvent + "]", "cleanup/old_logs", "events[0].name"},
		{"/v1/events", publicKey, `{"name":"app/custom"}`, "app/custom", "name"},
	} {
		r := b.do(t, "POST", tc.path, tc.key, tc.body)
		m := requireError(t, r, http.StatusForbidden)
		require.Contains(t, m["error"], `"`+tc.event+`"`, tc.body)
		require.Contains(t, m["error"], "PUBLIC_EVENT_NAMES", tc.body)
		require.Contains(t, r.details(t), tc.field, tc.body)
	}
	require.Equal(t, events, b.count(t, "SELECT count(*) FROM events"), "no event of a refused request is stored")
	require.Equal(t, jobs, b.count(t, "SELECT count(*) FROM river_job"), "no job of a refused request is enqueued")

	// A server-side key sends any name.
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"app/custom"}`).status)

	// A public key opens no other route.
	m := requireError(t, b.do(t, "GET", "/v1/users/"+missingID, publicKey, nil), http.StatusForbidden)
	require.Contains(t, m["error"], "API_KEYS")
	requireError(t, b.do(t, "GET", "/riverui/", publicKey, nil), http.StatusForbidden)
}

// TestPublicKeyCannotTakeServerIDs: ids are global, so the ids a public
// key names itself are stored with the prefix "public:". Anyone who reads
// a page's key can then take no id that a server-side sender will use, and
// a public sender's retries are still stored once.
func TestPublicKeyCannotTakeServerIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, withPublicKey)
	ids := func(r response) []any {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		return r.json(t)["ids"].([]any)
	}
	squat := `{"id":"signup-42","name":"analytics/track","data":{"event":"page_view"}}`
	require.Equal(t, []any{"public:signup-42"}, ids(b.do(t, "POST", "/v1/events", publicKey, squat)))
	require.Equal(t, []any{"public:signup-42"}, ids(b.do(t, "POST", "/e/"+publicKey, "", squat)), "a retry is the same event")
	require.Equal(t, []any{"signup-42"}, ids(b.do(t, "POST", "/v1/events", testKey, `{"id":"signup-42","name":"app/signup","data":{"n":1}}`)),
		"the server-side sender's id is its own")
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM events WHERE id IN ('signup-42', 'public:signup-42')"))

	// An id derived from Inngest's seed header is scoped too.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/e/"+publicKey, strings.NewReader(trackEvent))
	require.NoError(t, err)
	req.Header.Set("X-Inngest-Event-Id-Seed", "1733472000000,AAECAwQFBgcICQ==")
	seeded := ids(send(t, req))
	require.True(t, strings.HasPrefix(seeded[0].(string), "public:"), seeded)

	// Prefixed, the longest id would not fit: 400 naming it, nothing stored.
	long := `{"id":"` + strings.Repeat("i", 256) + `","name":"analytics/track","data":{"event":"page_view"}}`
	before := b.count(t, "SELECT count(*) FROM events")
	r := b.do(t, "POST", "/v1/events", publicKey, long)
	requireError(t, r, http.StatusBadRequest)
	require.Contains(t, r.details(t), "id")
	require.Equal(t, before, b.count(t, "SELECT count(*) FROM events"))
}

// TestDevelopmentAnswersOnlyLoopbackHosts: with LoopbackHostsOnly
// (development), a request for any other Host is a 421, whatever the
// route, so a page of another site cannot read the server through a name
// of its own that resolves to 127.0.0.1 (DNS rebinding).
func TestDevelopmentAnswersOnlyLoopbackHosts(t *testing.T) {
	t.Parallel()
	open := func(o *httpapi.Opts) {
		o.EventKeys, o.APIKeys, o.AdminUser, o.AdminPassword = nil, nil, "", ""
		o.DevMailbox = true
	}
	b := setup(t, func(o *httpapi.Opts) { open(o); o.LoopbackHostsOnly = true })
	f := newFixture(t, b)
	_, port, _ := strings.Cut(strings.TrimPrefix(b.srv.URL, "http://"), ":")
	get := func(b *testBundle, host, path string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+path, nil)
		require.NoError(t, err)
		req.Host = host
		return send(t, req)
	}
	paths := []string{"/dev/mailbox", "/v1/users/" + f.userID, "/healthz", "/riverui/"}
	for _, host := range []string{"evil.example", "evil.example:" + port, "localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port, "10.0.0.1:" + port, "[::2]:" + port} {
		for _, path := range paths {
			m := requireError(t, get(b, host, path), http.StatusMisdirectedRequest)
			require.Contains(t, m["error"], "localhost", "%s %s", host, path)
		}
	}
	for _, host := range []string{"localhost:" + port, "LocalHost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "localhost", "127.0.0.1", "[::1]"} {
		for _, path := range paths {
			require.Equal(t, http.StatusOK, get(b, host, path).status, "%s %s", host, path)
		}
	}

	// Without it (production), the Host is the proxy's business.
	prod := setup(t, func(o *httpapi.Opts) { open(o); o.DevMailbox = false })
	require.Equal(t, http.StatusOK, get(prod, "mohallamart.example", "/healthz").status)
}

// TestCrossSiteRequestsRefused: a page of another site cannot change
// anything, even where no key is needed (development) and with a body no
// preflight guards (text/plain); programs, which send no Sec-Fetch-Site or
// Origin, and same-origin pages can.
func TestCrossSiteRequestsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) {
		o.EventKeys, o.APIKeys, o.AdminUser, o.AdminPassword = nil, nil, "", ""
		client, err := river.NewClient(riverpgxv5.New(o.DB), &river.Config{})
		require.NoError(t, err)
		o.Control = control.New(o.DB, client, jobstest.Registry(t, o.DB))
	})
	post := func(path, body string, header ...string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/plain")
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return send(t, req)
	}
	user := func(email string) string { return `{"email":"` + email + `","name":"Mallory"}` }
	relay := `{"name":"notification/send","data":{"channel":"email","to":"anyone@evil.example","subject":"Hi","message":"Hello"}}`

	events := b.count(t, "SELECT count(*) FROM events")
	for _, site := range [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.localhost"},
		{"Origin", "https://evil.example"}, // an older browser: Origin against Host
	} {
		m := requireError(t, post("/v1/users", user("csrf@example.com"), site...), http.StatusForbidden)
		require.Contains(t, m["error"], "Cross-origin request refused")
		requireError(t, post("/v1/events", relay, site...), http.StatusForbidden)
		requireError(t, post("/e/any", relay, site...), http.StatusForbidden)
		requireError(t, post("/admin/jobs/retry", `{"kind":"send_welcome_email","since":"2026-01-01T00:00:00Z"}`, site...), http.StatusForbidden)
		requireError(t, post("/admin/functions/send-welcome-email/pause", `{}`, site...), http.StatusForbidden)
		requireError(t, post("/admin/functions/send-welcome-email/resume", `{}`, site...), http.StatusForbidden)
		requireError(t, post("/admin/runs/cancel", `{"function":"send-welcome-email"}`, site...), http.StatusForbidden)
		requireError(t, post("/admin/runs/retry", `{"function":"send-welcome-email","since":"2026-01-01T00:00:00Z"}`, site...), http.StatusForbidden)
	}
	require.Zero(t, b.count(t, "SELECT count(*) FROM fn_paused"), "a page of another site paused nothing")
	require.Zero(t, b.count(t, "SELECT count(*) FROM users WHERE email = 'csrf@example.com'"))
	require.Equal(t, events, b.count(t, "SELECT count(*) FROM events"))

	require.Equal(t, http.StatusCreated, post("/v1/users", user("program@example.com")).status)
	require.Equal(t, http.StatusCreated, post("/v1/users", user("page@example.com"), "Sec-Fetch-Site", "same-origin").status)
}

// TestMetricsOnTheOpsHandler: with OmitMetrics the API handler does not
// serve /metrics; an OpsOnly handler of the same Metrics does (cmd/server
// serves it on OPS_ADDR), with what the API handler counted.
func TestMetricsOnTheOpsHandler(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) { o.OmitMetrics = true })
	requireError(t, b.do(t, "GET", "/metrics", "", nil), http.StatusNotFound)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/healthz", "", nil).status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/readyz", "", nil).status)
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`).status)

	opsOpts := b.opts
	opsOpts.OpsOnly, opsOpts.OmitMetrics = true, false
	h, err := httpapi.NewHandler(opsOpts)
	require.NoError(t, err)
	ops := &testBundle{pool: b.pool, srv: httptest.NewServer(h)}
	t.Cleanup(ops.srv.Close)
	r := ops.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `mohallamart_http_requests_total{route="POST /v1/events",status="200"} 1`)
	require.Contains(t, string(r.body), "\nmohallamart_ready 1\n")
	requireError(t, ops.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`), http.StatusNotFound)
}
