package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
)

// Outbox publishes events and their jobs in the caller's transaction.
type Outbox struct {
	river *river.Client[pgx.Tx]
	// NowFunc returns the time given to events without a timestamp; tests
	// may replace it.
	NowFunc func() time.Time
}

// New returns an Outbox that inserts jobs with client, which may be an
// insert-only client (no queues or workers).
func New(client *river.Client[pgx.Tx]) *Outbox {
	return &Outbox{river: client, NowFunc: time.Now}
}

// Publish validates evs, stores them in the event log and enqueues the jobs
// they trigger, all in tx; it never commits or rolls back. It returns the
// event ids in the order of evs: the client's id where given, a new ULID
// otherwise. An id already stored (or repeated within evs) is a duplicate:
// its id is returned again, and nothing new is written for it.
//
// An invalid event fails the whole call with an *events.ValidationError and
// nothing is written.
func (o *Outbox) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	payloads, err := events.DecodeAll(evs)
	if err != nil {
		return nil, err
	}

	now := o.NowFunc().UTC()
	params := db.EventInsertManyParams{
		IDs:     make([]string, len(evs)),
		Names:   make([]string, len(evs)),
		Datas:   make([]json.RawMessage, len(evs)),
		Tss:     make([]time.Time, len(evs)),
		Sources: make([]string, len(evs)),
	}
	for i, ev := range evs {
		id := ev.ID
		if id == "" {
			id = ulid.Make().String()
		}
		ts := ev.TS
		if ts.IsZero() {
			ts = now
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 || bytes.Equal(data, []byte("null")) {
			data = []byte("{}")
		}
		params.IDs[i], params.Names[i], params.Datas[i], params.Tss[i], params.Sources[i] = id, ev.Name, data, ts, ev.Source
	}

	inserted, err := db.New(tx).EventInsertMany(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	isNew := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}

	var jobParams []river.InsertManyParams
	for i, id := range params.IDs {
		if !isNew[id] {
			continue
		}
		delete(isNew, id) // a repeated id within evs is routed once
		jobParams = append(jobParams, jobs.Route(id, payloads[i])...)
	}
	if err := lockProductIndexes(ctx, db.New(tx), jobParams); err != nil {
		return nil, err
	}
	if len(jobParams) > 0 {
		if _, err := o.river.InsertManyTx(ctx, tx, jobParams); err != nil {
			return nil, fmt.Errorf("insert jobs: %w", err)
		}
	}
	return params.IDs, nil
}

// lockProductIndexes takes, for each product an index_product job is about
// to be inserted for, the shared advisory lock its worker holds exclusively
// while it reads the product and completes (jobs.ProductIndexLockKey). So
// the insert waits for a running job of that product to finish instead of
// being deduplicated against it after it has read stale data. Keys are
// locked in order, so two publishers cannot deadlock.
func lockProductIndexes(ctx context.Context, q *db.Queries, params []river.InsertManyParams) error {
	var keys []int64
	for _, p := range params {
		if a, ok := p.Args.(jobs.IndexProductArgs); ok {
			keys = append(keys, jobs.ProductIndexLockKey(a.ProductID))
		}
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if err := q.JobAdvisoryLockShared(ctx, k); err != nil {
			return fmt.Errorf("lock product index: %w", err)
		}
	}
	return nil
}
