package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// postAdmin sends body to an admin route of s (open: ADMIN_USER is unset)
// and decodes the 200 answer.
func (s *runningServer) postAdmin(t *testing.T, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s: %s", path, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// TestBinaryPauseAndCancelAcrossProcesses runs two server processes on one
// database: A serves the API (ROLE=api, no workers), B works the jobs
// (ROLE=worker). send-welcome-email is paused through A; the welcome runs
// of three sign-ups sent to A are held by B (none sends an email) while
// the other functions of the events run. A bulk cancel through A cancels
// one user's held run; after the resume through A, B sends the two others'
// welcome email once each and never the cancelled one.
func TestBinaryPauseAndCancelAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL := dbtest.NewURL(ctx, t)
	a := startServerOn(t, dbURL, "ROLE=api", "LOG_LEVEL=info")
	b := startServerOn(t, dbURL, "ROLE=worker", "LOG_LEVEL=info")

	res := a.postAdmin(t, "/admin/functions/send-welcome-email/pause", "")
	require.Equal(t, false, res["alreadyPaused"])
	users := []string{"pause-u1", "pause-u2", "pause-u3"}
	var evs []string
	for _, u := range users {
		evs = append(evs, fmt.Sprintf(`{"name":"user/created","id":"signup-%s","data":{"userId":%q,"email":"%s@example.com","name":"Asha"}}`, u, u, u))
	}
	a.postEvents(t, evs)

	count := func(sql string, args ...any) (n int) {
		require.NoError(t, a.pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	welcome := func(state string) int {
		return count(`SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = $1::river_job_state`, state)
	}
	// B fetched each run and held it: no signal crosses the processes, so
	// the test reads the runs' state.
	a.waitFor(t, "3 held welcome runs", func() bool { return welcome("pending") == 3 })
	// B logs a hold after its state is committed: wait for the line.
	b.waitForLog(t, regexp.MustCompile(`Run held: its function is paused`))
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND attempt > 0`), "held runs used no attempt")
	a.waitFor(t, "the other function's run", func() bool {
		return count(`SELECT count(*) FROM river_job WHERE kind = 'track_analytics' AND state = 'completed'`) >= 1
	})
	require.Zero(t, count(`SELECT count(*) FROM deliveries WHERE event_id LIKE 'signup-pause-%'`), "no welcome email while paused")

	dry := a.postAdmin(t, "/admin/runs/cancel", `{"function":"send-welcome-email","match":"data.userId=pause-u3","dryRun":true}`)
	require.Equal(t, 1.0, dry["matched"])
	require.Equal(t, 3, welcome("pending"), "a dry run changes nothing")
	cancelled := a.postAdmin(t, "/admin/runs/cancel", `{"function":"send-welcome-email","match":"data.userId=pause-u3"}`)
	require.Equal(t, 1.0, cancelled["cancelled"])

	resumed := a.postAdmin(t, "/admin/functions/send-welcome-email/resume", `{}`)
	require.Equal(t, 2.0, resumed["released"])
	a.waitFor(t, "2 completed welcome runs", func() bool { return welcome("completed") == 2 })
	for _, u := range users[:2] {
		require.Equal(t, 1, count(`SELECT count(*) FROM deliveries WHERE event_id = $1`, "signup-"+u), "%s: one welcome email", u)
	}
	require.Zero(t, count(`SELECT count(*) FROM deliveries WHERE event_id = 'signup-pause-u3'`), "the cancelled run sent nothing")
	require.Equal(t, 1, welcome("cancelled"))
	require.Equal(t, 2, count(`SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email' AND state = 'completed' AND attempt = 1`),
		"each held run ran once, on its first attempt")
}
