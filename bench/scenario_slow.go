package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// slowWindowGrace is how long after a write phase the analytics events and
// SMS notifications of the phase still count toward its throughput: more
// than a track_analytics batch's wait (AnalyticsBatchWait, 5 s, from the
// first event of a batch to its run) and one send.
const slowWindowGrace = 7 * time.Second

// slowHotProducts is how many products the PATCHes cycle through.
const slowHotProducts = 4

// smsEvents builds n notification/send SMS events to a phone number, with
// ids unique to tag.
func smsEvents(tag string, first, n int) []map[string]any {
	evs := make([]map[string]any, n)
	for i := range n {
		k := first + i
		evs[i] = map[string]any{
			"name": "notification/send", "id": fmt.Sprintf("bench-%s-%d", tag, k),
			"data": map[string]any{"channel": "sms", "to": fmt.Sprintf("+9198%08d", k%1000), "message": fmt.Sprintf("Your OTP is %06d", k)},
		}
	}
	return evs
}

// writePhaseResult is what one phase of the slow-providers scenario measured.
type writePhaseResult struct {
	latencies   []float64 // ms, of every answered write
	unavailable int       // 503 answers
	failures    string    // other non-2xx answers
	// analyticsPS is the phase's tracked events (orders and analytics/track)
	// written to analytics_events within the window, per second; smsPS the
	// phase's send_notification jobs finalized within it.
	analyticsPS float64
	smsPS       float64
	tracked     int // tracked events the phase stored
	delivered   int // of those, in analytics_events within the window
	mark        jobMark
}

// writePhase places orders and PATCHes products at the plan's fixed rates
// for plan.SlowPhase, while analytics/track events and SMS notifications
// arrive at theirs; it waits for every answer, then counts the phase's
// analytics events delivered and SMS jobs finalized within the phase and
// slowWindowGrace after it.
func (r *serverRun) writePhase(ctx context.Context, c *catalog, rep, phase int) (*writePhaseResult, error) {
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
	tag := fmt.Sprintf("sl%d-%d-%s", rep, phase, randomHex(3))
	var orders, patches, tracks, sms *loadStats
	var wg sync.WaitGroup
	wg.Go(func() { orders = openLoop(ctx, p.SlowOrderRate, p.SlowPhase, 512, r.placeOrder(c)) })
	wg.Go(func() { patches = openLoop(ctx, p.SlowPatchRate, p.SlowPhase, 512, patch) })
	wg.Go(func() {
		tracks = openLoop(ctx, p.SlowTrackRate/float64(p.AnalyticsBatch), p.SlowPhase, 512,
			r.postEvents(analyticsEvents, tag+"-a", p.AnalyticsBatch))
	})
	wg.Go(func() { sms = openLoop(ctx, p.SlowSMSRate, p.SlowPhase, 512, r.postEvents(smsEvents, tag+"-s", 1)) })
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
	for i, s := range []*loadStats{orders, patches, tracks, sms} {
		if d := s.describeFailures(); d != "" {
			failures = append(failures, []string{"orders", "PATCHes", "analytics/track", "SMS notifications"}[i]+": "+d)
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
	err = r.pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE a.created_at <= $2)
		FROM events e LEFT JOIN analytics_events a ON a.event_id = e.id
		WHERE e.received_at >= $1 AND e.name IN ('order/created', 'analytics/track')`, m.at, windowEnd).
		Scan(&res.tracked, &res.delivered)
	if err != nil {
		return nil, fmt.Errorf("count analytics events: %w", err)
	}
	res.analyticsPS = perSecond(res.delivered, window)
	var n int
	err = r.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id > $1 AND kind = $2 AND finalized_at <= $3`,
		m.maxID, kindSendNotification, windowEnd).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("count notification jobs: %w", err)
	}
	res.smsPS = perSecond(n, window)
	return res, nil
}

