package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/testserver"
)

// hungAfter only ends a hung scenario (a server that never serves, a
// backlog that never drains); a working server is done long before.
const hungAfter = 5 * time.Minute

// Keys every server of the suite is configured with; the scan checks that
// none reaches a log line or a table.
const (
	eventKey     = "rel-event-key-5b1f0c"
	apiKey       = "rel-api-key-93ad7e"
	resendKey    = "re_rel_secret_7c2e91"
	mixpanelTok  = "mp_rel_secret_4d8a22"
	adminPass    = "rel-admin-pass-1f0e"
	emailFromEnv = "MohallaMart <orders@example.com>"
	twilioSID    = "AC0rel0000000000000000000000000001"
	twilioToken  = "twRelSecret0b9d41" // twilio-go allows letters and digits only
	twilioFrom   = "+15005550006"
	oneSignalApp = "rel-onesignal-app"
	oneSignalKey = "os_rel_secret_6a3f10"
	typesenseKey = "ts_rel_secret_e27c55"
)

// cluster is one scenario's database, the server processes on it, the
// harness's pool and the output of every process.
type cluster struct {
	t     *testing.T
	dbURL string
	pool  *pgxpool.Pool
	logs  *testserver.Buffer
	env   []string
	http  *http.Client
	procs []*proc
}

// newCluster creates the scenario's database (migrated, from
// TEST_DATABASE_URL or a private cluster) with env added to every server.
func newCluster(t *testing.T, env ...string) *cluster {
	t.Helper()
	return newClusterOn(t, dbtest.NewURL(t.Context(), t), env...)
}

// newClusterOn is newCluster on the migrated database at dbURL.
func newClusterOn(t *testing.T, dbURL string, env ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dbURL: dbURL, logs: &testserver.Buffer{}, env: env,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	pool, err := pgxpool.New(context.WithoutCancel(t.Context()), c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c.pool = pool
	t.Cleanup(func() {
		if t.Failed() {
			out := c.logs.String()
			var problems []string
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
					problems = append(problems, line)
				}
			}
			if len(problems) > 50 {
				problems = append(problems[:50], fmt.Sprintf("... and %d more", len(problems)-50))
			}
			all := filepath.Join(os.TempDir(), "reliability-"+strings.ReplaceAll(t.Name(), "/", "-")+".log")
			if err := os.WriteFile(all, []byte(out), 0o600); err != nil {
				all = "not written: " + err.Error()
			}
			if len(out) > 20000 {
				out = out[len(out)-20000:]
			}
			t.Logf("server warnings and errors:\n%s\nserver output (end; all of it in %s):\n%s", strings.Join(problems, "\n"), all, out)
		}
	})
	return c
}

// proc is one server process.
type proc struct {
	*testserver.Server
	role string
	tag  string // the prefix of its lines in the cluster's logs
	base string
}

// start runs the binary with role and waits until it serves.
func (c *cluster) start(role string, extra ...string) *proc {
	c.t.Helper()
	p := c.launch(role, extra...)
	c.waitServing(p)
	return p
}

// startMany starts n processes with role at once and waits until each
// serves.
func (c *cluster) startMany(role string, n int) {
	c.t.Helper()
	procs := make([]*proc, n)
	for i := range procs {
		procs[i] = c.launch(role)
	}
	for _, p := range procs {
		c.waitServing(p)
	}
}

// launch runs the binary with role.
func (c *cluster) launch(role string, extra ...string) *proc {
	c.t.Helper()
	p := &proc{role: role}
	// Each process's lines are tagged in the cluster's logs.
	p.tag = fmt.Sprintf("[%s-%p] ", role, p)
	p.Server = testserver.Launch(c.t, testserver.Options{
		Env: append(append([]string{
			"DATABASE_URL=" + c.dbURL, "ADDR=127.0.0.1:0", "ROLE=" + role, "APP_ENV=development",
			"MIGRATE_ON_START=false", "EVENT_KEYS=" + eventKey, "API_KEYS=" + apiKey, "LOG_LEVEL=debug",
			"ADMIN_USER=ops", "ADMIN_PASSWORD=" + adminPass, "RATE_LIMIT=0",
			"ANALYTICS_BATCH_WAIT=" + analyticsBatchWait.String(),
		}, c.env...), extra...),
		Output: &linePrefixer{prefix: p.tag, w: c.logs},
		Hung:   hungAfter,
	})
	c.procs = append(c.procs, p)
	return p
}

