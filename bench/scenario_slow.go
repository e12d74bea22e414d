package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// slowWindowGrace is how long after a write phase analytics jobs still
// count toward its throughput.
const slowWindowGrace = time.Second

// slowHotProducts is how many products the PATCHes cycle through.
const slowHotProducts = 4

// writePhaseResult is what one phase of the slow-providers scenario measured.
type writePhaseResult struct {
	latencies    []float64 // ms, of every answered write
	unavailable  int       // 503 answers
	failures     string    // other non-2xx answers
	analyticsJPS float64   // track_analytics jobs finalized per second in the window
	mark         jobMark
}

// writePhase places orders and PATCHes products at the plan's fixed rates
// for plan.SlowPhase, waits for every answer, and counts the analytics jobs
// finalized within the phase and slowWindowGrace after it.
func (r *serverRun) writePhase(ctx context.Context, c *catalog) (*writePhaseResult, error) {
	p := r.b.plan
	m, err := r.mark(ctx)
	if err != nil {
		return nil, err
	}
	// The PATCHes update a shop's few best sellers again and again, as
	// stock and price changes do.
	products := c.shops[0].products[:min(slowHotProducts, len(c.shops[0].products))]
	patch := func(ctx context.Context, seq int) (int, error) {
		return r.api.do(ctx, http.MethodPatch, "/v1/products/"+products[seq%len(products)],
			map[string]any{"pricePaise": 25000 + seq%100}, nil)
	}
	var orders, patches *loadStats
	var wg sync.WaitGroup
	wg.Go(func() { orders = openLoop(ctx, p.SlowOrderRate, p.SlowPhase, 512, r.placeOrder(c)) })
	wg.Go(func() { patches = openLoop(ctx, p.SlowPatchRate, p.SlowPhase, 512, patch) })
	wg.Wait()
	if err := r.checkAlive(); err != nil {
		return nil, err
	}
	res := &writePhaseResult{
		mark:        m,
		latencies:   append(orders.latAll.millis(), patches.latAll.millis()...),
		unavailable: orders.count(http.StatusServiceUnavailable) + patches.count(http.StatusServiceUnavailable),
	}
	var failures []string
	for i, s := range []*loadStats{orders, patches} {
		if d := s.describeFailures(); d != "" {
			failures = append(failures, []string{"orders", "PATCHes"}[i]+": "+d)
		}
	}
	res.failures = strings.Join(failures, "; ")
	window := p.SlowPhase + slowWindowGrace
	windowEnd := m.at.Add(window)
	for {
		now, err := r.dbNow(ctx)
		if err != nil {
			return nil, err
		}
		if !now.Before(windowEnd) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(windowEnd.Sub(now)):
		}
	}
	var n int
	err = r.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id > $1 AND kind = $2 AND finalized_at <= $3`,
		m.maxID, kindTrackAnalytics, windowEnd).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("count analytics jobs: %w", err)
	}
	res.analyticsJPS = perSecond(n, window)
	return res, nil
}

// slowProvidersScenario: orders and product updates while the email and
// search providers take 8 s to answer, against the same run with the
// providers answering at once.
func slowProvidersScenario(p plan) *scenario {
	const s = "slow providers"
	var (
		p99 = figureSpec{
			Scenario: s, Name: "write p99 (orders + product PATCH), slow providers", Unit: "ms",
			Target: ratioAtMost(1.5), Baseline: "the same writes with healthy providers",
		}
		unavailable = figureSpec{Scenario: s, Name: "503 answers, slow providers", Unit: "count", Target: atMost(0)}
		analytics   = figureSpec{
			Scenario: s, Name: "analytics jobs/s during the writes, slow providers", Unit: "jobs/s",
			Target: ratioAtLeast(0.80), Baseline: "the same with healthy providers",
		}
	)
	return &scenario{
		name: s, server: true,
		how: fmt.Sprintf("The server binary with Resend (RESEND_API_KEY, RESEND_BASE_URL, EMAIL_FROM) and Typesense "+
			"(TYPESENSE_URL, TYPESENSE_API_KEY) pointed at fakes. Open-loop POST /v1/orders at %g/s and PATCH /v1/products at %g/s "+
			"(cycling through %d products) "+
			"for %s with the fakes answering at once (healthy), then, once that backlog drained, the same with every fake answer "+
			"delayed %s. p99 over every answered write; analytics throughput = track_analytics jobs finalized from the start of "+
			"the writes to %s after their end, per second.",
			p.SlowOrderRate, p.SlowPatchRate, slowHotProducts, p.SlowPhase, p.SlowDelay, slowWindowGrace),
		figures: []figureSpec{p99, unavailable, analytics},
		run: func(ctx context.Context, b *bench, rep int) error {
			fakes, err := startFakes(false, true, true)
			if err != nil {
				return err
			}
			defer fakes.close()
			r, err := b.startRun(ctx, fmt.Sprintf("slow-%d", rep), "", fakes.env())
			if err != nil {
				return err
			}
			defer r.close()
			c, err := r.setupCatalog(ctx, 8, 2, 8, catalogStock)
			if err != nil {
				return err
			}
			healthy, err := r.writePhase(ctx, c)
			if err != nil {
				return err
			}
			kinds := append([]string{kindIndexProduct}, pipelineKinds...)
			if drained, err := r.waitDrained(ctx, healthy.mark, kinds, b.plan.DrainTimeout); err != nil {
				return err
			} else if !drained {
				b.res.note(p99, fmt.Sprintf("repeat %d: the healthy phase's jobs had not drained within %s when the slow phase began", rep, b.plan.DrainTimeout))
			}
			fakes.setDelay(p.SlowDelay)
			slow, err := r.writePhase(ctx, c)
			if err != nil {
				return err
			}
			b.res.addPaired(p99, percentile(slow.latencies, 99), percentile(healthy.latencies, 99))
			b.res.add(unavailable, float64(slow.unavailable))
			b.res.addPaired(analytics, slow.analyticsJPS, healthy.analyticsJPS)
			for i, ph := range []*writePhaseResult{healthy, slow} {
				if ph.failures != "" {
					b.res.note(unavailable, fmt.Sprintf("repeat %d, %s: %s", rep, []string{"healthy", "slow"}[i], ph.failures))
				}
			}
			return nil
		},
	}
}
