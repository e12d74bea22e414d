package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/jobmetrics"
	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/runs"
	"github.com/mohallamart/backend/search"
)

// cancelGrace is the part of SHUTDOWN_TIMEOUT (at most a quarter of it)
// kept for running jobs to return once their contexts are cancelled, and
// cancelSlack how far past SHUTDOWN_TIMEOUT they may still take to return
// before the server gives up on them: it exits by SHUTDOWN_TIMEOUT +
// cancelSlack.
const (
	cancelGrace = 10 * time.Second
	cancelSlack = 2 * time.Second
)

// serve runs the server until ctx is cancelled (SIGINT/SIGTERM), then shuts
// down gracefully: it stops accepting connections and finishes in-flight
// requests, stops fetching jobs, gives running jobs SHUTDOWN_TIMEOUT to
// finish and then cancels them, so River retries them (here or in another
// process) instead of leaving them running.
//
// Its stages: open the pools, migrate (or check) the schema, start
// tracing, build the River client and its workers, build the HTTP
// handlers, start River, listen and serve until ctx is done, and shut
// down. What a stage opens is closed, by the defers here, in the reverse
// order.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, out io.Writer) (err error) {
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(ctx, cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	pools, err := openPools(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pools.close()
	migrator, err := migrateSchema(ctx, cfg, pools.api, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, migrator.Close()) }()
	tr, stopTracing, err := startTracing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	// Deferred before River and the HTTP servers start, so it runs after
	// both have stopped: the spans of the last requests and jobs are
	// flushed.
	defer func() { err = errors.Join(err, stopTracing()) }()

	httpMetrics, jobMetrics, err := newMetrics(pools.api)
	if err != nil {
		return err
	}
	rv, err := buildRiver(ctx, cfg, pools.workers, jobMetrics, tr, logger)
	if err != nil {
		return err
	}
	// Background services (River UI's, the job metrics) stop when the server
	// is done, after the River client.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	servers, err := buildHandlers(ctx, bgCtx, cfg, pools.api, migrator, httpMetrics, rv, tr, logger)
	if err != nil {
		return err
	}

	if rv.working {
		// Subscribed before the client starts, so every job is counted.
		jobMetrics.ObserveJobs(bgCtx, rv.client)
		// Started detached from ctx: the signal must not stop River before
		// the HTTP server has drained; it is stopped in shutDown.
		if err := rv.client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start River client: %w", err)
		}
	}
	return runServers(ctx, cfg, servers, pools, rv, logger, out)
}

// startCPUProfile writes the process's CPU profile to path until ctx is
// done (the signal, before the shutdown's own work) or stop is called,
// whichever is first.
func startCPUProfile(ctx context.Context, path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("CPU_PROFILE: %w", err)
	}
	var (
		once     sync.Once
		closeErr error
	)
	stop = func() error {
		once.Do(func() {
			pprof.StopCPUProfile()
			closeErr = f.Close()
		})
		return closeErr
	}
	context.AfterFunc(ctx, func() { _ = stop() })
	return stop, nil
}

// pools are the process's connection pools. Two in ROLE=all, so busy
// workers can never take the connections the HTTP API needs (and the
// other way round): api serves HTTP, workers River and the jobs. A
// single-role process has one, which both name.
type pools struct {
	db           *database // api, and the private cluster if this process started it
	api, workers *pgxpool.Pool
}

// openPools opens the pools, sized by cfg.poolShares.
func openPools(ctx context.Context, cfg Config, logger *slog.Logger) (*pools, error) {
	apiConns, workerConns := cfg.poolShares()
	first := apiConns
	if first == 0 {
		first = workerConns
	}
	d, err := openDatabase(ctx, cfg, logger, first, ownCluster)
	if err != nil {
		return nil, err
	}
	p := &pools{db: d, api: d.pool, workers: d.pool}
	if apiConns > 0 && workerConns > 0 {
		if p.workers, err = newPool(ctx, d.pool.Config().ConnString(), cfg.DBTimeout, workerConns); err != nil {
			d.Close()
			return nil, err
		}
	}
	return p, nil
}

// close closes the workers' pool, then the database (and the cluster).
func (p *pools) close() {
	if p.workers != p.api {
		p.workers.Close()
	}
	p.db.Close()
}

