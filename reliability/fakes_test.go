package reliability

import (
	"crypto/sha1" //nolint:gosec // ids for a fake, not security
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is what a fake does with one request.
type answer int

const (
	answerOK     answer = iota // deliver and answer 200
	answer500                  // 500, nothing delivered
	answer429                  // 429 with Retry-After: 1, nothing delivered
	answerSlow                 // deliver and answer 200 after the fake's slow delay (slowFor unless set)
	answerHang                 // never answer, nothing delivered (the client times out)
	answerLost                 // deliver, then drop the connection without an answer
	answerReset                // drop the connection at once, nothing delivered
	answerReject               // the provider's permanent rejection (a 4xx), nothing delivered
)

// slowFor is how long answerSlow waits unless a fakeProvider's slow is
// set: less than the suite's PROVIDER_TIMEOUT.
const slowFor = time.Second

// wire is one provider's wire format: how a send is read, and what each
// answer looks like.
type wire interface {
	// read checks a request (path, credentials, body) and returns the
	// idempotency key the fake counts by and the label its script answers
	// by. handled means read answered the request itself: refused, or not
	// a send (Typesense's collections).
	read(w http.ResponseWriter, r *http.Request, body []byte) (key, label string, handled bool)
	// delivered answers a send delivered under the provider's id.
	delivered(w http.ResponseWriter, id string, body []byte)
	// failed answers a send with a (answer500, answer429 or answerReject).
	failed(w http.ResponseWriter, a answer, label string)
	// newID is the provider's id of the n-th delivery.
	newID(n int) string
}

// fakeProvider is a local stand-in for an outside service speaking its
// wire format. It counts requests per idempotency key and answers the n-th
// request (from 1) of a key as script says for the request's label (a
// recipient, a message, a document name). With dedup it remembers keys as
// Resend and OneSignal do: a key delivered before gets its first answer
// again and is not delivered again; without (Twilio, Typesense's upsert),
// every request the script lets through delivers.
type fakeProvider struct {
	name   string
	srv    *httptest.Server
	wire   wire
	script func(label string, n int) answer
	dedup  bool
	// keep keeps every request body, for the leak scan.
	keep bool

	mu         sync.Mutex
	slow       time.Duration     // how long answerSlow waits
	requests   map[string]int    // key → requests
	ids        map[string]string // key → id of its first delivery
	deliveries map[string]int    // key → deliveries
	made       int               // ids made
	noKey      int               // requests without a key
	bodies     []string
}

func newFakeProvider(t *testing.T, name string, w wire, dedup bool, script func(label string, n int) answer) *fakeProvider {
	t.Helper()
	if script == nil {
		script = func(string, int) answer { return answerOK }
	}
	f := &fakeProvider{name: name, wire: w, script: script, dedup: dedup, slow: slowFor,
		requests: map[string]int{}, ids: map[string]string{}, deliveries: map[string]int{}}
	release := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, release) }))
	t.Cleanup(func() { close(release); f.srv.Close() })
	return f
}

func (f *fakeProvider) serve(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	body, _ := io.ReadAll(r.Body)
	key, label, handled := f.wire.read(w, r, body)
	if handled {
		return
	}
	f.mu.Lock()
	if f.keep {
		f.bodies = append(f.bodies, string(body))
	}
	if key == "" {
		f.noKey++
	}
	f.requests[key]++
	id, seen := f.ids[key]
	slow := f.slow
	a := answerOK
	if !seen || !f.dedup {
		a = f.script(label, f.requests[key])
	}
	switch a {
	case answerOK, answerSlow, answerLost:
		if !seen || !f.dedup {
			f.made++
			id = f.wire.newID(f.made)
			f.deliveries[key]++
			if !seen {
				f.ids[key] = id
			}
		}
	}
	f.mu.Unlock()

	switch a {
	case answer500, answer429, answerReject:
		f.wire.failed(w, a, label)
	case answerHang:
		select {
		case <-r.Context().Done():
		case <-release:
		}
	case answerLost, answerReset:
		dropConnection(w)
	case answerSlow:
		select {
		case <-time.After(slow):
		case <-r.Context().Done(): // the client gave up
		case <-release:
		}
		f.wire.delivered(w, id, body)
	default:
		f.wire.delivered(w, id, body)
	}
}

// setSlow sets how long answerSlow waits from the next request on.
func (f *fakeProvider) setSlow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slow = d
}

// dropConnection closes the request's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// replyJSON writes v as a JSON answer with status.
func replyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// providerCounts is what a fake saw.
type providerCounts struct {
	requests   int
	keys       int // distinct idempotency keys
	delivered  int // distinct keys delivered
	twice      int // keys delivered more than once (only without dedup)
	maxPerKey  int // requests of the key with the most
	withoutKey int
}

