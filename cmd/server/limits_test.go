package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/providerfake"
)

// mostInOneSecond is the largest number of requests that arrived within
// one second of each other.
func mostInOneSecond(reqs []providerfake.Request) int {
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.At
	}
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
	resend := providerfake.NewResend(providerfake.Options{Key: "re_test", From: "MohallaMart <orders@mohallamart.test>", Record: true})
	t.Cleanup(resend.Close)

	dbURL := dbtest.NewURL(t.Context(), t)
	env := append(resend.Env(), "PROVIDER_RATE_LIMITS=resend=5/s", "LOG_LEVEL=info")
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
	ctx, cancel := context.WithTimeout(t.Context(), hungAfter)
	defer cancel()
	require.NoError(t, resend.Wait(ctx, func(c providerfake.Counts) bool { return c.Keys >= n }), "%d emails arrived", n)
	most := mostInOneSecond(resend.Requests())
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
	require.Len(t, resend.Requests(), n, "no email was sent twice")
	t.Logf("%d emails through 3 processes (%d worked them): at most %d within one second (limit 5)", n, workers, most)
}
