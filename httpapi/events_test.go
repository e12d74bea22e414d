package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
)

func userCreated(id, email string) map[string]any {
	ev := map[string]any{"name": "user/created", "data": map[string]any{
		"userId": "6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21", "email": email, "name": "Asha",
	}}
	if id != "" {
		ev["id"] = id
	}
	return ev
}

func TestEventAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	t.Run("SingleEventStoredWithItsJobs", func(t *testing.T) {
		r := b.do(t, "POST", "/v1/events", testKey, userCreated("", "asha@example.com"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var ans struct {
			IDs    []string `json:"ids"`
			Status int      `json:"status"`
		}
		require.NoError(t, json.Unmarshal(r.body, &ans))
		require.Equal(t, 200, ans.Status)
		require.Len(t, ans.IDs, 1)

		got := b.do(t, "GET", "/v1/events/"+ans.IDs[0], apiKey, nil)
		require.Equal(t, http.StatusOK, got.status, "%s", got.body)
		ev := got.json(t)
		require.Equal(t, "user/created", ev["name"])
		require.Equal(t, "asha@example.com", ev["data"].(map[string]any)["email"])
		require.NotEmpty(t, ev["receivedAt"])
		var kinds []string
		for _, j := range ev["jobs"].([]any) {
			job := j.(map[string]any)
			kinds = append(kinds, job["kind"].(string))
			require.Equal(t, "available", job["state"])
			require.Equal(t, float64(0), job["attempt"])
			require.NotZero(t, job["maxAttempts"])
			require.Equal(t, []any{}, job["errors"])
		}
		require.ElementsMatch(t, []string{"send_welcome_email"}, kinds)
	})

	t.Run("RepeatedIDAcceptedOnce", func(t *testing.T) {
		body := []any{userCreated("dup-1", "dup@example.com")}
		r1 := b.do(t, "POST", "/v1/events", testKey, body)
		require.Equal(t, http.StatusOK, r1.status, "%s", r1.body)
		jobs := b.count(t, "SELECT count(*) FROM river_job")
		r2 := b.do(t, "POST", "/v1/events", testKeyOther, body)
		require.Equal(t, http.StatusOK, r2.status, "%s", r2.body)
		require.JSONEq(t, `{"ids":["dup-1"],"status":200}`, string(r2.body))
		require.Equal(t, jobs, b.count(t, "SELECT count(*) FROM river_job"), "a repeated id enqueues nothing")
	})

	t.Run("OneInvalidEventRejectsTheBatch", func(t *testing.T) {
		events := b.count(t, "SELECT count(*) FROM events")
		bad := userCreated("", "not-an-email")
		r := b.do(t, "POST", "/v1/events", testKey, []any{userCreated("", "ok@example.com"), bad})
		requireError(t, r, http.StatusBadRequest)
		require.Contains(t, r.details(t), "events[1].data.email")
		require.Equal(t, events, b.count(t, "SELECT count(*) FROM events"), "nothing stored")

		// A single event's paths have no events[i] prefix.
		r = b.do(t, "POST", "/v1/events", testKey, bad)
		requireError(t, r, http.StatusBadRequest)
		require.Contains(t, r.details(t), "data.email")
	})

	// Tolerant reader: a field the catalog does not list, inside data, is
	// accepted and stored (the web app may add one without breaking its
	// sends); the event's jobs are enqueued as without it.
	t.Run("UnknownDataFieldsStored", func(t *testing.T) {
		ev := userCreated("unknown-data-field", "x@example.com")
		ev["data"].(map[string]any)["favouriteColour"] = "teal"
		r := b.do(t, "POST", "/v1/events", testKey, []any{ev})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		got := b.do(t, "GET", "/v1/events/unknown-data-field", apiKey, nil).json(t)
		require.Equal(t, "teal", got["data"].(map[string]any)["favouriteColour"])
		require.Len(t, got["jobs"], 1)
		require.Equal(t, "send_welcome_email", got["jobs"].([]any)[0].(map[string]any)["kind"])

		// Wrong types and missing required fields are still rejected.
		ev = userCreated("", "x@example.com")
		ev["data"].(map[string]any)["favouriteColour"] = "teal"
		ev["data"].(map[string]any)["name"] = 7
		delete(ev["data"].(map[string]any), "userId")
		r = b.do(t, "POST", "/v1/events", testKey, ev)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"data.userId": "is required", "data.name": "must be a string"}, r.details(t))
	})

	// Keys outside data are Inngest's event format: an unknown one is
	// rejected, and only the real problems are reported (no false "name is
	// required").
	t.Run("UnknownFieldsNamed", func(t *testing.T) {
		r := b.do(t, "POST", "/v1/events", testKey, `{"name":"app/custom","data":{},"colour":1}`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, "unknown field", r.details(t)["colour"])
		require.Equal(t, map[string]string{"colour": "unknown field"}, r.details(t))

		r = b.do(t, "POST", "/v1/events", testKey, `[{"name":"app/custom","colour":1},{"name":"user/created","data":{"userId":"u1","email":"x@example.com","name":"X"},"extra":true,"ts":"later"}]`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"events[0].colour": "unknown field", "events[1].extra": "unknown field",
			"events[1].ts": "must be epoch milliseconds or an RFC 3339 time"}, r.details(t))

		// The other problems of an event with an unknown key are listed too.
		r = b.do(t, "POST", "/v1/events", testKey, `{"name":"user/created","data":{"userId":"u1","email":"nope","name":"X"},"colour":1}`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"colour": "unknown field", "data.email": "must be a valid email address"}, r.details(t))
		// A wrong type leaves nothing else to check.
		r = b.do(t, "POST", "/v1/events", testKey, `[{"name":5,"data":{}}]`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"events[0].name": "must be a string"}, r.details(t))

		// Custom events may carry any data.
		r = b.do(t, "POST", "/v1/events", testKey, `{"name":"app/custom","data":{"colour":1},"user":{"id":"u1"},"v":"2024-01-01.1","ts":1700000000000}`)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var ans struct{ IDs []string }
		require.NoError(t, json.Unmarshal(r.body, &ans))
		got := b.do(t, "GET", "/v1/events/"+ans.IDs[0], apiKey, nil).json(t)
		require.Equal(t, "2023-11-14T22:13:20Z", got["ts"])
		require.Equal(t, []any{}, got["jobs"])
	})

	t.Run("MalformedAndEmpty", func(t *testing.T) {
		for _, body := range []string{`{"name":`, `[{"name":"a/b"},]`, `"x"`, ``, `[]`, `[1]`, `{"name":"a/b","ts":"yesterday"}`} {
			r := b.do(t, "POST", "/v1/events", testKey, body)
			requireError(t, r, http.StatusBadRequest)
		}
	})

	t.Run("Auth", func(t *testing.T) {
		requireError(t, b.do(t, "POST", "/v1/events", "", userCreated("", "a@example.com")), http.StatusUnauthorized)
		requireError(t, b.do(t, "POST", "/v1/events", "wrong", userCreated("", "a@example.com")), http.StatusUnauthorized)
		requireError(t, b.do(t, "GET", "/v1/events/x", "", nil), http.StatusUnauthorized)
		requireError(t, b.do(t, "POST", "/e/wrong", "", userCreated("", "a@example.com")), http.StatusUnauthorized)
		r := b.do(t, "POST", "/e/"+testKeyOther, "", userCreated("", "a@example.com"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	})

	t.Run("UnknownEvent404", func(t *testing.T) {
		requireError(t, b.do(t, "GET", "/v1/events/nope", apiKey, nil), http.StatusNotFound)
	})
}

// TestInngestJSSDKSend sends an event exactly as the inngest JS SDK's
// send() does (Inngest.ts _send: POST <baseUrl>e/<eventKey>, the headers of
// inngestHeaders() plus x-inngest-event-id-seed, a JSON array whose events
// have ts and data filled in and no id), checks that the answer passes the
// SDK's sendEventResponseSchema (ids: string[], status: 200, no error), that
// the jobs are in river_job, and that the SDK's retry with the same seed
// stores nothing new.
func TestInngestJSSDKSend(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	// order/cancelled names an order, which must be stored here.
	order := newFixture(t, b)
	entropy := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	nowMillis := time.Now().UnixMilli()
	body := fmt.Sprintf(`[{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"sdk@example.com","name":"SDK"},"ts":%d},`+
		`{"name":"order/cancelled","data":{"orderId":%q,"userId":%q,"reason":"changed mind"},"ts":%d}]`, nowMillis, order.orderID, order.userID, nowMillis)
	sendLikeSDK := func() response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/e/"+testKey, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "inngest-js:v3.44.0")
		req.Header.Set("x-inngest-sdk", "inngest-js:v3.44.0")
		req.Header.Set("x-inngest-platform", "vercel")
		req.Header.Set("x-inngest-event-id-seed", fmt.Sprintf("%d,%s", nowMillis, entropy))
		return send(t, req)
	}

	r := sendLikeSDK()
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	// sendEventResponseSchema: {ids: string[], status: number, error?: string}
	// and send() throws unless status == 200 and error is absent.
	var ans map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &ans))
	var ids []string
	require.NoError(t, json.Unmarshal(ans["ids"], &ids))
	var status int
	require.NoError(t, json.Unmarshal(ans["status"], &status))
	require.Equal(t, 200, status)
	require.NotContains(t, ans, "error")
	require.Len(t, ids, 2)
	require.NotEqual(t, ids[0], ids[1])

	kinds := func(id string) []string {
		rows, err := b.pool.Query(t.Context(), "SELECT kind FROM river_job WHERE args->>'event_id' = $1 ORDER BY kind", id)
		require.NoError(t, err)
		var out []string
		for rows.Next() {
			var k string
			require.NoError(t, rows.Scan(&k))
			out = append(out, k)
		}
		require.NoError(t, rows.Err())
		return out
	}
	require.Equal(t, []string{"send_welcome_email"}, kinds(ids[0]))
	require.Equal(t, []string{"send_order_update"}, kinds(ids[1]))
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM analytics_pending WHERE event_id = ANY($1)", ids), "both queued for analytics")
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM events WHERE id = $1 AND source = 'inngest-js:v3.44.0'", ids[0]))

	// The SDK retries a failed send with the same seed: same ids, nothing new.
	jobs := b.count(t, "SELECT count(*) FROM river_job")
	r2 := sendLikeSDK()
	require.Equal(t, http.StatusOK, r2.status)
	require.JSONEq(t, string(r.body), string(r2.body))
	require.Equal(t, jobs, b.count(t, "SELECT count(*) FROM river_job"))
}

