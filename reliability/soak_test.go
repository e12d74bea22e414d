package reliability

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sample is one reading of a process's /metrics.
type sample struct {
	at         time.Time
	rss        float64
	goroutines float64
}

// sampler reads the RSS and goroutine count of processes every soakSample.
type sampler struct {
	mu      sync.Mutex
	samples map[*proc][]sample
	errs    []string
	quit    chan struct{}
	done    chan struct{}
}

func startSampler(c *cluster, procs ...*proc) *sampler {
	s := &sampler{samples: map[*proc][]sample{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(soakSample)
		defer tick.Stop()
		for {
			for _, p := range procs {
				g, err := c.gauges(p, "process_resident_memory_bytes", "go_goroutines")
				s.mu.Lock()
				if err != nil {
					s.errs = append(s.errs, err.Error())
				} else {
					s.samples[p] = append(s.samples[p], sample{at: time.Now(), rss: g["process_resident_memory_bytes"], goroutines: g["go_goroutines"]})
				}
				s.mu.Unlock()
			}
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() {
	close(s.quit)
	<-s.done
}

// halves are the medians of a process's samples after the warm-up: the
// first half's and the second's. A median, not a mean: a moment of
// contention on the machine holds requests and jobs in flight, each a
// goroutine, and would tip a mean; a leak moves the median.
type halves struct {
	rss, goroutines [2]float64
	n               int
}

func (s *sampler) halves(p *proc, from time.Time) halves {
	var kept []sample
	for _, x := range s.samples[p] {
		if !x.at.Before(from) {
			kept = append(kept, x)
		}
	}
	h := halves{n: len(kept)}
	mid := len(kept) / 2
	for i, part := range [][]sample{kept[:mid], kept[mid:]} {
		var rss, gor []float64
		for _, x := range part {
			rss, gor = append(rss, x.rss), append(gor, x.goroutines)
		}
		h.rss[i], h.goroutines[i] = median(rss), median(gor)
	}
	return h
}

// median is the middle of xs (the mean of the two middle ones for an even
// count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return (xs[(len(xs)-1)/2] + xs[len(xs)/2]) / 2
}

// change is b over a, minus one.
func change(a, b float64) float64 { return b/a - 1 }

// TestSoak places soakRate orders a second through a ROLE=api process for
// soakFor, a ROLE=worker process sending their confirmations, and samples
// both processes' /metrics: no acknowledged order is lost (the audit), and
// after soakWarmup each process's median RSS and goroutine count in the
// second half is within flatWithin of the first half's; the goroutine
// count may also move by up to loadClients, the requests the load can have
// in flight (each holds a goroutine or two while it is served), which a
// leak outgrows within minutes at soakRate. An order may be
// answered 503 when the machine is so busy that its database work exceeds
// DB_TIMEOUT: it is counted, not acknowledged, and nothing else.
func TestSoak(t *testing.T) {
	if !fullRun {
		t.Parallel()
	} // the full soak runs alone, before the other scenarios: their loads would move its figures
	var figures string
	record(t, fmt.Sprintf("10. soak: %d orders/s for %s", soakRate, soakFor), &figures)
	resend := newFakeResend(t, nil, false)
	mp := newFakeMixpanel(t, nil, false)
	c := newCluster(t, append(resend.Env(), mp.Env()...)...)
	api, worker := c.launch("api"), c.launch("worker")
	c.waitServing(api)
	c.waitServing(worker)
	fx := newShop(c, api.base, 10)
	fx.addProducts(c, api.base, loadClients-1)

	s := startSampler(c, api, worker)
	load := startOrders(c, api.base, fx, soakRate)
	warm := time.Now().Add(soakWarmup)
	select {
	case <-time.After(soakFor):
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	load.stop()
	s.stop()
	if len(s.errs) > 0 {
		t.Errorf("%d /metrics readings failed, e.g. %s", len(s.errs), s.errs[0])
	}
	var flat []string
	for _, p := range []*proc{api, worker} {
		h := s.halves(p, warm)
		if h.n < 4 {
			t.Fatalf("%s: %d samples after the warm-up", p.role, h.n)
		}
		rss, gor := change(h.rss[0], h.rss[1]), change(h.goroutines[0], h.goroutines[1])
		flat = append(flat, fmt.Sprintf("%s RSS %.1f → %.1f MiB (%+.1f%%), goroutines %.1f → %.1f (%+.1f%%)", p.role,
			h.rss[0]/(1<<20), h.rss[1]/(1<<20), 100*rss, h.goroutines[0], h.goroutines[1], 100*gor))
		gorFlat := math.Abs(gor) <= flatWithin || math.Abs(h.goroutines[1]-h.goroutines[0]) <= loadClients
		if math.Abs(rss) > flatWithin || !gorFlat {
			t.Errorf("%s is not flat within %.0f%% (goroutines: or %d; second half over first, after %s): RSS %+.1f%%, goroutines %+.1f%%",
				p.role, 100*flatWithin, loadClients, soakWarmup, 100*rss, 100*gor)
		}
	}
	for status, n := range load.statuses {
		if status != http.StatusCreated && status != http.StatusServiceUnavailable {
			t.Errorf("%d orders answered %d", n, status)
		}
	}
	c.waitFor("every confirmation and welcome email sent, analytics sent", `SELECT NOT EXISTS (
		SELECT 1 FROM river_job WHERE kind IN ('send_order_confirmation', 'send_welcome_email') AND state <> 'completed')
		AND `+analyticsSent)
	drained := time.Since(load.stopped)
	var messages int
	if err := c.pool.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE name IN ('order/created', 'user/created')`).Scan(&messages); err != nil {
		t.Fatal(err)
	}
	a := audit{
		acked: map[string][]string{"orders": load.acked, "users": fx.users},
		jobsPerEvent: map[string]map[string]int{
			"order/created": {"send_order_confirmation": 1},
			"user/created":  {"send_welcome_email": 1},
		},
		providers: []expect{{fake: resend, channel: "email", delivered: messages}},
		tracked:   messages, mixpanel: mp,
	}
	figures = fmt.Sprintf("%d orders acknowledged (%.1f/s), answers %v, %d not placed (the clients were behind), backlog drained %s after the load; medians of samples every %s after a %s warm-up, first half → second: %s; ",
		len(load.acked), load.rate(), load.statuses, load.behind, drained.Round(10*time.Millisecond), soakSample, soakWarmup, strings.Join(flat, "; ")) + a.run(t, c)
}
