package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is what a fake does with one request.
type answer int

const (
	answerOK   answer = iota // deliver and answer 200
	answer500                // 500, nothing delivered
	answer429                // 429 with Retry-After: 1, nothing delivered
	answerSlow               // deliver and answer 200 after slowFor
	answerHang               // never answer, nothing delivered (the client times out)
	answerLost               // deliver, then drop the connection without an answer
	answer422                // 422 validation error, nothing delivered
)

// slowFor is how long answerSlow waits: less than the suite's
// PROVIDER_TIMEOUT.
const slowFor = time.Second

// fakeResend answers Resend's POST /emails with the API key as Bearer
// token. It remembers Idempotency-Key as Resend does (a key seen before
// gets the first answer again, and is not delivered again), counts requests
// per key, and answers as script says for the n-th request (from 1) of a key
// to a recipient.
type fakeResend struct {
	srv    *httptest.Server
	script func(to string, n int) answer

	mu        sync.Mutex
	requests  map[string]int    // idempotency key → requests
	delivered map[string]string // idempotency key → email id
	noKey     int               // requests without a key
	bodies    []string          // every request body, for the scan
}

func newFakeResend(t *testing.T, script func(to string, n int) answer) *fakeResend {
	t.Helper()
	f := &fakeResend{script: script, requests: map[string]int{}, delivered: map[string]string{}}
	release := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, release) }))
	t.Cleanup(func() { close(release); f.srv.Close() })
	return f
}

func (f *fakeResend) serve(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		reply(http.StatusNotFound, map[string]any{"statusCode": 404, "name": "not_found", "message": "The requested endpoint does not exist."})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+resendKey {
		reply(http.StatusUnauthorized, map[string]any{"statusCode": 401, "name": "missing_api_key", "message": "Missing API key in the authorization header."})
		return
	}
	body, _ := io.ReadAll(r.Body)
	var email struct {
		From    string   `json:"from"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
	}
	if err := json.Unmarshal(body, &email); err != nil || email.From == "" || len(email.To) != 1 || email.Subject == "" {
		reply(http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error", "message": "The `from`, `to` and `subject` fields are required."})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.bodies = append(f.bodies, string(body))
	if key == "" {
		f.noKey++
	}
	f.requests[key]++
	n := f.requests[key]
	id, seen := f.delivered[key]
	a := answerOK
	if !seen {
		a = f.script(email.To[0], n)
	}
	deliver := func() {
		if !seen {
			id = fmt.Sprintf("email-%d", len(f.delivered)+1)
			f.delivered[key] = id
		}
	}
	switch a {
	case answerOK, answerSlow, answerLost:
		deliver()
	}
	f.mu.Unlock()

	switch a {
	case answer500:
		reply(http.StatusInternalServerError, map[string]any{"statusCode": 500, "name": "internal_server_error", "message": "An unexpected error occurred."})
	case answer429:
		w.Header().Set("Retry-After", "1")
		reply(http.StatusTooManyRequests, map[string]any{"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests."})
	case answer422:
		reply(http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error", "message": "The " + email.To[0] + " domain is not verified."})
	case answerHang:
		select {
		case <-r.Context().Done():
		case <-release:
		}
	case answerLost:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case answerSlow:
		select {
		case <-time.After(slowFor):
		case <-release:
		}
		reply(http.StatusOK, map[string]string{"id": id})
	default:
		reply(http.StatusOK, map[string]string{"id": id})
	}
}

// env configures the server's Resend client for this fake.
func (f *fakeResend) env() []string {
	return []string{"RESEND_API_KEY=" + resendKey, "RESEND_BASE_URL=" + f.srv.URL, "EMAIL_FROM=" + emailFromEnv}
}

// resendCounts is what the fake saw.
type resendCounts struct {
	keys       int // distinct idempotency keys
	delivered  int // emails delivered (once per key)
	requests   int
	maxPerKey  int
	withoutKey int
}

func (f *fakeResend) counts() resendCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := resendCounts{keys: len(f.requests), delivered: len(f.delivered), withoutKey: f.noKey}
	for _, n := range f.requests {
		c.requests += n
		c.maxPerKey = max(c.maxPerKey, n)
	}
	return c
}

// fakeMixpanel answers Mixpanel's POST /import (project token as the
// basic-auth user, a JSON array of events) and counts distinct $insert_id,
// as Mixpanel deduplicates by it.
type fakeMixpanel struct {
	srv *httptest.Server

	mu        sync.Mutex
	requests  int
	events    int
	insertIDs map[string]struct{}
	bodies    []string
}

func newFakeMixpanel(t *testing.T) *fakeMixpanel {
	t.Helper()
	m := &fakeMixpanel{insertIDs: map[string]struct{}{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if user, _, ok := r.BasicAuth(); !ok || user != mixpanelTok || !strings.HasPrefix(r.URL.Path, "/import") {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":401,"error":"Invalid username or secret","status":"Unauthorized"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var evs []struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(body, &evs); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":400,"error":"unable to parse JSON array","status":"Bad Request"}`)
			return
		}
		m.mu.Lock()
		m.requests++
		m.events += len(evs)
		m.bodies = append(m.bodies, string(body))
		for _, ev := range evs {
			id, _ := ev.Properties["$insert_id"].(string)
			m.insertIDs[id] = struct{}{}
		}
		m.mu.Unlock()
		_, _ = fmt.Fprintf(w, `{"code":200,"num_records_imported":%d,"status":"OK"}`, len(evs))
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// env configures the server's Mixpanel client for this fake.
func (m *fakeMixpanel) env() []string {
	return []string{"MIXPANEL_TOKEN=" + mixpanelTok, "MIXPANEL_BASE_URL=" + m.srv.URL}
}

// distinct is the number of distinct $insert_id received, and the number
// of events received in all.
func (m *fakeMixpanel) distinct() (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.insertIDs), m.events
}
