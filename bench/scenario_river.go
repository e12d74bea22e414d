package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// rawCeilingName is the raw River figure the pipeline's jobs/s is compared
// with.
const rawCeilingName = "jobs/s worked (ceiling)"

// Tuning of the raw River client: many workers, and fetching again soon
// after each fetch instead of River's defaults (100 ms cooldown, 1 s poll).
const (
	rawFetchCooldown     = 5 * time.Millisecond
	rawFetchPollInterval = 50 * time.Millisecond
	rawInsertBatch       = 2000
)

// noopArgs is a job that does nothing.
type noopArgs struct {
	N int `json:"n"`
}

// Kind is the job kind of noopArgs.
func (noopArgs) Kind() string { return "bench_noop" }

// noopWorker works noopArgs by doing nothing.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

// Work returns at once.
func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// rawRiverScenario: the ceiling of River on this machine and database, no
// application code: no-op jobs inserted with InsertManyFast, then worked by
// a tuned in-process client.
func rawRiverScenario(p plan) *scenario {
	s := scenarioRawRiver
	var (
		insert = figureSpec{Scenario: s, Name: fmt.Sprintf("jobs/s inserted (InsertManyFast, batches of %d)", rawInsertBatch), Unit: "jobs/s"}
		worked = figureSpec{Scenario: s, Name: rawCeilingName, Unit: "jobs/s"}
	)
	return &scenario{
		name: s,
		how: fmt.Sprintf("In process: %d no-op jobs inserted with InsertManyFast, then a River client (one queue, %d workers, "+
			"FetchCooldown %s, FetchPollInterval %s, pool of 20 connections) started and timed until the last job_completed event.",
			p.RawJobs, p.RiverWorkers, rawFetchCooldown, rawFetchPollInterval),
		figures: []figureSpec{insert, worked},
		run: func(ctx context.Context, b *bench, _ int) error {
			dbURL, err := b.dbs.fresh(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = b.dbs.drop(context.WithoutCancel(ctx), dbURL) }()
			cfg, err := pgxpool.ParseConfig(dbURL)
			if err != nil {
				return fmt.Errorf("parse database URL: %w", err)
			}
			cfg.MaxConns = 20
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			defer pool.Close()

			workers := river.NewWorkers()
			river.AddWorker(workers, noopWorker{})
			client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
				Logger:            slog.New(slog.DiscardHandler),
				Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: p.RiverWorkers}},
				FetchCooldown:     rawFetchCooldown,
				FetchPollInterval: rawFetchPollInterval,
				Workers:           workers,
			})
			if err != nil {
				return fmt.Errorf("create River client: %w", err)
			}

			begin := time.Now()
			params := make([]river.InsertManyParams, 0, rawInsertBatch)
			for i := 0; i < p.RawJobs; i += rawInsertBatch {
				params = params[:0]
				for j := i; j < min(i+rawInsertBatch, p.RawJobs); j++ {
					params = append(params, river.InsertManyParams{Args: noopArgs{N: j}})
				}
				if _, err := client.InsertManyFast(ctx, params); err != nil {
					return fmt.Errorf("insert jobs: %w", err)
				}
			}
			b.res.add(insert, perSecond(p.RawJobs, time.Since(begin)))

			events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
				ChanSize: p.RawJobs + 1000, Kinds: []river.EventKind{river.EventKindJobCompleted},
			})
			defer cancel()
			start := time.Now()
			if err := client.Start(ctx); err != nil {
				return fmt.Errorf("start River client: %w", err)
			}
			defer func() {
				stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer stop()
				_ = client.Stop(stopCtx)
			}()
			deadline := time.After(b.plan.DrainTimeout)
			for done := 0; done < p.RawJobs; {
				select {
				case <-events:
					done++
				case <-deadline:
					b.res.fail(worked, fmt.Sprintf("did not drain within %s (%d of %d jobs)", b.plan.DrainTimeout, done, p.RawJobs))
					b.res.add(worked, perSecond(done, time.Since(start)))
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			b.res.add(worked, perSecond(p.RawJobs, time.Since(start)))
			return nil
		},
	}
}