// migrateSchema applies the pending migrations when MIGRATE_ON_START is
// on, and returns the migrator (for /readyz and the admin routes) once the
// database has a schema (see requireSchema).
func migrateSchema(ctx context.Context, cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*db.Migrator, error) {
	if cfg.MigrateOnStart {
		if err := db.Migrate(ctx, pool); err != nil {
			return nil, err
		}
		logger.InfoContext(ctx, "Migrations applied")
	}
	migrator, err := db.NewMigrator(pool)
	if err != nil {
		return nil, err
	}
	if err := requireSchema(ctx, migrator); err != nil {
		return nil, errors.Join(err, migrator.Close())
	}
	return migrator, nil
}

// startTracing starts exporting traces when cfg says so; stop flushes and
// stops the exporter, within cancelGrace.
func startTracing(ctx context.Context, cfg Config, logger *slog.Logger) (tracing, func() error, error) {
	tr, stopTracing, err := newTracing(ctx, cfg)
	if err != nil {
		return tracing{}, nil, err
	}
	if cfg.Tracing {
		logger.InfoContext(ctx, "Traces exported over OTLP", slog.String("service_name", cfg.ServiceName))
	}
	return tr, func() error {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
		defer cancel()
		return stopTracing(flushCtx)
	}, nil
}

// riverSide is the process's River client and function registry.
type riverSide struct {
	client *river.Client[pgx.Tx]
	reg    *fn.Registry
	// working: the client works jobs (ROLE all or worker); without, it
	// only inserts them (ROLE=api).
	working bool
}

// buildRiver builds the River client on the workers' pool: with the
// workers, periodic jobs and queues unless ROLE=api, whose client only
// inserts jobs (it has the registry's routing table, to publish).
func buildRiver(ctx context.Context, cfg Config, pool *pgxpool.Pool, jobMetrics *jobmetrics.Metrics, tr tracing, logger *slog.Logger) (riverSide, error) {
	riverCfg := &river.Config{
		Logger:            logger,
		FetchCooldown:     cfg.FetchCooldown,
		FetchPollInterval: cfg.FetchPoll,
		// The job's log attributes, then the capture of its lines for the
		// operator's console (run_logs), then tracing.
		Middleware: append([]rivertype.Middleware{&logctx.JobMiddleware{}, runs.NewLogMiddleware(pool, logger)}, tr.jobMiddleware()...),
	}
	applyTestSettings(ctx, cfg, riverCfg, logger)
	var (
		reg *fn.Registry
		err error
	)
	if cfg.Role != RoleAPI {
		js, err := buildJobs(ctx, cfg, pool, logger, jobMetrics)
		if err != nil {
			return riverSide{}, err
		}
		js.apply(riverCfg)
		riverCfg.Queues = jobs.Queues(cfg.QueueWorkers, cfg.FetchCooldown, cfg.FetchPoll)
		reg = js.registry
	} else if reg, err = registry(cfg, pool, logger); err != nil {
		return riverSide{}, err
	}
	// Runs are inserted with River's insert when the client has insert
	// middleware or hooks (tracing writes each run's trace context,
	// TEST_MAX_ATTEMPTS caps attempts); notifications are spaced as River
	// spaces its own.
	reg.SetInsertOptions(fn.InsertOptions{
		ThroughRiver: slices.ContainsFunc(riverCfg.Middleware, func(m rivertype.Middleware) bool {
			_, ok := m.(rivertype.JobInsertMiddleware)
			return ok
		}) || slices.ContainsFunc(riverCfg.Hooks, func(h rivertype.Hook) bool {
			_, ok := h.(rivertype.HookInsertBegin)
			return ok
		}),
		NotifyCooldown: cfg.FetchCooldown,
	})
	// Without Workers the client is insert-only: ROLE=api enqueues jobs and
	// works none.
	client, err := river.NewClient(riverpgxv5.New(pool), riverCfg)
	if err != nil {
		return riverSide{}, fmt.Errorf("create River client: %w", err)
	}
	return riverSide{client: client, reg: reg, working: riverCfg.Workers != nil}, nil
}

