package fn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/outbox"
)

// InsertOptions say how Queue inserts the runs it enqueues.
type InsertOptions struct {
	// ThroughRiver has every run inserted with River's InsertManyTx, so
	// that the River client's insert middleware and InsertBegin hooks see
	// it (tracing writes the inserting span into each job's metadata).
	// Without it, a publish whose runs need nothing but their events (no
	// idempotency, debounce or singleton) is one statement, and River's
	// insert middleware does not see those runs.
	ThroughRiver bool
	// NotifyCooldown is the least time between two of Queue's insert
	// notifications of one queue: the River client's FetchCooldown, as
	// River's own insert waits. Zero means River's default, 100 ms.
	NotifyCooldown time.Duration
}

// defaultNotifyCooldown is River's default FetchCooldown.
const defaultNotifyCooldown = 100 * time.Millisecond

// SetInsertOptions sets how Queue inserts runs. Call it before the
// registry is used.
func (r *Registry) SetInsertOptions(o InsertOptions) {
	if o.NotifyCooldown <= 0 {
		o.NotifyCooldown = defaultNotifyCooldown
	}
	r.insert = o
}

// Queue is the outbox.Router that Publish calls, with validated events
// whose ids are set. It queues in b what it can of their publish, and
// returns what does the rest in the publisher's transaction once b's
// results are read. Together they insert into the event log the events
// whose id is not stored yet (a repeated id's first occurrence), wake the
// waits they match (flow.WakeTx), and enqueue what they trigger: in order,
// claim idempotency keys (an event whose key is taken starts nothing),
// record debounced and batched events (a run is inserted only for a
// debounce or batch that had none), cancel the waiting runs of a singleton
// in cancel mode, insert the runs, then apply cancelOn: a batch may hold an
// order's creation and its cancellation together. The returned Finish
// returns the ids inserted.
//
// When the runs need nothing but the events (no idempotency, debounce or
// singleton) and InsertOptions.ThroughRiver is unset, the events, their
// runs and their batch rows are one statement (db.FnPublish), the one
// Queue queues; Finish sends more only when needed: to wake the waits the
// events match, to schedule a batch that had no run, to apply cancelOn.
// Otherwise Queue queues nothing and Finish does it all.
func (r *Registry) Queue(b *pgx.Batch, client *river.Client[pgx.Tx], evs []events.Event) (outbox.Finish, error) {
	firsts := firstOfEachID(evs)
	if !r.insert.ThroughRiver {
		if p := r.plan(firsts, Reroute{}); p.direct() {
			return p.queue(b, client, evs)
		}
	}
	return func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		q := db.New(tx)
		inserted, waited, err := storeEvents(ctx, q, evs)
		if err != nil {
			return nil, err
		}
		if err := flow.WakeTx(ctx, tx, waited); err != nil {
			return nil, err
		}
		if _, err := r.route(ctx, tx, client, only(firsts, inserted), Reroute{}); err != nil {
			return nil, err
		}
		return inserted, nil
	}, nil
}

// storeEvents inserts evs into the event log, skipping ids already stored,
// and returns the ids it inserted and those an open wait waits for.
func storeEvents(ctx context.Context, q *db.Queries, evs []events.Event) (inserted, waited []string, err error) {
	var p db.EventInsertManyParams
	p.IDs, p.Names, p.Datas, p.Tss, p.Sources = eventColumns(evs)
	rows, err := q.EventInsertMany(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("insert events: %w", err)
	}
	for _, row := range rows {
		inserted = append(inserted, row.ID)
		if row.Waited {
			waited = append(waited, row.ID)
		}
	}
	return inserted, waited, nil
}

// eventColumns are evs as the columns of a statement that inserts them.
func eventColumns(evs []events.Event) (ids, names []string, datas []json.RawMessage, tss []time.Time, sources []string) {
	ids, names, datas = make([]string, len(evs)), make([]string, len(evs)), make([]json.RawMessage, len(evs))
	tss, sources = make([]time.Time, len(evs)), make([]string, len(evs))
	for i, ev := range evs {
		ids[i], names[i], datas[i], tss[i], sources[i] = ev.ID, ev.Name, ev.Data, ev.TS, ev.Source
	}
	return ids, names, datas, tss, sources
}

