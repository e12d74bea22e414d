package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/notify"
)

// defaultSnooze is how long a rate-limited job waits when the provider did
// not say (no Retry-After).
const defaultSnooze = 30 * time.Second

// message is one email, SMS or push a job sends.
type message struct {
	channel   string
	recipient string
	subject   string
	body      string // stored in deliveries (the text rendering)
	key       string
	send      func(ctx context.Context) (notify.Receipt, error)
}

func emailMessage(m notify.Mailer, key string, to string, e renderedEmail) message {
	return message{
		channel: notify.ChannelEmail, recipient: to, subject: e.Subject, body: e.Text, key: key,
		send: func(ctx context.Context) (notify.Receipt, error) {
			return m.SendEmail(ctx, notify.Email{To: to, Subject: e.Subject, HTML: e.HTML, Text: e.Text, IdempotencyKey: key})
		},
	}
}

func pushMessage(p notify.Pusher, key, userID, title, body string) message {
	return message{
		channel: notify.ChannelPush, recipient: userID, subject: title, body: body, key: key,
		send: func(ctx context.Context) (notify.Receipt, error) {
			return p.SendPush(ctx, notify.Push{UserID: userID, Title: title, Body: body, IdempotencyKey: key})
		},
	}
}

func smsMessage(s notify.SMSSender, key, to, body string) message {
	return message{
		channel: notify.ChannelSMS, recipient: to, body: body, key: key,
		send: func(ctx context.Context) (notify.Receipt, error) {
			return s.SendSMS(ctx, notify.SMS{To: to, Body: body, IdempotencyKey: key})
		},
	}
}

// deliver sends msgs once each and completes job. Each message gets a
// transaction: claim its key in the deliveries ledger (a key already there
// was sent by an earlier attempt: skip it), send, record the delivery; the
// last message's transaction also completes the job (river.JobCompleteTx).
// So a message is recorded exactly when its send succeeded, and a retry
// resends nothing that was recorded. Should the process die between a
// provider's answer and the commit, the retry sends again with the same
// idempotency key, which Resend and OneSignal deduplicate.
//
// Send errors become River's outcomes: a rate limit snoozes the job for the
// provider's Retry-After (no attempt used), a permanent rejection cancels it
// with the provider's message, and anything else is returned for a retry
// with backoff.
func deliver[T river.JobArgs](ctx context.Context, d DB, job *river.Job[T], eventID string, msgs ...message) error {
	if len(msgs) == 0 {
		return nil
	}
	for i, m := range msgs {
		last := i == len(msgs)-1
		err := inTx(ctx, d, func(tx pgx.Tx) error {
			ledger := notify.NewLedger(tx)
			prev, err := ledger.Claim(ctx, m.key)
			if err != nil {
				return err
			}
			if prev == nil {
				receipt, err := m.send(ctx)
				if err != nil {
					return providerOutcome(fmt.Errorf("send %s to %s: %w", m.channel, m.recipient, err))
				}
				_, err = ledger.Record(ctx, notify.Record{
					JobID: job.ID, EventID: eventID, Channel: m.channel, Recipient: m.recipient,
					Subject: m.subject, Body: m.body, Key: m.key, Receipt: receipt,
				})
				if err != nil {
					return err
				}
			}
			if last {
				return completeTx(ctx, tx, job)
			}
			return nil
		})
		if err != nil {
			return err
		}
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
		return river.JobSnooze(wait)
	}
	if providererr.IsPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}
