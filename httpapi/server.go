package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/runs"
)

// Routes says whether events of a name start any function: fn.Registry.
type Routes interface {
	Routed(name string) bool
}

// Opts are the dependencies and settings of the handler stack.
type Opts struct {
	// Logger receives one line per request (with its request id) and every
	// server-side failure. Required.
	Logger *slog.Logger
	// DB is the pool the event API publishes through and health, readiness
	// and event lookups read from. Required.
	DB *pgxpool.Pool
	// Migrator tells readiness whether migrations are pending. Required.
	Migrator *db.Migrator
	// Metrics count requests and events; their registry (with whatever
	// else the caller registered there) is served at /metrics. Required.
	Metrics *Metrics
	// OpsOnly serves only /healthz, /readyz and /metrics: a worker
	// (ROLE=worker), or the operations listener (OPS_ADDR) next to the API
	// handler; the fields below, but LoopbackHostsOnly, are then unused.
	OpsOnly bool
	// OmitMetrics leaves GET /metrics out: another handler of the same
	// Metrics (OpsOnly) serves it, on a listener of its own.
	OmitMetrics bool
	// LoopbackHostsOnly answers only requests whose Host is localhost,
	// 127.0.0.1 or [::1] (any port), and others with 421: for development,
	// so that a page of another site cannot reach the server through a
	// name of its own that resolves to this machine (DNS rebinding).
	LoopbackHostsOnly bool

	// Outbox stores events and enqueues their jobs.
	Outbox *outbox.Outbox
	// Routes says which event names start a function (the function
	// registry), for the unrouted-events log line and metric; nil: the
	// catalog's names.
	Routes Routes
	// Mart performs the domain writes of the REST routes.
	Mart *mart.Service
	// Search answers GET /v1/search/products.
	Search ProductSearcher
	// RiverUI, when set, is served at /riverui/ behind admin basic auth and
	// cross-origin protection (see NewRiverUI).
	RiverUI http.Handler
	// CORSOrigins (CORS_ORIGINS) are the browser origins that may send
	// events: the event ingest routes (POST /v1/events, POST /e/{eventKey}
	// and their OPTIONS preflight) answer them with CORS headers and take
	// their cross-origin requests, with public event keys only. No other
	// route does: every state-changing route refuses browsers'
	// cross-origin requests (403).
	CORSOrigins []string
	// Control, when set, serves the operator routes at /admin behind admin
	// basic auth: replay events, list and retry failed runs, pause and
	// resume functions, cancel runs.
	Control *control.Service
	// Runs, when set, serves the runs API (GET /admin/runs, GET
	// /admin/runs/{id}) and the operator's console at /admin/ behind admin
	// basic auth (docs/console.md).
	Runs *runs.Service
	// DevMailbox serves the development mailbox at /dev/mailbox: every
	// email, SMS and push in deliveries, and each email as its recipient
	// saw it, behind admin basic auth when that is configured. For
	// development only (cmd/server sets it when APP_ENV=development): it
	// shows what was sent to every user.
	DevMailbox bool

	// EventKeys (EVENT_KEYS) are server-side keys that may only send
	// events, of any name: POST /v1/events as Bearer keys, POST
	// /e/{eventKey} in the path. With PublicEventKeys empty too, those
	// routes are open, which cmd/server allows in development on a
	// loopback address only.
	EventKeys []string
	// PublicEventKeys (PUBLIC_EVENT_KEYS) are event keys for browser pages,
	// which show them to anyone: they send only the event names in
	// PublicEventNames (PUBLIC_EVENT_NAMES). A request of one with any
	// other name is a 403 that names the event, and stores nothing.
	PublicEventKeys  []string
	PublicEventNames []string
	// APIKeys (API_KEYS) open, as Bearer keys, the REST routes, GET
	// /v1/events/{id} and search; an event key there is refused with 403.
	// Empty leaves them open (development on loopback only).
	APIKeys []string
	// AdminUser and AdminPassword guard River UI and the /admin routes
	// with basic auth; both
	// empty leaves it open (development on loopback only).
	AdminUser, AdminPassword string
	// RateLimit is the requests per second each key (or, with auth off,
	// each client address) may send to the /v1 and /e routes; 0 turns the
	// limit off. RateBurst is how many may come at once (default: 2 s
	// worth of RateLimit).
	RateLimit float64
	RateBurst int
	// AuthFailureBurst is how many failed authentication attempts (unknown
	// key, wrong admin password) a client address may make at once with
	// one credential (default 10); it gets one more every AuthFailureEvery
	// (default 6 s). Past that, that credential from that address answers
	// 429. An address may make addressFailureFactor times as many failed
	// attempts in all, whatever the credentials, so guessing a new one
	// each time is no faster. Credentials are checked first: right ones
	// always pass.
	AuthFailureBurst int
	AuthFailureEvery time.Duration
	// TrustedProxies (TRUSTED_PROXIES) are the reverse proxies in front of
	// the server: a request from one of them is from the rightmost address
	// of X-Forwarded-For that is not one of them. Empty: the peer's
	// address, and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix
	// DBTimeout bounds each request's database work; past it the request
	// fails with 503. Default 5 s.
	DBTimeout time.Duration
}

