package jobs_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/internal/testserver"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify/resend"
)

// TestCancelledJobsAlert: a provider that rejects every message (an
// unverified sender: 422) cancels the jobs; each cancellation is logged at
// error level and, in the transaction that settles the job, one alert per
// kind per hour is published to OPS_EMAIL.
func TestCancelledJobsAlert(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// Resend refuses every message to customers (an unverified sender
	// domain, say) and takes the alert to ops.
	fake := closed(t, providerfake.NewResend(providerfake.Options{Key: "re_test", Record: true, Script: func(to string, _ int) providerfake.Answer {
		if to == "ops@mohallamart.test" {
			return providerfake.OK
		}
		return providerfake.Reject
	}}))
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
	require.NoError(t, err)
	var logs testserver.Buffer
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
	alertsSent := requestsTo(fake, "ops@mohallamart.test")
	require.Len(t, alertsSent, 1)
	contains(t, alertsSent[0].Text, "send_welcome_email job(s) failed for good in the past hour", "cancelled as permanent failures", "HTTP 422")
	require.Equal(t, 2, strings.Count(logs.String(), `level=ERROR msg="Job failed for good" job_kind=send_welcome_email`), logs.String())
}

// TestSnoozesAreCapped: a provider that always answers 429 snoozes a job
// without using attempts, but not for ever: past MaxSnoozeAge the rate limit
// counts as an error, so the job with one attempt is discarded and alerted.
func TestSnoozesAreCapped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := newFakeResend(t, providerfake.TooMany, providerfake.TooMany)
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
	require.Len(t, fake.Emails(), 1)
}
