package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// arrivals is a fake Resend (POST /emails answering {"id"}, idempotent by
// Idempotency-Key) that notes when each request arrived and tells waiters.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	keys map[string]int
	more chan struct{} // closed, and replaced, by each request
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		http.NotFound(w, r)
		return
	}
	a.at = append(a.at, time.Now())
	key := r.Header.Get("Idempotency-Key")
	a.keys[key]++
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":"email-%d"}`, len(a.keys))
	close(a.more)
	a.more = make(chan struct{})
}

// waitKeys waits until n distinct emails have arrived.
func (a *arrivals) waitKeys(t *testing.T, n int) {
	t.Helper()
	hung := time.NewTimer(hungAfter)
	defer hung.Stop()
	for {
		a.mu.Lock()
		got, more := len(a.keys), a.more
		a.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-hung.C:
			t.Fatalf("%d of %d emails arrived after %s", got, n, hungAfter)
		}
	}
}

// mostInOneSecond is the largest number of requests that arrived within
// one second of each other.
func (a *arrivals) mostInOneSecond() int {
	a.mu.Lock()
	at := slices.Clone(a.at)
	a.mu.Unlock()
	slices.SortFunc(at, func(x, y time.Time) int { return x.Compare(y) })
	most := 0
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// TestBinaryProviderRateLimitAcrossProcesses runs three server processes
// (one with the API, two workers only) on one database with
// PROVIDER_RATE_LIMITS=resend=5/s, and sends 25 emails through the event
// API: Resend never sees more than 5 requests within one second, every
// email arrives exactly once, and every job completes on its first attempt
// (waiting for capacity uses none).
func TestBinaryProviderRateLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	fake := &arrivals{keys: map[string]int{}, more: make(chan struct{})}
	resend := httptest.NewServer(fake)
	t.Cleanup(resend.Close)

	dbURL := dbtest.NewURL(t.Context(), t)
	env := []string{
		"RESEND_API_KEY=re_test", "RESEND_BASE_URL=" + resend.URL, "EMAIL_FROM=MohallaMart <orders@mohallamart.test>",
		"PROVIDER_RATE_LIMITS=resend=5/s", "LOG_LEVEL=info",
	}
	api := startServerOn(t, dbURL, env...)
	for range 2 {
		startServerOn(t, dbURL, append(env, "ROLE=worker")...)
	}

	const n = 25
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"name":"notification/send","id":"limit-%d","data":{"channel":"email","to":"u%d@example.com","subject":"Hello","message":"Hi"}}`, i, i))
	}
	api.postEvents(t, evs)
	fake.waitKeys(t, n)
	most := fake.mostInOneSecond()
	require.LessOrEqual(t, most, 5, "Resend saw more than 5 requests within one second")

	// The jobs complete just after their email arrives.
	var completed, firstAttempt, workers int
	api.waitFor(t, "25 completed send_notification jobs", func() bool {
		require.NoError(t, api.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE state = 'completed'),
				count(*) FILTER (WHERE state = 'completed' AND attempt = 1), count(DISTINCT attempted_by[1])
			FROM river_job WHERE kind = 'send_notification'`).Scan(&completed, &firstAttempt, &workers))
		return completed == n
	})
	require.Equal(t, n, firstAttempt, "waiting for capacity uses no attempt")
	require.GreaterOrEqual(t, workers, 2, "the processes shared the work")
	var held int
	require.NoError(t, api.pool.QueryRow(t.Context(), `SELECT count(*) FROM limit_slots WHERE key = 'resend' AND released_at IS NULL`).Scan(&held))
	require.Zero(t, held, "every slot was released")
	fake.mu.Lock()
	defer fake.mu.Unlock()
	require.Len(t, fake.at, n, "no email was sent twice")
	t.Logf("%d emails through 3 processes (%d worked them): at most %d within one second (limit 5)", n, workers, most)
}