// buildHandlers builds what the process serves over HTTP (httpServers):
// the API unless ROLE=worker, and the operations routes. River UI's
// background work runs on bgCtx.
func buildHandlers(ctx, bgCtx context.Context, cfg Config, pool *pgxpool.Pool, migrator *db.Migrator, httpMetrics *httpapi.Metrics,
	rv riverSide, tr tracing, logger *slog.Logger,
) ([]httpServer, error) {
	opts := httpapi.Opts{
		Logger: logger, DB: pool, Migrator: migrator, Metrics: httpMetrics,
		OpsOnly:   cfg.Role == RoleWorker,
		EventKeys: cfg.EventKeys, PublicEventKeys: cfg.PublicEventKeys, PublicEventNames: cfg.PublicEventNames,
		APIKeys: cfg.APIKeys, CORSOrigins: cfg.CORSOrigins, AdminUser: cfg.AdminUser, AdminPassword: cfg.AdminPassword,
		TrustedProxies: cfg.TrustedProxies, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, DBTimeout: cfg.DBTimeout,
		DevMailbox:        cfg.AppEnv == "development",
		LoopbackHostsOnly: cfg.AppEnv == "development",
	}
	if !opts.OpsOnly {
		ob := outbox.New(rv.client, rv.reg)
		opts.Outbox, opts.Routes = ob, rv.reg
		opts.Mart = mart.NewService(pool, ob)
		opts.Control = control.New(pool, rv.client, rv.reg)
		opts.Runs = runs.New(pool, rv.reg)
		var err error
		if opts.Search, err = searchBackend(ctx, cfg, pool, logger); err != nil {
			return nil, err
		}
		if opts.RiverUI, err = httpapi.NewRiverUI(bgCtx, rv.client, logger); err != nil {
			return nil, err
		}
		warnOpenAuth(ctx, cfg, logger)
	}
	return httpServers(cfg, opts, tr)
}

// runServers listens on every server's address, serves until ctx is done
// or a server fails, then shuts down (shutDown). River is stopped on every
// way out.
func runServers(ctx context.Context, cfg Config, servers []httpServer, pools *pools, rv riverSide, logger *slog.Logger, out io.Writer) error {
	lns := make([]net.Listener, len(servers))
	for i, hs := range servers {
		var err error
		if lns[i], err = net.Listen("tcp", hs.addr); err != nil {
			for _, ln := range lns[:i] {
				_ = ln.Close()
			}
			return errors.Join(fmt.Errorf("listen on %s (%s): %w", hs.addr, hs.name, err),
				stopRiver(ctx, time.Now().Add(cfg.ShutdownTimeout), rv.client, rv.working, logger))
		}
	}
	srvs := make([]*http.Server, len(servers))
	for i, hs := range servers {
		srvs[i] = &http.Server{
			Handler:           hs.handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
	}
	addr := lns[0].Addr().String()
	if pools.db.cluster != nil {
		// A command that adopts the cluster can then say whose it is.
		if err := pools.db.cluster.SetOwnerNote(baseURL(addr)); err != nil {
			logger.WarnContext(ctx, "Record the server's address in DATA_DIR", slog.String("error", err.Error()))
		}
	}
	opsAddr := addr
	if len(lns) > 1 {
		opsAddr = lns[1].Addr().String()
	}
	// Printed before the first request is answered, so whoever sees an
	// answer can also read where everything is.
	printReady(out, cfg, addr, opsAddr, pools.api)
	errc := make(chan error, len(srvs))
	for i, srv := range srvs {
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	logger.InfoContext(ctx, "Serving", slog.String("addr", addr), slog.String("ops_addr", opsAddr), slog.String("role", cfg.Role),
		slog.Bool("works_jobs", rv.working))

	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("http server: %w", err),
			stopRiver(ctx, time.Now().Add(cfg.ShutdownTimeout), rv.client, rv.working, logger))
	case <-ctx.Done():
	}
	return shutDown(ctx, cfg, srvs, rv, logger)
}

// shutDown drains the HTTP servers and River at the same time, with one
// deadline for both: the process exits by SHUTDOWN_TIMEOUT.
func shutDown(ctx context.Context, cfg Config, srvs []*http.Server, rv riverSide, logger *slog.Logger) error {
	deadline := time.Now().Add(cfg.ShutdownTimeout)
	logger.InfoContext(ctx, "Shutting down: draining HTTP requests and running jobs",
		slog.Duration("shutdown_timeout", cfg.ShutdownTimeout))
	var (
		wg       sync.WaitGroup
		riverErr error
	)
	wg.Go(func() { riverErr = stopRiver(ctx, deadline, rv.client, rv.working, logger) })
	httpCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	for _, srv := range srvs {
		wg.Go(func() {
			if err := srv.Shutdown(httpCtx); err != nil {
				logger.WarnContext(ctx, "HTTP requests still running at SHUTDOWN_TIMEOUT were cut off", slog.String("error", err.Error()))
			}
		})
	}
	wg.Wait()
	if riverErr != nil {
		return riverErr
	}
	logger.InfoContext(ctx, "Stopped")
	return nil
}

