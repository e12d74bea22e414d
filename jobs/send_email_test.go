package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/notify/resend"
)

// resendMailer is a Resend client sending to a fake Resend that answers
// with script's answers in turn (then OK).
func resendMailer(t *testing.T, script ...providerfake.Answer) (*providerfake.Resend, *resend.Mailer) {
	t.Helper()
	fake := newFakeResend(t, script...)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "MohallaMart <orders@mohallamart.test>", BaseURL: fake.URL})
	require.NoError(t, err)
	return fake, mailer
}

// resendBundle is a test bundle whose email goes to a fake Resend.
func resendBundle(t *testing.T, script ...providerfake.Answer) (*testBundle, *providerfake.Resend) {
	t.Helper()
	fake, mailer := resendMailer(t, script...)
	return setup(t, bundleOpts{deps: jobs.Deps{Mailer: mailer}}), fake
}

// TestSendWelcomeEmailResend: user/created starts send-welcome-email,
// which sends the welcome email through Resend once, under the message's
// idempotency key, and records it in deliveries.
func TestSendWelcomeEmailResend(t *testing.T) {
	t.Parallel()
	fake, mailer := resendMailer(t)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	to := "asha-" + uuid.NewString() + "@example.com"
	ev := event(t, events.UserCreated{UserID: uuid.NewString(), Email: to, Name: "Asha"})

	res := b.run(t, "send-welcome-email", ev)
	requireState(t, res, rivertype.JobStateCompleted)
	reqs := fake.Emails()
	require.Len(t, reqs, 1)
	key := "send_welcome_email/" + ev.ID + "/" + to
	require.Equal(t, key, reqs[0].Key)
	require.Equal(t, []string{to}, reqs[0].To)
	require.Equal(t, "MohallaMart <orders@mohallamart.test>", reqs[0].From)
	require.Equal(t, "Welcome to MohallaMart, Asha!", reqs[0].Subject)
	contains(t, reqs[0].HTML, "<h1>Welcome to MohallaMart, Asha!</h1>")
	contains(t, reqs[0].Text, "Hi Asha,")

	ds := deliveriesTo(t, b.tx, to)
	require.Len(t, ds, 1)
	require.Equal(t, delivery{
		Channel: "email", Recipient: to, Subject: "Welcome to MohallaMart, Asha!", Body: ds[0].Body,
		Provider: "resend", ProviderMessageID: "email-1", Status: "sent", Key: key,
	}, ds[0])
}

// TestSendWelcomeEmailOncePerUser: a second user/created for the same user
// within a day starts no run (idempotency by userId); another user's does.
func TestSendWelcomeEmailOncePerUser(t *testing.T) {
	t.Parallel()
	b := setupTx(t, jobs.Deps{})
	userID := uuid.NewString()
	b.publish(t, events.UserCreated{UserID: userID, Email: "once-" + userID + "@example.com", Name: "Once"})
	b.publish(t, events.UserCreated{UserID: userID, Email: "again-" + userID + "@example.com", Name: "Again"})
	require.Len(t, pendingRuns(t, b, "send_welcome_email"), 1)
	b.publish(t, events.UserCreated{UserID: uuid.NewString(), Email: "other-" + userID + "@example.com", Name: "Other"})
	require.Len(t, pendingRuns(t, b, "send_welcome_email"), 2)
}

// TestSendEmailRetriesServerErrors: River retries a job whose send failed
// with a server error; the third attempt sends the email.
func TestSendEmailRetriesServerErrors(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t, providerfake.Fail, providerfake.Fail)

	_, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "ravi@example.com", Name: "Ravi"})
	require.NoError(t, err)

	job := b.waitJobs(t, "send_welcome_email", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	require.Equal(t, 3, job.Attempt)
	require.Len(t, job.Errors, 2)
	require.Contains(t, job.Errors[0].Error, "resend answered HTTP 500: An unexpected error occurred.")
	require.Len(t, requestsTo(fake, "ravi@example.com"), 3)
	require.Equal(t, 1, fake.Counts().Delivered)
	require.Len(t, deliveriesTo(t, b.pool, "ravi@example.com"), 1)
}

// TestSendEmailSnoozesOnRateLimit: a 429 snoozes the run for Resend's
// Retry-After without using up an attempt; its next run sends the email.
func TestSendEmailSnoozesOnRateLimit(t *testing.T) {
	t.Parallel()
	fake, mailer := resendMailer(t, providerfake.TooMany)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	to := "meera-" + uuid.NewString() + "@example.com"

	before := time.Now()
	res := b.run(t, "send-welcome-email", event(t, events.UserCreated{UserID: uuid.NewString(), Email: to, Name: "Meera"}))
	requireSnoozed(t, res, before, time.Now(), 2*time.Second)

	res = b.work(t, "send-welcome-email", res.Job.ID) // the run after the snooze
	requireState(t, res, rivertype.JobStateCompleted)
	require.Equal(t, 1, res.Job.Attempt, "a snooze does not use up an attempt")
	require.Empty(t, res.Job.Errors)
	require.Len(t, fake.Emails(), 2)
	require.Len(t, deliveriesTo(t, b.tx, to), 1)
}