// slowProvidersScenario: orders and product updates while the email and
// search providers take 8 s to answer, against the same run with the
// providers answering at once; other queues (analytics, notifications)
// must keep their throughput.
func slowProvidersScenario(p plan) *scenario {
	const s = "slow providers"
	var (
		p99 = figureSpec{
			Scenario: s, Name: "write p99 (orders + product PATCH), slow providers", Unit: "ms",
			Target: ratioAtMost(1.5), Baseline: "the same writes with healthy providers",
		}
		unavailable = figureSpec{Scenario: s, Name: "503 answers, slow providers", Unit: "count", Target: atMost(0)}
		analytics   = figureSpec{
			Scenario: s, Name: "analytics events/s delivered during the writes, slow providers", Unit: "events/s",
			Target: ratioAtLeast(0.80), Baseline: "the same with healthy providers",
		}
		sms = figureSpec{
			Scenario: s, Name: "SMS notification jobs/s during the writes, slow providers", Unit: "jobs/s",
			Target: ratioAtLeast(0.80), Baseline: "the same with healthy providers",
		}
	)
	return &scenario{
		name: s, server: true,
		how: fmt.Sprintf("The server binary (ROLE=all) with Resend (RESEND_API_KEY, RESEND_BASE_URL, EMAIL_FROM) and Typesense "+
			"(TYPESENSE_URL, TYPESENSE_API_KEY) pointed at fakes; analytics to analytics_events, SMS captured. Open-loop "+
			"POST /v1/orders at %g/s and PATCH /v1/products at %g/s (cycling through %d products), with analytics/track "+
			"events at %g/s (POST /v1/events, batches of %d) and SMS notification/send events at %g/s, for %s with the fakes "+
			"answering at once (healthy), then, once that backlog drained, the same with every fake answer delayed %s. p99 "+
			"over every answered order and PATCH; the other queues' throughput: the phase's tracked events (orders and "+
			"analytics/track) written to analytics_events, and its send_notification jobs finalized, from the start of the "+
			"writes to %s after their end, per second.",
			p.SlowOrderRate, p.SlowPatchRate, slowHotProducts, p.SlowTrackRate, p.AnalyticsBatch, p.SlowSMSRate,
			p.SlowPhase, p.SlowDelay, slowWindowGrace),
		figures: []figureSpec{p99, unavailable, analytics, sms},
		run: func(ctx context.Context, b *bench, rep int) error {
			fakes := startFakes(false, true, true)
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
			healthy, err := r.writePhase(ctx, c, rep, 1)
			if err != nil {
				return err
			}
			kinds := []string{kindIndexProduct, kindOrderConfirmation, kindSendNotification}
			if drained, err := r.waitDrained(ctx, healthy.mark, kinds, b.plan.DrainTimeout); err != nil {
				return err
			} else if !drained {
				b.res.note(p99, fmt.Sprintf("repeat %d: the healthy phase's jobs had not drained within %s when the slow phase began", rep, b.plan.DrainTimeout))
			}
			fakes.setDelay(p.SlowDelay)
			slow, err := r.writePhase(ctx, c, rep, 2)
			if err != nil {
				return err
			}
			b.res.addPaired(p99, percentile(slow.latencies, 99), percentile(healthy.latencies, 99))
			b.res.add(unavailable, float64(slow.unavailable))
			b.res.addPaired(analytics, slow.analyticsPS, healthy.analyticsPS)
			b.res.addPaired(sms, slow.smsPS, healthy.smsPS)
			for i, ph := range []*writePhaseResult{healthy, slow} {
				name := []string{"healthy", "slow"}[i]
				if ph.failures != "" {
					b.res.note(unavailable, fmt.Sprintf("repeat %d, %s: %s", rep, name, ph.failures))
				}
				if ph.delivered < ph.tracked {
					b.res.note(analytics, fmt.Sprintf("repeat %d, %s: %d of %d tracked events delivered within the window",
						rep, name, ph.delivered, ph.tracked))
				}
			}
			return nil
		},
	}
}
