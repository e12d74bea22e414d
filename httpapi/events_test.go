package httpapi_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/search"
)

func userCreated(id, email string) map[string]any {
	ev := map[string]any{"name": "user/created", "data": map[string]any{
		"userId": userIDFor(email), "email": email, "name": "Asha",
	}}
	if id != "" {
		ev["id"] = id
	}
	return ev
}

// userIDFor is the user id of userCreated's events for email: one user per
// email, so that each new address's signup starts its welcome email (a
// second user/created of one user starts none).
func userIDFor(email string) string {
	h := sha256.Sum256([]byte(email))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
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
		require.Contains(t, kinds, "send_welcome_email")
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
		var kinds []string
		for _, j := range got["jobs"].([]any) {
			kinds = append(kinds, j.(map[string]any)["kind"].(string))
		}
		require.Contains(t, kinds, "send_welcome_email")

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

		r = b.do(t, "POST", "/v1/events", testKey, `[{"name":"app/custom","colour":1},{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"x@example.com","name":"X"},"extra":true,"ts":"later"}]`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"events[0].colour": "unknown field", "events[1].extra": "unknown field",
			"events[1].ts": "must be epoch milliseconds or an RFC 3339 time"}, r.details(t))

		// The other problems of an event with an unknown key are listed too.
		r = b.do(t, "POST", "/v1/events", testKey, `{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"nope","name":"X"},"colour":1}`)
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

// msgTS is the failure of a ts outside the years 2000 to 9999.
const msgTS = "must be a time in the years 2000 to 9999 (epoch milliseconds 946684800000 to 253402300799999)"

// TestEventTimestampRange: ts is refused (400 naming it, nothing stored)
// outside the years 2000 to 9999, where PostgreSQL would fail the insert
// (a 500) or pgx would store a wrapped-around time (1969), and is stored as
// sent within them.
func TestEventTimestampRange(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	for _, ts := range []string{`9300000000000000`, `9223372036854775807`, `946684799999`, `1`, `"1999-12-31T23:59:59Z"`, `"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59-01:00"`} {
		id := "ts-" + strings.Trim(ts, `"`)
		r := b.do(t, "POST", "/v1/events", testKey, `{"name":"app/x","id":"`+id+`","ts":`+ts+`}`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"ts": msgTS}, r.details(t), "ts %s", ts)
		require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = $1", id), "ts %s", ts)
	}
	r := b.do(t, "POST", "/v1/events", testKey, `[{"name":"app/x","id":"ts-batch-ok"},{"name":"app/x","ts":9300000000000000}]`)
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"events[1].ts": msgTS}, r.details(t))
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = 'ts-batch-ok'"))

	for ts, want := range map[string]string{
		`946684800000`:                "2000-01-01T00:00:00Z",
		`253402300799999`:             "9999-12-31T23:59:59.999Z",
		`"9999-12-31T23:59:59+05:30"`: "9999-12-31T18:29:59Z",
	} {
		id := "ts-ok-" + strings.Trim(ts, `"`)
		r := b.do(t, "POST", "/v1/events", testKey, `{"name":"app/x","id":"`+id+`","ts":`+ts+`}`)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, want, b.do(t, "GET", "/v1/events/"+id, apiKey, nil).json(t)["ts"], "ts %s", ts)
	}
}

// rawRequest writes head and body to the test server as they are, on a
// connection of its own, closes the writing side and returns the answer.
func rawRequest(t *testing.T, b *testBundle, head, body string) response {
	t.Helper()
	conn, err := net.Dial("tcp", b.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, head+"\r\n"+body)
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: got}
}

// TestUnreadableBody: a body cut short before its Content-Length, or with a
// malformed chunked encoding, is the client's fault: 400, not 503 ("the
// database is unavailable") or 500, on the event API and the REST API.
func TestUnreadableBody(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const event = `{"name":"app/x","id":"cut-short"}`
	for _, path := range []string{"/v1/events", "/v1/users"} {
		key := testKey
		if path == "/v1/users" {
			key = apiKey
		}
		head := "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key + "\r\nContent-Type: application/json\r\n"
		for name, req := range map[string][2]string{
			"CutShort":   {head + "Content-Length: 100\r\n", event},
			"BadChunked": {head + "Transfer-Encoding: chunked\r\n", "zz\r\n" + event + "\r\n0\r\n\r\n"},
		} {
			r := rawRequest(t, b, req[0], req[1])
			m := requireError(t, r, http.StatusBadRequest)
			require.Equal(t, "The request body could not be read in full: it ended early or its chunked encoding is malformed.", m["error"], "%s %s", name, path)
		}
	}
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = 'cut-short'"))
}

