package jobs_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify/resend"
)

// syncBuffer is a log destination tests can read while jobs write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCancelledJobsAlert: a provider that rejects every message (an
// unverified sender: 422) cancels the jobs; each cancellation is logged at
// error level and, in the transaction that settles the job, one alert per
// kind per hour is published to OPS_EMAIL.
func TestCancelledJobsAlert(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// Resend refuses every message to customers (an unverified sender
	// domain, say) and takes the alert to ops.
	var mu sync.Mutex
	var alertsSent []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			To   []string `json:"to"`
			Text string   `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		if len(body.To) == 1 && body.To[0] == "ops@mohallamart.test" {
			mu.Lock()
			alertsSent = append(alertsSent, body.Text)
			mu.Unlock()
			_, _ = w.Write([]byte(`{"id":"alert-1"}`))
			return
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"statusCode":422,"message":"The mohallamart.test domain is not verified.","name":"validation_error"}`))
	}))
	t.Cleanup(fake.Close)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
	require.NoError(t, err)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	b := setup(t, bundleOpts{
		deps:    jobs.Deps{Mailer: mailer},
		alerter: &jobs.FailureAlerter{OpsEmail: "ops@mohallamart.test", Logger: logger},
	})
	_, err = b.pool.Exec(ctx, `INSERT INTO events (id, name, data, ts) VALUES
		('evt-1', 'user/created', '{"userId":"u1","email":"a@example.com","name":"A"}', now()),
		('evt-2', 'user/created', '{"userId":"u2","email":"b@example.com","name":"B"}', now())`)
	require.NoError(t, err)

	for _, id := range []string{"evt-1", "evt-2"} {
		_, err = b.client.Insert(ctx, runOf("send_welcome_email", id), &river.InsertOpts{Queue: jobs.QueueEmail})
		require.NoError(t, err)
	}
	rows := b.waitJobs(t, "send_welcome_email", 2)
	for _, r := range rows {
		require.Equal(t, rivertype.JobStateCancelled, r.State)
		require.Contains(t, r.Errors[len(r.Errors)-1].Error, "resend rejected the message (HTTP 422)")
	}
	var alerts int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE id LIKE 'ops-alert/send_welcome_email/%'`).Scan(&alerts))
	require.Equal(t, 1, alerts, "one alert per kind per hour")
	b.waitJobs(t, "send_notification", 1)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, alertsSent, 1)
	contains(t, alertsSent[0], "send_welcome_email job(s) failed for good in the past hour", "cancelled as permanent failures", "HTTP 422")
	require.Equal(t, 2, strings.Count(logs.String(), `level=ERROR msg="Job failed for good" job_kind=send_welcome_email`), logs.String())
}

// TestSnoozesAreCapped: a provider that always answers 429 snoozes a job
// without using attempts, but not for ever: past MaxSnoozeAge the rate limit
// counts as an error, so the job with one attempt is discarded and alerted.
func TestSnoozesAreCapped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := newFakeResend(t, http.StatusTooManyRequests, http.StatusTooManyRequests)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
	require.NoError(t, err)
	later := func() time.Time { return time.Now().Add(jobs.MaxSnoozeAge + time.Hour) }
	b := setup(t, bundleOpts{
		deps:    jobs.Deps{Mailer: mailer},
		alerter: &jobs.FailureAlerter{Logger: testLogger(t), NowFunc: later},
	})
	_, err = b.pool.Exec(ctx, `INSERT INTO events (id, name, data, ts) VALUES ('evt-1', 'user/created', '{"userId":"u1","email":"a@example.com","name":"A"}', now())`)
	require.NoError(t, err)
	_, err = b.client.Insert(ctx, runOf("send_welcome_email", "evt-1"), &river.InsertOpts{Queue: jobs.QueueEmail, MaxAttempts: 1})
	require.NoError(t, err)
	rows := b.waitJobs(t, "send_welcome_email", 1)
	require.Equal(t, rivertype.JobStateDiscarded, rows[0].State)
	require.Contains(t, rows[0].Errors[0].Error, "still rate limited after 0 snoozes")
	require.Len(t, fake.Requests(), 1)
}
