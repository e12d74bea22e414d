package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/internal/logctx"
)

type requestIDKey struct{}

// requestID returns the id the observe middleware gave the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id (the client's X-Request-Id when it is
// short and printable), puts it in the context's log attributes and the
// X-Request-Id answer header, recovers from panics, and logs and counts the
// answered request by its route pattern.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		ctx = logctx.With(ctx, slog.String("request_id", id))
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, as net/http compares it
					panic(p)
				}
				s.Logger.ErrorContext(ctx, "Handler panicked", slog.String("panic", fmt.Sprint(p)))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := r.Pattern // set by the mux on this request
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.Metrics.observeRequest(route, status, d)
			// The request's span, when traces are on: named by the route,
			// and without the event key an /e/ path carries.
			span := trace.SpanFromContext(ctx)
			span.SetName(route)
			span.SetAttributes(attribute.String("url.path", loggedPath(r.URL.Path)))
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				level = slog.LevelDebug
			}
			s.Logger.Log(ctx, level, "HTTP request", slog.String("method", r.Method), slog.String("route", route),
				slog.String("path", loggedPath(r.URL.Path)), slog.Int("status", status), slog.Duration("duration", d))
		}()
		next.ServeHTTP(sw, r)
	})
}

// loggedPath is the path to log: /e/{eventKey} paths carry a secret.
func loggedPath(path string) string {
	if strings.HasPrefix(path, "/e/") {
		return "/e/REDACTED"
	}
	return path
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// keySet holds accepted keys as SHA-256 hashes, so comparing takes the
// same time whatever the key's length.
type keySet [][sha256.Size]byte

func newKeySet(keys []string) keySet {
	out := make(keySet, len(keys))
	for i, k := range keys {
		out[i] = sha256.Sum256([]byte(k))
	}
	return out
}

// match reports in constant time whether key is one of the keys.
func (ks keySet) match(key string) bool {
	h := sha256.Sum256([]byte(key))
	ok := 0
	for _, k := range ks {
		ok |= subtle.ConstantTimeCompare(h[:], k[:])
	}
	return ok == 1
}

// clientIP is the address the request came from: the peer's, or, when the
// peer is one of TrustedProxies, the rightmost address in X-Forwarded-For
// that is not a trusted proxy (each proxy appends the address it got the
// request from, so the hops to the left of the first untrusted one are the
// client's to write).
func (s *server) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	client := peer.Addr().Unmap()
	if !s.trustedProxy(client) {
		return client.String()
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break // not an address a proxy wrote: the client's own text
		}
		client = hop
		if !s.trustedProxy(client) {
			break
		}
	}
	return client.String()
}

