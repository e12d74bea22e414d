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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/internal/pgcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
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
	case "events":
		return eventsCmd(ctx, cfg, logger, args, stdout)
	case "jobs":
		return jobsCmd(ctx, cfg, logger, args, stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, seed, events, jobs, version or help)", cmd)
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

// openPool connects to DATABASE_URL or, when it is unset (development only),
// to a private cluster it starts under DATA_DIR. The returned close function
// closes the pool and stops that cluster.
func openPool(ctx context.Context, cfg Config, logger *slog.Logger, maxConns int) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	stopCluster := func() {}
	if url == "" {
		cluster, err := pgcluster.Start(ctx, pgcluster.Opts{Dir: cfg.DataDir, Logger: logger})
		if err != nil {
			return nil, nil, fmt.Errorf("DATABASE_URL is unset, so a private PostgreSQL was to start under %s: %w", cfg.DataDir, err)
		}
		url = cluster.URL("app")
		logger.InfoContext(ctx, "Started private PostgreSQL cluster", slog.String("dir", cfg.DataDir), slog.String("url", url))
		stopCluster = func() {
			if err := cluster.Stop(context.Background()); err != nil {
				logger.Error("Stop private PostgreSQL cluster", slog.String("error", err.Error()))
			}
		}
	}
	pool, err := newPool(ctx, url, cfg.DBTimeout, maxConns)
	if err != nil {
		stopCluster()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); stopCluster() }, nil
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
