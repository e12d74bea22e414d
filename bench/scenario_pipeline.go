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
// sell out, so no index or out-of-stock jobs); its analytics event is not a
// job of its own but waits in a batch of track_analytics
// (analytics_pending), sent by the batch's run, which starts 5 s
// (AnalyticsBatchWait) after the batch's first event.
var pipelineKinds = []string{kindOrderConfirmation} //nolint:gochecknoglobals // a constant list

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
	work    orderWork
	drained bool
	// backlog is the time from the end of the load (every answer in) to the
	// last confirmation finalized or analytics row written; a lower bound
	// when the work did not drain.
	backlog time.Duration
	rssMax  int64
	mark    jobMark
}

// orderPhase places orders for plan.PipelineLoad, closed-loop with
// plan.PipelineClients clients (rate 0) or open-loop at rate orders/s,
// sampling the server's RSS; then waits for every confirmation and
// analytics event the orders triggered, up to plan.DrainTimeout.
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
	if res.work, err = r.work(ctx, m); err != nil {
		return nil, err
	}
	r.b.step("jobs: %d of %d finalized; %s (drained: %t)", res.jobs.finalized, res.jobs.total, res.work.describe(), res.drained)
	if res.drained {
		last := res.jobs.last
		if res.work.lastTrack.After(last) {
			last = res.work.lastTrack
		}
		res.backlog = max(0, last.Sub(loadEnd))
	} else if now, err := r.dbNow(ctx); err == nil {
		res.backlog = now.Sub(loadEnd)
	}
	return res, nil
}

// phaseSpecs are the figures of one with-load phase.
type phaseSpecs struct {
	orders, jobs, backlog, non2xx, failedJobs, missing figureSpec
}

// newPhaseSpecs declares the figures of a with-load phase of scenario s
// labelled label.
func newPhaseSpecs(s, label string) phaseSpecs {
	return phaseSpecs{
		orders:     figureSpec{Scenario: s, Name: "orders/s, " + label, Unit: "orders/s"},
		jobs:       figureSpec{Scenario: s, Name: "confirmation jobs/s, " + label, Unit: "jobs/s"},
		backlog:    figureSpec{Scenario: s, Name: "backlog after load, " + label, Unit: "s", Target: atMost(2)},
		non2xx:     figureSpec{Scenario: s, Name: "non-2xx answers, " + label, Unit: "count"},
		failedJobs: figureSpec{Scenario: s, Name: "failed jobs, " + label, Unit: "count"},
		missing: figureSpec{
			Scenario: s, Name: "confirmations or analytics rows missing, " + label, Unit: "count", Target: atMost(0),
		},
	}
}

func (ps phaseSpecs) list() []figureSpec {
	return []figureSpec{ps.orders, ps.jobs, ps.backlog, ps.non2xx, ps.failedJobs, ps.missing}
}

// recordPhase records the throughput, backlog and failures of a phase.
func (b *bench) recordPhase(res *orderPhaseResult, ps phaseSpecs) {
	b.res.add(ps.orders, perSecond(res.http.ok(), res.http.end.Sub(res.http.start)))
	b.res.add(ps.jobs, res.jobs.jobsPerSecond())
	b.res.note(ps.jobs, "not judged: with workers on, jobs worked per second cannot exceed the orders the API takes; the 0.30 × raw ceiling target is judged on the drain")
	b.res.add(ps.backlog, res.backlog.Seconds())
	if !res.drained {
		reason := fmt.Sprintf("did not drain within %s (%d of %d jobs finalized; %s)", b.plan.DrainTimeout,
			res.jobs.finalized, res.jobs.total, res.work.describe())
		b.res.fail(ps.backlog, reason)
		b.res.note(ps.jobs, "a repeat did not drain: jobs/s counts the jobs finalized until the timeout")
	}
	b.res.add(ps.non2xx, float64(res.http.failed()))
	if d := res.http.describeFailures(); d != "" {
		b.res.note(ps.non2xx, d)
	}
	b.res.add(ps.failedJobs, float64(res.jobs.failed))
	b.res.add(ps.missing, float64(res.work.missing()))
	if res.work.missing() > 0 {
		b.res.note(ps.missing, res.work.describe())
	}
	if res.http.missed > 0 {
		b.res.note(ps.orders, fmt.Sprintf("%d orders not sent: 512 requests were outstanding", res.http.missed))
	}
}

