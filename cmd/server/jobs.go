package main

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// buildJobs returns the workers and periodic jobs a worker process runs.
// (Workers are added as the background functions land.)
func buildJobs(_ context.Context, _ Config, _ *pgxpool.Pool, _ *slog.Logger) (*river.Workers, []*river.PeriodicJob, error) {
	return nil, nil, nil
}
