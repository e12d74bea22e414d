package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Job kinds the scenarios wait for (river_job.kind; never renamed).
const (
	kindOrderConfirmation = "send_order_confirmation"
	kindSendNotification  = "send_notification"
	kindIndexProduct      = "index_product"
	kindTrackAnalytics    = "track_analytics"
)

// stopGrace is how long a server is given to shut down cleanly before a
// role change: a clean stop finishes or puts back its running jobs and
// resigns River's leadership, so the next process becomes leader (and
// inserts the periodic jobs) at once instead of after the old leader's
// lease runs out.
const stopGrace = 30 * time.Second

// serverRun is one database and the server processes run on it in turn,
// with the harness's own pool on that database to watch the jobs.
type serverRun struct {
	b        *bench
	name     string
	dbURL    string
	eventKey string
	apiKey   string
	extraEnv map[string]string
	pool     *pgxpool.Pool
	proc     *serverProc
	api      *api
	starts   int
}

// startRun creates a fresh database (a clone of template, or of the
// migrated template when empty) and starts a server (ROLE=all) on it with
// extraEnv.
func (b *bench) startRun(ctx context.Context, name, template string, extraEnv map[string]string) (*serverRun, error) {
	if template == "" {
		template = b.dbs.template
	}
	dbURL, err := b.dbs.freshFrom(ctx, template)
	if err != nil {
		return nil, err
	}
	r := &serverRun{b: b, name: name, dbURL: dbURL, eventKey: "bench-event-" + randomHex(8), apiKey: "bench-api-" + randomHex(8), extraEnv: extraEnv}
	r.pool, err = pgxpool.New(ctx, dbURL)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("connect to %s: %w", nameOf(dbURL), err)
	}
	if err := r.start(ctx, roleAll); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// start starts a server with role on the run's database.
func (r *serverRun) start(ctx context.Context, role string) error {
	r.starts++
	name := fmt.Sprintf("%s-%d-%s", r.name, r.starts, role)
	env := r.extraEnv
	if r.b.prof != nil {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["CPU_PROFILE"] = r.b.prof.serverProfile(name)
	}
	proc, err := startServer(ctx, serverOpts{
		bin: r.b.serverBin, env: r.b.serverEnv, databaseURL: r.dbURL, eventKey: r.eventKey, apiKey: r.apiKey,
		extraEnv: env, logDir: r.b.logDir, name: name, role: role,
	})
	if err != nil {
		return err
	}
	r.proc = proc
	r.api = newAPI(proc.Base, r.eventKey, r.apiKey)
	r.b.step("server %s ready (pid %d, log %s)", name, proc.pid(), proc.logPath)
	return nil
}

// restart stops the running server cleanly and starts one with role on
// the same database.
func (r *serverRun) restart(ctx context.Context, role string) error {
	r.stopServer(stopGrace)
	return r.start(ctx, role)
}

// stopServer stops the running server, killing it after grace.
func (r *serverRun) stopServer(grace time.Duration) {
	if r.proc != nil {
		r.proc.stop(grace)
		r.b.step("server stopped")
		r.proc = nil
	}
	if r.api != nil {
		r.api.close()
		r.api = nil
	}
}

// close stops the server (killing it after a short grace: its database is
// thrown away) and drops the database.
func (r *serverRun) close() {
	r.stopServer(time.Second)
	if r.pool != nil {
		r.pool.Close()
	}
	if err := r.b.dbs.drop(context.Background(), r.dbURL); err != nil {
		r.b.progress("%v", err)
	}
}