// TestEventBodyText: the whole event is held to what the REST decoder
// holds a body to. Invalid UTF-8 and unpaired surrogate escapes anywhere
// in it, its name and id included, are refused naming the field (Go would
// store U+FFFD in their place); so is the NUL character in user and v,
// which are not stored. Nothing is written.
func TestEventBodyText(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const (
		msgUTF8      = "must be valid UTF-8"
		msgSurrogate = `must not contain an unpaired surrogate escape (\ud800 to \udfff)`
	)
	for body, want := range map[string]map[string]string{
		"{\"name\":\"app/\xff\",\"id\":\"bad-name\"}":                            {"name": msgUTF8},
		`{"name":"app/\udfff","id":"bad-surrogate"}`:                             {"name": msgSurrogate},
		"{\"name\":\"app/x\",\"id\":\"bad-\xfe\"}":                               {"id": msgUTF8},
		"{\"name\":\"app/x\",\"id\":\"bad-user\",\"user\":{\"n\":\"\xff\"}}":     {"user": msgUTF8},
		"[{\"name\":\"app/x\",\"id\":\"ok-1\"},{\"name\":\"app/\xff\"}]":         {"events[1].name": msgUTF8},
		"[{\"name\":\"app/x\",\"id\":\"ok-2\"},{\"name\":\"app/x\",\"\xff\":1}]": {"events[1]": msgUTF8},
		`{"name":"app/x","id":"nul-v","v":"1\u0000"}`:                            {"v": msgNUL},
		`{"name":"app/x","id":"nul-user","user":{"id":"\u0000","a\u0000":1}}`: {
			"user": `must not have a key containing the NUL character (\u0000)`, "user.id": msgNUL,
		},
	} {
		r := b.do(t, "POST", "/v1/events", testKey, body)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, want, r.details(t), "%q", body)
	}
	// In a key of a single event: the body as a whole.
	r := b.do(t, "POST", "/v1/events", testKey, "{\"name\":\"app/x\",\"id\":\"bad-key\",\"\xff\":1}")
	m := requireError(t, r, http.StatusBadRequest)
	require.Equal(t, "The request body must be valid UTF-8.", m["error"])
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id LIKE 'bad-%' OR id LIKE 'nul-%' OR id LIKE 'ok-%' OR strpos(name, chr(65533)) > 0"),
		"nothing stored, no name with U+FFFD in it")
}