func (o *Opts) validate() error {
	if o.Logger == nil || o.DB == nil || o.Migrator == nil || o.Metrics == nil {
		return errors.New("httpapi: Logger, DB, Migrator and Metrics are required")
	}
	if !o.OpsOnly && (o.Outbox == nil || o.Mart == nil || o.Search == nil) {
		return errors.New("httpapi: Outbox, Mart and Search are required unless OpsOnly")
	}
	if o.DBTimeout <= 0 {
		o.DBTimeout = 5 * time.Second
	}
	if o.RateBurst <= 0 {
		o.RateBurst = max(1, int(2*o.RateLimit))
	}
	if o.AuthFailureBurst <= 0 {
		o.AuthFailureBurst = 10
	}
	if o.AuthFailureEvery <= 0 {
		o.AuthFailureEvery = 6 * time.Second
	}
	return nil
}

// server is the state the handlers share.
type server struct {
	Opts
	limiter      *limiter // requests per key
	authFailures *limiter // failed authentication attempts per client address and credential
	addrFailures *limiter // failed authentication attempts per client address
	console      *consolePages
}

// NewHandler returns the whole HTTP handler stack: the routes
// docs/http-api.md lists, on a ServeMux, wrapped in request ids, logging, metrics, panic
// recovery, the development Host check (LoopbackHostsOnly) and, on every
// state-changing route, cross-origin protection. Unless OmitMetrics, it
// adds the readiness gauge (mohallamart_ready) to the registry of
// opts.Metrics, so each Metrics serves /metrics from one handler.
func NewHandler(opts Opts) (http.Handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &server{
		Opts:         opts,
		limiter:      newLimiter(opts.RateLimit, opts.RateBurst),
		authFailures: newLimiter(1/opts.AuthFailureEvery.Seconds(), opts.AuthFailureBurst),
		addrFailures: newLimiter(addressFailureFactor/opts.AuthFailureEvery.Seconds(), addressFailureFactor*opts.AuthFailureBurst),
	}
	if !opts.OmitMetrics {
		if err := opts.Metrics.registerReadiness(s.unready); err != nil {
			return nil, err
		}
	}
	sameOrigin, err := s.crossOriginProtection(nil)
	if err != nil {
		return nil, err
	}
	fromPages, err := s.crossOriginProtection(opts.CORSOrigins)
	if err != nil {
		return nil, err
	}
	if opts.Runs != nil && !opts.OpsOnly {
		if s.console, err = newConsolePages(); err != nil {
			return nil, err
		}
	}
	var pages *mailboxPages
	if opts.DevMailbox && !opts.OpsOnly {
		if pages, err = newMailboxPages(); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	for _, rt := range s.routeTable(pages) {
		cop := sameOrigin
		if rt.fromPages {
			cop = fromPages
		}
		mux.Handle(rt.pattern, cop.Handler(rt.handler))
	}
	mux.HandleFunc("/", s.noRoute(mux))
	return s.observe(s.loopbackHostsOnly(mux)), nil
}

// noRoute answers a request that no route takes: 405 with Allow listing
// the methods the path has routes for, or 404 when it has none, both in the
// API's error shape. (ServeMux answers 405 by itself only when no catch-all
// route matches, and in plain text.) The 405 does not repeat the path,
// which for /e/{eventKey} holds a key.
func (s *server) noRoute(mux *http.ServeMux) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, method := range methods {
			probe := r.WithContext(r.Context())
			probe.Method = method
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, method)
			}
		}
		if len(allow) == 0 {
			s.writeError(w, r, apperr.Errorf(apperr.NotFound, "No route matches %s %s.", r.Method, r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, apperr.Errorf(apperr.MethodNotAllowed, "Method %s is not allowed here; use %s.", r.Method, strings.Join(allow, ", ")))
	}
}

// withDBTimeout bounds the request's database work by DBTimeout.
func (s *server) withDBTimeout(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.DBTimeout)
		defer cancel()
		next(w, r.WithContext(ctx))
	}
}

// healthz says the process is up; it does not touch the database.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether the process can serve: the database answers and no
// migration is pending. Otherwise 503 with the reason; the route has no
// auth, so a database error's detail goes to the log, not the answer.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if reason := s.unready(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// unready says why the process cannot serve (the database does not answer
// within DBTimeout, or migrations are pending), or "" when it can.
func (s *server) unready(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, s.DBTimeout)
	defer cancel()
	// The reason is public (/readyz needs no auth): the detail goes to the log.
	if err := s.DB.Ping(ctx); err != nil {
		s.Logger.WarnContext(ctx, "Not ready: database unreachable", slog.String("error", err.Error()))
		return "database unreachable"
	}
	n, err := s.Migrator.Pending(ctx)
	if err != nil {
		s.Logger.WarnContext(ctx, "Not ready: cannot read migration status", slog.String("error", err.Error()))
		return "cannot read migration status"
	}
	if n > 0 {
		return fmt.Sprintf("%d migrations pending; run `server migrate up`", n)
	}
	return ""
}

// NewRiverUI builds River UI for client, served under /riverui, and starts
// its background services, which stop when ctx is done. The handler has no
// auth of its own: pass it as Opts.RiverUI, which puts it behind admin
// basic auth.
func NewRiverUI(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger,
		Prefix:    "/riverui",
	})
	if err != nil {
		return nil, fmt.Errorf("create River UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("start River UI: %w", err)
	}
	return h, nil
}
