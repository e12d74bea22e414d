package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobs"
)

// serve runs the server until ctx is cancelled (SIGINT/SIGTERM).
func serve(ctx context.Context, cfg Config, logger *slog.Logger) error {
	pool, closePool, err := openPool(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closePool()
	if cfg.MigrateOnStart {
		if err := db.Migrate(ctx, pool); err != nil {
			return err
		}
		logger.InfoContext(ctx, "Migrations applied")
	}

	riverCfg := &river.Config{Logger: logger}
	if cfg.Role != RoleAPI {
		workers, periodic, err := buildJobs(ctx, cfg, pool, logger)
		if err != nil {
			return err
		}
		if workers != nil {
			riverCfg.Workers = workers
			riverCfg.PeriodicJobs = periodic
			riverCfg.Queues = jobs.Queues(0)
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), riverCfg)
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	if riverCfg.Workers != nil {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("start River client: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: cfg.Addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.InfoContext(ctx, "Serving", slog.String("addr", cfg.Addr), slog.String("role", cfg.Role))

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if riverCfg.Workers != nil {
		err = errors.Join(err, client.Stop(shutdownCtx))
	}
	return err
}