// waitServing waits until p serves and is ready, and sets its base URL.
func (c *cluster) waitServing(p *proc) {
	c.t.Helper()
	p.WaitReady(c.t)
	p.base = p.Base
}

// waitLogged waits until p logs a line with msg, stamped at since or
// later, and returns the line's time.
func (c *cluster) waitLogged(p *proc, msg string, since time.Time) time.Time {
	c.t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.tag) + `time=(\S+) .*` + regexp.QuoteMeta(msg))
	hung := time.NewTimer(hungAfter)
	defer hung.Stop()
	for {
		matches, written := c.logs.MatchAll(re)
		for _, m := range matches {
			if at, err := time.Parse(time.RFC3339Nano, m[1]); err == nil && !at.Before(since) {
				return at
			}
		}
		select {
		case <-written:
		case <-hung.C:
			c.t.Fatalf("%s did not log %q within %s", p.role, msg, hungAfter)
		}
	}
}

// logged says whether p logged a line with msg so far.
func (c *cluster) logged(p *proc, msg string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.tag) + `.*` + regexp.QuoteMeta(msg)).MatchString(c.logs.String())
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() { p.Kill() }

// terminate sends SIGTERM and waits for the process to exit; it returns
// how long that took and the exit error.
func (p *proc) terminate() (time.Duration, error) { return p.Stop(hungAfter) }

// stop terminates every process still running, so the audit sees what they
// leave behind (a job a live worker is running is not left behind).
func (c *cluster) stop() {
	c.t.Helper()
	for _, p := range c.procs {
		if _, err := p.terminate(); err != nil && !p.Killed() {
			c.t.Errorf("%s server exited with %v after SIGTERM", p.role, err)
		}
	}
}

// linePrefixer writes each line with a prefix.
type linePrefixer struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
	rest   []byte
}

func (l *linePrefixer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rest = append(l.rest, p...)
	for {
		i := bytes.IndexByte(l.rest, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := l.w.Write(append([]byte(l.prefix), l.rest[:i+1]...)); err != nil {
			return 0, fmt.Errorf("write log: %w", err)
		}
		l.rest = l.rest[i+1:]
	}
}

// do sends a request with the key and returns the status and body.
func (c *cluster) do(method, url, key, body string) (int, string) {
	c.t.Helper()
	status, out, err := c.roundTrip(method, url, key, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, out
}

// send is do for loads and probes, which may run on other goroutines and
// count failures instead of ending the scenario: a request that got no
// answer is status 0, with the error as its body.
func (c *cluster) send(method, url, key, body string) (int, string) {
	status, out, err := c.roundTrip(method, url, key, body)
	if err != nil {
		return 0, err.Error()
	}
	return status, out
}

func (c *cluster) roundTrip(method, url, key, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(c.t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// procOf returns the process whose River client is clientID (River's
// debug lines name it), or nil.
func (c *cluster) procOf(clientID string) *proc {
	out := c.logs.String()
	for _, p := range c.procs {
		if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.tag) + `.*client_id=` + regexp.QuoteMeta(clientID) + `(\s|$)`).MatchString(out) {
			return p
		}
	}
	return nil
}

// clientID returns the id of p's River client, from the line River logs
// when the client starts (before the process serves).
func (c *cluster) clientID(p *proc) string {
	c.t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.tag) + `.*msg="River client started" client_id=(\S+)`).FindStringSubmatch(c.logs.String())
	if m == nil {
		c.t.Fatalf("%s logged no River client id", p.role)
	}
	return m[1]
}

// dbNow reads the database's clock, to compare with the jobs' times.
func (c *cluster) dbNow() time.Time {
	c.t.Helper()
	var now time.Time
	if err := c.pool.QueryRow(c.t.Context(), `SELECT clock_timestamp()`).Scan(&now); err != nil {
		c.t.Fatal(err)
	}
	return now
}

