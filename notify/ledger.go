package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
)

// Ledger is the deliveries table: the record of every message sent or
// captured, keyed by idempotency key. Used inside the transaction that
// completes a job, it makes a send happen once: Claim, send, Record, commit.
type Ledger struct {
	queries *db.Queries
}

// NewLedger returns a Ledger working in dbtx (normally the job's
// transaction).
func NewLedger(dbtx db.DBTX) *Ledger {
	return &Ledger{queries: db.New(dbtx)}
}

// Claim locks key until the transaction ends (a concurrent run of the same
// job waits here) and returns the delivery already recorded under it, or nil
// if the message has not been sent yet.
func (l *Ledger) Claim(ctx context.Context, key string) (*db.Delivery, error) {
	if err := l.queries.DeliveryLock(ctx, key); err != nil {
		return nil, fmt.Errorf("lock delivery %s: %w", key, err)
	}
	d, err := l.queries.DeliveryGetByKey(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil //nolint:nilnil // nil means "not sent yet", as documented
	}
	if err != nil {
		return nil, fmt.Errorf("look up delivery %s: %w", key, err)
	}
	return d, nil
}

// Record is one message to write to the ledger.
type Record struct {
	JobID     int64
	EventID   string
	Channel   string
	Recipient string
	Subject   string
	Body      string
	Key       string
	Receipt   Receipt
}

// Record stores a sent or captured message.
func (l *Ledger) Record(ctx context.Context, r Record) (*db.Delivery, error) {
	var jobID *int64
	if r.JobID != 0 {
		jobID = &r.JobID
	}
	var eventID *string
	if r.EventID != "" {
		eventID = &r.EventID
	}
	d, err := l.queries.DeliveryInsert(ctx, db.DeliveryInsertParams{
		JobID: jobID, EventID: eventID, Channel: r.Channel, Recipient: r.Recipient, Subject: r.Subject, Body: r.Body,
		Provider: r.Receipt.Provider, ProviderMessageID: r.Receipt.MessageID, Status: r.Receipt.Status, IdempotencyKey: r.Key,
	})
	if err != nil {
		return nil, fmt.Errorf("record delivery %s: %w", r.Key, err)
	}
	return d, nil
}
