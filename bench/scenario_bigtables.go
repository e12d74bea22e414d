package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// fillEvents and fillJobs store $1 order/created events and as many
// finished River jobs (completed; half order confirmations on the email
// queue, half analytics), spread over the last three days: inside every
// retention period, so the cleaners leave them.
const fillEvents = `
INSERT INTO events (id, name, data, ts, received_at, source)
SELECT 'bench-old-' || g, 'order/created',
       jsonb_build_object('orderId', gen_random_uuid(), 'userId', gen_random_uuid(), 'shopId', gen_random_uuid(),
                          'items', jsonb_build_array(jsonb_build_object('productId', gen_random_uuid(), 'quantity', 1, 'pricePaise', 24900)),
                          'totalPaise', 24900),
       t, t, 'app'
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`

// fillJobs: see fillEvents.
const fillJobs = `
INSERT INTO river_job (args, attempt, attempted_at, attempted_by, created_at, finalized_at, kind, max_attempts,
                       metadata, priority, queue, state, scheduled_at, tags)
SELECT jsonb_build_object('event_id', 'bench-old-' || g, 'order_id', gen_random_uuid()),
       1, t, ARRAY['bench'], t, t + interval '40 milliseconds',
       CASE WHEN g % 2 = 0 THEN 'send_order_confirmation' ELSE 'track_analytics' END, 10,
       '{}', 1, CASE WHEN g % 2 = 0 THEN 'email' ELSE 'analytics' END, 'completed', t, '{}'
FROM (SELECT g, now() - (g % 259200) * interval '1 second' AS t FROM generate_series(1, $1::int) g) s`

// bigTablesScenario: the order pipeline again with large events and
// river_job tables, against the pipeline's jobs/s on empty tables.
func bigTablesScenario(p plan) *scenario {
	const s = "big tables"
	label := fmt.Sprintf("%d clients", p.PipelineClients)
	var (
		jobs = figureSpec{
			Scenario: s, Name: fmt.Sprintf("jobs/s, %s, %d finished jobs and events stored", label, p.BigRows), Unit: "jobs/s",
			Target: ratioAtLeast(0.85), BaselineRef: scenarioPipeline + "/jobs/s, " + label,
		}
		backlog = figureSpec{Scenario: s, Name: "backlog after load, " + label, Unit: "s"}
		non2xx  = figureSpec{Scenario: s, Name: "non-2xx answers, " + label, Unit: "count"}
		failed  = figureSpec{Scenario: s, Name: "failed jobs, " + label, Unit: "count"}
		orders  = figureSpec{Scenario: s, Name: "orders/s, " + label, Unit: "orders/s"}
	)
	var template string
	return &scenario{
		name: s, needs: []string{scenarioPipeline}, server: true,
		how: fmt.Sprintf("As the order pipeline's %s phase, on a database that already holds %d completed river_job rows and "+
			"%d events (inserted with generate_series into a template database, then vacuumed and analyzed; each repeat "+
			"clones it). Baseline: the order pipeline's jobs/s on empty tables in this run.", label, p.BigRows, p.BigRows),
		figures: []figureSpec{orders, jobs, backlog, non2xx, failed},
		prepare: func(ctx context.Context, b *bench) error {
			var err error
			template, err = b.dbs.create(ctx, b.dbs.template)
			if err != nil {
				return err
			}
			return b.dbs.withPool(ctx, template, func(pool *pgxpool.Pool) error {
				fills := []string{fillEvents, fillJobs}
				err := parallel(ctx, len(fills), len(fills), func(ctx context.Context, i int) error {
					if _, err := pool.Exec(ctx, fills[i], p.BigRows); err != nil {
						return fmt.Errorf("fill big tables: %w", err)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if _, err := pool.Exec(ctx, "VACUUM ANALYZE events, river_job"); err != nil {
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
			res, err := r.orderPhase(ctx, c, 0)
			if err != nil {
				return err
			}
			b.recordPhase(res, orders, jobs, backlog, non2xx, failed)
			return nil
		},
	}
}
