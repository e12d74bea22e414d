package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// analyticsEvents builds n analytics/track events with ids unique to tag.
func analyticsEvents(tag string, first, n int) []map[string]any {
	evs := make([]map[string]any, n)
	for i := range n {
		k := first + i
		evs[i] = map[string]any{
			"name": "analytics/track", "id": fmt.Sprintf("bench-%s-%d", tag, k),
			"data": map[string]any{
				"event": "Page Viewed", "userId": fmt.Sprintf("user-%d", k%1000),
				"properties": map[string]any{"page": fmt.Sprintf("/products/%d", k%500), "seq": k},
			},
		}
	}
	return evs
}

// notificationEvents builds n notification/send events (email to an
// address, no user), with ids unique to tag.
func notificationEvents(tag string, first, n int) []map[string]any {
	evs := make([]map[string]any, n)
	for i := range n {
		k := first + i
		evs[i] = map[string]any{
			"name": "notification/send", "id": fmt.Sprintf("bench-%s-%d", tag, k),
			"data": map[string]any{
				"channel": "email", "to": fmt.Sprintf("bench-%d@example.com", k%1000),
				"subject": "Your order is on its way", "message": fmt.Sprintf("Order %d left the shop.", k),
			},
		}
	}
	return evs
}

// postEvents is a request that sends batch events built by build, the
// request's seq numbering them.
func (r *serverRun) postEvents(build func(tag string, first, n int) []map[string]any, tag string, batch int) request {
	return func(ctx context.Context, seq int) (int, error) {
		return r.api.do(ctx, http.MethodPost, "/v1/events", build(tag, seq*batch, batch), nil)
	}
}

// pickupScenario: how soon a committed job starts being worked, at a
// steady 500 jobs/s, measured on the server with its own tuning.
func pickupScenario(p plan) *scenario {
	const s = "pickup"
	var (
		p50    = figureSpec{Scenario: s, Name: "commit → work start p50", Unit: "ms", Target: atMost(5)}
		p99    = figureSpec{Scenario: s, Name: "commit → work start p99", Unit: "ms", Target: atMost(20)}
		rate   = figureSpec{Scenario: s, Name: "jobs/s inserted", Unit: "jobs/s"}
		worked = figureSpec{Scenario: s, Name: "jobs/s worked (first insert → last finalized)", Unit: "jobs/s"}
	)
	reqRate := p.PickupRate / float64(p.PickupBatch)
	return &scenario{
		name: s, server: true,
		how: fmt.Sprintf("The server binary (ROLE=all) on a fresh database: POST /v1/events with %d notification/send events "+
			"(email to an address, captured) per request at %g requests/s (%g jobs/s of send_notification on the "+
			"notifications queue) for %s; per job, the time from the commit of the transaction that inserted it to "+
			"river_job.attempted_at (set when a worker fetches it, just before Work). Jobs/s worked = send_notification jobs "+
			"finalized / (first inserted → last finalized): below the inserted rate, jobs queue and the latency grows with "+
			"the wait.",
			p.PickupBatch, reqRate, p.PickupRate, p.PickupLoad),
		figures: []figureSpec{p50, p99, rate, worked},
		run: func(ctx context.Context, b *bench, rep int) error {
			r, err := b.startRun(ctx, fmt.Sprintf("pickup-%d", rep), "", nil)
			if err != nil {
				return err
			}
			defer r.close()
			if _, err := r.waitIdle(ctx, b.plan.DrainTimeout); err != nil {
				return err
			}
			m, err := r.mark(ctx)
			if err != nil {
				return err
			}
			stats := openLoop(ctx, reqRate, p.PickupLoad, 256,
				r.postEvents(notificationEvents, fmt.Sprintf("pk%d-%s", rep, randomHex(3)), p.PickupBatch))
			if d := stats.describeFailures(); d != "" {
				b.res.note(rate, d)
			}
			loadEnd := time.Now()
			drained, err := r.waitDrained(ctx, m, []string{kindSendNotification}, b.plan.DrainTimeout)
			if err != nil {
				return err
			}
			inserted := perSecond(stats.ok()*p.PickupBatch, stats.end.Sub(stats.start))
			b.res.add(rate, inserted)
			jobs, err := r.totals(ctx, m, []string{kindSendNotification})
			if err != nil {
				return err
			}
			b.res.add(worked, jobs.jobsPerSecond())
			if jobs.jobsPerSecond() < 0.9*inserted {
				b.res.note(p50, fmt.Sprintf("repeat %d: the queue worked %.0f jobs/s of the %.0f inserted, so jobs waited in it: "+
					"the latency is mostly that wait, not the fetch", rep, jobs.jobsPerSecond(), inserted))
			}
			sql := `SELECT extract(epoch FROM j.attempted_at - j.created_at) * 1000 FROM river_job j`
			if b.dbs.commitTimestamps {
				sql = `SELECT extract(epoch FROM j.attempted_at - pg_xact_commit_timestamp(e.xmin)) * 1000
					FROM river_job j JOIN events e ON e.id = j.args->>'event_id'`
			}
			lat, err := r.floats(ctx, sql+` WHERE j.id > $1 AND j.kind = $2 AND j.attempted_at IS NOT NULL`, m.maxID, kindSendNotification)
			if err != nil {
				return err
			}
			want := stats.ok() * p.PickupBatch
			if len(lat) == 0 && want > 0 && drained {
				return fmt.Errorf("%d events accepted and drained, but no %s job found: the harness waits for the wrong kind", want, kindSendNotification)
			}
			if missing := want - len(lat); missing > 0 && !drained {
				// Jobs not started when the wait ended count as the time
				// waited: a lower bound.
				lat = padLowerBound(lat, missing, ms(time.Since(loadEnd)))
				for _, f := range []figureSpec{p50, p99} {
					b.res.fail(f, fmt.Sprintf("did not drain within %s: jobs not started count as the time waited, so the value is a lower bound", b.plan.DrainTimeout))
				}
			}
			b.res.add(p50, percentile(lat, 50))
			b.res.add(p99, percentile(lat, 99))
			b.res.note(p50, "measured with "+b.latencySource())
			return nil
		},
	}
}

