package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fakes below stand in for the outside services on 127.0.0.1. Each
// speaks the part of the service's wire format that the server's provider
// clients use (notify/resend, search/typesense, analytics/mixpanel), checks
// the credentials, and can be made slow: every answer then comes after
// the delay set with setDelay.

// fakeServer is an HTTP server on a free port of 127.0.0.1 whose answers can
// be delayed.
type fakeServer struct {
	URL   string
	srv   *http.Server
	delay atomic.Int64 // nanoseconds
}

// startFake serves h on 127.0.0.1.
func startFake(h http.Handler) (*fakeServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start fake: %w", err)
	}
	f := &fakeServer{URL: "http://" + ln.Addr().String()}
	f.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// setDelay makes every later answer wait d (0: answer at once).
func (f *fakeServer) setDelay(d time.Duration) { f.delay.Store(int64(d)) }

// close stops the server at once, cutting open connections.
func (f *fakeServer) close() { _ = f.srv.Close() }

// replyJSON writes status and v as JSON.
func replyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a request body, gunzipping it when Content-Encoding says
// gzip.
func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = http.MaxBytesReader(nil, r.Body, 64<<20)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		rd = gz
	}
	return io.ReadAll(rd)
}

// ---- Mixpanel ----

// mixpanelMaxBatch is the most events Mixpanel's /import takes per request.
const mixpanelMaxBatch = 2000

// mixpanelEvent is one event as Mixpanel receives it.
type mixpanelEvent struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

// fakeMixpanel answers Mixpanel's ingestion API: POST /import (project
// token as the basic-auth user; a JSON array or, with Content-Type
// application/x-ndjson, one event per line; optionally gzipped; at most
// 2000 events; strict=1 validation of time, distinct_id and $insert_id)
// and POST /track (form field data=JSON or base64 JSON, or a JSON body;
// the token in each event's properties). It deduplicates by $insert_id as
// Mixpanel does and counts requests and events.
type fakeMixpanel struct {
	*fakeServer
	token string

	mu        sync.Mutex
	requests  int
	events    int
	insertIDs map[string]struct{}
	lastNew   time.Time // when the last new $insert_id arrived
	firstNew  time.Time // when the first request with a new $insert_id arrived
	firstN    int       // how many new $insert_ids that request carried
}

func newFakeMixpanel(token string) (*fakeMixpanel, error) {
	m := &fakeMixpanel{token: token, insertIDs: map[string]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /import", m.serveImport)
	mux.HandleFunc("POST /track", m.serveTrack)
	fs, err := startFake(mux)
	if err != nil {
		return nil, err
	}
	m.fakeServer = fs
	return m, nil
}

func (m *fakeMixpanel) serveImport(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		replyJSON(w, status, map[string]any{"code": status, "error": msg, "status": http.StatusText(status)})
	}
	if user, _, ok := r.BasicAuth(); !ok || user != m.token {
		fail(http.StatusUnauthorized, "Invalid username or secret")
		return
	}
	body, err := readBody(r)
	if err != nil {
		fail(http.StatusBadRequest, "unable to read body: "+err.Error())
		return
	}
	var evs []mixpanelEvent
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-ndjson") {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				var ev mixpanelEvent
				if err := json.Unmarshal(line, &ev); err != nil {
					fail(http.StatusBadRequest, "invalid JSON line: "+err.Error())
					return
				}
				evs = append(evs, ev)
			}
		}
	} else if err := json.Unmarshal(body, &evs); err != nil {
		fail(http.StatusBadRequest, "unable to parse JSON array: "+err.Error())
		return
	}
	if len(evs) > mixpanelMaxBatch {
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request contains %d events; the limit is %d", len(evs), mixpanelMaxBatch))
		return
	}
	type failed struct {
		Index    int    `json:"index"`
		InsertID string `json:"insert_id"`
		Field    string `json:"field"`
		Message  string `json:"message"`
	}
	var bad []failed
	var good []mixpanelEvent
	for i, ev := range evs {
		id, _ := ev.Properties["$insert_id"].(string)
		switch {
		case ev.Event == "":
			bad = append(bad, failed{i, id, "event", "'event' must not be empty"})
		case id == "":
			bad = append(bad, failed{i, id, "properties.$insert_id", "'properties.$insert_id' is required"})
		case ev.Properties["time"] == nil:
			bad = append(bad, failed{i, id, "properties.time", "'properties.time' is required"})
		case ev.Properties["distinct_id"] == nil:
			bad = append(bad, failed{i, id, "properties.distinct_id", "'properties.distinct_id' is required"})
		default:
			good = append(good, ev)
		}
	}
	m.record(good, len(evs))
	if len(bad) > 0 {
		replyJSON(w, http.StatusBadRequest, map[string]any{
			"code": 400, "error": "some data points in the request failed validation", "status": "Bad Request",
			"num_records_imported": len(good), "failed_records": bad,
		})
		return
	}
	replyJSON(w, http.StatusOK, map[string]any{"code": 200, "num_records_imported": len(good), "status": "OK"})
}

