package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mohallamart/backend/internal/providerfake"
)

// TestIdenticalEvents sends the same event (same id) in 50 requests at once:
// one event is stored, with one set of jobs, and one email goes out.
func TestIdenticalEvents(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, "2. 50 identical event POSTs at once", &figures)
	resend := newFakeResend(t, nil, false)
	c := newCluster(t, resend.Env()...)
	s := c.start("all")
	const body = `{"name":"user/created","id":"signup-same","data":{"userId":"u-same","email":"same@example.com","name":"Same"}}`
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for range 50 {
		wg.Go(func() {
			<-start
			status, out := c.send("POST", s.base+"/v1/events", eventKey, body)
			mu.Lock()
			statuses[status]++
			mu.Unlock()
			if status != http.StatusOK || !strings.Contains(out, `"signup-same"`) {
				t.Errorf("POST: %d %s", status, out)
			}
		})
	}
	close(start)
	wg.Wait()
	c.waitFor("the welcome email sent", `SELECT EXISTS (SELECT 1 FROM river_job WHERE kind = 'send_welcome_email')
		AND NOT EXISTS (SELECT 1 FROM river_job WHERE kind = 'send_welcome_email' AND state <> 'completed')`)
	a := audit{
		acked:        map[string][]string{"events": {"signup-same"}},
		jobsPerEvent: map[string]map[string]int{"user/created": {"send_welcome_email": 1}},
		providers:    []expect{{fake: resend, channel: "email", delivered: 1}},
	}
	figures = fmt.Sprintf("answers %v; ", statuses) + a.run(t, c)
	var events, jobs int
	if err := c.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM river_job WHERE args ? 'event_id')`).Scan(&events, &jobs); err != nil {
		t.Fatal(err)
	}
	if events != 1 || jobs != 1 {
		t.Errorf("%d events and %d event jobs stored, want 1 and 1", events, jobs)
	}
	figures = fmt.Sprintf("%d event, %d job; ", events, jobs) + figures
}

// TestShutdownUnderLoad sends SIGTERM while welcome emails are being sent,
// Resend answering each only after inFlightFor, longer than the server lets
// running jobs finish before it cancels them: the process logs that it
// cancels them, exits 0 within SHUTDOWN_TIMEOUT plus the 10 s docs/guarantees.md
// allows and leaves no job running, and after a restart every email is
// delivered once, a cancelled send re-sent with its Idempotency-Key
// (Resend sees that key twice and delivers it once).
func TestShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, fmt.Sprintf("4. SIGTERM with %d emails in flight", termUsers), &figures)
	// The server cancels running jobs a quarter of SHUTDOWN_TIMEOUT before
	// it (1.5 s after SIGTERM); a send in flight at SIGTERM lasts
	// inFlightFor, within PROVIDER_TIMEOUT, so it is cancelled, not timed out.
	const (
		shutdownTimeout = 2 * time.Second
		inFlightFor     = 5 * time.Second
		providerTimeout = 10 * time.Second
	)
	resend := newFakeResend(t, providerfake.Always(providerfake.Slow), false)
	resend.SetSlow(inFlightFor)
	c := newCluster(t, append(resend.Env(), "SHUTDOWN_TIMEOUT="+shutdownTimeout.String(), "PROVIDER_TIMEOUT="+providerTimeout.String())...)
	s := c.start("all")
	var ids []string
	for b := 0; b < termUsers; b += 100 {
		var evs []string
		for i := b; i < min(b+100, termUsers); i++ {
			id := fmt.Sprintf("signup-%d", i)
			ids = append(ids, id)
			evs = append(evs, fmt.Sprintf(`{"name":"user/created","id":%q,"data":{"userId":"u%d","email":"u%d@example.com","name":"U"}}`, id, i, i))
		}
		c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, "["+strings.Join(evs, ",")+"]")
	}
	c.waitFor("welcome emails being sent", `SELECT count(*) > 0 FROM river_job WHERE kind = 'send_welcome_email' AND state = 'running'`)
	took, err := s.terminate()
	if err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if took > shutdownTimeout+10*time.Second {
		t.Errorf("exited %s after SIGTERM, more than SHUTDOWN_TIMEOUT %s + 10 s", took, shutdownTimeout)
	}
	const cancelling = "Jobs still running near SHUTDOWN_TIMEOUT"
	if !c.logged(s, cancelling) {
		t.Errorf("the server did not log %q: no send was cancelled", cancelling)
	}
	var running, done int
	if err := c.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'completed')
		FROM river_job WHERE kind = 'send_welcome_email'`).Scan(&running, &done); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d jobs left running after SIGTERM", running)
	}
	// The restarted server's sends are answered as slowly as usual, so the
	// backlog drains in termUsers/40 × slowFor.
	resend.SetSlow(slowFor)
	c.start("all")
	c.waitFor("every welcome email sent after the restart", `SELECT count(*) = $1 FROM river_job
		WHERE kind = 'send_welcome_email' AND state = 'completed'`, termUsers)
	// The audit checks that Resend saw one distinct key per email and
	// delivered each once, and one deliveries row per email, sent.
	a := audit{
		acked:        map[string][]string{"events": ids},
		jobsPerEvent: map[string]map[string]int{"user/created": {"send_welcome_email": 1}},
		providers:    []expect{{fake: resend, channel: "email", delivered: termUsers}},
	}
	figures = fmt.Sprintf("exit after %s (SHUTDOWN_TIMEOUT %s), %d running, %d of %d sent before; after restart: ",
		took.Round(10*time.Millisecond), shutdownTimeout, running, done, termUsers) + a.run(t, c)
	if perKey := resend.Counts().MaxPerKey; perKey != 2 {
		t.Errorf("Resend saw at most %d requests with one Idempotency-Key, want 2: a send cancelled at SIGTERM, re-sent with its key", perKey)
	}
}
