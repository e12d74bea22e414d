package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The fills store what $1 past orders left behind, spread over the last
// three days (inside every retention period, so the cleaners leave them):
// their order/created events, their completed confirmation jobs, their
// recorded confirmations and their analytics rows.
const (
	fillEvents = `
INSERT INTO events (id, name, data, ts, received_at, source)
SELECT 'bench-old-' || g, 'order/created',
       jsonb_build_object('orderId', gen_random_uuid(), 'userId', gen_random_uuid(), 'shopId', gen_random_uuid(),
                          'items', jsonb_build_array(jsonb_build_object('productId', gen_random_uuid(), 'quantity', 1, 'pricePaise', 24900)),
                          'totalPaise', 24900),
       t, t, 'app'
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`

	fillJobs = `
INSERT INTO river_job (args, attempt, attempted_at, attempted_by, created_at, finalized_at, kind, max_attempts,
                       metadata, priority, queue, state, scheduled_at, tags)
SELECT jsonb_build_object('event_id', 'bench-old-' || g, 'v', 1),
       1, t, ARRAY['bench'], t, t + interval '40 milliseconds', 'send_order_confirmation', 10,
       '{}', 1, 'email', 'completed', t, '{}'
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`

	fillDeliveries = `
INSERT INTO deliveries (job_id, event_id, channel, recipient, subject, body, provider, status, idempotency_key, created_at, sent_at)
SELECT g, 'bench-old-' || g, 'email', 'old-' || (g % 1000) || '@example.com', 'Your MohallaMart order', 'Order confirmed.',
       'capture', 'captured', 'send_order_confirmation/bench-old-' || g || '/old-' || (g % 1000) || '@example.com', t, t
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`

	fillAnalytics = `
INSERT INTO analytics_events (event_id, name, user_id, properties, occurred_at, created_at)
SELECT 'bench-old-' || g, 'order/created', 'user-' || (g % 1000), jsonb_build_object('totalPaise', 24900), t, t
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`
)

// bigTablesScenario: the order pipeline's drain again, on tables that hold
// what many past orders left, against the same drain on empty tables.
func bigTablesScenario(p plan) *scenario {
	const s = "big tables"
	suffix := fmt.Sprintf(", %d past orders stored", p.BigRows)
	drain := newDrainSpecs(s, suffix, ratioAtLeast(0.85), scenarioPipeline+"/"+drainJobsName)
	drain.analytics.BaselineRef = scenarioPipeline + "/" + drainAnalyticsName
	var template string
	return &scenario{
		name: s, needs: []string{scenarioPipeline}, server: true,
		how: fmt.Sprintf("The order pipeline's drain (catalog through REST, then %d orders taken by ROLE=api, then worked by "+
			"ROLE=worker alone), on a database that already holds %d order/created events, %d completed "+
			"send_order_confirmation river_job rows, %d deliveries and %d analytics_events rows (inserted with "+
			"generate_series into a template database, then vacuumed and analyzed; each repeat clones it). Baseline: the "+
			"order pipeline's drain on empty tables in this run.", p.DrainOrders, p.BigRows, p.BigRows, p.BigRows, p.BigRows),
		figures: drain.list(),
		prepare: func(ctx context.Context, b *bench) error {
			var err error
			template, err = b.dbs.create(ctx, b.dbs.template)
			if err != nil {
				return err
			}
			return b.dbs.withPool(ctx, template, func(pool *pgxpool.Pool) error {
				fills := []string{fillEvents, fillJobs, fillDeliveries, fillAnalytics}
				err := parallel(ctx, 2, len(fills), func(ctx context.Context, i int) error {
					if _, err := pool.Exec(ctx, fills[i], p.BigRows); err != nil {
						return fmt.Errorf("fill big tables: %w", err)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if _, err := pool.Exec(ctx, "VACUUM ANALYZE events, river_job, deliveries, analytics_events"); err != nil {
					return fmt.Errorf("vacuum big tables: %w", err)
				}
				return nil
			})
		},
		cleanup: func(ctx context.Context, b *bench) {
			if template != "" {
				if err := b.dbs.dropName(ctx, template); err != nil {
					b.progress("%v", err)
				}
			}
		},
		run: func(ctx context.Context, b *bench, rep int) error {
			if template == "" {
				return fmt.Errorf("no big template (preparing failed)")
			}
			r, err := b.startRun(ctx, fmt.Sprintf("bigtables-%d", rep), template, nil)
			if err != nil {
				return err
			}
			defer r.close()
			c, err := r.setupCatalog(ctx, catalogUsers, catalogShops, catalogProductsPerShop, catalogStock)
			if err != nil {
				return err
			}
			res, err := r.drainPhase(ctx, c)
			if err != nil {
				return err
			}
			b.recordDrain(rep, res, drain)
			return nil
		},
	}
}
