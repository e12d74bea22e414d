package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/internal/redact"
	"github.com/mohallamart/backend/notify"
)

// defaultSnooze is how long a rate-limited job waits when the provider did
// not say (no Retry-After).
const defaultSnooze = 30 * time.Second

// statusSending is a deliveries row claimed but not yet known to be sent.
const statusSending = "sending"

// message is one email, SMS or push a job sends.
type message struct {
	origin    origin
	channel   string
	recipient string
	subject   string
	body      string // stored in deliveries (the text rendering)
	html      string // an email's HTML body, stored in deliveries.html (empty for SMS and push)
	key       string
	send      func(ctx context.Context) (notify.Receipt, error)
}

// origin is what a message is sent for: the triggering event and the job
// kind (the function). With the recipient it makes the idempotency key.
type origin struct {
	eventID string
	kind    string
	jobID   int64 // the job sending it, which holds its rate-limit slot
}

// originOf is the origin of a message job sends for event eventID.
func originOf(job *rivertype.JobRow, eventID string) origin {
	return origin{eventID: eventID, kind: job.Kind, jobID: job.ID}
}

// email is the message that sends e to to through the configured Mailer.
func (d *Deps) email(o origin, to string, e renderedEmail) message {
	key := IdempotencyKey(o.eventID, o.kind, to)
	return message{
		origin: o, channel: notify.ChannelEmail, recipient: to, subject: e.Subject, body: e.Text, html: e.HTML, key: key,
		send: d.limited(notify.ChannelEmail, o.jobID, func(ctx context.Context) (notify.Receipt, error) {
			return d.Mailer.SendEmail(ctx, notify.Email{To: to, Subject: e.Subject, HTML: e.HTML, Text: e.Text, IdempotencyKey: key})
		}),
	}
}

// push is the message that sends a push notification to userID's devices;
// keyAs is the recipient its idempotency key is made with.
func (d *Deps) push(o origin, keyAs, userID, title, body string) message {
	key := IdempotencyKey(o.eventID, o.kind, keyAs)
	return message{
		origin: o, channel: notify.ChannelPush, recipient: userID, subject: title, body: body, key: key,
		send: d.limited(notify.ChannelPush, o.jobID, func(ctx context.Context) (notify.Receipt, error) {
			return d.Push.SendPush(ctx, notify.Push{UserID: userID, Title: title, Body: body, IdempotencyKey: key})
		}),
	}
}

// sms is the message that texts body to the phone number to.
func (d *Deps) sms(o origin, to, body string) message {
	key := IdempotencyKey(o.eventID, o.kind, to)
	return message{
		origin: o, channel: notify.ChannelSMS, recipient: to, body: body, key: key,
		send: d.limited(notify.ChannelSMS, o.jobID, func(ctx context.Context) (notify.Receipt, error) {
			return d.SMS.SendSMS(ctx, notify.SMS{To: to, Body: body, IdempotencyKey: key})
		}),
	}
}

// limited returns send under channel's shared rate limit (Deps.SendLimits),
// if it has one: a slot is taken just before the provider is called and
// released once it has answered, each in a short transaction of its own.
// Without capacity it returns a *limit.FullError, which snoozes the job: it
// waits without using an attempt, and its claimed message is sent by the
// run that gets a slot.
func (d *Deps) limited(channel string, jobID int64, send func(ctx context.Context) (notify.Receipt, error)) func(ctx context.Context) (notify.Receipt, error) {
	rule, ok := d.SendLimits[channel]
	if !ok {
		return send
	}
	return func(ctx context.Context) (notify.Receipt, error) {
		var receipt notify.Receipt
		err := d.limiter.Do(ctx, rule, jobID, func(ctx context.Context) error {
			var err error
			receipt, err = send(ctx)
			return err
		})
		return receipt, err
	}
}

// send delivers msgs once each for job (deliver). Its errors, which River
// stores in river_job.errors (shown by River UI, GET /v1/events/{id} and
// failed-job alerts), have every email address and phone number redacted:
// recipients are in idempotency keys, and providers echo them in their
// answers.
func (d *Deps) send(ctx context.Context, job *rivertype.JobRow, msgs ...message) error {
	return redact.Error(deliver(ctx, d.ledger, job, msgs...))
}

// deliver sends msgs once each for job, holding no transaction, lock or
// connection while a provider is called. For each message:
//
//  1. claim: one statement (shared with other jobs' claims: ledger) writes
//     its deliveries row as 'sending' under its idempotency key, or returns
//     the row an earlier attempt wrote, and records the run's steps
//     finished before it (flow.Flush: its rateLimit grant, say, which a
//     retry then keeps). A row already 'sent' or 'captured' means the
//     message went out: skip it.
//  2. send, outside any transaction, with the idempotency key. A row still
//     'sending' from an earlier attempt (one that died or timed out after
//     claiming) is sent again with the same key: Resend and OneSignal
//     deduplicate it; Twilio has no such key, so there the message can go
//     twice (at least once, never lost).
//  3. record: one statement (shared with other jobs' records: ledger) makes
//     the row 'sent' or 'captured' with the provider's message id.
//
// The job is then completed by River's batched completer, with the
// completions of other jobs. The deliveries rows, not the job's state, are
// what makes a retry send nothing: a crash between the record and the
// completion costs a retry that finds every message recorded (on the job's
// last attempt, River's rescuer discards it instead, its messages sent).
// Run with flow.Do, as every function's run is.
//
// Send errors become River's outcomes: a rate limit snoozes the job for the
// provider's Retry-After (no attempt used), a permanent rejection cancels it
// with the provider's message, and anything else is returned for a retry
// with backoff.
func deliver(ctx context.Context, l *ledger, job *rivertype.JobRow, msgs ...message) error {
	for _, m := range msgs {
		row, err := l.claimAfterSteps(ctx, job.ID, m)
		if err != nil {
			return err
		}
		if row.Status != statusSending {
			continue
		}
		receipt, err := l.call(ctx, m)
		if err != nil {
			return err
		}
		if err := l.record(ctx, job.ID, m.key, receipt, flow.Records{}); err != nil {
			return err
		}
	}
	return nil
}