// rescuesBy counts the times River's rescuer retried a job left running by
// one of clientIDs (the attempt's client), as each retry's error says.
func (c *cluster) rescuesBy(clientIDs []string) int {
	c.t.Helper()
	var n int
	if err := c.pool.QueryRow(c.t.Context(), `SELECT count(*) FROM river_job j, unnest(j.errors) e
		WHERE e->>'error' = 'Stuck job rescued by JobRescuer' AND j.attempted_by[(e->>'attempt')::int] = ANY($1)`, clientIDs).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// leftRunningBy is a query for waitFor: no job of clientIDs ($1), processes
// killed, is still running. River's rescuer retries each once its timeout
// has passed.
const leftRunningBy = `NOT EXISTS (SELECT 1 FROM river_job WHERE state = 'running'
	AND attempted_by[array_length(attempted_by, 1)] = ANY($1))`

// analyticsSent is a condition for waitFor: every tracked event was sent
// to analytics: none waits for a batch run (analytics_pending) and no
// track_analytics run is unfinished (its batch is taken, not yet sent).
// A batch run starts AnalyticsBatchWait (5 s) after the first event of its
// batch.
const analyticsSent = `NOT EXISTS (SELECT 1 FROM analytics_pending)
	AND NOT EXISTS (SELECT 1 FROM river_job WHERE kind = 'track_analytics' AND finalized_at IS NULL)`

// gauges reads the named gauges (without labels) from p's /metrics.
func (c *cluster) gauges(p *proc, names ...string) (map[string]float64, error) {
	status, out := c.send("GET", p.base+"/metrics", "", "")
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics of %s: %d %.200s", p.role, status, out)
	}
	found := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 || !slices.Contains(names, fields[0]) {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s of %s: %w", fields[0], p.role, err)
		}
		found[fields[0]] = v
	}
	for _, n := range names {
		if _, ok := found[n]; !ok {
			return nil, fmt.Errorf("metric %s missing from the /metrics of %s", n, p.role)
		}
	}
	return found, nil
}

// must sends a request and fails the scenario unless it answers want.
func (c *cluster) must(want int, method, url, key, body string) string {
	c.t.Helper()
	status, out := c.do(method, url, key, body)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, url, status, out, want)
	}
	return out
}

// waitFor polls query (one boolean) until it is true. No signal from the
// separate processes tells the harness that a backlog is worked off, so it
// polls the database; hungAfter only ends a scenario that never gets there.
func (c *cluster) waitFor(what, query string, args ...any) {
	c.t.Helper()
	c.waitForEach(what, nil, query, args...)
}

// waitForEach polls query until it is true, running each first when set.
func (c *cluster) waitForEach(what string, each func(context.Context) error, query string, args ...any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), hungAfter)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if each != nil {
			if err := each(ctx); err != nil {
				c.t.Fatalf("wait for %s: %v", what, err)
			}
		}
		var ok bool
		if err := c.pool.QueryRow(ctx, query, args...).Scan(&ok); err != nil {
			c.t.Fatalf("wait for %s: %v; jobs: %s", what, err, c.jobSummary())
		}
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			c.t.Fatalf("%s: not reached within %s; jobs: %s", what, hungAfter, c.jobSummary())
		}
	}
}

// jobSummary counts the jobs by kind and state, and the events waiting in
// batches (analytics_pending: track-analytics's), for a scenario that
// fails waiting.
func (c *cluster) jobSummary() string {
	var s string
	err := c.pool.QueryRow(context.WithoutCancel(c.t.Context()), `SELECT coalesce(string_agg(k, ', '), '') || '; analytics_pending ' ||
		(SELECT count(*) FROM analytics_pending)::text || ', batches with a run ' || (SELECT count(*) FROM fn_batch_events WHERE event_id = '')::text
		FROM (SELECT kind || '/' || state || ' ' || count(*) AS k FROM river_job GROUP BY kind, state ORDER BY 1) j`).Scan(&s)
	if err != nil {
		return err.Error()
	}
	return s
}