// httpServer is a listener's address and what it serves.
type httpServer struct {
	name, addr string
	handler    http.Handler
}

// httpServers returns what the process listens on, the main listener
// first: the API (ROLE all or api) on ADDR, and the operations routes
// (/healthz, /readyz, /metrics) on OPS_ADDR. Without OPS_ADDR (development)
// the operations routes are on ADDR with the API. A worker serves only
// the operations routes: on OPS_ADDR, or without it on ADDR.
func httpServers(cfg Config, opts httpapi.Opts, tr tracing) ([]httpServer, error) {
	var out []httpServer
	if !opts.OpsOnly {
		apiOpts := opts
		apiOpts.OmitMetrics = cfg.OpsAddr != ""
		h, err := httpapi.NewHandler(apiOpts)
		if err != nil {
			return nil, err
		}
		out = append(out, httpServer{name: "API", addr: cfg.Addr, handler: tr.handler(h)})
		if cfg.OpsAddr == "" {
			return out, nil
		}
	}
	opsOpts := opts
	opsOpts.OpsOnly = true
	h, err := httpapi.NewHandler(opsOpts)
	if err != nil {
		return nil, err
	}
	addr := cfg.OpsAddr
	if addr == "" {
		addr = cfg.Addr
	}
	return append(out, httpServer{name: "operations", addr: addr, handler: h}), nil
}

// stopRiver stops fetching jobs and lets running jobs finish until a grace
// period before deadline (cancelGrace, at most a quarter of the time
// left); then it cancels their contexts and waits for them to return, until
// cancelSlack past deadline at the latest. River makes cancelled jobs
// available again (to be worked by another process) rather than leaving
// them running.
func stopRiver(ctx context.Context, deadline time.Time, client *river.Client[pgx.Tx], working bool, logger *slog.Logger) error {
	if !working {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	grace := min(cancelGrace, time.Until(deadline)/4)
	softCtx, cancel := context.WithDeadline(ctx, deadline.Add(-grace))
	defer cancel()
	err := client.Stop(softCtx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop River client: %w", err)
	}
	logger.WarnContext(ctx, "Jobs still running near SHUTDOWN_TIMEOUT; cancelling them so they are retried")
	hardCtx, cancelHard := context.WithDeadline(ctx, deadline.Add(cancelSlack))
	defer cancelHard()
	if err := client.StopAndCancel(hardCtx); err != nil {
		return fmt.Errorf("stop River client after cancelling jobs: %w", err)
	}
	return nil
}

// searchBackend returns Typesense when TYPESENSE_URL and TYPESENSE_API_KEY
// are set (as the index jobs do) and Postgres full-text search otherwise,
// and says which.
func searchBackend(ctx context.Context, cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (httpapi.ProductSearcher, error) {
	ix, err := typesenseIndex(cfg)
	if err != nil {
		return nil, err
	}
	if ix != nil {
		logger.InfoContext(ctx, "Product search uses Typesense", slog.String("url", cfg.TypesenseURL))
		return ix, nil
	}
	logger.InfoContext(ctx, "Product search uses Postgres full-text search")
	return search.NewPostgres(pool), nil
}

// warnOpenAuth says at start which routes are open because their secrets
// are unset (loadConfig allows that only in development on a loopback
// address).
func warnOpenAuth(ctx context.Context, cfg Config, logger *slog.Logger) {
	if len(cfg.EventKeys) == 0 {
		logger.WarnContext(ctx, "EVENT_KEYS is unset: POST /v1/events and /e/{eventKey} accept events without a key (development on loopback only)")
	}
	if len(cfg.APIKeys) == 0 {
		logger.WarnContext(ctx, "API_KEYS is unset: the REST routes (users, shops, products, orders, events, search) accept requests without a key (development on loopback only)")
	}
	if cfg.AdminUser == "" && cfg.AdminPassword == "" {
		logger.WarnContext(ctx, "ADMIN_USER and ADMIN_PASSWORD are unset: River UI is open to anyone who can reach it (development on loopback only)")
	}
}

// requireSchema refuses to serve a database that no migration was ever
// applied to: neither the domain tables nor River's exist, so nothing
// could work. A database with only some migrations pending (an upgrade
// under way) is served, and /readyz answers 503 until they are applied.
func requireSchema(ctx context.Context, migrator *db.Migrator) error {
	st, err := migrator.Status(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		if s.State != goose.StatePending {
			return nil
		}
	}
	return errors.New("the database has no tables yet: run `server migrate up` (or start with MIGRATE_ON_START=true) first")
}