// drainResult is what one drain measurement found: a backlog of orders
// taken by the API alone, then worked by a worker process alone.
type drainResult struct {
	orders *loadStats // the orders the API took
	jobs   jobTotals  // their confirmation jobs
	work   orderWork
	start  time.Time // the worker's first fetch (database clock)
	// trackStart is the worker's first fetch of a track_analytics run.
	trackStart time.Time
	drained    bool
	// cpu is what the worker process and PostgreSQL used from the worker's
	// start to the end of the wait.
	cpu cpuUse
}

// confirmationsPerSecond is confirmations finalized over the time from the
// worker's first fetch to the last finalization.
func (d *drainResult) confirmationsPerSecond() float64 {
	return perSecond(d.jobs.finalized, d.jobs.last.Sub(d.start))
}

// analyticsPerSecond is analytics rows written over the time from the
// worker's first track_analytics fetch to the last row: the batch runs'
// rate, without the wait for the first batch to be due.
func (d *drainResult) analyticsPerSecond() float64 {
	return perSecond(d.work.tracked, d.work.lastTrack.Sub(d.trackStart))
}

// drainTime is the time from the worker's first fetch to the last
// confirmation finalized or analytics row written.
func (d *drainResult) drainTime() time.Duration {
	last := d.jobs.last
	if d.work.lastTrack.After(last) {
		last = d.work.lastTrack
	}
	return last.Sub(d.start)
}

// drainPhase measures the job side's capacity: a server with ROLE=api
// takes plan.DrainOrders orders from plan.PipelineClients closed-loop
// clients (their jobs and analytics events wait, nothing works them); it
// stops, and a server with ROLE=worker works the backlog alone until every
// confirmation is finalized and analytics_pending is empty, up to
// plan.DrainTimeout. The run's server is the worker afterwards.
func (r *serverRun) drainPhase(ctx context.Context, c *catalog) (*drainResult, error) {
	p := r.b.plan
	if err := r.restart(ctx, roleAPI); err != nil {
		return nil, err
	}
	m, err := r.mark(ctx)
	if err != nil {
		return nil, err
	}
	res := &drainResult{}
	res.orders = sendAll(ctx, p.PipelineClients, p.DrainOrders, r.placeOrder(c))
	if err := r.checkAlive(); err != nil {
		return nil, err
	}
	r.b.step("backlog built: %d orders answered 2xx, %d not", res.orders.ok(), res.orders.failed())
	r.stopServer(stopGrace)
	cpu := r.b.startCPU()
	if err := r.start(ctx, roleWorker); err != nil {
		return nil, err
	}
	if res.drained, err = r.waitDrained(ctx, m, pipelineKinds, p.DrainTimeout); err != nil {
		return nil, err
	}
	if res.cpu, err = cpu.stop(r.proc.pid()); err != nil {
		return nil, err
	}
	if res.jobs, err = r.totals(ctx, m, pipelineKinds); err != nil {
		return nil, err
	}
	if res.work, err = r.work(ctx, m); err != nil {
		return nil, err
	}
	if res.start, err = r.firstFetch(ctx, m, ""); err != nil {
		return nil, err
	}
	if res.trackStart, err = r.firstFetch(ctx, m, kindTrackAnalytics); err != nil {
		return nil, err
	}
	r.b.step("drain: %d of %d confirmations finalized; %s (drained: %t)", res.jobs.finalized, res.jobs.total, res.work.describe(), res.drained)
	return res, nil
}

// Names of the drain figures the big tables scenario compares with.
const (
	drainJobsName      = "drain: confirmation jobs/s worked (ROLE=worker)"
	drainAnalyticsName = "drain: analytics events/s delivered"
)

// drainSpecs are the figures of a drain measurement.
type drainSpecs struct {
	apiOrders, jobs, analytics, time, serverCPU, pgCPU, failedJobs, missing figureSpec
}