func (m *fakeMixpanel) serveTrack(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, "0", http.StatusBadRequest)
		return
	}
	raw := body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err != nil {
			http.Error(w, "0", http.StatusBadRequest)
			return
		}
		raw = []byte(r.PostForm.Get("data"))
		if dec, err := base64.StdEncoding.DecodeString(string(raw)); err == nil {
			raw = dec
		}
	}
	var evs []mixpanelEvent
	if err := json.Unmarshal(raw, &evs); err != nil {
		var one mixpanelEvent
		if err := json.Unmarshal(raw, &one); err != nil {
			m.answerTrack(w, r, false, "unable to parse data")
			return
		}
		evs = []mixpanelEvent{one}
	}
	for _, ev := range evs {
		if tok, _ := ev.Properties["token"].(string); tok != m.token {
			m.answerTrack(w, r, false, "token, missing or empty")
			return
		}
	}
	m.record(evs, len(evs))
	m.answerTrack(w, r, true, "")
}

// answerTrack answers /track: "1" or "0", or with verbose=1 a JSON status.
func (m *fakeMixpanel) answerTrack(w http.ResponseWriter, r *http.Request, ok bool, msg string) {
	if r.URL.Query().Get("verbose") == "1" {
		status, errV := 1, any(nil)
		if !ok {
			status, errV = 0, msg
		}
		replyJSON(w, http.StatusOK, map[string]any{"status": status, "error": errV})
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if ok {
		_, _ = io.WriteString(w, "1")
		return
	}
	_, _ = io.WriteString(w, "0")
}

// record counts one request carrying n events, of which accepted are stored.
func (m *fakeMixpanel) record(accepted []mixpanelEvent, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	m.events += n
	now := time.Now()
	first := m.firstNew.IsZero()
	for _, ev := range accepted {
		id, _ := ev.Properties["$insert_id"].(string)
		if id == "" {
			id = fmt.Sprintf("no-insert-id-%d", m.events) // /track without one: never deduplicated
		}
		if _, seen := m.insertIDs[id]; !seen {
			m.insertIDs[id] = struct{}{}
			m.lastNew = now
			if first {
				m.firstNew = now
				m.firstN++
			}
		}
	}
}

// mixpanelCounts is what the fake Mixpanel received.
type mixpanelCounts struct {
	Requests int
	Events   int // including duplicates
	Distinct int // by $insert_id
	LastNew  time.Time
	// FirstNew is when the first request with new events arrived, and
	// FirstN how many it carried.
	FirstNew time.Time
	FirstN   int
}

func (m *fakeMixpanel) counts() mixpanelCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return mixpanelCounts{
		Requests: m.requests, Events: m.events, Distinct: len(m.insertIDs), LastNew: m.lastNew,
		FirstNew: m.firstNew, FirstN: m.firstN,
	}
}

// deliveryRate is the events that arrived after the first request with new
// events over the time from that request to the last new event: the rate
// of the sender's batches, without the wait before the first. NaN when
// every event came in one request.
func (c mixpanelCounts) deliveryRate() float64 {
	if c.Distinct <= c.FirstN {
		return math.NaN()
	}
	return perSecond(c.Distinct-c.FirstN, c.LastNew.Sub(c.FirstNew))
}

// ---- Resend ----

// fakeResend answers Resend's POST /emails ({"id": ...}) and POST
// /emails/batch ({"data": [{"id": ...}]}), with the API key as Bearer token,
// and remembers Idempotency-Key as Resend does: a key seen before gets the
// first answer again.
type fakeResend struct {
	*fakeServer
	apiKey string

	mu       sync.Mutex
	requests int
	sent     map[string]string // idempotency key → email id
	emails   int
}

func newFakeResend(apiKey string) (*fakeResend, error) {
	f := &fakeResend{apiKey: apiKey, sent: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /emails", func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, false) })
	mux.HandleFunc("POST /emails/batch", func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, true) })
	fs, err := startFake(mux)
	if err != nil {
		return nil, err
	}
	f.fakeServer = fs
	return f, nil
}

// resendEmail is the part of Resend's email object the fake checks.
type resendEmail struct {
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
}

