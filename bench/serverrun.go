package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Job kinds the scenarios wait for (river_job.kind; never renamed).
const (
	kindOrderConfirmation = "send_order_confirmation"
	kindTrackAnalytics    = "track_analytics"
	kindIndexProduct      = "index_product"
)

// serverRun is one server process on a fresh database, with the harness's
// own pool on that database to watch the jobs.
type serverRun struct {
	b     *bench
	dbURL string
	pool  *pgxpool.Pool
	proc  *serverProc
	api   *api
}

// startRun creates a fresh database (a clone of template, or of the
// migrated template when empty) and starts a server on it with extraEnv.
func (b *bench) startRun(ctx context.Context, name, template string, extraEnv map[string]string) (*serverRun, error) {
	if template == "" {
		template = b.dbs.template
	}
	dbURL, err := b.dbs.freshFrom(ctx, template)
	if err != nil {
		return nil, err
	}
	r := &serverRun{b: b, dbURL: dbURL}
	r.pool, err = pgxpool.New(ctx, dbURL)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("connect to %s: %w", nameOf(dbURL), err)
	}
	eventKey, apiKey := "bench-event-"+randomHex(8), "bench-api-"+randomHex(8)
	r.proc, err = startServer(ctx, serverOpts{
		bin: b.serverBin, env: b.serverEnv, databaseURL: dbURL, eventKey: eventKey, apiKey: apiKey,
		extraEnv: extraEnv, logDir: b.logDir, name: name,
	})
	if err != nil {
		r.close()
		return nil, err
	}
	r.api = newAPI(r.proc.base, eventKey, apiKey)
	b.step("server %s ready (pid %d, log %s)", name, r.proc.pid(), r.proc.logPath)
	return r, nil
}

// close stops the server (killing it after a short grace: its database is
// thrown away) and drops the database.
func (r *serverRun) close() {
	if r.proc != nil {
		r.proc.stop(time.Second)
		r.b.step("server stopped")
	}
	if r.api != nil {
		r.api.close()
	}
	if r.pool != nil {
		r.pool.Close()
	}
	if err := r.b.dbs.drop(context.Background(), r.dbURL); err != nil {
		r.b.progress("%v", err)
	}
}

// checkAlive returns an error naming the server log when the server died.
func (r *serverRun) checkAlive() error {
	if r.proc.alive() {
		return nil
	}
	return fmt.Errorf("server exited (%v); log %s:\n%s", r.proc.waitErr, r.proc.logPath, r.proc.logTail(20))
}

// catalog is the users, shops and products the load orders from.
type catalog struct {
	users []string
	shops []catalogShop
}

type catalogShop struct {
	id       string
	products []string
}

