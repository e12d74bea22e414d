package jobs

import (
	"context"

	"github.com/riverqueue/river/rivertype"

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

// sendSteps is deliver for a function written with package flow (run by
// flow.Do): it sends m once as two steps, in two statements, each shared
// with other jobs' (ledger).
//
//   - "send" claims m's deliveries row (as deliver does) in the statement
//     that writes the records of the steps finished before it (flow.Flush),
//     so a provider error cannot make the retry run them again; unless the
//     row is already sent, it then calls the provider outside any
//     transaction. The step's output is the provider's answer.
//   - "record" marks the row sent in the statement that writes the send
//     step's record and its own (flow.RunWrite).
//
// A run after the send step was recorded never calls the provider again;
// a crash between the provider's answer and that record sends again with the
// same idempotency key, as deliver does. Errors are deliver's: a rate limit
// snoozes, a permanent rejection removes the claim and cancels.
func sendSteps(ctx context.Context, l *ledger, job *rivertype.JobRow, m message) error {
	sent, err := flow.Run(ctx, "send", func(ctx context.Context) (sendOutput, error) {
		row, err := l.claimAfterSteps(ctx, job.ID, m)
		if err != nil {
			return sendOutput{}, err
		}
		if row.Status != statusSending {
			return sendOutput{AlreadyRecorded: true}, nil
		}
		r, err := l.call(ctx, m)
		if err != nil {
			return sendOutput{}, err
		}
		return sendOutput{Provider: r.Provider, ProviderMessageID: r.MessageID, Status: r.Status}, nil
	})
	if err != nil {
		return err
	}
	if sent.AlreadyRecorded { // nothing to mark: the run's end writes the step records
		_, err = flow.Run(ctx, "record", func(context.Context) (bool, error) { return false, nil })
		return err
	}
	_, err = flow.RunWrite(ctx, "record", true, func(ctx context.Context, steps flow.Records) error {
		return l.record(ctx, job.ID, m.key, notify.Receipt{Provider: sent.Provider, MessageID: sent.ProviderMessageID, Status: sent.Status}, steps)
	})
	return err
}
