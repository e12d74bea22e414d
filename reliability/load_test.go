package reliability

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// loadClients is how many clients place a load's orders: a fixed number,
// so the server sees the same connections throughout (its goroutine count
// does not follow the load's latency).
const loadClients = 32

// orderLoad places orders through one API process at a steady rate, from
// loadClients clients, until stopped, and records every answer.
type orderLoad struct {
	c       *cluster
	tickets chan int
	quit    chan struct{}
	done    sync.WaitGroup

	mu       sync.Mutex
	acked    []string
	answers  []loadAnswer
	statuses map[int]int
	behind   int           // orders not placed: every client was busy for longer than a second's worth
	grew     chan struct{} // closed when an order is acknowledged
	started  time.Time
	stopped  time.Time
}

// loadAnswer is one order's answer: when it came and its status (0: no
// answer).
type loadAnswer struct {
	at     time.Time
	status int
	body   string
}

// startOrders starts placing rate orders a second through base for fx's
// customers, spread over its products.
func startOrders(c *cluster, base string, fx shopFixture, rate int) *orderLoad {
	c.t.Helper()
	l := &orderLoad{c: c, tickets: make(chan int, rate), quit: make(chan struct{}), statuses: map[int]int{},
		grew: make(chan struct{}), started: time.Now()}
	for range loadClients {
		l.done.Go(func() {
			for i := range l.tickets {
				body := fmt.Sprintf(`{"userId":%q,"shopId":%q,"items":[{"productId":%q,"quantity":1}]}`,
					fx.customers[i%len(fx.customers)], fx.shop, fx.products[i%len(fx.products)])
				status, out := c.send("POST", base+"/v1/orders", apiKey, body)
				l.answer(status, out)
			}
		})
	}
	l.done.Go(func() {
		defer close(l.tickets)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.quit:
				return
			case <-tick.C:
			}
			select {
			case l.tickets <- i:
			default:
				l.mu.Lock()
				l.behind++
				l.mu.Unlock()
			}
		}
	})
	return l
}

func (l *orderLoad) answer(status int, body string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[status]++
	l.answers = append(l.answers, loadAnswer{at: time.Now(), status: status, body: body})
	if status == http.StatusCreated {
		id, err := idIn(body)
		if err != nil {
			l.c.t.Errorf("order answered 201: %v", err)
			return
		}
		l.acked = append(l.acked, id)
		close(l.grew)
		l.grew = make(chan struct{})
	}
}

// waitAcked waits until n orders are acknowledged in all.
func (l *orderLoad) waitAcked(n int) {
	l.c.t.Helper()
	hung := time.NewTimer(hungAfter)
	defer hung.Stop()
	for {
		l.mu.Lock()
		acked, grew := len(l.acked), l.grew
		l.mu.Unlock()
		if acked >= n {
			return
		}
		select {
		case <-grew:
		case <-hung.C:
			l.c.t.Fatalf("%d of %d orders acknowledged after %s", acked, n, hungAfter)
		case <-l.c.t.Context().Done():
			l.c.t.Fatal(context.Cause(l.c.t.Context()))
		}
	}
}

// ackedCount is how many orders were acknowledged so far.
func (l *orderLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// stop stops placing orders and waits for the answers of those in flight.
func (l *orderLoad) stop() {
	close(l.quit)
	l.done.Wait()
	l.stopped = time.Now()
}

// rate is the orders acknowledged per second while the load ran.
func (l *orderLoad) rate() float64 {
	return float64(len(l.acked)) / l.stopped.Sub(l.started).Seconds()
}