// newDrainSpecs declares the figures of a drain measurement of scenario s;
// suffix ends their names (what is stored, say).
func newDrainSpecs(s, suffix string, jobsTarget *target, jobsBaseline string) drainSpecs {
	return drainSpecs{
		apiOrders: figureSpec{Scenario: s, Name: "drain: orders/s the API took alone (ROLE=api)" + suffix, Unit: "orders/s"},
		jobs: figureSpec{
			Scenario: s, Name: drainJobsName + suffix, Unit: "jobs/s",
			Target: jobsTarget, BaselineRef: jobsBaseline,
		},
		analytics:  figureSpec{Scenario: s, Name: drainAnalyticsName + suffix, Unit: "events/s"},
		time:       figureSpec{Scenario: s, Name: "drain: time to empty the backlog" + suffix, Unit: "s"},
		serverCPU:  figureSpec{Scenario: s, Name: "drain: worker process CPU per order" + suffix, Unit: "ms"},
		pgCPU:      figureSpec{Scenario: s, Name: "drain: PostgreSQL CPU per order" + suffix, Unit: "ms"},
		failedJobs: figureSpec{Scenario: s, Name: "drain: failed jobs" + suffix, Unit: "count"},
		missing: figureSpec{
			Scenario: s, Name: "drain: confirmations or analytics rows missing" + suffix, Unit: "count", Target: atMost(0),
		},
	}
}

func (ds drainSpecs) list() []figureSpec {
	return []figureSpec{ds.apiOrders, ds.jobs, ds.analytics, ds.time, ds.serverCPU, ds.pgCPU, ds.failedJobs, ds.missing}
}