// checkAlive returns an error naming the server log when the server died.
func (r *serverRun) checkAlive() error {
	if r.proc.Alive() {
		return nil
	}
	return fmt.Errorf("server exited (%v); log %s:\n%s", r.proc.Err(), r.proc.logPath, r.proc.logTail(20))
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
// (completed, cancelled or discarded) and every tracked event was sent: none
// waits in a batch (analytics_pending) and no track_analytics run is
// unfinished; or timeout passes; it reports whether they were.
func (r *serverRun) waitDrained(ctx context.Context, m jobMark, kinds []string, timeout time.Duration) (bool, error) {
	// Unfinalized jobs are found through their state (River's fetch index),
	// so a poll does not walk the jobs already finished.
	return r.poll(ctx, timeout, `SELECT EXISTS (SELECT 1 FROM river_job
		    WHERE state IN ('available', 'pending', 'running', 'retryable', 'scheduled')
		      AND (id > $1 AND kind = ANY($2) OR kind = $3))
		OR EXISTS (SELECT 1 FROM analytics_pending)`, m.maxID, kinds, kindTrackAnalytics)
}

// waitIdle polls until no job is available, pending or running (periodic
// jobs scheduled for later do not count) and no tracked event waits in
// analytics_pending (a batch's run takes its events when it starts
// running), or timeout passes.
func (r *serverRun) waitIdle(ctx context.Context, timeout time.Duration) (bool, error) {
	return r.poll(ctx, timeout, `SELECT EXISTS (SELECT 1 FROM river_job WHERE state IN ('available', 'pending', 'running', 'retryable'))
		OR EXISTS (SELECT 1 FROM analytics_pending)`)
}

// poll runs the query, which reports whether work is left, every 100 ms
// until it reports none. The query asks whether one row is left rather
// than counting them: a count walks the whole backlog on every poll, and
// with 30,000 orders waiting that took 20 ms of the PostgreSQL CPU the
// measured server shares, every 100 ms. Figures never depend on when a
// poll saw the end (they are read from the database's timestamps), so
// polling more often would only add load.
func (r *serverRun) poll(ctx context.Context, timeout time.Duration, sql string, args ...any) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		var left bool
		if err := r.pool.QueryRow(ctx, sql, args...).Scan(&left); err != nil {
			return false, fmt.Errorf("look for unfinished jobs: %w", err)
		}
		if !left {
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
		case <-time.After(100 * time.Millisecond):
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

// firstFetch returns when a worker first fetched a job of kind (any kind
// when empty) after m was taken (the earliest attempted_at after m.at,
// database clock), or the zero time.
func (r *serverRun) firstFetch(ctx context.Context, m jobMark, kind string) (time.Time, error) {
	var t *time.Time
	err := r.pool.QueryRow(ctx, `SELECT min(attempted_at) FROM river_job WHERE attempted_at > $1 AND ($2 = '' OR kind = $2)`,
		m.at, kind).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("read first fetch: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

// orderWork is what the workers did for the orders placed after a mark:
// each order/created event should have a recorded confirmation (a
// deliveries row sent or captured) and a row in analytics_events (the
// Postgres analytics sink).
type orderWork struct {
	orders    int       // order/created events
	confirmed int       // of those, with a recorded confirmation
	tracked   int       // of those, in analytics_events
	lastTrack time.Time // the last analytics_events row written
}

// missing is the number of orders whose confirmation or analytics row is
// missing, counted once per missing piece.
func (w orderWork) missing() int { return (w.orders - w.confirmed) + (w.orders - w.tracked) }

// describe says what is missing, for a note.
func (w orderWork) describe() string {
	return fmt.Sprintf("%d orders: %d confirmations recorded, %d analytics rows", w.orders, w.confirmed, w.tracked)
}

// work reads what the workers did for the orders placed after m.
func (r *serverRun) work(ctx context.Context, m jobMark) (orderWork, error) {
	var w orderWork
	var last *time.Time
	err := r.pool.QueryRow(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('sent', 'captured'))),
		       count(a.id), max(a.created_at)
		FROM events e LEFT JOIN analytics_events a ON a.event_id = e.id
		WHERE e.name = 'order/created' AND e.received_at >= $1`, m.at).
		Scan(&w.orders, &w.confirmed, &w.tracked, &last)
	if err != nil {
		return w, fmt.Errorf("count the orders' work: %w", err)
	}
	if last != nil {
		w.lastTrack = *last
	}
	return w, nil
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