// TestEventIDsAreUUIDs: an id the catalog marks as a UUID (a user's, an
// order's, ...) that is not one names nothing this service can hold: the
// event is refused 422 naming the field, and neither it nor a job (which
// would fail on every retry) is stored. An upper-case UUID is accepted, as
// in the REST API, and stored in lower case.
func TestEventIDsAreUUIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := newFixture(t, b)

	r := b.do(t, "POST", "/v1/events", testKey, `{"name":"user/deleted","id":"del-not-uuid","data":{"userId":"not-a-uuid"}}`)
	m := requireError(t, r, http.StatusUnprocessableEntity)
	require.Equal(t, "The event names something this service does not hold; nothing was stored.", m["error"])
	require.Equal(t, map[string]string{"data.userId": msgNotUUID}, r.details(t))
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = 'del-not-uuid'"))
	require.Zero(t, b.count(t, "SELECT count(*) FROM river_job WHERE args->>'event_id' = 'del-not-uuid'"))

	r = b.do(t, "POST", "/e/"+testKey, "", `[{"name":"app/x","id":"ok-before"},`+
		`{"name":"order/created","data":{"orderId":"`+f.orderID+`","userId":"u1","shopId":"`+f.shopID+`","items":[{"productId":"p1","quantity":1,"pricePaise":1}],"totalPaise":1}}]`)
	requireError(t, r, http.StatusUnprocessableEntity)
	require.Equal(t, map[string]string{"events[1].data.userId": msgNotUUID, "events[1].data.items[0].productId": msgNotUUID}, r.details(t))
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = 'ok-before'"))

	upper := strings.ToUpper(f.userID)
	r = b.do(t, "POST", "/v1/events", testKey, `{"name":"user/deleted","id":"del-upper","data":{"userId":"`+upper+`"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, f.userID, b.do(t, "GET", "/v1/events/del-upper", apiKey, nil).json(t)["data"].(map[string]any)["userId"])
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM river_job WHERE args->>'event_id' = 'del-upper' AND kind = 'end_user_sessions'"),
		"the user's sessions are ended, by the run of the stored (lower-case) event")
}

// TestUpperCaseUUIDs: the REST API takes UUIDs in either case, in paths,
// bodies and queries, as the same row.
func TestUpperCaseUUIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := newFixture(t, b)
	up := strings.ToUpper

	r := b.do(t, "POST", "/v1/orders", apiKey, map[string]any{"userId": up(f.userID), "shopId": up(f.shopID),
		"items": []any{map[string]any{"productId": up(f.productID), "quantity": 1}}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	order := r.json(t)
	require.Equal(t, f.userID, order["userId"])
	require.Equal(t, f.productID, order["items"].([]any)[0].(map[string]any)["productId"])

	// The same product twice, in two cases, is one product named twice.
	r = b.do(t, "POST", "/v1/orders", apiKey, map[string]any{"userId": f.userID, "shopId": f.shopID,
		"items": []any{map[string]any{"productId": up(f.productID), "quantity": 1}, map[string]any{"productId": f.productID, "quantity": 1}}})
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"items[1].productId": "appears more than once"}, r.details(t))

	for _, path := range []string{"/v1/users/" + up(f.userID), "/v1/shops/" + up(f.shopID), "/v1/products/" + up(f.productID), "/v1/orders/" + up(f.orderID)} {
		r := b.do(t, "GET", path, apiKey, nil)
		require.Equal(t, http.StatusOK, r.status, "GET %s: %s", path, r.body)
	}
	r = b.do(t, "PATCH", "/v1/products/"+up(f.productID), apiKey, map[string]any{"name": "Atta 10kg"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, f.productID, r.json(t)["id"])
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM events WHERE name = 'product/updated' AND data->>'productId' = $1", f.productID),
		"the event names the product as it is stored")

	require.NoError(t, search.NewPostgres(b.pool).UpsertProduct(t.Context(), search.Product{ID: f.productID, ShopID: f.shopID, Name: "Atta 10kg"}))
	r = b.do(t, "GET", "/v1/search/products?q=atta&shopId="+up(f.shopID), apiKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.EqualValues(t, 1, r.json(t)["found"], "the search filter takes the shop's id in either case")
}

// TestEventIDTakenByOtherEvent: an id already stored with another name or
// other data answers 409 naming the id, and stores nothing; so a key
// holder who sends a guessed id first does not make the real event vanish
// behind a 200. The same event again is still answered 200 (a retry).
func TestEventIDTakenByOtherEvent(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	first := userCreated("claimed-1", "asha@example.com")
	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKeyOther, first).status)

	r := b.do(t, "POST", "/v1/events", testKey, first)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.JSONEq(t, `{"ids":["claimed-1"],"status":200}`, string(r.body))

	r = b.do(t, "POST", "/v1/events", testKey, userCreated("claimed-1", "mallory@example.com"))
	m := requireError(t, r, http.StatusConflict)
	require.Contains(t, m["error"], "already taken")
	require.Equal(t, map[string]string{"id": "is already taken by an event with another name or other data"}, r.details(t))
	require.NotContains(t, string(r.body), "asha@example.com", "the stored event is not shown")

	r = b.do(t, "POST", "/e/"+testKey, "", []any{userCreated("claim-batch-new", "x@example.com"), map[string]any{"name": "app/x", "id": "claimed-1"}})
	requireError(t, r, http.StatusConflict)
	require.Equal(t, map[string]string{"events[1].id": "is already taken by an event with another name or other data"}, r.details(t))
	require.Zero(t, b.count(t, "SELECT count(*) FROM events WHERE id = 'claim-batch-new'"))
	got := b.do(t, "GET", "/v1/events/claimed-1", apiKey, nil).json(t)
	require.Equal(t, "asha@example.com", got["data"].(map[string]any)["email"])
}