// claimAfterSteps claims m for job jobID (ledger.claim) in the statement
// that also writes the records of the run's steps finished before it
// (flow.Flush), so a retry after the claim replays them instead of running
// them again: a rateLimit grant, or a step before the send.
func (l *ledger) claimAfterSteps(ctx context.Context, jobID int64, m message) (*db.Delivery, error) {
	var row *db.Delivery
	err := flow.Flush(ctx, func(ctx context.Context, steps flow.Records) (err error) {
		row, err = l.claim(ctx, jobID, m, steps)
		return err
	})
	return row, err
}

// call sends claimed message m, outside any transaction. A provider's
// error becomes River's outcome for the job (providerOutcome), with the
// claim removed when the rejection is permanent (unclaimIfPermanent).
func (l *ledger) call(ctx context.Context, m message) (notify.Receipt, error) {
	r, err := m.send(ctx)
	if err != nil {
		return r, unclaimIfPermanent(ctx, l.db, m.key, providerOutcome(fmt.Errorf("send %s: %w", m.channel, err)))
	}
	return r, nil
}

// claim writes m's deliveries row as 'sending', or returns the row an
// earlier attempt wrote under its key; steps are records of job jobID's
// flow steps written in the same statement (flow.Flush), or none.
func claim(ctx context.Context, d db.DBTX, jobID int64, m message, steps flow.Records) (*db.Delivery, error) {
	var eventID *string
	if m.origin.eventID != "" {
		eventID = &m.origin.eventID
	}
	row, err := db.New(d).DeliveryClaim(ctx, db.DeliveryClaimParams{
		JobID: &jobID, EventID: eventID, Channel: m.channel, Recipient: m.recipient,
		Subject: m.subject, Body: m.body, HTML: m.html, IdempotencyKey: m.key,
		Steps: steps.Steps, Outputs: steps.Outputs, StartedAts: steps.StartedAt, CompletedAts: steps.CompletedAt,
	})
	if err != nil {
		return nil, fmt.Errorf("claim delivery %s: %w", m.key, err)
	}
	return row, nil
}

// unclaimIfPermanent removes the claim of a message the provider rejected
// for good (outcome is a cancellation), so the ledger holds only messages
// that may have gone out. It returns outcome.
func unclaimIfPermanent(ctx context.Context, d db.DBTX, key string, outcome error) error {
	if !isCancel(outcome) {
		return outcome
	}
	if _, err := db.New(d).DeliveryUnclaim(ctx, key); err != nil {
		return fmt.Errorf("unclaim delivery %s: %w (after %w)", key, err, outcome)
	}
	return outcome
}

// record stores the provider's answer for a claimed message of job jobID;
// steps are records of the job's flow steps written in the same statement
// (flow.RunWrite), or none.
func record(ctx context.Context, q db.DBTX, jobID int64, key string, r notify.Receipt, steps flow.Records) error {
	_, err := db.New(q).DeliveryRecordSent(ctx, db.DeliveryRecordSentParams{
		Status: r.Status, Provider: r.Provider, ProviderMessageID: r.MessageID, IdempotencyKey: key,
		JobID: &jobID, Steps: steps.Steps, Outputs: steps.Outputs, StartedAts: steps.StartedAt, CompletedAts: steps.CompletedAt,
	})
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", key, err)
	}
	return nil
}

// providerOutcome maps an outside service's error to what River should do
// with the job: snooze for a rate limit, cancel a permanent rejection, retry
// anything else.
func providerOutcome(err error) error {
	var rl *providererr.RateLimitError
	if errors.As(err, &rl) {
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = defaultSnooze
		}
		return &rateLimited{snooze: river.JobSnooze(wait)}
	}
	if providererr.IsPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// rateLimited is a provider's rate limit: it snoozes the job for the
// provider's Retry-After, and it is the one snooze FailureAlerter caps (a
// provider that never lets up is a failure; the job's own waits are not).
type rateLimited struct{ snooze error }

func (e *rateLimited) Error() string { return "provider rate limit: " + e.snooze.Error() }

// Unwrap returns the River snooze, so River snoozes the job.
func (e *rateLimited) Unwrap() error { return e.snooze }

// isCancel reports whether outcome cancels the job (a permanent failure).
func isCancel(outcome error) bool {
	var cancel *rivertype.JobCancelError
	return errors.As(outcome, &cancel)
}
