package httpapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
)

// restRoutes are every route an API key opens, with a request body where
// the route takes one.
var restRoutes = []struct{ method, path, body string }{ //nolint:gochecknoglobals // a test table
	{"GET", "/v1/events/some-event", ""},
	{"POST", "/v1/users", `{"email":"scope@example.com","name":"Scope"}`},
	{"GET", "/v1/users/" + missingID, ""},
	{"PATCH", "/v1/users/" + missingID, `{"name":"X"}`},
	{"DELETE", "/v1/users/" + missingID, ""},
	{"POST", "/v1/shops", `{"name":"S","ownerId":"` + missingID + `"}`},
	{"GET", "/v1/shops/" + missingID, ""},
	{"POST", "/v1/products", `{"shopId":"` + missingID + `","name":"P","pricePaise":1,"stock":1}`},
	{"GET", "/v1/products/" + missingID, ""},
	{"PATCH", "/v1/products/" + missingID, `{"stock":0}`},
	{"DELETE", "/v1/products/" + missingID, ""},
	{"POST", "/v1/orders", `{"userId":"` + missingID + `","shopId":"` + missingID + `","items":[{"productId":"` + missingID + `","quantity":1}]}`},
	{"GET", "/v1/orders/" + missingID, ""},
	{"PATCH", "/v1/orders/" + missingID, `{"status":"confirmed"}`},
	{"POST", "/v1/orders/" + missingID + "/cancel", `{}`},
	{"GET", "/v1/search/products?q=atta", ""},
}

// TestKeyScopes: event keys only send events; the REST routes need an API
// key. A key of the wrong scope is a 403 that says which key the route
// needs, and does nothing.
func TestKeyScopes(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	for _, rt := range restRoutes {
		var body any
		if rt.body != "" {
			body = rt.body
		}
		r := b.do(t, rt.method, rt.path, testKey, body)
		m := requireError(t, r, http.StatusForbidden)
		require.Contains(t, m["error"], "An event key can only send events", "%s %s", rt.method, rt.path)
		require.Contains(t, m["error"], "API_KEYS", "%s %s", rt.method, rt.path)

		r = b.do(t, rt.method, rt.path, "", body)
		m = requireError(t, r, http.StatusUnauthorized)
		require.Contains(t, m["error"], "API key is required", "%s %s", rt.method, rt.path)
		require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")

		r = b.do(t, rt.method, rt.path, apiKey, body)
		require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.status, "%s %s: %s", rt.method, rt.path, r.body)
	}
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM users WHERE email = 'scope@example.com'"),
		"only the API key's request created the user")

	// An API key does not send events, neither as Bearer nor in /e/{eventKey}.
	events := b.count(t, "SELECT count(*) FROM events")
	m := requireError(t, b.do(t, "POST", "/v1/events", apiKey, userCreated("", "a@example.com")), http.StatusForbidden)
	require.Contains(t, m["error"], "EVENT_KEYS")
	m = requireError(t, b.do(t, "POST", "/e/"+apiKey, "", userCreated("", "a@example.com")), http.StatusForbidden)
	require.Contains(t, m["error"], "EVENT_KEYS")
	require.Equal(t, events, b.count(t, "SELECT count(*) FROM events"), "nothing stored")
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("", "a@example.com")).status)
}

// TestBearerSchemeAnyCase: the scheme of Authorization is case-insensitive
// (RFC 9110), so "bearer <key>" works like "Bearer <key>".
func TestBearerSchemeAnyCase(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/v1/events", strings.NewReader(`{"name":"a/b"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", scheme+" "+testKey)
		r := send(t, req)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", scheme, r.body)

		req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+"/v1/users/"+missingID, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", scheme+" "+apiKey)
		requireError(t, send(t, req), http.StatusNotFound)
	}
}

// TestRateLimitKeyedOnTheKey: spaces around the key do not give it a new
// bucket.
func TestRateLimitKeyedOnTheKey(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) { o.RateLimit, o.RateBurst = 0.001, 2 })
	for range 2 {
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`).status)
	}
	for _, spaced := range []string{"  " + testKey, "\t" + testKey + " "} {
		r := b.do(t, "POST", "/v1/events", spaced, `{"name":"a/b"}`)
		requireError(t, r, http.StatusTooManyRequests)
	}
}

// TestRateLimitPublicKeyPerClient: a public event key is shared by every
// browser, so one client using up its budget leaves other clients of the
// same key their own.
func TestRateLimitPublicKeyPerClient(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) {
		withPublicKey(o)
		o.RateLimit, o.RateBurst = 0.001, 2
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	from := func(client string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/v1/events",
			strings.NewReader(`{"name":"analytics/track","data":{"event":"page_view"}}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+publicKey)
		req.Header.Set("X-Forwarded-For", client)
		return send(t, req)
	}
	for range 2 {
		require.Equal(t, http.StatusOK, from("203.0.113.7").status)
	}
	requireError(t, from("203.0.113.7"), http.StatusTooManyRequests)
	require.Equal(t, http.StatusOK, from("203.0.113.8").status)
}