// blob is a custom event whose JSON is exactly size bytes.
func blob(size int) string {
	const prefix, suffix = `{"name":"test/blob","data":{"s":"`, `"}}`
	return prefix + strings.Repeat("x", size-len(prefix)-len(suffix)) + suffix
}

func TestEventLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const kib, mib = 1 << 10, 1 << 20

	t.Run("EventSize", func(t *testing.T) {
		r := b.do(t, "POST", "/v1/events", testKey, blob(256*kib))
		require.Equal(t, http.StatusOK, r.status, "%.300s", r.body)
		r = b.do(t, "POST", "/v1/events", testKey, "["+blob(256*kib+1)+"]")
		m := requireError(t, r, http.StatusRequestEntityTooLarge)
		require.Contains(t, m["error"], "256 KiB per event")
	})

	t.Run("RequestSize", func(t *testing.T) {
		// 12 events of up to 256 KiB, 11 commas and 2 brackets: exactly 3 MiB.
		parts := make([]string, 12)
		for i := range parts {
			parts[i] = blob(256 * kib)
		}
		parts[11] = blob(256*kib - 13)
		body := "[" + strings.Join(parts, ",") + "]"
		require.Len(t, body, 3*mib)
		r := b.do(t, "POST", "/v1/events", testKey, body)
		require.Equal(t, http.StatusOK, r.status, "%.300s", r.body)

		r = b.do(t, "POST", "/v1/events", testKey, body+" ")
		m := requireError(t, r, http.StatusRequestEntityTooLarge)
		require.Contains(t, m["error"], "3 MiB per request")
	})

	t.Run("EventCount", func(t *testing.T) {
		evs := make([]string, 1001)
		for i := range evs {
			evs[i] = `{"name":"test/count","data":{}}`
		}
		r := b.do(t, "POST", "/v1/events", testKey, "["+strings.Join(evs[:1000], ",")+"]")
		require.Equal(t, http.StatusOK, r.status, "%.300s", r.body)
		r = b.do(t, "POST", "/v1/events", testKey, "["+strings.Join(evs, ",")+"]")
		m := requireError(t, r, http.StatusRequestEntityTooLarge)
		require.Contains(t, m["error"], "1000 events per request")
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	// One request an hour: no token comes back while the test runs, however
	// slow the machine.
	const perHour = 3600
	b := setup(t, func(o *httpapi.Opts) { o.RateLimit, o.RateBurst = 1.0/perHour, 2 })
	began := time.Now()
	for range 2 {
		require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`).status)
	}
	r := b.do(t, "POST", "/v1/events", testKey, `{"name":"a/b"}`)
	requireError(t, r, http.StatusTooManyRequests)
	// The next token is due an hour after the first request, less the time
	// the requests took (rounded up to whole seconds).
	retryAfter, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	require.LessOrEqual(t, retryAfter, perHour)
	require.GreaterOrEqual(t, retryAfter, perHour-int(time.Since(began)/time.Second))
	// Each key has its own bucket.
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKeyOther, `{"name":"a/b"}`).status)
}

func TestAuthOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) { o.EventKeys, o.APIKeys, o.AdminUser, o.AdminPassword = nil, nil, "", "" })
	r := b.do(t, "POST", "/v1/events", "", userCreated("", "open@example.com"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = b.do(t, "POST", "/e/anything", "", userCreated("", "open@example.com"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	requireError(t, b.do(t, "GET", "/v1/users/"+missingID, "", nil), http.StatusNotFound)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/riverui/", "", nil).status)
}