func (f *fakeProvider) counts() providerCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := providerCounts{keys: len(f.requests), delivered: len(f.ids), withoutKey: f.noKey}
	for _, n := range f.requests {
		c.requests += n
		c.maxPerKey = max(c.maxPerKey, n)
	}
	for _, n := range f.deliveries {
		if n > 1 {
			c.twice++
		}
	}
	return c
}

// requestBodies is every request body the fake kept.
func (f *fakeProvider) requestBodies() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.bodies, "\n")
}

// hexID is a provider-looking id: prefix and n hashed to hex digits.
func hexID(prefix string, n, digits int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "%s-%d", prefix, n)) //nolint:gosec // ids for a fake
	return prefix + hex.EncodeToString(sum[:])[:digits]
}

// uuidID is a UUID-shaped id made from n.
func uuidID(n int) string {
	h := hexID("", n, 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// resendWire is Resend's POST /emails: the API key as Bearer token, the
// Idempotency-Key header, JSON in and out; the label is the recipient.
type resendWire struct{}

func newFakeResend(t *testing.T, script func(to string, n int) answer) *fakeProvider {
	t.Helper()
	return newFakeProvider(t, "Resend", resendWire{}, true, script)
}

func (resendWire) read(w http.ResponseWriter, r *http.Request, body []byte) (string, string, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		replyJSON(w, http.StatusNotFound, map[string]any{"statusCode": 404, "name": "not_found", "message": "The requested endpoint does not exist."})
		return "", "", true
	}
	if r.Header.Get("Authorization") != "Bearer "+resendKey {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "name": "missing_api_key", "message": "Missing API key in the authorization header."})
		return "", "", true
	}
	var email struct {
		From    string   `json:"from"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
	}
	if err := json.Unmarshal(body, &email); err != nil || email.From == "" || len(email.To) != 1 || email.Subject == "" {
		replyJSON(w, http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error", "message": "The `from`, `to` and `subject` fields are required."})
		return "", "", true
	}
	return r.Header.Get("Idempotency-Key"), email.To[0], false
}

func (resendWire) delivered(w http.ResponseWriter, id string, _ []byte) {
	replyJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (resendWire) failed(w http.ResponseWriter, a answer, to string) {
	switch a {
	case answer429:
		w.Header().Set("Retry-After", "1")
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests."})
	case answerReject:
		replyJSON(w, http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error", "message": "The " + to + " domain is not verified."})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"statusCode": 500, "name": "internal_server_error", "message": "An unexpected error occurred."})
	}
}

func (resendWire) newID(n int) string { return fmt.Sprintf("email-%d", n) }

func resendEnv(f *fakeProvider) []string {
	return []string{"RESEND_API_KEY=" + resendKey, "RESEND_BASE_URL=" + f.srv.URL, "EMAIL_FROM=" + emailFromEnv}
}

// twilioWire is Twilio's Messages API: POST
// /2010-04-01/Accounts/{sid}/Messages.json with the account's basic auth and
// a form (To, From, Body). Twilio has no idempotency key: the fake counts
// by recipient and body, and the label is the body.
type twilioWire struct{}

func newFakeTwilio(t *testing.T, script func(body string, n int) answer) *fakeProvider {
	t.Helper()
	return newFakeProvider(t, "Twilio", twilioWire{}, false, script)
}

func (twilioWire) read(w http.ResponseWriter, r *http.Request, body []byte) (string, string, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" {
		replyJSON(w, http.StatusNotFound, map[string]any{"code": 20404, "message": "The requested resource was not found", "status": 404})
		return "", "", true
	}
	if sid, token, ok := r.BasicAuth(); !ok || sid != twilioSID || token != twilioToken {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return "", "", true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("To") == "" || form.Get("From") != twilioFrom || form.Get("Body") == "" {
		replyJSON(w, http.StatusBadRequest, map[string]any{"code": 21604, "message": "A 'To', 'From' and 'Body' are required.", "status": 400})
		return "", "", true
	}
	return form.Get("To") + "|" + form.Get("Body"), form.Get("Body"), false
}

func (twilioWire) delivered(w http.ResponseWriter, id string, body []byte) {
	form, _ := url.ParseQuery(string(body))
	replyJSON(w, http.StatusCreated, map[string]any{"sid": id, "status": "queued", "to": form.Get("To"), "from": form.Get("From"),
		"body": form.Get("Body"), "account_sid": twilioSID, "num_segments": "1"})
}

func (twilioWire) failed(w http.ResponseWriter, a answer, _ string) {
	switch a {
	case answer429:
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"code": 20429, "message": "Too Many Requests", "status": 429})
	case answerReject:
		replyJSON(w, http.StatusBadRequest, map[string]any{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"code": 20500, "message": "An internal server error has occurred", "status": 500})
	}
}

func (twilioWire) newID(n int) string { return hexID("SM", n, 32) }

func twilioEnv(f *fakeProvider) []string {
	return []string{"TWILIO_ACCOUNT_SID=" + twilioSID, "TWILIO_AUTH_TOKEN=" + twilioToken, "TWILIO_FROM=" + twilioFrom, "TWILIO_BASE_URL=" + f.srv.URL}
}

// oneSignalWire is OneSignal's POST /notifications: "Key <REST API key>",
// JSON naming the app, the user by external_id and an idempotency_key that
// OneSignal remembers (a repeated key gets the first answer); the label is
// the external_id.
type oneSignalWire struct{}

func newFakeOneSignal(t *testing.T, script func(externalID string, n int) answer) *fakeProvider {
	t.Helper()
	return newFakeProvider(t, "OneSignal", oneSignalWire{}, true, script)
}

func (oneSignalWire) read(w http.ResponseWriter, r *http.Request, body []byte) (string, string, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/notifications" {
		replyJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Not Found"}})
		return "", "", true
	}
	if r.Header.Get("Authorization") != "Key "+oneSignalKey {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{"Access denied. Please include an 'Authorization: Key' header with a valid REST API key."}})
		return "", "", true
	}
	var n struct {
		AppID          string              `json:"app_id"`
		IncludeAliases map[string][]string `json:"include_aliases"`
		TargetChannel  string              `json:"target_channel"`
		Contents       map[string]string   `json:"contents"`
		IdempotencyKey string              `json:"idempotency_key"`
	}
	if err := json.Unmarshal(body, &n); err != nil || n.AppID != oneSignalApp || len(n.IncludeAliases["external_id"]) != 1 ||
		n.TargetChannel != "push" || n.Contents["en"] == "" {
		replyJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"app_id, include_aliases.external_id, target_channel and contents are required"}})
		return "", "", true
	}
	return n.IdempotencyKey, n.IncludeAliases["external_id"][0], false
}

func (oneSignalWire) delivered(w http.ResponseWriter, id string, _ []byte) {
	replyJSON(w, http.StatusOK, map[string]any{"id": id, "external_id": nil})
}

func (oneSignalWire) failed(w http.ResponseWriter, a answer, _ string) {
	switch a {
	case answer429:
		w.Header().Set("Retry-After", "1")
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []string{"API rate limit exceeded"}})
	case answerReject:
		replyJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"All included players are not subscribed"}})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"errors": []string{"Internal Server Error"}})
	}
}

func (oneSignalWire) newID(n int) string { return uuidID(n) }

func oneSignalEnv(f *fakeProvider) []string {
	return []string{"ONESIGNAL_APP_ID=" + oneSignalApp, "ONESIGNAL_API_KEY=" + oneSignalKey, "ONESIGNAL_BASE_URL=" + f.srv.URL}
}

// typesenseWire is Typesense's REST API as the search index uses it: the
// X-TYPESENSE-API-KEY header, GET and POST /collections (answered here:
// they are no sends), and document upserts, POST
// /collections/{name}/documents?action=upsert, counted by collection and
// document id; the label is the document's name.
type typesenseWire struct {
	mu          sync.Mutex
	collections map[string]json.RawMessage
}

func newFakeTypesense(t *testing.T, script func(name string, n int) answer) *fakeProvider {
	t.Helper()
	return newFakeProvider(t, "Typesense", &typesenseWire{collections: map[string]json.RawMessage{}}, false, script)
}

func (tw *typesenseWire) read(w http.ResponseWriter, r *http.Request, body []byte) (string, string, bool) {
	if r.Header.Get("X-TYPESENSE-API-KEY") != typesenseKey {
		replyJSON(w, http.StatusUnauthorized, map[string]string{"message": "Forbidden - a valid `x-typesense-api-key` header must be sent."})
		return "", "", true
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tw.mu.Lock()
	defer tw.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/collections":
		var schema struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(body, &schema) != nil || schema.Name == "" {
			replyJSON(w, http.StatusBadRequest, map[string]string{"message": "Bad JSON."})
			return "", "", true
		}
		if _, ok := tw.collections[schema.Name]; ok {
			replyJSON(w, http.StatusConflict, map[string]string{"message": "A collection with name `" + schema.Name + "` already exists."})
			return "", "", true
		}
		tw.collections[schema.Name] = body
		replyJSON(w, http.StatusCreated, json.RawMessage(body))
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "collections":
		raw, ok := tw.collections[parts[1]]
		if !ok {
			replyJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return "", "", true
		}
		replyJSON(w, http.StatusOK, raw)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "collections" && parts[2] == "documents" &&
		r.URL.Query().Get("action") == "upsert":
		if _, ok := tw.collections[parts[1]]; !ok {
			replyJSON(w, http.StatusNotFound, map[string]string{"message": "Not found."})
			return "", "", true
		}
		var doc struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if json.Unmarshal(body, &doc) != nil || doc.ID == "" {
			replyJSON(w, http.StatusBadRequest, map[string]string{"message": "Bad JSON."})
			return "", "", true
		}
		return parts[1] + "/" + doc.ID, doc.Name, false
	default:
		replyJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
	return "", "", true
}

func (*typesenseWire) delivered(w http.ResponseWriter, _ string, body []byte) {
	replyJSON(w, http.StatusCreated, json.RawMessage(body))
}

func (*typesenseWire) failed(w http.ResponseWriter, a answer, _ string) {
	switch a {
	case answer429:
		replyJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Rate limit exceeded or blocked"})
	case answerReject:
		replyJSON(w, http.StatusBadRequest, map[string]string{"message": "Field `price_paise` must be an int64."})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
	}
}

func (*typesenseWire) newID(n int) string { return fmt.Sprintf("upsert-%d", n) }

func typesenseEnv(f *fakeProvider) []string {
	return []string{"TYPESENSE_URL=" + f.srv.URL, "TYPESENSE_API_KEY=" + typesenseKey}
}

// fakeMixpanel answers Mixpanel's POST /import (project token as the
// basic-auth user, a JSON array of events) and counts distinct $insert_id,
// as Mixpanel deduplicates by it. script answers the n-th request (from 1)
// whose batch has an event named label, the first event whose name starts
// with "mp-" ("" for a batch without one); nil answers every request OK.
type fakeMixpanel struct {
	srv    *httptest.Server
	script func(label string, n int) answer
	keep   bool

	mu        sync.Mutex
	perLabel  map[string]int
	events    int
	insertIDs map[string]struct{}
	bodies    []string
}

func newFakeMixpanel(t *testing.T, script func(label string, n int) answer) *fakeMixpanel {
	t.Helper()
	if script == nil {
		script = func(string, int) answer { return answerOK }
	}
	m := &fakeMixpanel{script: script, perLabel: map[string]int{}, insertIDs: map[string]struct{}{}}
	release := make(chan struct{})
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(w, r, release) }))
	t.Cleanup(func() { close(release); m.srv.Close() })
	return m
}

func (m *fakeMixpanel) serve(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	if user, _, ok := r.BasicAuth(); !ok || user != mixpanelTok || !strings.HasPrefix(r.URL.Path, "/import") {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"code": 401, "error": "Invalid username or secret", "status": "Unauthorized"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	var evs []struct {
		Event      string         `json:"event"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(body, &evs); err != nil {
		replyJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "error": "unable to parse JSON array", "status": "Bad Request"})
		return
	}
	label := ""
	for _, ev := range evs {
		if strings.HasPrefix(ev.Event, "mp-") {
			label = ev.Event
			break
		}
	}
	m.mu.Lock()
	m.perLabel[label]++
	a := m.script(label, m.perLabel[label])
	if m.keep {
		m.bodies = append(m.bodies, string(body))
	}
	switch a {
	case answerOK, answerSlow, answerLost:
		m.events += len(evs)
		for _, ev := range evs {
			id, _ := ev.Properties["$insert_id"].(string)
			m.insertIDs[id] = struct{}{}
		}
	}
	m.mu.Unlock()

	switch a {
	case answer500:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "error": "Internal server error", "status": "Internal Server Error"})
	case answer429:
		w.Header().Set("Retry-After", "1")
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"code": 429, "error": "Project exceeded rate limits.", "status": "Too Many Requests"})
	case answerHang:
		select {
		case <-r.Context().Done():
		case <-release:
		}
	case answerLost, answerReset:
		dropConnection(w)
	case answerSlow:
		select {
		case <-time.After(slowFor):
		case <-release:
		}
		fallthrough
	default:
		replyJSON(w, http.StatusOK, map[string]any{"code": 200, "num_records_imported": len(evs), "status": "OK"})
	}
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
