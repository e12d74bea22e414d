// Command server runs MohallaMart's background-job platform: the HTTP API
// (REST and the Inngest-compatible event API), the River workers, or both,
// and its database migrations.
//
// Usage:
//
//	server [serve] [-migrate]     run the server (ROLE: all, api or worker)
//	server migrate up             apply every pending migration
//	server migrate down           roll back the newest migration
//	server migrate reset          roll back every migration
//	server migrate status         list migrations and whether each is applied
//	server seed                   create the demo neighbourhood (idempotent)
//	server db-url                 print the database URL (DATABASE_URL or the private cluster's)
//	server events replay ...      enqueue the functions of stored events again
//	server jobs failed ...        list the failed jobs, grouped by kind and error
//	server jobs retry ...         retry failed jobs in bulk
//	server version                print the server's, River's and Go's versions
//	server help                   list the commands (also -h, --help)
//
// Configuration comes from the environment; see .env.example.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/internal/pgcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	getenv, err := withEnvFile(".env", os.Getenv)
	if err == nil {
		err = run(ctx, os.Args[1:], getenv, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its environment passed in so tests can run
// it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if handled, err := infoCommand(args, stdout); handled {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)

	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		migrate := fs.Bool("migrate", cfg.MigrateOnStart, "apply pending migrations before serving (MIGRATE_ON_START)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg.MigrateOnStart = *migrate
		return serve(ctx, cfg, logger, stdout)
	case "migrate":
		return migrateCmd(ctx, cfg, logger, args, stdout)
	case "seed":
		return seedCmd(ctx, cfg, logger, args, stdout)
	case "db-url":
		return dbURLCmd(ctx, cfg, args, stdout)
	case "events":
		return eventsCmd(ctx, cfg, logger, args, stdout)
	case "jobs":
		return jobsCmd(ctx, cfg, logger, args, stdout)
	case "functions":
		return functionsCmd(ctx, cfg, logger, args, stdout)
	case "runs":
		return runsCmd(ctx, cfg, logger, args, stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, seed, db-url, events, jobs, functions, runs, version or help)", cmd)
	}
}

// newLogger logs JSON in production and text in development, at LOG_LEVEL,
// adding the request id or job id and kind its context carries (logctx).
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by loadConfig
	opts := &slog.HandlerOptions{Level: level}
	if cfg.AppEnv == "production" {
		return slog.New(logctx.NewHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(logctx.NewHandler(slog.NewTextHandler(w, opts)))
}

// clusterUse says how a command may share the private cluster under
// DATA_DIR with other processes.
type clusterUse int

const (
	// shareCluster uses the private cluster whoever started it, and stops
	// it on exit only if this process started it (migrate, seed).
	shareCluster clusterUse = iota

	// ownCluster refuses to run while another live process owns the private
	// cluster (serve: two servers on one DATA_DIR would fight over it).
	ownCluster
)

// database is an open pool and, when DATABASE_URL is unset, the private
// cluster it connects to.
type database struct {
	pool    *pgxpool.Pool
	cluster *pgcluster.Cluster // nil with DATABASE_URL
	logger  *slog.Logger
}

// Close closes the pool and stops the private cluster if this process
// started it; a cluster another process owns keeps running.
func (d *database) Close() {
	d.pool.Close()
	if d.cluster == nil {
		return
	}
	if err := d.cluster.Stop(context.Background()); err != nil {
		d.logger.Error("Stop private PostgreSQL cluster", slog.String("error", err.Error()))
	}
}

// openDatabase connects a pool of at most maxConns connections to
// DATABASE_URL or, when it is unset (development only), to the private
// cluster under DATA_DIR: the one already running there, or one it starts
// (and so owns, and stops on Close). With ownCluster it refuses a cluster
// another live process owns, naming that process.
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger, maxConns int, use clusterUse) (*database, error) {
	d := &database{logger: logger}
	url := cfg.DatabaseURL
	if url == "" {
		cluster, err := pgcluster.Start(ctx, pgcluster.Opts{Dir: cfg.DataDir, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL is unset, so a private PostgreSQL was to start under %s: %w", cfg.DataDir, err)
		}
		if use == ownCluster && !cluster.Owner {
			return nil, heldError(cfg.DataDir, cluster.OwnerPID, cluster.OwnerNote)
		}
		d.cluster = cluster
		url = cluster.URL("app")
		logger.InfoContext(ctx, "Using private PostgreSQL cluster", slog.String("dir", cfg.DataDir), slog.String("url", url),
			slog.Bool("owner", cluster.Owner), slog.Int("owner_pid", cluster.OwnerPID))
	}
	pool, err := newPool(ctx, url, cfg.DBTimeout, maxConns)
	if err != nil {
		if d.cluster != nil {
			_ = d.cluster.Stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	d.pool = pool
	return d, nil
}

// heldError tells that process pid, serving at note if it said so, holds
// the private cluster under dataDir.
func heldError(dataDir string, pid int, note string) error {
	who := fmt.Sprintf("pid %d", pid)
	if note != "" {
		who += ", the server at " + note
	}
	return fmt.Errorf("DATA_DIR %s is held by %s, which started its private PostgreSQL and stops it when it exits: "+
		"a second server there would lose its database then. Stop that process first, or run this one with another DATA_DIR or a DATABASE_URL", dataDir, who)
}

// newPool connects a pool of at most maxConns connections to url.
func newPool(ctx context.Context, url string, timeout time.Duration, maxConns int) (*pgxpool.Pool, error) {
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	// While PostgreSQL is down, connecting fails after DB_TIMEOUT instead of
	// hanging; the pool reconnects by itself once it is back.
	poolCfg.ConnConfig.ConnectTimeout = timeout
	poolCfg.MaxConns = int32(maxConns) //nolint:gosec // validated positive and small
	// JIT compilation off, unless DATABASE_URL sets jit: every statement
	// of this server reads or writes a few rows by index, and a plan
	// costed on statistics that lag a table's growth (a queue table that
	// filled between two autovacuum visits) passes jit_above_cost and is
	// compiled at every call, 50 to 450 ms each (measured in make bench's
	// 16-client phase). A SET, not a startup parameter, so PgBouncer
	// accepts it.
	if _, set := poolCfg.ConnConfig.RuntimeParams["jit"]; !set {
		poolCfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			if _, err := conn.Exec(ctx, "SET jit = off"); err != nil {
				return fmt.Errorf("turn JIT off: %w", err)
			}
			return nil
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

var errUsage = errors.New("usage: server migrate up|down|reset|status")