// setupCatalog creates users, shops (owned by the first user) and
// productsPerShop products per shop with stock through the REST API, then
// waits until the jobs that triggered are done.
func (r *serverRun) setupCatalog(ctx context.Context, users, shops, productsPerShop, stock int) (*catalog, error) {
	c := &catalog{users: make([]string, users), shops: make([]catalogShop, shops)}
	type idOnly struct {
		ID string `json:"id"`
	}
	tag := randomHex(4)
	err := parallel(ctx, 8, users, func(ctx context.Context, i int) error {
		var u idOnly
		_, err := r.api.do(ctx, http.MethodPost, "/v1/users", map[string]any{
			"email": fmt.Sprintf("bench-%s-%d@example.com", tag, i), "name": fmt.Sprintf("Bench User %d", i),
			"phone": fmt.Sprintf("+9198%08d", i),
		}, &u)
		c.users[i] = u.ID
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create users: %w", err)
	}
	err = parallel(ctx, 8, shops, func(ctx context.Context, i int) error {
		var s idOnly
		_, err := r.api.do(ctx, http.MethodPost, "/v1/shops", map[string]any{
			"name": fmt.Sprintf("Bench Kirana %d", i), "ownerId": c.users[0], "address": "MG Road",
		}, &s)
		c.shops[i] = catalogShop{id: s.ID, products: make([]string, productsPerShop)}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create shops: %w", err)
	}
	err = parallel(ctx, 8, shops*productsPerShop, func(ctx context.Context, i int) error {
		shop := &c.shops[i/productsPerShop]
		var p idOnly
		_, err := r.api.do(ctx, http.MethodPost, "/v1/products", map[string]any{
			"shopId": shop.id, "name": fmt.Sprintf("Atta %d kg", i), "category": "staples",
			"description": "Whole wheat flour", "pricePaise": 24900 + i, "stock": stock,
		}, &p)
		shop.products[i%productsPerShop] = p.ID
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create products: %w", err)
	}
	r.b.step("catalog created")
	if drained, err := r.waitIdle(ctx, r.b.plan.DrainTimeout); err != nil || !drained {
		return nil, fmt.Errorf("jobs of the catalog set-up not done within %s (err: %v)", r.b.plan.DrainTimeout, err)
	}
	r.b.step("catalog jobs done")
	return c, nil
}

// orderBody is a POST /v1/orders body for request seq: a user and shop in
// turn and two random products of the shop, one of each.
func (c *catalog) orderBody(seq int) map[string]any {
	shop := c.shops[seq%len(c.shops)]
	a := rand.IntN(len(shop.products))
	b := (a + 1 + rand.IntN(len(shop.products)-1)) % len(shop.products)
	return map[string]any{
		"userId": c.users[seq%len(c.users)], "shopId": shop.id,
		"items": []map[string]any{{"productId": shop.products[a], "quantity": 1}, {"productId": shop.products[b], "quantity": 1}},
	}
}

// placeOrder is a request that places an order.
func (r *serverRun) placeOrder(c *catalog) request {
	return func(ctx context.Context, seq int) (int, error) {
		return r.api.do(ctx, http.MethodPost, "/v1/orders", c.orderBody(seq), nil)
	}
}

// jobMark is the state of the jobs table before a load phase: later jobs
// have larger ids.
type jobMark struct {
	maxID int64
	at    time.Time // database clock
}

// mark records the newest job id and the database's clock.
func (r *serverRun) mark(ctx context.Context) (jobMark, error) {
	var m jobMark
	err := r.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0), clock_timestamp() FROM river_job").Scan(&m.maxID, &m.at)
	if err != nil {
		return m, fmt.Errorf("mark jobs: %w", err)
	}
	return m, nil
}

// dbNow reads the database's clock.
func (r *serverRun) dbNow(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := r.pool.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t); err != nil {
		return t, fmt.Errorf("read database clock: %w", err)
	}
	return t, nil
}

// waitDrained polls until every job of kinds inserted after m is finalized
// (completed, cancelled or discarded), or timeout passes; it reports
// whether they were.
func (r *serverRun) waitDrained(ctx context.Context, m jobMark, kinds []string, timeout time.Duration) (bool, error) {
	return r.poll(ctx, timeout, `SELECT count(*) FROM river_job WHERE id > $1 AND kind = ANY($2) AND finalized_at IS NULL`, m.maxID, kinds)
}

// waitIdle polls until no job is available, pending or running (periodic
// jobs scheduled for later do not count), or timeout passes.
func (r *serverRun) waitIdle(ctx context.Context, timeout time.Duration) (bool, error) {
	return r.poll(ctx, timeout, `SELECT count(*) FROM river_job WHERE state IN ('available', 'pending', 'running', 'retryable')`)
}

// poll runs the counting query every 50 ms until it counts 0.
func (r *serverRun) poll(ctx context.Context, timeout time.Duration, sql string, args ...any) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := r.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			return false, fmt.Errorf("count pending jobs: %w", err)
		}
		if n == 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := r.checkAlive(); err != nil {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// jobTotals summarise the jobs of some kinds inserted after a mark.
type jobTotals struct {
	total     int
	finalized int
	failed    int // cancelled or discarded
	first     time.Time
	last      time.Time // last finalized_at
}

// jobsPerSecond is finalized jobs over the time from the first insert to
// the last finalization.
func (t jobTotals) jobsPerSecond() float64 { return perSecond(t.finalized, t.last.Sub(t.first)) }

// totals reads the jobs of kinds inserted after m.
func (r *serverRun) totals(ctx context.Context, m jobMark, kinds []string) (jobTotals, error) {
	var t jobTotals
	var first, last *time.Time
	err := r.pool.QueryRow(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE finalized_at IS NOT NULL),
		       count(*) FILTER (WHERE state IN ('cancelled', 'discarded')),
		       min(created_at), max(finalized_at)
		FROM river_job WHERE id > $1 AND kind = ANY($2)`, m.maxID, kinds).
		Scan(&t.total, &t.finalized, &t.failed, &first, &last)
	if err != nil {
		return t, fmt.Errorf("count jobs: %w", err)
	}
	if first != nil {
		t.first = *first
	}
	if last != nil {
		t.last = *last
	}
	return t, nil
}

// parallel runs fn(i) for i in [0, n) on up to workers goroutines and
// returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
