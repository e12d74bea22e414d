package jobs_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/notify/resend"
)

// resendBundle is a test bundle whose email goes to a fake Resend.
func resendBundle(t *testing.T, script ...int) (*testBundle, *fakeResend) {
	t.Helper()
	fake := newFakeResend(t, script...)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "MohallaMart <orders@mohallamart.test>", BaseURL: fake.URL})
	require.NoError(t, err)
	return setup(t, bundleOpts{deps: jobs.Deps{Mailer: mailer}}), fake
}

func TestSendWelcomeEmailResend(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t)
	ctx := t.Context()

	_, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
	require.NoError(t, err)
	eventID := eventIDOf(t, b.pool, "user/created")

	rows := waitJobs(t, b.pool, "send_welcome_email", 1)
	require.Equal(t, "completed", rows[0].State)
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	key := "send_welcome_email/" + eventID + "/asha@example.com"
	require.Equal(t, key, reqs[0].Key)
	require.Equal(t, []string{"asha@example.com"}, reqs[0].Body.To)
	require.Equal(t, "MohallaMart <orders@mohallamart.test>", reqs[0].Body.From)
	require.Equal(t, "Welcome to MohallaMart, Asha!", reqs[0].Body.Subject)
	contains(t, reqs[0].Body.HTML, "<h1>Welcome to MohallaMart, Asha!</h1>")
	contains(t, reqs[0].Body.Text, "Hi Asha,")

	ds := listDeliveries(t, b.pool)
	require.Len(t, ds, 1)
	require.Equal(t, delivery{
		Channel: "email", Recipient: "asha@example.com", Subject: "Welcome to MohallaMart, Asha!", Body: ds[0].Body,
		Provider: "resend", ProviderMessageID: "email-1", Status: "sent", Key: key,
	}, ds[0])
}

func TestSendEmailRetriesServerErrors(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t, 500, 500)

	_, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "ravi@example.com", Name: "Ravi"})
	require.NoError(t, err)

	rows := waitJobs(t, b.pool, "send_welcome_email", 1)
	require.Equal(t, "completed", rows[0].State)
	require.Equal(t, 3, rows[0].Attempt)
	require.Len(t, rows[0].Errors, 2)
	require.Contains(t, rows[0].Errors[0].Error, "resend answered HTTP 500: An unexpected error occurred.")
	require.Len(t, fake.Requests(), 3)
	require.Equal(t, 1, fake.Sent())
	require.Len(t, listDeliveries(t, b.pool), 1)
}

func TestSendEmailSnoozesOnRateLimit(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t, 429)

	_, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "meera@example.com", Name: "Meera"})
	require.NoError(t, err)

	rows := waitJobs(t, b.pool, "send_welcome_email", 1)
	require.Equal(t, "completed", rows[0].State)
	require.Equal(t, 1, rows[0].Attempt, "a snooze does not use up an attempt")
	require.Empty(t, rows[0].Errors)
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	wait := reqs[1].At.Sub(reqs[0].At)
	require.GreaterOrEqual(t, wait, 2*time.Second, "snoozed for Retry-After")
	require.Less(t, wait, 4*time.Second)
	require.Len(t, listDeliveries(t, b.pool), 1)
}

func TestSendEmailCancelsOnPermanentError(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t, 422)

	_, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "bad@example.com", Name: "Bad"})
	require.NoError(t, err)

	rows := waitJobs(t, b.pool, "send_welcome_email", 1)
	require.Equal(t, "cancelled", rows[0].State)
	require.Equal(t, 1, rows[0].Attempt)
	require.Len(t, rows[0].Errors, 1)
	require.Contains(t, rows[0].Errors[0].Error, "resend rejected the message (HTTP 422): Invalid `to` field.")
	time.Sleep(200 * time.Millisecond) // longer than a retry would take
	require.Len(t, fake.Requests(), 1)
	require.Empty(t, listDeliveries(t, b.pool))
}

// TestSendEmailCrashBetweenSendAndCommit makes the transaction that records
// the delivery and completes the job fail once, after Resend accepted the
// email: the retry sends the same Idempotency-Key, so Resend delivers once.
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

	rows := waitJobs(t, b.pool, "send_welcome_email", 1)
	require.Equal(t, "completed", rows[0].State)
	require.Equal(t, 2, rows[0].Attempt)
	require.Contains(t, rows[0].Errors[0].Error, "simulated crash before commit")
	reqs := fake.Requests()
	require.Len(t, reqs, 2, "the retry asked Resend again")
	require.Equal(t, reqs[0].Key, reqs[1].Key)
	require.Equal(t, 1, fake.Sent(), "but Resend sent one email")
	ds := listDeliveries(t, b.pool)
	require.Len(t, ds, 1)
	require.Equal(t, "email-1", ds[0].ProviderMessageID)
}

// TestSendEmailRetryFindsDelivery: a job whose delivery is already recorded
// (a previous attempt committed it) completes without sending.
func TestSendEmailRetryFindsDelivery(t *testing.T) {
	t.Parallel()
	fake := newFakeResend(t)
	mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
	require.NoError(t, err)
	pool := dbtestPool(t)
	eventID := "evt-welcome-1"
	_, err = pool.Exec(t.Context(), `INSERT INTO events (id, name, data, ts) VALUES ($1, 'user/created', '{"userId":"u1","email":"x@example.com","name":"X"}', now())`, eventID)
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `INSERT INTO deliveries (channel, recipient, provider, status, idempotency_key) VALUES ('email', 'x@example.com', 'resend', 'sent', $1)`,
		jobs.IdempotencyKey(eventID, "send_welcome_email", "x@example.com"))
	require.NoError(t, err)
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Mailer: mailer}})

	_, err = b.client.Insert(t.Context(), jobargs.SendWelcomeEmailArgs{EventID: eventID, UserID: "u1"}, nil)
	require.NoError(t, err)

	rows := waitJobs(t, pool, "send_welcome_email", 1)
	require.Equal(t, "completed", rows[0].State)
	require.Empty(t, fake.Requests())
	require.Len(t, listDeliveries(t, pool), 1)
}