func (f *fakeResend) serve(w http.ResponseWriter, r *http.Request, batch bool) {
	fail := func(status int, name, msg string) {
		replyJSON(w, status, map[string]any{"statusCode": status, "message": msg, "name": name})
	}
	if r.Header.Get("Authorization") != "Bearer "+f.apiKey {
		fail(http.StatusUnauthorized, "missing_api_key", "Missing API key in the authorization header.")
		return
	}
	body, err := readBody(r)
	if err != nil {
		fail(http.StatusBadRequest, "validation_error", err.Error())
		return
	}
	var emails []resendEmail
	if batch {
		err = json.Unmarshal(body, &emails)
	} else {
		var one resendEmail
		err = json.Unmarshal(body, &one)
		emails = []resendEmail{one}
	}
	if err != nil {
		fail(http.StatusUnprocessableEntity, "validation_error", "Invalid JSON: "+err.Error())
		return
	}
	for _, e := range emails {
		if e.From == "" || len(e.To) == 0 || e.Subject == "" {
			fail(http.StatusUnprocessableEntity, "validation_error", "The `from`, `to` and `subject` fields are required.")
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	ids := make([]string, len(emails))
	for i := range emails {
		k := key
		if k != "" && batch {
			k = fmt.Sprintf("%s/%d", key, i)
		}
		id, ok := f.sent[k]
		if !ok || k == "" {
			f.emails++
			id = fmt.Sprintf("%08d-0000-4000-8000-000000000000", f.emails)
			if k != "" {
				f.sent[k] = id
			}
		}
		ids[i] = id
	}
	if !batch {
		replyJSON(w, http.StatusOK, map[string]string{"id": ids[0]})
		return
	}
	data := make([]map[string]string, len(ids))
	for i, id := range ids {
		data[i] = map[string]string{"id": id}
	}
	replyJSON(w, http.StatusOK, map[string]any{"data": data})
}

// ---- Typesense ----

// fakeTypesense answers the part of Typesense's REST API search/typesense
// uses: GET /collections/{name}, POST /collections, POST
// /collections/{name}/documents?action=upsert, POST
// /collections/{name}/documents/import (JSONL in and out), DELETE
// /collections/{name}/documents/{id} and GET .../documents/search (every
// document of the collection, unranked), with the key in
// X-TYPESENSE-API-KEY.
type fakeTypesense struct {
	*fakeServer
	apiKey string

	mu          sync.Mutex
	collections map[string]map[string]any            // name → schema
	docs        map[string]map[string]map[string]any // collection → id → document
	writes      int
}

func newFakeTypesense(apiKey string) (*fakeTypesense, error) {
	f := &fakeTypesense{apiKey: apiKey, collections: map[string]map[string]any{}, docs: map[string]map[string]map[string]any{}}
	fs, err := startFake(http.HandlerFunc(f.serve))
	if err != nil {
		return nil, err
	}
	f.fakeServer = fs
	return f, nil
}

func (f *fakeTypesense) serve(w http.ResponseWriter, r *http.Request) {
	msg := func(status int, text string) { replyJSON(w, status, map[string]string{"message": text}) }
	if r.Header.Get("X-TYPESENSE-API-KEY") != f.apiKey {
		msg(http.StatusUnauthorized, "Forbidden - a valid `x-typesense-api-key` header must be sent.")
		return
	}
	body, err := readBody(r)
	if err != nil {
		msg(http.StatusBadRequest, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 0 || parts[0] != "collections" {
		msg(http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 1:
		var schema map[string]any
		if err := json.Unmarshal(body, &schema); err != nil {
			msg(http.StatusBadRequest, "Bad JSON.")
			return
		}
		name, _ := schema["name"].(string)
		if _, ok := f.collections[name]; ok {
			msg(http.StatusConflict, "A collection with name `"+name+"` already exists.")
			return
		}
		f.collections[name] = schema
		f.docs[name] = map[string]map[string]any{}
		replyJSON(w, http.StatusCreated, f.describe(name))
	case r.Method == http.MethodGet && len(parts) == 2:
		if _, ok := f.collections[parts[1]]; !ok {
			msg(http.StatusNotFound, "Not Found")
			return
		}
		replyJSON(w, http.StatusOK, f.describe(parts[1]))
	case len(parts) >= 3 && parts[2] == "documents":
		docs, ok := f.docs[parts[1]]
		if !ok {
			msg(http.StatusNotFound, "Not found.")
			return
		}
		f.serveDocuments(w, r, parts[3:], docs, body, msg)
	default:
		msg(http.StatusNotFound, "Not Found")
	}
}

// serveDocuments answers /collections/{name}/documents/{rest...}.
func (f *fakeTypesense) serveDocuments(w http.ResponseWriter, r *http.Request, rest []string, docs map[string]map[string]any,
	body []byte, msg func(int, string),
) {
	switch {
	case r.Method == http.MethodPost && len(rest) == 0:
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			msg(http.StatusBadRequest, "Bad JSON.")
			return
		}
		id, _ := doc["id"].(string)
		if _, exists := docs[id]; exists && r.URL.Query().Get("action") != "upsert" {
			msg(http.StatusConflict, "A document with id "+id+" already exists.")
			return
		}
		docs[id] = doc
		f.writes++
		replyJSON(w, http.StatusCreated, doc)
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "import":
		var out bytes.Buffer
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				out.WriteString(`{"success": false, "error": "Bad JSON.", "document": ` + string(line) + "}\n")
				continue
			}
			docs[fmt.Sprint(doc["id"])] = doc
			f.writes++
			out.WriteString(`{"success": true}` + "\n")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(bytes.TrimSuffix(out.Bytes(), []byte("\n")))
	case r.Method == http.MethodDelete && len(rest) == 1:
		doc, ok := docs[rest[0]]
		if !ok {
			msg(http.StatusNotFound, "Could not find a document with id: "+rest[0])
			return
		}
		delete(docs, rest[0])
		f.writes++
		replyJSON(w, http.StatusOK, doc)
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "search":
		type hit struct {
			Document  map[string]any `json:"document"`
			TextMatch int            `json:"text_match"`
		}
		hits := []hit{}
		for _, d := range docs {
			hits = append(hits, hit{Document: d, TextMatch: 1})
		}
		replyJSON(w, http.StatusOK, map[string]any{"found": len(hits), "out_of": len(docs), "page": 1, "hits": hits})
	default:
		msg(http.StatusNotFound, "Not Found")
	}
}

// describe is a collection as Typesense answers it.
func (f *fakeTypesense) describe(name string) map[string]any {
	out := map[string]any{}
	for k, v := range f.collections[name] {
		out[k] = v
	}
	out["num_documents"], out["created_at"] = len(f.docs[name]), 1700000000
	return out
}

// ---- one set of fakes for a server ----

// providerFakes are the outside services a server run talks to, and the
// environment that points the server at them.
type providerFakes struct {
	mixpanel  *fakeMixpanel
	resend    *fakeResend
	typesense *fakeTypesense
	servers   []*fakeServer
}

// Credentials the fakes expect; they are not secrets.
const (
	fakeMixpanelToken = "bench-mixpanel-token"
	fakeResendKey     = "re_bench"
	fakeTypesenseKey  = "bench-typesense-key"
)

// startFakes starts the fakes asked for.
func startFakes(mixpanel, resend, typesense bool) (*providerFakes, error) {
	p := &providerFakes{}
	var err error
	if mixpanel {
		if p.mixpanel, err = newFakeMixpanel(fakeMixpanelToken); err != nil {
			return nil, err
		}
		p.servers = append(p.servers, p.mixpanel.fakeServer)
	}
	if resend {
		if p.resend, err = newFakeResend(fakeResendKey); err != nil {
			p.close()
			return nil, err
		}
		p.servers = append(p.servers, p.resend.fakeServer)
	}
	if typesense {
		if p.typesense, err = newFakeTypesense(fakeTypesenseKey); err != nil {
			p.close()
			return nil, err
		}
		p.servers = append(p.servers, p.typesense.fakeServer)
	}
	return p, nil
}

// env points the server at the running fakes.
func (p *providerFakes) env() map[string]string {
	env := map[string]string{}
	if p.mixpanel != nil {
		env["MIXPANEL_TOKEN"], env["MIXPANEL_BASE_URL"] = fakeMixpanelToken, p.mixpanel.URL
	}
	if p.resend != nil {
		env["RESEND_API_KEY"], env["RESEND_BASE_URL"] = fakeResendKey, p.resend.URL
		env["EMAIL_FROM"] = "MohallaMart <orders@bench.invalid>"
	}
	if p.typesense != nil {
		env["TYPESENSE_URL"], env["TYPESENSE_API_KEY"] = p.typesense.URL, fakeTypesenseKey
	}
	return env
}

// setDelay makes every fake answer after d (0: at once).
func (p *providerFakes) setDelay(d time.Duration) {
	for _, f := range p.servers {
		f.setDelay(d)
	}
}

// close stops every fake.
func (p *providerFakes) close() {
	for _, f := range p.servers {
		f.close()
	}
}

// waitDelivered polls until the fake Mixpanel holds want distinct events or
// ctx ends; it returns whether they all arrived.
func (m *fakeMixpanel) waitDelivered(ctx context.Context, want int) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if m.counts().Distinct >= want {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