// trustedProxy reports whether ip is in TrustedProxies.
func (s *server) trustedProxy(ip netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedFor returns the hops of every X-Forwarded-For header, in order.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseHop reads one X-Forwarded-For hop: an IP address, possibly with a
// port ("203.0.113.7:4711", "[2001:db8::1]:4711").
func parseHop(hop string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(hop); err == nil {
		return ip.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// rateKey returns what a request is rate limited by: its key, or with
// auth off its client address. A public event key is shared by every
// browser that loads the page, so its requests are limited per key and
// client address: one holder of the key cannot use up everyone's budget.
func (s *server) rateKey(r *http.Request) string {
	if c, ok := callerOf(r.Context()); ok {
		h := sha256.Sum256([]byte(c.key))
		if c.public {
			return "key:" + hex.EncodeToString(h[:8]) + " ip:" + s.clientIP(r)
		}
		return "key:" + hex.EncodeToString(h[:8])
	}
	return "ip:" + s.clientIP(r)
}

// bearerKey returns the key of an Authorization: Bearer header (the scheme
// in any case, the key without surrounding space).
func bearerKey(r *http.Request) (string, bool) {
	scheme, key, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	key = strings.TrimSpace(key)
	return key, strings.EqualFold(scheme, "Bearer") && key != ""
}

// pathKey returns the {eventKey} path value of /e/{eventKey}, where
// Inngest's SDKs put the key.
func pathKey(r *http.Request) (string, bool) {
	key := r.PathValue("eventKey")
	return key, key != ""
}

// keyAuth is how a route checks its key: which keys open it, where the key
// is, and what a refusal says.
type keyAuth struct {
	// keys open the route. With public (the event routes), public keys
	// open it too, for the event names of PublicEventNames only (see
	// applyKeyScope). None of either configured leaves it open (cmd/server
	// allows that in development on a loopback address only).
	keys, public keySet
	// other are the keys of the other scopes: valid, but not here (403).
	other keySet
	// credential finds the key in the request.
	credential func(*http.Request) (string, bool)
	// challenge is the WWW-Authenticate header of a 401, if any.
	challenge string
	// unauthorized is the 401's message (no key, or an unknown one), and
	// forbidden the 403's (a key of another scope).
	unauthorized, forbidden string
}

// requireKey lets a request through when it carries one of a's keys,
// noting the key and its scope in the context (callerOf). The key is
// checked first, so a valid key is never refused for others' failures. A
// missing key is a 401; an unknown one is a failed attempt (see
// refuseFailed), a 401 until its client address has used up its attempts
// with that key, then a 429. A key of another scope is a 403 that says
// which key the route needs.
func (s *server) requireKey(a keyAuth, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(a.keys) == 0 && len(a.public) == 0 {
			next(w, r)
			return
		}
		key, ok := a.credential(r)
		switch {
		case ok && a.keys.match(key):
			next(w, withCaller(r, caller{key: key}))
		case ok && a.public.match(key):
			next(w, withCaller(r, caller{key: key, public: true}))
		case ok && a.other.match(key):
			s.writeError(w, r, apperr.Errorf(apperr.Forbidden, "%s", a.forbidden))
		default:
			// A request without a key is no guess.
			if ok && s.refuseFailed(w, r, key) {
				return
			}
			if a.challenge != "" {
				w.Header().Set("WWW-Authenticate", a.challenge)
			}
			s.writeError(w, r, apperr.Errorf(apperr.Unauthorized, "%s", a.unauthorized))
		}
	}
}

// requireAdmin puts basic auth (ADMIN_USER/ADMIN_PASSWORD) in front of h;
// without credentials configured (development on loopback only) h is open.
// Right credentials always pass; wrong ones are failed attempts, as in
// requireKey; an event or API key (Bearer) is a 403 that says admin routes
// need the admin credentials.
func (s *server) requireAdmin(h http.Handler) http.Handler {
	if s.AdminUser == "" && s.AdminPassword == "" {
		return h
	}
	wantUser, wantPass := sha256.Sum256([]byte(s.AdminUser)), sha256.Sum256([]byte(s.AdminPassword))
	otherKeys := slices.Concat(newKeySet(s.EventKeys), newKeySet(s.PublicEventKeys), newKeySet(s.APIKeys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
		match := subtle.ConstantTimeCompare(gotUser[:], wantUser[:]) & subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if ok && match == 1 {
			h.ServeHTTP(w, r)
			return
		}
		if key, bearer := bearerKey(r); bearer && otherKeys.match(key) {
			s.writeError(w, r, apperr.Errorf(apperr.Forbidden, "This is an event or API key; admin routes take the admin credentials (ADMIN_USER, ADMIN_PASSWORD) with basic auth."))
			return
		}
		// A browser's first request, without credentials, is no guess.
		if ok && s.refuseFailed(w, r, user+":"+pass) {
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="mohallamart admin", charset="UTF-8"`)
		s.writeError(w, r, apperr.Errorf(apperr.Unauthorized, "Admin credentials are required."))
	})
}

// addressFailureFactor is how many times more failed authentication
// attempts a client address may make, over all credentials, than with one.
const addressFailureFactor = 10

// refuseFailed counts a failed authentication attempt with credential
// (an unknown key, wrong admin credentials) from the request's client
// address. Failures are limited per client address and credential, and
// per address over all credentials (addressFailureFactor times as many),
// so guessing goes no faster than AuthFailureBurst and AuthFailureEvery
// allow, whether a guesser repeats a credential or tries a new one each
// time. Right credentials are checked before this and never held up.
// Past a limit it answers 429 and returns true; otherwise the caller
// answers 401.
func (s *server) refuseFailed(w http.ResponseWriter, r *http.Request, credential string) bool {
	now, addr := time.Now(), s.clientIP(r)
	// The address's limit comes first: an address past it adds no entry
	// per credential, so a flood of new guesses does not grow the table.
	wait := s.addrFailures.take(addr, now)
	if wait <= 0 {
		h := sha256.Sum256([]byte(credential))
		wait = s.authFailures.take(addr+" "+hex.EncodeToString(h[:16]), now)
	}
	if wait <= 0 {
		return false
	}
	setRetryAfter(w, wait)
	s.writeError(w, r, apperr.Errorf(apperr.RateLimited, "Too many failed authentication attempts from this address; retry later."))
	return true
}

// setRetryAfter sets Retry-After to wait in whole seconds, rounded up.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
}

// rateLimit answers 429 with Retry-After once a key has used up its burst
// and is sending faster than its rate.
func (s *server) rateLimit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wait := s.limiter.take(s.rateKey(r), time.Now()); wait > 0 {
			setRetryAfter(w, wait)
			s.writeError(w, r, apperr.Errorf(apperr.RateLimited, "Rate limit exceeded (%g requests per second per key); retry later.", s.limiter.rate))
			return
		}
		next(w, r)
	}
}

// limiter is a token bucket per key, refilled at rate tokens per second up
// to burst. Buckets idle long enough to be full again are dropped.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: make(map[string]*bucket)}
}

// take spends a token of key and returns 0, or returns how long until a
// token is available.
func (l *limiter) take(key string, now time.Time) time.Duration {
	if l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	if now.Sub(l.swept) > full {
		for k, b := range l.buckets {
			if now.Sub(b.at) > full {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.refill(l, now)
	if b.tokens < 1 {
		return l.until(b)
	}
	b.tokens--
	return 0
}

// refill adds the tokens earned since the bucket was last used.
func (b *bucket) refill(l *limiter, now time.Time) {
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
}

// until is how long until b has a whole token.
func (l *limiter) until(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
