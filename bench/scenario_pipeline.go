package main

import (
	"context"
	"fmt"
	"time"
)

// Scenario names shared between scenarios (baselines refer to them).
const (
	scenarioPipeline = "order pipeline"
	scenarioMemory   = "memory"
	scenarioRawRiver = "raw River"
)

// pipelineKinds are the jobs an order triggers (the load's products never
// sell out, so no index or out-of-stock jobs).
var pipelineKinds = []string{kindOrderConfirmation, kindTrackAnalytics} //nolint:gochecknoglobals // a constant list

// catalog sizes of the order scenarios: one user per client, products
// spread over shops so that concurrent orders rarely wait on one row lock.
const (
	catalogUsers           = 16
	catalogShops           = 4
	catalogProductsPerShop = 16
	catalogStock           = 1_000_000_000
)

// orderPhaseResult is what one order-load phase measured.
type orderPhaseResult struct {
	http    *loadStats
	jobs    jobTotals
	drained bool
	// backlog is the time from the end of the load (every answer in) to the
	// last job finalized; a lower bound when the jobs did not drain.
	backlog time.Duration
	rssMax  int64
	mark    jobMark
}

// orderPhase places orders for plan.PipelineLoad, closed-loop with
// plan.PipelineClients clients (rate 0) or open-loop at rate orders/s,
// sampling the server's RSS; then waits for every job the orders
// triggered to finish, up to plan.DrainTimeout.
func (r *serverRun) orderPhase(ctx context.Context, c *catalog, rate float64) (*orderPhaseResult, error) {
	p := r.b.plan
	m, err := r.mark(ctx)
	if err != nil {
		return nil, err
	}
	res := &orderPhaseResult{mark: m}
	rss := sampleRSS(r.proc.pid(), 100*time.Millisecond)
	if rate == 0 {
		res.http = closedLoop(ctx, p.PipelineClients, p.PipelineLoad, r.placeOrder(c))
	} else {
		res.http = openLoop(ctx, rate, p.PipelineLoad, 512, r.placeOrder(c))
	}
	r.b.step("load done: %d orders answered 2xx, %d not", res.http.ok(), res.http.failed())
	res.rssMax, err = rss.finish()
	if err != nil {
		return nil, err
	}
	if err := r.checkAlive(); err != nil {
		return nil, err
	}
	loadEnd, err := r.dbNow(ctx)
	if err != nil {
		return nil, err
	}
	res.drained, err = r.waitDrained(ctx, m, pipelineKinds, p.DrainTimeout)
	if err != nil {
		return nil, err
	}
	if res.jobs, err = r.totals(ctx, m, pipelineKinds); err != nil {
		return nil, err
	}
	r.b.step("jobs: %d of %d finalized (drained: %t)", res.jobs.finalized, res.jobs.total, res.drained)
	if res.drained {
		res.backlog = max(0, res.jobs.last.Sub(loadEnd))
	} else if now, err := r.dbNow(ctx); err == nil {
		res.backlog = now.Sub(loadEnd)
	}
	return res, nil
}

// recordPhase records the throughput, backlog and failures of a phase.
func (b *bench) recordPhase(res *orderPhaseResult, ordersPerSec, jobsPerSec, backlog, non2xx, failedJobs figureSpec) {
	b.res.add(ordersPerSec, perSecond(res.http.ok(), res.http.end.Sub(res.http.start)))
	b.res.add(jobsPerSec, res.jobs.jobsPerSecond())
	b.res.add(backlog, res.backlog.Seconds())
	if !res.drained {
		reason := fmt.Sprintf("did not drain within %s (%d of %d jobs finalized)", b.plan.DrainTimeout, res.jobs.finalized, res.jobs.total)
		b.res.fail(backlog, reason)
		b.res.note(jobsPerSec, "a repeat did not drain: jobs/s counts the jobs finalized until the timeout")
	}
	b.res.add(non2xx, float64(res.http.failed()))
	if d := res.http.describeFailures(); d != "" {
		b.res.note(non2xx, d)
	}
	b.res.add(failedJobs, float64(res.jobs.failed))
	if res.http.missed > 0 {
		b.res.note(ordersPerSec, fmt.Sprintf("%d orders not sent: 512 requests were outstanding", res.http.missed))
	}
}

