package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

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
	// OpsOnly serves only /healthz, /readyz and /metrics (ROLE=worker); the
	// fields below are then unused.
	OpsOnly bool

	// Outbox stores events and enqueues their jobs.
	Outbox *outbox.Outbox
	// Mart performs the domain writes of the REST routes.
	Mart *mart.Service
	// Search answers GET /v1/search/products.
	Search ProductSearcher
	// RiverUI, when set, is served at /riverui/ behind admin basic auth and
	// cross-origin protection (see NewRiverUI).
	RiverUI http.Handler

	// EventKeys are the accepted event keys (EVENT_KEYS). Empty turns event
	// key auth off, which cmd/server allows in development only.
	EventKeys []string
	// AdminUser and AdminPassword guard River UI with basic auth; both
	// empty leaves it open (development only).
	AdminUser, AdminPassword string
	// RateLimit is the requests per second each event key (or, with auth
	// off, each client address) may send to the /v1 and /e routes; 0 turns
	// the limit off. RateBurst is how many may come at once (default: 2 s
	// worth of RateLimit).
	RateLimit float64
	RateBurst int
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
	return nil
}

// server is the state the handlers share.
type server struct {
	Opts
	keys    eventKeys
	limiter *limiter
}

// NewHandler returns the whole HTTP handler stack: the routes the README
// lists, on a ServeMux, wrapped in request ids, logging, metrics and panic
// recovery. It adds the readiness gauge (mohallamart_ready) to the
// registry of opts.Metrics, so each Metrics serves one handler.
func NewHandler(opts Opts) (http.Handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &server{Opts: opts, keys: newEventKeys(opts.EventKeys), limiter: newLimiter(opts.RateLimit, opts.RateBurst)}
	if err := opts.Metrics.registerReadiness(s.unready); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", opts.Metrics.Handler())
	if !opts.OpsOnly {
		s.routes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.Errorf(apperr.NotFound, "No route matches %s %s.", r.Method, r.URL.Path))
	})
	return s.observe(mux), nil
}

// routes registers the API routes.
func (s *server) routes(mux *http.ServeMux) {
	v1 := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, s.requireBearer(s.rateLimit(s.withDBTimeout(h))))
	}
	v1("POST /v1/events", s.postEvents)
	mux.HandleFunc("POST /e/{eventKey}", s.requirePathKey(s.rateLimit(s.withDBTimeout(s.postEvents))))
	v1("GET /v1/events/{id}", s.getEvent)

	v1("POST /v1/users", s.createUser)
	v1("GET /v1/users/{id}", s.getUser)
	v1("PATCH /v1/users/{id}", s.updateUser)
	v1("DELETE /v1/users/{id}", s.deleteUser)
	v1("POST /v1/shops", s.createShop)
	v1("GET /v1/shops/{id}", s.getShop)
	v1("POST /v1/products", s.createProduct)
	v1("GET /v1/products/{id}", s.getProduct)
	v1("PATCH /v1/products/{id}", s.updateProduct)
	v1("DELETE /v1/products/{id}", s.deleteProduct)
	v1("POST /v1/orders", s.placeOrder)
	v1("GET /v1/orders/{id}", s.getOrder)
	v1("PATCH /v1/orders/{id}", s.updateOrder)
	v1("POST /v1/orders/{id}/cancel", s.cancelOrder)
	v1("GET /v1/search/products", s.searchProducts)

	if s.RiverUI != nil {
		mux.Handle("/riverui/", s.requireAdmin(http.NewCrossOriginProtection().Handler(s.RiverUI)))
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
// migration is pending. Otherwise 503 with the reason.
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
	if err := s.DB.Ping(ctx); err != nil {
		return "database unreachable: " + err.Error()
	}
	n, err := s.Migrator.Pending(ctx)
	if err != nil {
		return "cannot read migration status: " + err.Error()
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