// firstOfEachID returns evs without the later occurrences of a repeated
// id: the one an insert stores.
func firstOfEachID(evs []events.Event) []events.Event {
	seen := make(map[string]bool, len(evs))
	out := make([]events.Event, 0, len(evs))
	for _, ev := range evs {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}

// only returns the events of evs whose id is in ids, in order.
func only(evs []events.Event, ids []string) []events.Event {
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	out := make([]events.Event, 0, len(ids))
	for _, ev := range evs {
		if keep[ev.ID] {
			out = append(out, ev)
		}
	}
	return out
}

// direct reports whether p's runs need nothing but their events: none has
// an idempotency key, a debounce or a singleton key.
func (p *plan) direct() bool {
	for _, c := range p.candidates {
		if o := c.f.opts; o.Idempotency != nil || o.Debounce != nil || o.Singleton != nil {
			return false
		}
	}
	return true
}

// queue queues in b the one statement that stores evs, their runs and
// their batch rows, and returns what then wakes the waits the new events
// match, inserts the runs of batches that had none, and applies cancelOn:
// what apply does for a direct plan.
func (p *plan) queue(b *pgx.Batch, client *river.Client[pgx.Tx], evs []events.Event) (outbox.Finish, error) {
	var params db.FnPublishParams
	params.IDs, params.Names, params.Datas, params.Tss, params.Sources = eventColumns(evs)
	var queues []string
	for _, c := range p.candidates {
		o := c.f.opts
		if o.BatchEvents != nil {
			params.BatchFunctions = append(params.BatchFunctions, c.f.ID())
			params.BatchKeys = append(params.BatchKeys, keyOf(c.ev, o.BatchEvents.Key))
			params.BatchEventIds = append(params.BatchEventIds, c.ev.ID)
			continue
		}
		args := c.f.args()
		args.EventID = c.ev.ID
		if len(o.CancelOn) > 0 {
			args.CK = Field(c.ev, o.CancelOn[0].Match)
		}
		encoded, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode run of %s: %w", c.f.ID(), err)
		}
		opts := c.f.insertOpts(priority(c.f, c.ev))
		if opts.Priority == 0 {
			opts.Priority = 1 // River's default
		}
		params.RunEventIds = append(params.RunEventIds, c.ev.ID)
		params.RunArgs = append(params.RunArgs, encoded)
		params.RunKinds = append(params.RunKinds, c.f.Kind())
		params.RunMaxAttempts = append(params.RunMaxAttempts, int16(opts.MaxAttempts)) //nolint:gosec // at most 21: checked at declaration
		params.RunPriorities = append(params.RunPriorities, int16(opts.Priority))      //nolint:gosec // 1 to 4
		params.RunQueues = append(params.RunQueues, opts.Queue)
		queues = append(queues, opts.Queue)
	}
	params.NotifyQueues = p.reg.notify.due(queues, p.reg.insert.NotifyCooldown)

	published, err := db.QueueRow(b, func(q *db.Queries) (*db.FnPublishRow, error) {
		return q.FnPublish(context.Background(), params) // only recorded: QueueRow runs nothing
	})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		row, err := published.Result()
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		p.reg.notify.sent(params.NotifyQueues)
		return p.finish(ctx, tx, client, row)
	}, nil
}

// finish does what follows a direct plan's statement, given its row.
func (p *plan) finish(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], row *db.FnPublishRow) ([]string, error) {
	q := db.New(tx)
	if err := flow.WakeTx(ctx, tx, row.Waited); err != nil {
		return nil, err
	}
	var (
		jobs    []river.InsertManyParams
		batches []batchKey
	)
	for i, id := range row.MarkedFunctions {
		jobs = append(jobs, p.batchRun(id, row.MarkedKeys[i]))
		batches = append(batches, batchKey{id, row.MarkedKeys[i]})
	}
	if err := p.insert(ctx, q, tx, client, jobs, batches); err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, len(row.Inserted))
	for _, id := range row.Inserted {
		inserted[id] = true
	}
	cancels := p.cancels[:0:0]
	for _, c := range p.cancels {
		if inserted[c.ev.ID] {
			cancels = append(cancels, c)
		}
	}
	if err := applyCancels(ctx, q, cancels); err != nil {
		return nil, err
	}
	return row.Inserted, nil
}

// notifyLimiter spaces the insert notifications Queue sends, per queue, as
// River's client spaces its own: a producer woken by one fetches every
// job available in its queue.
type notifyLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due returns the queues of queues (repeats once) not notified within
// cooldown. It records nothing: sent does, once the notification is sure
// to be sent with a transaction that goes on (a publish queued for a write
// that is then refused must not hold back the next one's).
func (l *notifyLimiter) due(queues []string, cooldown time.Duration) []string {
	if len(queues) == 0 {
		return nil
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, q := range queues {
		if now.Sub(l.last[q]) >= cooldown && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// sent records queues as notified now.
func (l *notifyLimiter) sent(queues []string) {
	if len(queues) == 0 {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	for _, q := range queues {
		l.last[q] = now
	}
}
