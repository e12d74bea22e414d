package jobs

import (
	"context"
	"fmt"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/internal/groupcommit"
	"github.com/mohallamart/backend/notify"
)

// ledgerBatch bounds how many messages' claims or records one statement
// writes.
const ledgerBatch = 64

// ledger writes the deliveries rows of the messages jobs send (claim,
// then record), with the records of the jobs' flow steps. The claims and
// the records of concurrent jobs are group commits: those that arrive while
// one statement is written are written together by the next
// (DeliveryClaimMany, DeliveryRecordSentMany); a message alone is written
// at once.
type ledger struct {
	db      db.DB
	claims  *groupcommit.Batcher[claimReq, *db.Delivery]
	records *groupcommit.Batcher[recordReq, struct{}]
}

// claimReq is a message to claim for job jobID, with steps' records.
type claimReq struct {
	jobID int64
	m     message
	steps flow.Records
}

// recordReq is the provider's answer for a claimed message of job jobID,
// with steps' records.
type recordReq struct {
	jobID   int64
	key     string
	receipt notify.Receipt
	steps   flow.Records
}

// newLedger returns the ledger of d.
func newLedger(d db.DB) *ledger {
	l := &ledger{db: d}
	l.claims = groupcommit.New(ledgerBatch, l.claimMany, func(ctx context.Context, r claimReq) (*db.Delivery, error) {
		return claim(ctx, d, r.jobID, r.m, r.steps)
	})
	l.records = groupcommit.New(ledgerBatch, l.recordMany, func(ctx context.Context, r recordReq) (struct{}, error) {
		return struct{}{}, record(ctx, d, r.jobID, r.key, r.receipt, r.steps)
	})
	return l
}

// claim writes m's deliveries row as 'sending', or returns the row an
// earlier attempt wrote under its key (claim), in a group commit.
func (l *ledger) claim(ctx context.Context, jobID int64, m message, steps flow.Records) (*db.Delivery, error) {
	row, err := l.claims.Do(ctx, claimReq{jobID: jobID, m: m, steps: steps})
	if err == nil && row == nil {
		err = fmt.Errorf("claim delivery %s: no row returned", m.key)
	}
	return row, err
}

// record stores the provider's answer for a claimed message (record), in a
// group commit.
func (l *ledger) record(ctx context.Context, jobID int64, key string, r notify.Receipt, steps flow.Records) error {
	_, err := l.records.Do(ctx, recordReq{jobID: jobID, key: key, receipt: r, steps: steps})
	return err
}

// claimMany claims reqs' messages in one statement.
func (l *ledger) claimMany(ctx context.Context, reqs []claimReq) ([]*db.Delivery, error) {
	var (
		p  db.DeliveryClaimManyParams
		jr jobRecords
	)
	for _, r := range reqs {
		m := r.m
		p.JobIds = append(p.JobIds, r.jobID)
		p.EventIds = append(p.EventIds, m.origin.eventID)
		p.Channels, p.Recipients = append(p.Channels, m.channel), append(p.Recipients, m.recipient)
		p.Subjects, p.Bodies, p.Htmls = append(p.Subjects, m.subject), append(p.Bodies, m.body), append(p.Htmls, m.html)
		p.IdempotencyKeys = append(p.IdempotencyKeys, m.key)
		jr.add(r.jobID, r.steps)
	}
	p.StepJobIds, p.Steps, p.Outputs, p.StartedAts, p.CompletedAts = jr.jobIDs, jr.Steps, jr.Outputs, jr.StartedAt, jr.CompletedAt
	rows, err := db.New(l.db).DeliveryClaimMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("claim %d deliveries: %w", len(reqs), err)
	}
	byKey := make(map[string]*db.Delivery, len(rows))
	for _, row := range rows {
		byKey[row.IdempotencyKey] = row
	}
	out := make([]*db.Delivery, len(reqs))
	for i, r := range reqs {
		out[i] = byKey[r.m.key] // nil if none came back: claim fails that one alone
	}
	return out, nil
}

// recordMany records reqs' answers in one statement.
func (l *ledger) recordMany(ctx context.Context, reqs []recordReq) ([]struct{}, error) {
	var (
		p  db.DeliveryRecordSentManyParams
		jr jobRecords
	)
	for _, r := range reqs {
		p.IdempotencyKeys = append(p.IdempotencyKeys, r.key)
		p.Statuses, p.Providers = append(p.Statuses, r.receipt.Status), append(p.Providers, r.receipt.Provider)
		p.ProviderMessageIds = append(p.ProviderMessageIds, r.receipt.MessageID)
		jr.add(r.jobID, r.steps)
	}
	p.StepJobIds, p.Steps, p.Outputs, p.StartedAts, p.CompletedAts = jr.jobIDs, jr.Steps, jr.Outputs, jr.StartedAt, jr.CompletedAt
	if _, err := db.New(l.db).DeliveryRecordSentMany(ctx, p); err != nil {
		return nil, fmt.Errorf("record %d deliveries: %w", len(reqs), err)
	}
	return make([]struct{}, len(reqs)), nil
}

// jobRecords are the step records of many jobs, as a statement's columns.
type jobRecords struct {
	jobIDs []int64
	flow.Records
}

// add appends job jobID's records rs.
func (jr *jobRecords) add(jobID int64, rs flow.Records) {
	for range rs.Steps {
		jr.jobIDs = append(jr.jobIDs, jobID)
	}
	jr.Steps, jr.Outputs = append(jr.Steps, rs.Steps...), append(jr.Outputs, rs.Outputs...)
	jr.StartedAt, jr.CompletedAt = append(jr.StartedAt, rs.StartedAt...), append(jr.CompletedAt, rs.CompletedAt...)
}
