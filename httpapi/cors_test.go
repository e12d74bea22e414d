package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
)

const webApp = "https://shop.mohalla.example"

// preflight sends a browser's CORS preflight for a POST to path.
func (b *testBundle) preflight(t *testing.T, path, origin, headers string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, b.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	return send(t, req)
}

// postFrom sends body to path as a page on origin does, with an event key
// as Bearer (none when key is "").
func (b *testBundle) postFrom(t *testing.T, path, origin, key string, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return send(t, req)
}

// TestCORSOnEventRoutes: the event routes answer the pages of
// CORS_ORIGINS, which send with a public event key; no other route answers
// CORS, or takes a cross-origin request.
func TestCORSOnEventRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) {
		withPublicKey(o)
		o.CORSOrigins = []string{webApp, "http://localhost:3000"}
	})
	event := `{"name":"analytics/track","data":{"event":"page_view"}}`

	t.Run("PreflightFromAConfiguredOrigin", func(t *testing.T) {
		for _, path := range []string{"/v1/events", "/e/" + publicKey} {
			r := b.preflight(t, path, webApp, "authorization, content-type, x-inngest-sdk, x-inngest-event-id-seed")
			require.Equal(t, http.StatusNoContent, r.status, "%s: %s", path, r.body)
			require.Equal(t, webApp, r.header.Get("Access-Control-Allow-Origin"), path)
			require.Equal(t, "POST", r.header.Get("Access-Control-Allow-Methods"), path)
			require.Equal(t, "authorization, content-type, x-inngest-sdk, x-inngest-event-id-seed", r.header.Get("Access-Control-Allow-Headers"), path)
			require.Contains(t, r.header.Values("Vary"), "Origin")
		}
	})

	t.Run("PreflightRefused", func(t *testing.T) {
		for name, r := range map[string]response{
			"other origin":  b.preflight(t, "/v1/events", "https://evil.example", "content-type"),
			"origin prefix": b.preflight(t, "/v1/events", "https://shop.mohalla.example.evil.example", "content-type"),
			"other header":  b.preflight(t, "/v1/events", webApp, "content-type, x-custom"),
		} {
			require.Equal(t, http.StatusNoContent, r.status, name)
			require.Empty(t, r.header.Get("Access-Control-Allow-Origin"), name)
			require.Empty(t, r.header.Get("Access-Control-Allow-Methods"), name)
		}
	})

	t.Run("SendFromTheBrowser", func(t *testing.T) {
		r := b.postFrom(t, "/v1/events", webApp, publicKey, event)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, webApp, r.header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "Retry-After")

		r = b.postFrom(t, "/e/"+publicKey, "http://localhost:3000", "", event)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, "http://localhost:3000", r.header.Get("Access-Control-Allow-Origin"))

		// Errors are readable by the page too; the key is still required.
		r = b.postFrom(t, "/v1/events", webApp, "", event)
		requireError(t, r, http.StatusUnauthorized)
		require.Equal(t, webApp, r.header.Get("Access-Control-Allow-Origin"))
	})

	// A page shows its key to everyone: a server-side key sent from one
	// is refused, where the page can read why, and stores nothing.
	t.Run("ServerKeyFromAPageRefused", func(t *testing.T) {
		events := b.count(t, "SELECT count(*) FROM events")
		for _, r := range []response{
			b.postFrom(t, "/v1/events", webApp, testKey, event),
			b.postFrom(t, "/e/"+testKey, "http://localhost:3000", "", event),
		} {
			m := requireError(t, r, http.StatusForbidden)
			require.Contains(t, m["error"], "PUBLIC_EVENT_KEYS")
			require.NotEmpty(t, r.header.Get("Access-Control-Allow-Origin"))
		}
		require.Equal(t, events, b.count(t, "SELECT count(*) FROM events"), "nothing stored")
	})

	// A page of an origin not in CORS_ORIGINS cannot send, whatever key it
	// holds.
	t.Run("OtherOriginRefused", func(t *testing.T) {
		for _, key := range []string{publicKey, testKey} {
			r := b.postFrom(t, "/v1/events", "https://evil.example", key, event)
			requireError(t, r, http.StatusForbidden)
			require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("NotOnOtherRoutes", func(t *testing.T) {
		r := b.preflight(t, "/v1/users", webApp, "authorization, content-type")
		requireError(t, r, http.StatusMethodNotAllowed)
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))

		r = b.postFrom(t, "/v1/users", webApp, apiKey, `{"email":"cors@example.com","name":"A"}`)
		requireError(t, r, http.StatusForbidden)
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
		require.Zero(t, b.count(t, "SELECT count(*) FROM users WHERE email = 'cors@example.com'"), "a page of CORS_ORIGINS changes nothing but events")

		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+"/v1/events", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", webApp)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		r = send(t, req)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	})
}

func TestNoCORSWithoutOrigins(t *testing.T) {
	t.Parallel()
	b := setup(t, withPublicKey)
	r := b.preflight(t, "/v1/events", webApp, "content-type")
	require.Equal(t, http.StatusNoContent, r.status)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	r = b.postFrom(t, "/v1/events", webApp, publicKey, `{"name":"analytics/track","data":{"event":"page_view"}}`)
	requireError(t, r, http.StatusForbidden)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	require.Zero(t, b.count(t, "SELECT count(*) FROM events"))
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := b.do(t, "GET", "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	doc := r.json(t)
	require.Equal(t, "3.1.0", doc["openapi"])
	require.Contains(t, doc["paths"], "/v1/events")
}