// recordDrain records a drain measurement.
func (b *bench) recordDrain(rep int, res *drainResult, ds drainSpecs) {
	b.res.add(ds.apiOrders, perSecond(res.orders.ok(), res.orders.end.Sub(res.orders.start)))
	if d := res.orders.describeFailures(); d != "" {
		b.res.note(ds.apiOrders, fmt.Sprintf("repeat %d: %s", rep, d))
	}
	b.res.add(ds.jobs, res.confirmationsPerSecond())
	b.res.add(ds.analytics, res.analyticsPerSecond())
	b.res.add(ds.time, res.drainTime().Seconds())
	if n := res.jobs.finalized; n > 0 {
		b.res.add(ds.serverCPU, ms(res.cpu.server)/float64(n))
		if res.cpu.clusterErr == nil {
			b.res.add(ds.pgCPU, ms(res.cpu.cluster)/float64(n))
		} else {
			b.res.note(ds.pgCPU, res.cpu.clusterErr.Error())
		}
	}
	b.res.add(ds.failedJobs, float64(res.jobs.failed))
	b.res.add(ds.missing, float64(res.work.missing()))
	if res.work.missing() > 0 {
		b.res.note(ds.missing, fmt.Sprintf("repeat %d: %s", rep, res.work.describe()))
	}
	if !res.drained {
		reason := fmt.Sprintf("repeat %d: the backlog did not drain within %s (%d of %d confirmations; %s)", rep, b.plan.DrainTimeout,
			res.jobs.finalized, res.jobs.total, res.work.describe())
		b.res.fail(ds.missing, reason)
		b.res.note(ds.jobs, "a repeat did not drain: jobs/s counts the confirmations finalized until the timeout")
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
		WHERE e.name = 'order/created' AND e.received_at >= $1 AND d.status IN ('sent', 'captured')`
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

// pipelineScenario: the job side's capacity (a backlog of orders drained
// by a worker process alone), then the server under order load with its
// workers on, first as fast as 16 clients can place orders, then at a fixed
// 500 orders/s.
func pipelineScenario(p plan) *scenario {
	s := scenarioPipeline
	maxLabel := fmt.Sprintf("%d clients", p.PipelineClients)
	fixedLabel := fmt.Sprintf("%g orders/s offered", p.FixedRate)
	var (
		drain = newDrainSpecs(s, "", ratioAtLeast(0.30), scenarioRawRiver+"/"+rawCeilingName)
		maxPh = newPhaseSpecs(s, maxLabel)
		fixed = newPhaseSpecs(s, fixedLabel)
		p50   = figureSpec{Scenario: s, Name: "commit → confirmation recorded p50, " + fixedLabel, Unit: "ms", Target: atMost(200)}
		p99   = figureSpec{Scenario: s, Name: "commit → confirmation recorded p99, " + fixedLabel, Unit: "ms", Target: atMost(1000)}
		// End to end: what the server's defaults take from 16 clients with
		// every confirmation kept up.
		maxP50 = figureSpec{Scenario: s, Name: "commit → confirmation recorded p50, " + maxLabel, Unit: "ms"}
		maxP99 = figureSpec{Scenario: s, Name: "commit → confirmation recorded p99, " + maxLabel, Unit: "ms", Target: atMost(1000)}

		rssIdle = figureSpec{Scenario: scenarioMemory, Name: "server RSS idle", Unit: "MiB", Target: atMost(60)}
		rssLoad = figureSpec{Scenario: scenarioMemory, Name: "server RSS max under order load", Unit: "MiB", Target: atMost(250)}
	)
	maxPh.orders.Target = atLeast(600)
	drain.pgCPU.Target = atMost(0.8) // an order is one confirmation and one analytics event
	figures := append(drain.list(), maxPh.list()...)
	figures = append(figures, maxP50, maxP99)
	figures = append(figures, fixed.list()...)
	figures = append(figures, p50, p99, rssIdle, rssLoad)
	return &scenario{
		name: s, covers: []string{scenarioMemory}, needs: []string{scenarioRawRiver}, server: true,
		how: fmt.Sprintf("The server binary on a fresh database; %d users, %d shops × %d products with large stock created "+
			"through REST (ROLE=all). Drain (the job side's capacity): a server with ROLE=api takes %d orders (POST /v1/orders, "+
			"2 items) from %d closed-loop clients while nothing works their jobs; it stops and a server with ROLE=worker "+
			"(DB_MAX_CONNS all for the workers) works the backlog alone. Confirmation jobs/s = confirmations finalized / (the "+
			"worker's first fetch → last confirmation finalized); analytics events/s = analytics_events rows / (the worker's "+
			"first track_analytics fetch → last row); CPU per order = the worker process's CPU time (from its start) and the "+
			"private PostgreSQL cluster's (every process, the harness's polling every 100 ms included) until the drain ended, "+
			"over the confirmations finalized (each order is one confirmation and one analytics event); the 0.30 × raw ceiling target is judged on this drain rate, because with workers on the jobs worked "+
			"per second can never exceed the orders the API takes. With load (ROLE=all again): %d closed-loop clients for %s, "+
			"then, after that backlog drained, open-loop at %g orders/s for %s; backlog = end of load → last confirmation "+
			"finalized or analytics row written; latency from the order's commit to the commit that records its confirmation "+
			"(deliveries row sent or captured). Missing = order/created events without a recorded confirmation plus those "+
			"without an analytics_events row. memory: VmRSS of the first server after start (idle) and the largest of the "+
			"with-load server, sampled every 100 ms.",
			catalogUsers, catalogShops, catalogProductsPerShop, p.DrainOrders, p.PipelineClients,
			p.PipelineClients, p.PipelineLoad, p.FixedRate, p.PipelineLoad),
		figures: figures,
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

			dr, err := r.drainPhase(ctx, c)
			if err != nil {
				return err
			}
			b.recordDrain(rep, dr, drain)

			if err := r.restart(ctx, roleAll); err != nil {
				return err
			}
			maxRes, err := r.orderPhase(ctx, c, 0)
			if err != nil {
				return err
			}
			b.recordPhase(maxRes, maxPh)
			if err := r.recordLatencies(ctx, rep, maxRes, maxP50, maxP99); err != nil {
				return err
			}

			fixedRes, err := r.orderPhase(ctx, c, p.FixedRate)
			if err != nil {
				return err
			}
			if !maxRes.drained {
				b.res.note(fixed.jobs, "a repeat started while the previous load's backlog was still draining")
			}
			b.recordPhase(fixedRes, fixed)
			if err := r.recordLatencies(ctx, rep, fixedRes, p50, p99); err != nil {
				return err
			}
			b.res.add(rssLoad, mib(max(maxRes.rssMax, fixedRes.rssMax)))
			return nil
		},
	}
}

// recordLatencies records the p50 and p99 of a phase's latencies from an
// order's commit to the commit that records its confirmation.
func (r *serverRun) recordLatencies(ctx context.Context, rep int, res *orderPhaseResult, p50, p99 figureSpec) error {
	b := r.b
	lat, err := r.confirmationLatencies(ctx, res.mark)
	if err != nil {
		return err
	}
	if missing := res.http.ok() - len(lat); missing > 0 {
		b.res.note(p99, fmt.Sprintf("repeat %d: %d of %d orders had no recorded confirmation when the wait ended", rep, missing, res.http.ok()))
		if !res.drained {
			// Count each as the time waited after the load: a lower bound.
			lat = padLowerBound(lat, missing, ms(res.backlog))
			for _, f := range []figureSpec{p50, p99} {
				b.res.fail(f, fmt.Sprintf("did not drain within %s: unrecorded confirmations count as the time waited, so the value is a lower bound", b.plan.DrainTimeout))
			}
		}
	}
	b.res.add(p50, percentile(lat, 50))
	b.res.add(p99, percentile(lat, 99))
	b.res.note(p50, "measured with "+b.latencySource())
	return nil
}
