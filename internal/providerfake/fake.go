// Package providerfake gives tests and the benchmark local stand-ins for
// the outside services the server talks to: Resend, Twilio, OneSignal,
// Typesense and Mixpanel. Each is an HTTP server on 127.0.0.1 that speaks
// the part of the service's documented wire format the server's clients
// use (paths, credentials, request and answer bodies, the service's error
// answers), records what it received, and fails as a script says: a 5xx,
// a 429 with Retry-After, a permanent 4xx, a slow answer, no answer at
// all, a dropped connection.
//
// A fake counts requests by the idempotency key the service knows them by
// (Resend's Idempotency-Key header, OneSignal's idempotency_key, for
// Twilio the recipient and body, for Typesense the collection and document
// id). The services that remember keys (Resend, OneSignal) answer a key
// delivered before with its first answer and deliver nothing again.
package providerfake

import (
	"compress/gzip"
	"context"
	"crypto/sha1" //nolint:gosec // ids for a fake, not security
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Answer is what a fake does with one request.
type Answer int

const (
	// OK delivers and answers as the service does on success.
	OK Answer = iota
	// Fail answers 500; nothing is delivered.
	Fail
	// TooMany answers 429 with Retry-After (Options.RetryAfter); nothing
	// is delivered.
	TooMany
	// Slow delivers and answers after Options.Slow (or SetSlow).
	Slow
	// Hang never answers (the client times out); nothing is delivered.
	Hang
	// Lost delivers, then drops the connection without an answer.
	Lost
	// Reset drops the connection at once; nothing is delivered.
	Reset
	// Reject answers the service's permanent refusal (a 4xx); nothing is
	// delivered.
	Reject
)

// Script answers the n-th request (from 1) of an idempotency key; label
// is what the request is about (a recipient, an SMS body, a document
// name: each fake says which).
type Script func(label string, n int) Answer

// Always answers every request with a.
func Always(a Answer) Script { return func(string, int) Answer { return a } }

// Sequence answers the requests it is asked about with answers, in turn,
// then OK.
func Sequence(answers ...Answer) Script {
	var mu sync.Mutex
	return func(string, int) Answer {
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			return OK
		}
		a := answers[0]
		answers = answers[1:]
		return a
	}
}

// Reply is an answer a test writes itself: the service's answer as its
// documentation shows it (an error message naming a recipient, say).
type Reply struct {
	Status int
	Header map[string]string
	Body   string
}

// Options configure a fake. The zero value answers every request OK with
// the fake's default credentials.
type Options struct {
	// Key is the credential the fake requires: Resend's and Typesense's
	// API key, Twilio's auth token, OneSignal's REST API key, Mixpanel's
	// project token.
	Key string
	// Account is Twilio's account SID, or OneSignal's app id.
	Account string
	// From is Twilio's sender number, or Resend's sender (EMAIL_FROM in
	// Env).
	From string
	// Script answers each request; nil answers OK.
	Script Script
	// Replies, when set, answer the requests in turn (the last one
	// repeating) instead of the fake's own answers; the requests are still
	// checked as the service checks them.
	Replies []Reply
	// Record keeps every request (Requests, Bodies).
	Record bool
	// Slow is how long a Slow answer waits; 1 s when zero.
	Slow time.Duration
	// RetryAfter is the Retry-After of a 429 (whole seconds); 1 s when
	// zero.
	RetryAfter time.Duration
}

// Request is one request a fake received (with Options.Record).
type Request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte // gunzipped
	At                  time.Time
	// Key and Label are the idempotency key and label the fake read.
	Key, Label string
	// Answer is what the script said; ID the service's id of the delivery
	// ("" when nothing was delivered).
	Answer Answer
	ID     string
}

// Counts are what a fake saw of the sends (queries such as a search are
// counted apart).
type Counts struct {
	Requests   int // sends
	Keys       int // distinct idempotency keys
	Delivered  int // distinct keys delivered
	Twice      int // keys delivered more than once (a service without idempotency)
	MaxPerKey  int // requests of the key with the most
	WithoutKey int // sends without an idempotency key
	Queries    int // requests that read (a search)
}

// call is what a wire read from a request.
type call struct {
	key, label string
	// query is a request that reads (a search): scripted, never counted as
	// a delivery; params are its URL's.
	query  bool
	params url.Values
}

// wire is one service's wire format.
type wire interface {
	// read checks a request; handled means it answered it itself (refused
	// it, or it is no send: Typesense's collections).
	read(w http.ResponseWriter, r *http.Request, body []byte) (c call, handled bool)
	// accept takes a delivered send, under the fake's lock.
	accept(c call, id string, body []byte)
	// delivered answers a send delivered as id, or a query.
	delivered(w http.ResponseWriter, c call, id string, body []byte)
	// failed answers Fail, TooMany or Reject.
	failed(w http.ResponseWriter, a Answer, c call, retryAfter time.Duration)
	// newID is the service's id of the n-th delivery.
	newID(n int) string
}

