package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// plan holds the sizes of a run: the full one (make bench) or the quick one
// (make bench-quick, about a minute: short loads, same number of repeats).
type plan struct {
	Quick   bool
	Repeats int

	// OutboxDuration is the length of each PlaceOrder measurement.
	OutboxDuration    time.Duration
	OutboxConcurrency []int

	// RawJobs no-op jobs are inserted, then worked by RiverWorkers workers.
	RawJobs      int
	RiverWorkers int

	// PipelineLoad is the length of each order-load phase, with
	// PipelineClients closed-loop clients or at FixedRate orders/s.
	PipelineLoad    time.Duration
	PipelineClients int
	FixedRate       float64

	// DrainOrders orders are taken by the API alone, then their jobs are
	// worked by a worker process alone (the job side's capacity).
	DrainOrders int

	// AnalyticsEvents are sent in batches of AnalyticsBatch.
	AnalyticsEvents int
	AnalyticsBatch  int

	// SlowPhase is the length of the healthy and the slow phase; the slow
	// fakes answer after SlowDelay; orders and product PATCHes come at
	// SlowOrderRate and SlowPatchRate per second, analytics/track events
	// at SlowTrackRate (in batches of AnalyticsBatch) and SMS
	// notifications at SlowSMSRate per second.
	SlowPhase     time.Duration
	SlowDelay     time.Duration
	SlowOrderRate float64
	SlowPatchRate float64
	SlowTrackRate float64
	SlowSMSRate   float64

	// PickupLoad is the length of the pickup phase at PickupRate jobs/s,
	// sent as PickupBatch events per request.
	PickupLoad  time.Duration
	PickupRate  float64
	PickupBatch int

	// BigRows finished jobs and as many events are stored before the big
	// tables run.
	BigRows int

	// DrainTimeout bounds every wait for a job backlog to drain.
	DrainTimeout time.Duration
	// RepeatTimeout bounds one repeat of one scenario.
	RepeatTimeout time.Duration
}

// newPlan returns the full or quick plan.
func newPlan(quick bool, repeats int) plan {
	p := plan{
		Quick: quick, Repeats: repeats,
		OutboxDuration: 5 * time.Second, OutboxConcurrency: []int{1, 8, 32},
		RawJobs: 100_000, RiverWorkers: 100,
		PipelineLoad: 60 * time.Second, PipelineClients: 16, FixedRate: 500,
		DrainOrders:     30_000,
		AnalyticsEvents: 100_000, AnalyticsBatch: 100,
		SlowPhase: 30 * time.Second, SlowDelay: 8 * time.Second, SlowOrderRate: 50, SlowPatchRate: 10,
		SlowTrackRate: 1000, SlowSMSRate: 20,
		PickupLoad: 20 * time.Second, PickupRate: 500, PickupBatch: 5,
		BigRows:       1_000_000,
		DrainTimeout:  5 * time.Minute,
		RepeatTimeout: 20 * time.Minute,
	}
	if quick {
		// Quick: short loads and small data sets, the same repeats. The
		// drain timeout is above every backlog target, so it changes no
		// verdict, only how long a backlog is waited for.
		p.OutboxDuration = 300 * time.Millisecond
		p.RawJobs = 5_000
		p.PipelineLoad = time.Second
		p.DrainOrders = 1_000
		p.AnalyticsEvents = 20_000
		p.SlowPhase = 1500 * time.Millisecond
		p.PickupLoad = time.Second
		p.BigRows = 50_000
		p.DrainTimeout = 10 * time.Second
		p.RepeatTimeout = 2 * time.Minute
	}
	return p
}

// bench is what scenarios share during a run.
type bench struct {
	plan      plan
	res       *results
	dbs       *databases
	serverBin string
	serverEnv []string
	logDir    string
	progress  func(format string, a ...any)
	// step reports a step within a repeat (with -v; otherwise nothing).
	step func(format string, a ...any)
	// keepLogs is set when a scenario failed to run, so its server logs
	// are kept for reading.
	keepLogs bool
	// prof writes -profile's profiles (nil without it).
	prof *profiler
}

// scenario is one benchmark: it runs plan.Repeats times and records figures.
type scenario struct {
	// name is what -only matches and the report shows.
	name string
	// covers are other scenario names whose figures this one records.
	covers []string
	// needs are scenarios that must run first (their figures are this
	// one's baselines).
	needs []string
	// server says the scenario runs the server binary.
	server bool
	// how says what is measured and how, for the report.
	how string
	// figures are declared before the first repeat, so a figure appears
	// (as FAIL) even when no repeat could measure it.
	figures []figureSpec
	// run performs one repeat (1-based).
	run func(ctx context.Context, b *bench, rep int) error
	// prepare, if set, runs once before the first repeat.
	prepare func(ctx context.Context, b *bench) error
	// cleanup, if set, runs once after the last repeat.
	cleanup func(ctx context.Context, b *bench)
}

// scenarios lists every scenario in the order they run.
func scenarios(p plan) []*scenario {
	return []*scenario{
		outboxScenario(p),
		rawRiverScenario(p),
		pipelineScenario(p),
		pickupScenario(p),
		analyticsScenario(p),
		slowProvidersScenario(p),
		bigTablesScenario(p),
	}
}

// runSpec is the figure that records a scenario's run failures.
func runSpec(name string) figureSpec {
	return figureSpec{Scenario: name, Name: "repeats completed", Unit: "count"}
}

// runScenario runs s's repeats, each with a hard timeout, and records a
// failure for each repeat that returns an error.
func (b *bench) runScenario(ctx context.Context, s *scenario) {
	for _, f := range s.figures {
		b.res.declare(f)
	}
	if b.prof != nil {
		end, err := b.prof.begin(ctx, s.name)
		if err != nil {
			b.progress("%s: %v", s.name, err)
		} else {
			defer func() {
				if err := end(context.WithoutCancel(ctx)); err != nil {
					b.progress("%s: %v", s.name, err)
				}
			}()
		}
	}
	completed := 0
	fail := func(rep int, err error) {
		b.keepLogs = true
		msg := fmt.Sprintf("repeat %d: %v", rep, err)
		b.res.fail(runSpec(s.name), truncate(msg, 600))
		b.progress("%s: %s", s.name, msg)
	}
	if s.prepare != nil {
		b.progress("%s: preparing", s.name)
		if err := s.prepare(ctx, b); err != nil {
			fail(0, err)
			b.res.add(runSpec(s.name), 0)
			return
		}
	}
	for rep := 1; rep <= b.plan.Repeats && ctx.Err() == nil; rep++ {
		b.progress("%s: repeat %d/%d", s.name, rep, b.plan.Repeats)
		rctx, cancel := context.WithTimeout(ctx, b.plan.RepeatTimeout)
		err := s.run(rctx, b, rep)
		if err == nil && rctx.Err() != nil {
			err = rctx.Err()
		}
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("did not finish within %s: %w", b.plan.RepeatTimeout, err)
		}
		if err != nil {
			fail(rep, err)
			continue
		}
		completed++
	}
	if s.cleanup != nil {
		s.cleanup(context.WithoutCancel(ctx), b)
	}
	b.res.add(runSpec(s.name), float64(completed))
}
