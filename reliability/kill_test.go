package reliability

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// idOf reads the id of a created row from an API answer, or ends the
// scenario; goroutines other than the test's use idIn.
func idOf(t *testing.T, body string) string {
	t.Helper()
	id, err := idIn(body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// idIn reads the id of a created row from an API answer.
func idIn(body string) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == "" {
		return "", fmt.Errorf("no id in %.300s", body)
	}
	return v.ID, nil
}

// shopFixture creates, through the REST API, a shop owner, a shop, a
// product with plenty of stock and customers (with phone numbers).
type shopFixture struct {
	users     []string
	shop      string
	product   string
	products  []string // product and those addProducts added
	customers []string
}

// addProducts adds n products with plenty of stock to the shop, so a load
// of orders does not queue on one product's row (on a busy machine such a
// queue outlasts DB_TIMEOUT: 503).
func (f *shopFixture) addProducts(c *cluster, base string, n int) {
	c.t.Helper()
	for i := range n {
		f.products = append(f.products, idOf(c.t, c.must(http.StatusCreated, "POST", base+"/v1/products", apiKey,
			fmt.Sprintf(`{"shopId":%q,"name":"Dal %d kg","pricePaise":12900,"stock":1000000}`, f.shop, i+1))))
	}
}

func newShop(c *cluster, base string, customers int) shopFixture {
	c.t.Helper()
	var f shopFixture
	owner := idOf(c.t, c.must(http.StatusCreated, "POST", base+"/v1/users", apiKey,
		`{"email":"owner@example.com","name":"Owner","phone":"+919800000100"}`))
	f.users = append(f.users, owner)
	f.shop = idOf(c.t, c.must(http.StatusCreated, "POST", base+"/v1/shops", apiKey,
		fmt.Sprintf(`{"name":"Gupta Kirana","ownerId":%q,"address":"MG Road"}`, owner)))
	f.product = idOf(c.t, c.must(http.StatusCreated, "POST", base+"/v1/products", apiKey,
		fmt.Sprintf(`{"shopId":%q,"name":"Atta 5kg","pricePaise":24900,"stock":1000000}`, f.shop)))
	f.products = []string{f.product}
	for i := range customers {
		id := idOf(c.t, c.must(http.StatusCreated, "POST", base+"/v1/users", apiKey,
			fmt.Sprintf(`{"email":"customer%d@example.com","name":"Customer %d","phone":"+9198000%05d"}`, i, i, i)))
		f.customers = append(f.customers, id)
		f.users = append(f.users, id)
	}
	return f
}

// TestWorkerKilled places orders through a ROLE=api process while the
// ROLE=worker process is SIGKILLed at random moments, each time starting a
// new one, waits until River's rescuer has retried what the killed workers
// left running (their timeouts passed) and it has run, then audits: every
// acknowledged order stored with exactly one confirmation job, every
// confirmation delivered by Resend exactly once (distinct Idempotency-Keys
// == confirmations), every tracked event at Mixpanel once.
func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, fmt.Sprintf("1. %d orders, worker SIGKILLed %d times", killOrders, killCount), &figures)
	resend := newFakeResend(t, nil, true) // keep: for the leak scan
	mp := newFakeMixpanel(t, nil, true)
	// Every kind times out within killTimeout, and River rescues the
	// running jobs of a killed worker that long after their start: in the
	// full run 30 s, a send's own timeout, so the recovery measured is
	// production's; in the short tier 5 s, so plain go test waits less.
	c := newCluster(t, append(append(resend.Env(), mp.Env()...), "TEST_MAX_JOB_TIMEOUT="+killTimeout.String())...)
	api := c.start("api")
	worker := c.start("worker")
	fx := newShop(c, api.base, 20)

	// The kill moments: after a random number of acknowledged orders each,
	// and once the worker that replaced the last one has confirmed an order.
	points := make([]int, killCount)
	for i := range points {
		points[i] = rand.IntN(killOrders)
	}
	slices.Sort(points)
	acks := make(chan struct{}, killOrders)
	var (
		mu     sync.Mutex
		orders []string
	)
	placed := make(chan struct{})
	go func() {
		defer close(placed)
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					status, body := c.send("POST", api.base+"/v1/orders", apiKey, fmt.Sprintf(
						`{"userId":%q,"shopId":%q,"items":[{"productId":%q,"quantity":1}]}`, fx.customers[i%len(fx.customers)], fx.shop, fx.product))
					if status != http.StatusCreated {
						t.Errorf("order %d: %d %s", i, status, body)
						continue
					}
					id, err := idIn(body)
					if err != nil {
						t.Errorf("order %d: %v", i, err)
						continue
					}
					mu.Lock()
					orders = append(orders, id)
					mu.Unlock()
					acks <- struct{}{}
				}
			})
		}
		for i := range killOrders {
			next <- i
		}
		close(next)
		wg.Wait()
	}()

	acked, confirmed := 0, 0
	var (
		killed []string    // the killed workers' River client ids
		at     []time.Time // when each was killed (the database's clock)
	)
	start := time.Now()
	for _, p := range points {
		for acked < p {
			select {
			case <-acks:
				acked++
			case <-placed:
				acked = killOrders
			}
		}
		// The new worker has confirmed an order (or there are none left).
		c.waitFor("the worker confirms an order", `SELECT count(*) > $1 OR NOT EXISTS (
			SELECT 1 FROM river_job WHERE kind = 'send_order_confirmation' AND state <> 'completed')
			FROM river_job WHERE kind = 'send_order_confirmation' AND state = 'completed'`, confirmed)
		killed = append(killed, c.clientID(worker))
		worker.kill()
		at = append(at, c.dbNow())
		worker = c.start("worker")
		if err := c.pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'send_order_confirmation' AND state = 'completed'`).Scan(&confirmed); err != nil {
			t.Fatal(err)
		}
	}
	<-placed
	// Nothing puts the killed workers' jobs back but River's rescuer.
	c.waitFor("every confirmation and welcome email sent, analytics sent, no job of a killed worker running", `SELECT NOT EXISTS (
		SELECT 1 FROM river_job WHERE kind IN ('send_order_confirmation', 'send_welcome_email') AND state <> 'completed')
		AND `+analyticsSent+` AND `+leftRunningBy, killed)
	took := time.Since(start)
	recovery := c.recoveryAfterKills(killed, at)

	mu.Lock()
	defer mu.Unlock()
	a := audit{
		acked: map[string][]string{"orders": orders, "users": fx.users},
		jobsPerEvent: map[string]map[string]int{
			"order/created": {"send_order_confirmation": 1},
			"user/created":  {"send_welcome_email": 1},
		},
		providers: []expect{{fake: resend, channel: "email", delivered: len(orders) + len(fx.users)}},
		tracked:   len(orders) + len(fx.users), mixpanel: mp,
	}
	figures = fmt.Sprintf("%d orders acknowledged, %d kills, %d running jobs rescued by River; %s; ", len(orders), killCount, c.rescuesBy(killed), recovery) + a.run(t, c) +
		fmt.Sprintf("; %s", took.Round(100*time.Millisecond))
	if len(orders) != killOrders {
		t.Errorf("%d of %d orders acknowledged", len(orders), killOrders)
	}
	t.Run("leaks", func(t *testing.T) {
		var f string
		record(t, "6. no secret, no personal data outside users/deliveries/events (after scenario 1)", &f)
		f = scanForLeaks(t, c, mp, resend)
	})
}

// recoveryAfterKills measures, from the jobs' times, how soon the
// confirmations a kill left running were sent after it (River's rescuer
// retries them), the kills being the workers with River client ids killed,
// at the times at; and how soon after the last order the last confirmation
// was sent.
func (c *cluster) recoveryAfterKills(killed []string, at []time.Time) string {
	c.t.Helper()
	ctx := c.t.Context()
	var worst time.Duration
	left := 0
	for i, id := range killed {
		var n int
		var last *time.Time
		if err := c.pool.QueryRow(ctx, `SELECT count(*), max(finalized_at) FROM river_job
			WHERE kind = 'send_order_confirmation' AND $1 = ANY(attempted_by) AND finalized_at > $2`, id, at[i]).Scan(&n, &last); err != nil {
			c.t.Fatal(err)
		}
		left += n
		if last != nil {
			worst = max(worst, last.Sub(at[i]))
		}
	}
	var lastOrder, lastSent time.Time
	if err := c.pool.QueryRow(ctx, `SELECT (SELECT max(created_at) FROM orders),
		(SELECT max(finalized_at) FROM river_job WHERE kind = 'send_order_confirmation')`).Scan(&lastOrder, &lastSent); err != nil {
		c.t.Fatal(err)
	}
	return fmt.Sprintf("%d confirmations left running by the kills, the last of them sent %s after its kill; the last order → the last confirmation sent %s",
		left, worst.Round(100*time.Millisecond), lastSent.Sub(lastOrder).Round(100*time.Millisecond))
}
