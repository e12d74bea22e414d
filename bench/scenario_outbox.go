package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// noPublish is a mart.Publisher that stores nothing: PlaceOrder then does
// the same order, item and stock writes in its transaction, without the
// outbox's event rows and jobs.
type noPublish struct{}

// Publish does nothing.
func (noPublish) Publish(context.Context, pgx.Tx, ...events.Event) ([]string, error) { return nil, nil }

// outboxScenario: the price of the outbox on a domain write.
func outboxScenario(p plan) *scenario {
	const s = "outbox PlaceOrder"
	specs := make(map[int]figureSpec, len(p.OutboxConcurrency))
	var figures []figureSpec
	for _, c := range p.OutboxConcurrency {
		specs[c] = figureSpec{
			Scenario: s, Name: fmt.Sprintf("tx/s at concurrency %d", c), Unit: "tx/s",
			Target: ratioAtLeast(0.80), Baseline: "PlaceOrder with a no-op Publisher",
		}
		figures = append(figures, specs[c])
	}
	return &scenario{
		name: s,
		how: fmt.Sprintf("In process: mart.Service.PlaceOrder (2 items) through the outbox (River insert-only client), against "+
			"the same service with a Publisher that does nothing (same order, item and stock writes, no event rows or jobs). "+
			"Each goroutine orders from its own shop and products; %s per measurement, outbox and baseline alternating, "+
			"one fresh database per repeat.", p.OutboxDuration),
		figures: figures,
		run: func(ctx context.Context, b *bench, rep int) error {
			dbURL, err := b.dbs.fresh(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = b.dbs.drop(context.WithoutCancel(ctx), dbURL) }()
			workers := slices.Max(p.OutboxConcurrency)
			cfg, err := pgxpool.ParseConfig(dbURL)
			if err != nil {
				return fmt.Errorf("parse database URL: %w", err)
			}
			cfg.MaxConns = int32(workers + 4) //nolint:gosec // small
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			defer pool.Close()
			client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				return fmt.Errorf("create River client: %w", err)
			}
			reg, err := jobs.NewRegistry(jobs.Deps{DB: pool})
			if err != nil {
				return err
			}
			withOutbox := mart.NewService(pool, outbox.New(client, reg))
			baseline := mart.NewService(pool, noPublish{})
			orders, err := outboxFixtures(ctx, withOutbox, workers)
			if err != nil {
				return err
			}
			// Warm the pool and caches for both paths.
			for _, svc := range []*mart.Service{withOutbox, baseline} {
				if _, err := placeOrders(ctx, svc, orders[:min(8, workers)], p.OutboxDuration/4); err != nil {
					return err
				}
			}
			for _, c := range p.OutboxConcurrency {
				// Alternate which goes first, so neither always runs on a
				// warmer (or more bloated) database.
				order := []*mart.Service{withOutbox, baseline}
				if (rep+c)%2 == 0 {
					order = []*mart.Service{baseline, withOutbox}
				}
				rates := map[*mart.Service]float64{}
				for _, svc := range order {
					rate, err := placeOrders(ctx, svc, orders[:c], p.OutboxDuration)
					if err != nil {
						return err
					}
					rates[svc] = rate
				}
				b.res.addPaired(specs[c], rates[withOutbox], rates[baseline])
			}
			return nil
		},
	}
}

// outboxFixtures creates n users, each with a shop of two products with
// large stock, and returns an order for each.
func outboxFixtures(ctx context.Context, svc *mart.Service, n int) ([]mart.PlaceOrderParams, error) {
	tag := randomHex(4)
	orders := make([]mart.PlaceOrderParams, n)
	for i := range n {
		u, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: fmt.Sprintf("ob-%s-%d@example.com", tag, i), Name: "Bench"})
		if err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
		shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: fmt.Sprintf("Shop %d", i), OwnerID: u.ID})
		if err != nil {
			return nil, fmt.Errorf("create shop: %w", err)
		}
		o := mart.PlaceOrderParams{UserID: u.ID, ShopID: shop.ID}
		for j := range 2 {
			pr, err := svc.CreateProduct(ctx, mart.CreateProductParams{
				ShopID: shop.ID, Name: fmt.Sprintf("Atta %d", j), PricePaise: 24900, Stock: catalogStock,
			})
			if err != nil {
				return nil, fmt.Errorf("create product: %w", err)
			}
			o.Items = append(o.Items, mart.PlaceOrderItem{ProductID: pr.ID, Quantity: 1})
		}
		orders[i] = o
	}
	return orders, nil
}

// placeOrders runs one goroutine per order, each placing its order back to
// back for dur, and returns the committed orders per second.
func placeOrders(ctx context.Context, svc *mart.Service, orders []mart.PlaceOrderParams, dur time.Duration) (float64, error) {
	var (
		done     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(dur)
	for _, o := range orders {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := svc.PlaceOrder(ctx, o); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("place order: %w", firstErr)
	}
	return perSecond(int(done.Load()), time.Since(start)), nil
}
