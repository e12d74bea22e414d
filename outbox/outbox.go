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
// derived from the declared functions (fn.Registry). Store is called in
// the publisher's transaction with the validated events of one Publish
// call, in order, their ids set (an id may repeat). In tx, it inserts into
// the event log those whose id is not stored yet (the first occurrence of
// a repeated id), wakes the waits they match (flow.WakeTx), enqueues their
// runs with client, and returns the ids it inserted.
type Router interface {
	Store(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], evs []events.Event) ([]string, error)
}

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
	if len(evs) == 0 {
		return nil, nil
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

	inserted, err := o.router.Store(ctx, tx, o.river, stored)
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
