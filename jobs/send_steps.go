package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/notify"
)

// sendOutput is the "send" step's output: the provider's answer, or that an
// earlier attempt had already recorded the message.
type sendOutput struct {
	Provider          string `json:"provider,omitempty"`
	ProviderMessageID string `json:"providerMessageId,omitempty"`
	Status            string `json:"status,omitempty"`
	AlreadyRecorded   bool   `json:"alreadyRecorded,omitempty"`
}

// sendSteps is deliver for a function written with package flow (ctx from
// flow.With): it sends m once as two steps.
//
//   - "send" claims m's deliveries row (as deliver does) and, unless it is
//     already sent, calls the provider outside any transaction; the step
//     records the provider's answer.
//   - "record" marks the row sent, in the transaction that records the step.
//
// A run after the send step was recorded never calls the provider again;
// a crash between the provider's answer and that record sends again with the
// same idempotency key, as deliver does. Errors are deliver's: a rate limit
// snoozes, a permanent rejection removes the claim and cancels.
func sendSteps[T river.JobArgs](ctx context.Context, d db.DB, job *river.Job[T], m message) error {
	sent, err := flow.Run(ctx, "send", func(ctx context.Context) (sendOutput, error) {
		row, err := claim(ctx, d, job, m)
		if err != nil {
			return sendOutput{}, err
		}
		if row.Status != statusSending {
			return sendOutput{AlreadyRecorded: true}, nil
		}
		r, err := m.send(ctx)
		if err != nil {
			return sendOutput{}, unclaimIfPermanent(ctx, d, m.key, providerOutcome(fmt.Errorf("send %s: %w", m.channel, err)))
		}
		return sendOutput{Provider: r.Provider, ProviderMessageID: r.MessageID, Status: r.Status}, nil
	})
	if err != nil {
		return err
	}
	_, err = flow.RunTx(ctx, "record", func(ctx context.Context, tx pgx.Tx) (bool, error) {
		if sent.AlreadyRecorded {
			return false, nil
		}
		err := record(ctx, tx, m.key, notify.Receipt{Provider: sent.Provider, MessageID: sent.ProviderMessageID, Status: sent.Status})
		return err == nil, err
	})
	return err
}
