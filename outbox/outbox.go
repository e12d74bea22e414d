package outbox

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Router stores events and enqueues what they trigger: the routing table,
// derived from the declared functions (fn.Registry). Queue is called with
// the validated events of one publish, in order, their ids set (an id may
// repeat). It queues in b what it can of their store, and returns what
// does the rest in the publisher's transaction, tx, once b's results are
// read. Together they insert into the event log the events whose id is not
// stored yet (the first occurrence of a repeated id), wake the waits they
// match (flow.WakeTx) and enqueue their runs with client; the second
// returns the ids inserted.
type Router interface {
	Queue(b *pgx.Batch, client *river.Client[pgx.Tx], evs []events.Event) (Finish, error)
}

// Finish does the rest of a publish begun by a Queue call (Outbox.Queue,
// Router.Queue) in the publisher's transaction, tx, and returns the ids.
// Call it once, after the batch Queue was given was sent in tx and its
// results were read without error (pgx.BatchResults.Close returned nil).
type Finish = func(ctx context.Context, tx pgx.Tx) ([]string, error)

// Outbox publishes events and their jobs in the caller's transaction.
type Outbox struct {
	river  *river.Client[pgx.Tx]
	router Router
	// NowFunc returns the time given to events without a timestamp; tests
	// may replace it.
	NowFunc func() time.Time
}

// New returns an Outbox that inserts the runs router gives each event with
// client, which may be an insert-only client (no queues or workers).
func New(client *river.Client[pgx.Tx], router Router) *Outbox {
	return &Outbox{river: client, router: router, NowFunc: time.Now}
}

// IDConflictError reports events whose id is already stored (or repeated
// in the same call) with another name or other data: the id is taken, by
// another event. Nothing of the call is written once tx rolls back.
type IDConflictError struct {
	// Indexes are the positions of the conflicting events in the call, in
	// order.
	Indexes []int
	// IDs are their ids, in the same order.
	IDs []string
}

// Error lists the conflicting ids.
func (e *IDConflictError) Error() string {
	return fmt.Sprintf("event ids already stored with another name or other data: %s", strings.Join(e.IDs, ", "))
}

// Publish validates evs, stores them in the event log and enqueues the jobs
// they trigger, all in tx; it never commits or rolls back. It returns the
// event ids in the order of evs: the client's id where given, a new ULID
// otherwise. Each UUID of a catalog event's data is stored in lower case
// (events.Normalize).
//
// An id already stored (or repeated within evs) with the same name and data
// is a duplicate, a retried send: its id is returned again, and nothing new
// is written for it. With another name or other data it fails the call with
// an *IDConflictError: one sender cannot take an id another will use and
// have that event silently dropped. The ts and source are not compared.
//
// An invalid event fails the whole call with an *events.ValidationError and
// nothing is written.
func (o *Outbox) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error) {
	var b pgx.Batch
	finish, err := o.Queue(&b, evs...)
	if err != nil {
		return nil, err
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return nil, fmt.Errorf("store events: %w", err)
		}
	}
	return finish(ctx, tx)
}

// Queue is Publish in two parts, so that the publish reaches PostgreSQL in
// the round trip of the caller's own statements: it validates evs, as
// Publish does, and queues in b, after what b holds, the statement that
// stores them and their jobs. The caller sends b in its transaction, reads
// its results (pgx.BatchResults.Close returns nil), then calls the
// returned Finish, once, in the same transaction: it does the rest of the
// publish and returns what Publish returns. When the runs need more than
// their events (an idempotency key, a debounce, a singleton), or the River
// client has insert middleware, Queue queues nothing and Finish does the
// whole publish.
//
// An invalid event fails Queue with an *events.ValidationError and queues
// nothing.
func (o *Outbox) Queue(b *pgx.Batch, evs ...events.Event) (Finish, error) {
	if len(evs) == 0 {
		return func(context.Context, pgx.Tx) ([]string, error) { return nil, nil }, nil
	}
	evs = normalize(evs)
	if err := events.ValidateAll(evs); err != nil {
		return nil, err
	}

	now := o.NowFunc().UTC()
	stored := make([]events.Event, len(evs))
	ids := make([]string, len(evs))
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
		ids[i] = id
		stored[i] = events.Event{ID: id, Name: ev.Name, Data: data, TS: ts, Source: ev.Source}
	}

	store, err := o.router.Queue(b, o.river, stored)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		inserted, err := store(ctx, tx)
		if err != nil {
			return nil, err
		}
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}
		if err := checkDuplicates(ctx, db.New(tx), stored, isNew); err != nil {
			return nil, err
		}
		return ids, nil
	}, nil
}

// normalize returns evs with their UUIDs in lower case (events.Normalize),
// leaving the caller's slice as it is.
func normalize(evs []events.Event) []events.Event {
	out := make([]events.Event, len(evs))
	for i, ev := range evs {
		out[i] = events.Normalize(ev)
	}
	return out
}

// checkDuplicates returns an *IDConflictError for the events of evs that
// were not inserted (isNew holds the ids that were) and whose id is stored
// with another name or other data. A repeated id's first occurrence in
// evs is the inserted one when its id is new.
func checkDuplicates(ctx context.Context, q *db.Queries, evs []events.Event, isNew map[string]bool) error {
	var (
		dups db.EventConflictingParams
		at   []int
		seen = make(map[string]bool, len(isNew))
	)
	for i, ev := range evs {
		if isNew[ev.ID] && !seen[ev.ID] {
			seen[ev.ID] = true
			continue
		}
		dups.IDs = append(dups.IDs, ev.ID)
		dups.Names = append(dups.Names, ev.Name)
		dups.Datas = append(dups.Datas, ev.Data)
		at = append(at, i)
	}
	if len(at) == 0 {
		return nil
	}
	taken, err := q.EventConflicting(ctx, dups)
	if err != nil {
		return fmt.Errorf("compare duplicate events: %w", err)
	}
	if len(taken) == 0 {
		return nil
	}
	conflict := &IDConflictError{}
	for j, i := range at {
		if slices.Contains(taken, dups.IDs[j]) {
			conflict.Indexes = append(conflict.Indexes, i)
			conflict.IDs = append(conflict.IDs, dups.IDs[j])
		}
	}
	return conflict
}