// confirmationLatencies returns, in ms, the time from the commit of each
// order/created event received since m to the commit of its confirmation's
// delivery record (with track_commit_timestamp; otherwise from the
// event's and the delivery's created_at, which are their transactions'
// start times).
func (r *serverRun) confirmationLatencies(ctx context.Context, m jobMark) ([]float64, error) {
	sql := `SELECT extract(epoch FROM d.created_at - e.received_at) * 1000`
	if r.b.dbs.commitTimestamps {
		sql = `SELECT extract(epoch FROM pg_xact_commit_timestamp(d.xmin) - pg_xact_commit_timestamp(e.xmin)) * 1000`
	}
	sql += ` FROM events e JOIN deliveries d ON d.event_id = e.id
		WHERE e.name = 'order/created' AND e.received_at >= $1`
	return r.floats(ctx, sql, m.at)
}

// padLowerBound appends n copies of lowerMs to lat: samples that were not
// measured because the wait ended, counted at a lower bound of their value.
func padLowerBound(lat []float64, n int, lowerMs float64) []float64 {
	for range n {
		lat = append(lat, lowerMs)
	}
	return lat
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// floats runs a query returning one float per row.
func (r *serverRun) floats(ctx context.Context, sql string, args ...any) ([]float64, error) {
	rows, err := r.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query latencies: %w", err)
	}
	defer rows.Close()
	var out []float64
	for rows.Next() {
		var v *float64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("query latencies: %w", err)
		}
		if v != nil {
			out = append(out, *v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query latencies: %w", err)
	}
	return out, nil
}

// latencySource says how latencies are measured, for the report.
func (b *bench) latencySource() string {
	if b.dbs.commitTimestamps {
		return "commit timestamps (track_commit_timestamp)"
	}
	return "created_at columns (transaction start; track_commit_timestamp is off)"
}

// pipelineScenario: the server under order load, first as fast as 16
// clients can place orders, then at a fixed 500 orders/s.
func pipelineScenario(p plan) *scenario {
	s := scenarioPipeline
	maxLabel := fmt.Sprintf("%d clients", p.PipelineClients)
	fixedLabel := fmt.Sprintf("%g orders/s offered", p.FixedRate)
	var (
		maxOrders = figureSpec{Scenario: s, Name: "orders/s, " + maxLabel, Unit: "orders/s"}
		maxJobs   = figureSpec{
			Scenario: s, Name: "jobs/s, " + maxLabel, Unit: "jobs/s", Target: ratioAtLeast(0.30),
			BaselineRef: scenarioRawRiver + "/" + rawCeilingName,
		}
		maxBacklog = figureSpec{Scenario: s, Name: "backlog after load, " + maxLabel, Unit: "s", Target: atMost(2)}
		maxNon2xx  = figureSpec{Scenario: s, Name: "non-2xx answers, " + maxLabel, Unit: "count"}
		maxFailed  = figureSpec{Scenario: s, Name: "failed jobs, " + maxLabel, Unit: "count"}

		fixedOrders  = figureSpec{Scenario: s, Name: "orders/s, " + fixedLabel, Unit: "orders/s"}
		fixedJobs    = figureSpec{Scenario: s, Name: "jobs/s, " + fixedLabel, Unit: "jobs/s"}
		fixedBacklog = figureSpec{Scenario: s, Name: "backlog after load, " + fixedLabel, Unit: "s", Target: atMost(2)}
		fixedNon2xx  = figureSpec{Scenario: s, Name: "non-2xx answers, " + fixedLabel, Unit: "count"}
		fixedFailed  = figureSpec{Scenario: s, Name: "failed jobs, " + fixedLabel, Unit: "count"}
		p50          = figureSpec{Scenario: s, Name: "commit → confirmation recorded p50, " + fixedLabel, Unit: "ms", Target: atMost(200)}
		p99          = figureSpec{Scenario: s, Name: "commit → confirmation recorded p99, " + fixedLabel, Unit: "ms", Target: atMost(1000)}

		rssIdle = figureSpec{Scenario: scenarioMemory, Name: "server RSS idle", Unit: "MiB", Target: atMost(60)}
		rssLoad = figureSpec{Scenario: scenarioMemory, Name: "server RSS max under order load", Unit: "MiB", Target: atMost(250)}
	)
	return &scenario{
		name: s, covers: []string{scenarioMemory}, needs: []string{scenarioRawRiver}, server: true,
		how: fmt.Sprintf("The server binary (ROLE=all) on a fresh database; %d users, %d shops × %d products with large stock created "+
			"through REST; then POST /v1/orders (2 items) from %d closed-loop HTTP clients for %s, and after that backlog drained, "+
			"open-loop at %g orders/s for %s. jobs/s = jobs finalized / (first job created → last job finalized); backlog = end of load → "+
			"last job finalized; latency from the order's commit to its confirmation's deliveries row. memory: VmRSS of the server "+
			"process after start (idle) and its maximum, sampled every 100 ms, during both loads.",
			catalogUsers, catalogShops, catalogProductsPerShop, p.PipelineClients, p.PipelineLoad, p.FixedRate, p.PipelineLoad),
		figures: []figureSpec{
			maxOrders, maxJobs, maxBacklog, maxNon2xx, maxFailed,
			fixedOrders, fixedJobs, fixedBacklog, fixedNon2xx, fixedFailed, p50, p99, rssIdle, rssLoad,
		},
		run: func(ctx context.Context, b *bench, rep int) error {
			r, err := b.startRun(ctx, fmt.Sprintf("pipeline-%d", rep), "", nil)
			if err != nil {
				return err
			}
			defer r.close()
			time.Sleep(500 * time.Millisecond) // let start-up work (periodic jobs, River's leader election) settle
			idle, err := readRSS(r.proc.pid())
			if err != nil {
				return err
			}
			b.res.add(rssIdle, mib(idle))
			c, err := r.setupCatalog(ctx, catalogUsers, catalogShops, catalogProductsPerShop, catalogStock)
			if err != nil {
				return err
			}

			maxRes, err := r.orderPhase(ctx, c, 0)
			if err != nil {
				return err
			}
			b.recordPhase(maxRes, maxOrders, maxJobs, maxBacklog, maxNon2xx, maxFailed)

			fixedRes, err := r.orderPhase(ctx, c, p.FixedRate)
			if err != nil {
				return err
			}
			if !maxRes.drained {
				b.res.note(fixedJobs, "a repeat started while the previous load's backlog was still draining")
			}
			b.recordPhase(fixedRes, fixedOrders, fixedJobs, fixedBacklog, fixedNon2xx, fixedFailed)
			lat, err := r.confirmationLatencies(ctx, fixedRes.mark)
			if err != nil {
				return err
			}
			if missing := fixedRes.http.ok() - len(lat); missing > 0 {
				b.res.note(p99, fmt.Sprintf("repeat %d: %d of %d orders had no recorded confirmation when the wait ended", rep, missing, fixedRes.http.ok()))
				if !fixedRes.drained {
					// Count each as the time waited after the load: a lower bound.
					lat = padLowerBound(lat, missing, ms(fixedRes.backlog))
					for _, f := range []figureSpec{p50, p99} {
						b.res.fail(f, fmt.Sprintf("did not drain within %s: unrecorded confirmations count as the time waited, so the value is a lower bound", b.plan.DrainTimeout))
					}
				}
			}
			b.res.add(p50, percentile(lat, 50))
			b.res.add(p99, percentile(lat, 99))
			b.res.note(p50, "measured with "+b.latencySource())
			b.res.add(rssLoad, mib(max(maxRes.rssMax, fixedRes.rssMax)))
			return nil
		},
	}
}