// TestFailedAuthIsLimited: a client address that keeps failing with one
// credential gets 429 for it, so no credential is tried faster than the
// limit. Credentials are checked first: right ones, and other wrong ones,
// are never answered 429 because of those failures (behind a proxy every
// client may share one address). A valid key of the wrong scope is not a
// failure.
func TestFailedAuthIsLimited(t *testing.T) {
	t.Parallel()
	const burst = 3
	limited := func(o *httpapi.Opts) {
		withPublicKey(o)
		o.AuthFailureBurst, o.AuthFailureEvery = burst, time.Hour
	}
	adminGet := func(b *testBundle, pass string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+"/riverui/", nil)
		require.NoError(t, err)
		req.SetBasicAuth(adminUser, pass)
		return send(t, req)
	}
	requireValidStillPass := func(t *testing.T, b *testBundle) {
		t.Helper()
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`).status)
		requireError(t, b.do(t, "GET", "/v1/users/"+missingID, apiKey, nil), http.StatusNotFound)
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/e/"+testKey, "", `{"name":"a/b"}`).status)
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", publicKey, `{"name":"analytics/track","data":{"event":"page_view"}}`).status)
		require.Equal(t, http.StatusOK, adminGet(b, adminPass).status)
		// Another wrong credential from the same address has its own count.
		requireError(t, b.do(t, "POST", "/v1/events", "another-guess", `{"name":"a/b"}`), http.StatusUnauthorized)
		requireError(t, adminGet(b, "another-guess"), http.StatusUnauthorized)
	}

	for name, fail := range map[string]func(*testBundle) response{
		"BearerEventKey": func(b *testBundle) response { return b.do(t, "POST", "/v1/events", "guess", `{"name":"a/b"}`) },
		"BearerAPIKey":   func(b *testBundle) response { return b.do(t, "GET", "/v1/users/"+missingID, "guess", nil) },
		"PathKey":        func(b *testBundle) response { return b.do(t, "POST", "/e/guess", "", `{"name":"a/b"}`) },
		"AdminPassword":  func(b *testBundle) response { return adminGet(b, "guess") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, limited)
			for range burst {
				requireError(t, fail(b), http.StatusUnauthorized)
			}
			r := fail(b)
			m := requireError(t, r, http.StatusTooManyRequests)
			require.Contains(t, m["error"], "Too many failed authentication attempts")
			require.NotEmpty(t, r.header.Get("Retry-After"))
			requireValidStillPass(t, b)
			requireError(t, fail(b), http.StatusTooManyRequests)
			// Unauthenticated routes stay open.
			require.Equal(t, http.StatusOK, b.do(t, "GET", "/healthz", "", nil).status)
		})
	}

	// A guesser who tries a new credential each time is limited by its
	// address's count over all credentials (ten times one credential's),
	// and right credentials still pass.
	t.Run("NewGuessEachTime", func(t *testing.T) {
		t.Parallel()
		b := setup(t, limited)
		for i := range 10 * burst {
			requireError(t, b.do(t, "POST", "/v1/events", fmt.Sprintf("guess-%d", i), `{"name":"a/b"}`), http.StatusUnauthorized)
		}
		requireError(t, b.do(t, "POST", "/v1/events", "guess-last", `{"name":"a/b"}`), http.StatusTooManyRequests)
		requireError(t, adminGet(b, "guess-last"), http.StatusTooManyRequests)
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`).status)
		require.Equal(t, http.StatusOK, adminGet(b, adminPass).status)
	})

	// Neither a request without credentials (a browser opening River UI
	// first asks without) nor a valid key on the wrong route is a guess.
	t.Run("NoGuessIsNoFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t, limited)
		for range 2 * burst {
			requireError(t, b.do(t, "GET", "/v1/users/"+missingID, testKey, nil), http.StatusForbidden)
			requireError(t, b.do(t, "GET", "/v1/users/"+missingID, "", nil), http.StatusUnauthorized)
			requireError(t, b.do(t, "GET", "/riverui/", "", nil), http.StatusUnauthorized)
		}
		requireError(t, b.do(t, "GET", "/v1/users/"+missingID, apiKey, nil), http.StatusNotFound)
		require.Equal(t, http.StatusOK, adminGet(b, adminPass).status)
	})
}

// TestTrustedProxies: behind a proxy in TRUSTED_PROXIES the client address
// is the rightmost X-Forwarded-For hop that is not a trusted proxy, so
// clients behind it have their own failure counts, and a hop the client
// wrote itself (to the left) changes nothing. Without it X-Forwarded-For is
// ignored.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	const burst = 2
	guessFrom := func(b *testBundle, forwardedFor string) response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/v1/events", strings.NewReader(`{"name":"a/b"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer guess")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		return send(t, req)
	}

	t.Run("BehindAProxy", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *httpapi.Opts) {
			o.AuthFailureBurst, o.AuthFailureEvery = burst, time.Hour
			// The test's requests come from 127.0.0.1, through "proxies" in 10/8.
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
		})
		for range burst {
			requireError(t, guessFrom(b, "198.51.100.1, 203.0.113.7, 10.1.2.3"), http.StatusUnauthorized)
		}
		requireError(t, guessFrom(b, "192.0.2.99, 203.0.113.7, 10.1.2.3"), http.StatusTooManyRequests)
		requireError(t, guessFrom(b, "203.0.113.7"), http.StatusTooManyRequests)
		requireError(t, guessFrom(b, "203.0.113.8"), http.StatusUnauthorized)
	})

	t.Run("NoProxyTrusted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(o *httpapi.Opts) { o.AuthFailureBurst, o.AuthFailureEvery = burst, time.Hour })
		for range burst {
			requireError(t, guessFrom(b, "203.0.113.7"), http.StatusUnauthorized)
		}
		requireError(t, guessFrom(b, "203.0.113.8"), http.StatusTooManyRequests)
	})
}