// Fake is the machinery every service's fake shares.
type Fake struct {
	// URL is the fake's base URL, http://127.0.0.1:port.
	URL string

	name    string
	srv     *httptest.Server
	wire    wire
	opts    Options
	dedup   bool
	release chan struct{}
	delay   atomic.Int64 // nanoseconds
	closed  sync.Once

	mu         sync.Mutex
	slow       time.Duration
	replies    []Reply
	requests   map[string]int    // key → requests
	ids        map[string]string // key → id of its first delivery
	deliveries map[string]int    // key → deliveries
	made       int
	noKey      int
	queries    int
	recorded   []Request
	changed    chan struct{} // closed, and replaced, at each request
}

func start(name string, w wire, dedup bool, o Options) *Fake {
	if o.Script == nil {
		o.Script = Always(OK)
	}
	if o.Slow == 0 {
		o.Slow = time.Second
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = time.Second
	}
	f := &Fake{name: name, wire: w, opts: o, dedup: dedup, release: make(chan struct{}), slow: o.Slow, replies: o.Replies,
		requests: map[string]int{}, ids: map[string]string{}, deliveries: map[string]int{}, changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	return f
}

// Name is the service's name ("Resend").
func (f *Fake) Name() string { return f.name }

// Close releases the requests held (Hang, Slow, a delay) and stops the
// server.
func (f *Fake) Close() {
	f.closed.Do(func() {
		close(f.release)
		f.srv.Close()
	})
}

// SetDelay makes every later answer wait d (0: answer at once).
func (f *Fake) SetDelay(d time.Duration) { f.delay.Store(int64(d)) }

// SetSlow sets how long a Slow answer waits from the next request on.
func (f *Fake) SetSlow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slow = d
}

// wait waits d, or less if the request ends or the fake closes; it says
// whether d passed.
func (f *Fake) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-f.release:
	}
	return false
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(f.delay.Load()); d > 0 && !f.wait(r, d) {
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, handled := f.wire.read(w, r, body)
	if handled {
		return
	}
	f.mu.Lock()
	a, id, reply := f.script(c, body)
	slow := f.slow
	if f.opts.Record {
		f.recorded = append(f.recorded, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(),
			Body: body, At: time.Now(), Key: c.key, Label: c.label, Answer: a, ID: id})
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()

	switch {
	case reply != nil:
		for k, v := range reply.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
	case a == Fail || a == TooMany || a == Reject:
		f.wire.failed(w, a, c, f.opts.RetryAfter)
	case a == Hang:
		f.wait(r, 1<<62)
	case a == Lost || a == Reset:
		dropConnection(w)
	case a == Slow:
		f.wait(r, slow)
		f.wire.delivered(w, c, id, body)
	default:
		f.wire.delivered(w, c, id, body)
	}
}

// script decides the answer to c, under f.mu, and books what it delivers.
func (f *Fake) script(c call, body []byte) (Answer, string, *Reply) {
	var reply *Reply
	if len(f.replies) > 0 {
		reply = &f.replies[0]
		if len(f.replies) > 1 {
			f.replies = f.replies[1:]
		}
	}
	if c.query {
		f.queries++
		return f.opts.Script(c.label, f.queries), "", reply
	}
	if c.key == "" {
		f.noKey++
	}
	f.requests[c.key]++
	id, seen := f.ids[c.key]
	a := OK
	if !seen || !f.dedup {
		a = f.opts.Script(c.label, f.requests[c.key])
	}
	if reply != nil && reply.Status/100 != 2 {
		return a, "", reply // the test's answer refuses: nothing delivered
	}
	switch a {
	case OK, Slow, Lost:
		if !seen || !f.dedup {
			f.made++
			id = f.wire.newID(f.made)
			f.deliveries[c.key]++
			if !seen {
				f.ids[c.key] = id
			}
			f.wire.accept(c, id, body)
		}
		return a, id, reply
	}
	return a, "", reply
}

// Counts returns what the fake saw so far.
func (f *Fake) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts()
}

func (f *Fake) counts() Counts {
	c := Counts{Keys: len(f.requests), Delivered: len(f.ids), WithoutKey: f.noKey, Queries: f.queries}
	for _, n := range f.requests {
		c.Requests += n
		c.MaxPerKey = max(c.MaxPerKey, n)
	}
	for _, n := range f.deliveries {
		if n > 1 {
			c.Twice++
		}
	}
	return c
}

// Wait waits until done holds for the counts, checking again at each
// request, or ctx ends.
func (f *Fake) Wait(ctx context.Context, done func(Counts) bool) error {
	for {
		f.mu.Lock()
		ok, changed := done(f.counts()), f.changed
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (%+v)", f.name, context.Cause(ctx), f.Counts())
		}
	}
}

// Requests returns the requests recorded so far (Options.Record).
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.recorded...)
}

// Bodies is every recorded request body, a line each.
func (f *Fake) Bodies() string {
	var b strings.Builder
	for _, r := range f.Requests() {
		b.Write(r.Body)
		b.WriteByte('\n')
	}
	return b.String()
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
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
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

// retryAfter sets the Retry-After header to d in whole seconds.
func retryAfter(w http.ResponseWriter, d time.Duration) string {
	s := strconv.Itoa(int(d.Round(time.Second) / time.Second))
	w.Header().Set("Retry-After", s)
	return s
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

// or is v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
