package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/pgcluster"
)

// outageGrace is how long after PostgreSQL accepts connections again the
// API may still answer 503: it finds out its pooled connections are dead.
const outageGrace = 5 * time.Second

// privateDatabase starts a PostgreSQL cluster of the scenario's own (the
// scenario restarts it; the other scenarios share TEST_DATABASE_URL's
// server) and migrates its database "app", with synchronous_commit on as
// in production: the private cluster runs with it off, which lets a crash
// (an immediate restart) lose the last commits it acknowledged.
func privateDatabase(t *testing.T) (*pgcluster.Cluster, string) {
	t.Helper()
	ctx := t.Context()
	pg, err := pgcluster.Start(ctx, pgcluster.Opts{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	})
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ALTER DATABASE app SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, pg.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pg, pg.URL("app")
}

// probe asks a URL every 50 ms and records when it answered what.
type probe struct {
	mu      sync.Mutex
	answers []loadAnswer
	quit    chan struct{}
	done    chan struct{}
}

func startProbe(c *cluster, url string) *probe {
	p := &probe{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			status, _ := c.send("GET", url, "", "")
			p.mu.Lock()
			p.answers = append(p.answers, loadAnswer{at: time.Now(), status: status})
			p.mu.Unlock()
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// readyAfter waits until the probe got a 200 that it asked for after
// since, and returns when.
func (p *probe) readyAfter(t *testing.T, since time.Time) time.Time {
	t.Helper()
	hung := time.NewTimer(hungAfter)
	defer hung.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		for _, a := range p.answers {
			if a.status == http.StatusOK && a.at.After(since) {
				p.mu.Unlock()
				return a.at
			}
		}
		p.mu.Unlock()
		select {
		case <-tick.C:
		case <-hung.C:
			t.Fatalf("/readyz not 200 within %s after %s", hungAfter, since.Format(time.StampMilli))
		}
	}
}

func (p *probe) stop() []loadAnswer {
	close(p.quit)
	<-p.done
	return p.answers
}

// outage is one restart: from the pg_ctl restart until PostgreSQL accepts
// connections again.
type outage struct {
	mode       string
	begin, end time.Time
	// first503 and last503 are the first and last 503 answers (orders or
	// /readyz) of the outage; apiReady and workerReady each process's
	// first /readyz 200 after end.
	first503, last503, apiReady, workerReady time.Time
	n503                                     int
}

// TestPostgresRestarted restarts PostgreSQL (pg_ctl restart, fast and
// immediate) while orders arrive at restartRate a second through a
// ROLE=api process, with a ROLE=worker process sending their
// confirmations: no acknowledged order is lost, the API answers 503 only
// during the outage and outageGrace after it, both processes are ready
// again (/readyz 200) without being restarted, and the audit passes.
func TestPostgresRestarted(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, fmt.Sprintf("8. PostgreSQL restarted %d times (pg_ctl restart -m fast and immediate) under %d orders/s",
		len(restartModes), restartRate), &figures)
	pg, dbURL := privateDatabase(t)
	resend := newFakeResend(t, nil, false)
	mp := newFakeMixpanel(t, nil, false)
	// A job that fails during an outage is retried after a second
	// (TEST_RETRY_DELAY), not River's attempt⁴ s: the scenario is not
	// about waiting.
	c := newClusterOn(t, dbURL, append(resend.Env(), append(mp.Env(), "TEST_RETRY_DELAY=1s")...)...)
	api, worker := c.launch("api"), c.launch("worker")
	c.waitServing(api)
	c.waitServing(worker)
	fx := newShop(c, api.base, 5)
	fx.addProducts(c, api.base, loadClients-1)
	load := startOrders(c, api.base, fx, restartRate)
	apiReady := startProbe(c, api.base+"/readyz")
	workerReady := startProbe(c, worker.base+"/readyz")
	var outages []outage
	for _, mode := range restartModes {
		load.waitAcked(load.ackedCount() + restartOrders)
		o := outage{mode: mode, begin: time.Now()}
		if err := pg.Restart(t.Context(), mode); err != nil {
			t.Fatal(err)
		}
		o.end = time.Now()
		o.apiReady = apiReady.readyAfter(t, o.end)
		o.workerReady = workerReady.readyAfter(t, o.end)
		outages = append(outages, o)
	}
	load.waitAcked(load.ackedCount() + restartOrders)
	load.stop()
	probes := append(apiReady.stop(), workerReady.stop()...)

	// Every 503 (of an order or a /readyz) belongs to an outage: it came
	// between the restart's start and outageGrace after PostgreSQL was back.
	stray := 0
	for _, a := range append(probes, load.answers...) {
		if a.status != http.StatusServiceUnavailable {
			continue
		}
		in := false
		for i := range outages {
			o := &outages[i]
			if !a.at.Before(o.begin) && !a.at.After(o.end.Add(outageGrace)) {
				in = true
				o.n503++
				if o.first503.IsZero() || a.at.Before(o.first503) {
					o.first503 = a.at
				}
				if a.at.After(o.last503) {
					o.last503 = a.at
				}
			}
		}
		if !in {
			stray++
			t.Errorf("503 at %s, outside every outage (+%s)", a.at.Format(time.StampMilli), outageGrace)
		}
	}
	for status, n := range load.statuses {
		if status != http.StatusCreated && status != http.StatusServiceUnavailable {
			t.Errorf("%d orders answered %d (want only 201, or 503 during an outage)", n, status)
			for _, a := range load.answers {
				if a.status == status {
					t.Logf("e.g. %d: %.300s", status, a.body)
					break
				}
			}
		}
	}
	var windows []string
	for _, o := range outages {
		w := fmt.Sprintf("%s: outage %s", o.mode, o.end.Sub(o.begin).Round(10*time.Millisecond))
		if o.n503 > 0 {
			w += fmt.Sprintf(", %d 503s from its start +%.2fs to its end %+.2fs", o.n503,
				o.first503.Sub(o.begin).Seconds(), o.last503.Sub(o.end).Seconds())
		} else {
			w += ", no 503"
		}
		w += fmt.Sprintf(", /readyz 200 at its end +%.2fs (api), +%.2fs (worker)", o.apiReady.Sub(o.end).Seconds(), o.workerReady.Sub(o.end).Seconds())
		windows = append(windows, w)
		for _, r := range []struct {
			role  string
			ready time.Time
		}{{"api", o.apiReady}, {"worker", o.workerReady}} {
			if r.ready.After(o.end.Add(outageGrace)) {
				t.Errorf("%s restart: the %s's /readyz 200 only %s after PostgreSQL was back, more than %s", o.mode, r.role, r.ready.Sub(o.end), outageGrace)
			}
		}
	}
	drainFrom := time.Now()
	c.waitFor("every confirmation and welcome email sent, analytics sent", `SELECT NOT EXISTS (
		SELECT 1 FROM river_job WHERE kind IN ('send_order_confirmation', 'send_welcome_email') AND state <> 'completed')
		AND `+analyticsSent)
	drained := time.Since(drainFrom)
	var messages, unacked int
	if err := c.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM events WHERE name IN ('order/created', 'user/created')),
		(SELECT count(*) FROM orders WHERE NOT id::text = ANY($1))`, load.acked).Scan(&messages, &unacked); err != nil {
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
	figures = fmt.Sprintf("%d orders acknowledged (%.0f/s over the run, outages included), answers %v, %d stored without an answer (it was lost with the connection); %s; 503s outside an outage: %d; backlog drained %s after the load; ",
		len(load.acked), load.rate(), load.statuses, unacked, strings.Join(windows, "; "), stray, drained.Round(10*time.Millisecond)) + a.run(t, c)
}