// analyticsScenario: analytics events through the event API to Mixpanel.
func analyticsScenario(p plan) *scenario {
	const s = "analytics"
	const clients = 4
	var (
		delivered = figureSpec{Scenario: s, Name: "events/s delivered end to end", Unit: "events/s", Target: atLeast(5000)}
		flushRate = figureSpec{Scenario: s, Name: "events/s delivered, first to last delivery", Unit: "events/s"}
		perReq    = figureSpec{Scenario: s, Name: "Mixpanel requests per 500 events", Unit: "requests", Target: atMost(1)}
		accepted  = figureSpec{Scenario: s, Name: "events/s accepted (POST /v1/events)", Unit: "events/s"}
		dupes     = figureSpec{Scenario: s, Name: "events delivered more than once", Unit: "count"}
	)
	return &scenario{
		name: s, server: true,
		how: fmt.Sprintf("The server binary (ROLE=all) with MIXPANEL_TOKEN and MIXPANEL_BASE_URL at a fake Mixpanel (/import "+
			"and /track, deduplicating by $insert_id). %d analytics/track events sent through POST /v1/events in batches of %d "+
			"by %d clients; delivered events/s end to end = distinct events at the fake / (first POST → last new event at "+
			"the fake), which includes the batch wait (a track_analytics run starts 5 s after the first event of its batch) "+
			"and so weighs on a small count; first to last delivery = the events after the first Import request over "+
			"(that request → last new event): the batch runs' own rate.",
			p.AnalyticsEvents, p.AnalyticsBatch, clients),
		figures: []figureSpec{delivered, flushRate, perReq, accepted, dupes},
		run: func(ctx context.Context, b *bench, rep int) error {
			fakes := startFakes(true, false, false)
			defer fakes.close()
			r, err := b.startRun(ctx, fmt.Sprintf("analytics-%d", rep), "", fakes.env())
			if err != nil {
				return err
			}
			defer r.close()
			if _, err := r.waitIdle(ctx, b.plan.DrainTimeout); err != nil {
				return err
			}
			requests := p.AnalyticsEvents / p.AnalyticsBatch
			start := time.Now()
			stats := sendAll(ctx, clients, requests, r.postEvents(analyticsEvents, fmt.Sprintf("an%d-%s", rep, randomHex(3)), p.AnalyticsBatch))
			if d := stats.describeFailures(); d != "" {
				b.res.note(accepted, d)
			}
			sent := stats.ok() * p.AnalyticsBatch
			b.res.add(accepted, perSecond(sent, stats.end.Sub(stats.start)))

			waitCtx, cancel := context.WithTimeout(ctx, b.plan.DrainTimeout)
			all := waitDelivered(waitCtx, fakes.mixpanel, sent)
			cancel()
			got := fakes.mixpanel.Imported()
			if !all {
				b.res.fail(delivered, fmt.Sprintf("repeat %d: delivered %d of %d events within %s after the last POST", rep, got.Distinct, sent, b.plan.DrainTimeout))
			}
			if err := r.checkAlive(); err != nil {
				return err
			}
			b.res.add(delivered, perSecond(got.Distinct, got.LastNew.Sub(start)))
			b.res.add(flushRate, got.DeliveryRate())
			if got.Distinct > 0 {
				b.res.add(perReq, float64(got.Requests)*500/float64(got.Distinct))
			}
			b.res.add(dupes, float64(got.Events-got.Distinct))
			return nil
		},
	}
}