// TestSendEmailCancelsOnPermanentError: Resend rejecting the message (422)
// cancels the run with Resend's message, leaving no delivery; a cancelled
// run is final, so River never sends it again.
func TestSendEmailCancelsOnPermanentError(t *testing.T) {
	t.Parallel()
	fake, mailer := resendMailer(t, providerfake.Reject)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	to := "bad-" + uuid.NewString() + "@example.com"

	res := b.run(t, "send-welcome-email", event(t, events.UserCreated{UserID: uuid.NewString(), Email: to, Name: "Bad"}))
	requireState(t, res, rivertype.JobStateCancelled)
	require.Equal(t, 1, res.Job.Attempt)
	require.Len(t, res.Job.Errors, 1)
	require.Contains(t, res.Job.Errors[0].Error, "resend rejected the message (HTTP 422): Invalid `to` field.")
	require.Len(t, fake.Emails(), 1)
	require.Empty(t, deliveriesTo(t, b.tx, to))
}

// TestSendEmailCrashBetweenSendAndCommit makes the statement that records
// the delivery fail once, after Resend accepted the email: the retry sends
// the same Idempotency-Key, so Resend delivers once.
func TestSendEmailCrashBetweenSendAndCommit(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t)
	ctx := t.Context()
	// A trigger failing the first update of a deliveries row (the record of
	// the provider's answer, after the send); a sequence (not rolled back
	// with the transaction) counts the updates.
	_, err := b.pool.Exec(ctx, `
		CREATE SEQUENCE crash_once;
		CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('crash_once') = 1 THEN RAISE EXCEPTION 'simulated crash before commit'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER crash_once BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION crash_once();`)
	require.NoError(t, err)

	_, err = b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "kiran@example.com", Name: "Kiran"})
	require.NoError(t, err)

	job := b.waitJobs(t, "send_welcome_email", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	require.Equal(t, 2, job.Attempt)
	require.Contains(t, job.Errors[0].Error, "simulated crash before commit")
	reqs := fake.Emails()
	require.Len(t, reqs, 2, "the retry asked Resend again")
	require.Equal(t, reqs[0].Key, reqs[1].Key)
	require.Equal(t, 1, fake.Counts().Delivered, "but Resend sent one email")
	ds := listDeliveries(t, b.pool)
	require.Len(t, ds, 1)
	require.Equal(t, "email-1", ds[0].ProviderMessageID)
}

// TestSendEmailRetryFindsDelivery: a run whose delivery is already
// recorded (a previous attempt committed it) completes without sending.
func TestSendEmailRetryFindsDelivery(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake, mailer := resendMailer(t)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	to := "x-" + uuid.NewString() + "@example.com"
	ev := event(t, events.UserCreated{UserID: uuid.NewString(), Email: to, Name: "X"})
	_, err := b.tx.Exec(ctx, `INSERT INTO deliveries (channel, recipient, provider, status, idempotency_key) VALUES ('email', $1, 'resend', 'sent', $2)`,
		to, jobs.IdempotencyKey(ev.ID, "send_welcome_email", to))
	require.NoError(t, err)

	requireState(t, b.run(t, "send-welcome-email", ev), rivertype.JobStateCompleted)
	require.Empty(t, fake.Emails())
	require.Len(t, deliveriesTo(t, b.tx, to), 1)
}

// TestSendRecordsRateLimitBeforeCalling: a send-notification whose
// rateLimit granted it a slot has that grant recorded by the time it calls
// the provider (with its message's claim), so a retry after a crash during
// the call or before its run's end keeps the grant: it neither takes a
// second slot of the recipient's hour nor is dropped as over the limit.
func TestSendRecordsRateLimitBeforeCalling(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	recorded := make(chan bool, 1)
	fake := closed(t, providerfake.NewResend(providerfake.Options{Key: "re_test", Record: true,
		Script: func(string, int) providerfake.Answer {
			var n int
			err := pool.QueryRow(context.Background(), `SELECT count(*) FROM flow_steps WHERE step = '$rateLimit'`).Scan(&n)
			recorded <- err == nil && n == 1
			return providerfake.OK
		}}))
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "MohallaMart <orders@mohallamart.test>", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Mailer: mailer, NotificationsPerHour: 1}})

	to := "grant-" + uuid.NewString() + "@example.com"
	publish(t, b, events.NotificationSend{Channel: "email", To: to, Message: "Offer"})
	require.True(t, <-recorded, "the rateLimit step is recorded when the provider is called")
	require.Equal(t, rivertype.JobStateCompleted, b.waitJobs(t, "send_notification", 1)[0].State)
}
