package jobs_test

import (
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify/resend"
)

// TestFailureAlert: a job discarded after its last attempt sends one email
// to OPS_EMAIL naming the kind, the count and the last error; a second
// discard of that kind within the hour sends none.
func TestFailureAlert(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := newFakeResend(t, providerfake.Fail, providerfake.OK, providerfake.Fail)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setup(t, bundleOpts{
		deps:    jobs.Deps{Mailer: mailer},
		alerter: &jobs.FailureAlerter{OpsEmail: "ops@mohallamart.test", Logger: testLogger(t)},
	})
	_, err = b.pool.Exec(ctx, `INSERT INTO events (id, name, data, ts) VALUES
		('evt-1', 'user/created', '{"userId":"u1","email":"a@example.com","name":"A"}', now()),
		('evt-2', 'user/created', '{"userId":"u2","email":"b@example.com","name":"B"}', now())`)
	require.NoError(t, err)

	_, err = b.client.Insert(ctx, runOf("send_welcome_email", "evt-1"), &river.InsertOpts{Queue: jobs.QueueEmail, MaxAttempts: 1})
	require.NoError(t, err)
	job := b.waitJobs(t, "send_welcome_email", 1)[0]
	require.Equal(t, rivertype.JobStateDiscarded, job.State)
	b.waitJobs(t, "send_notification", 1)

	alerts := requestsTo(fake, "ops@mohallamart.test")
	require.Len(t, alerts, 1)
	alert := alerts[0]
	require.Equal(t, "[MohallaMart] send_welcome_email jobs are failing", alert.Subject)
	contains(t, alert.Text, "1 send_welcome_email job(s) failed for good in the past hour: 1 discarded",
		"attempt 1 of 1", "resend answered HTTP 500: An unexpected error occurred.")

	_, err = b.client.Insert(ctx, runOf("send_welcome_email", "evt-2"), &river.InsertOpts{Queue: jobs.QueueEmail, MaxAttempts: 1})
	require.NoError(t, err)
	require.Equal(t, rivertype.JobStateDiscarded, b.waitJobs(t, "send_welcome_email", 2)[1].State)
	// The alerter publishes its alert in the transaction that discards the
	// job: had it published a second one, it would be stored by now.
	var alertEvents int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE id LIKE 'ops-alert/send_welcome_email/%'`).Scan(&alertEvents))
	require.Equal(t, 1, alertEvents, "one alert per kind per hour")
}

// requestsTo returns the requests fake received for emails to to.
func requestsTo(fake *providerfake.Resend, to string) []providerfake.Email {
	var out []providerfake.Email
	for _, r := range fake.Emails() {
		if len(r.To) == 1 && r.To[0] == to {
			out = append(out, r)
		}
	}
	return out
}
