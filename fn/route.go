package fn

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Reroute says how Replay enqueues stored events' runs again.
type Reroute struct {
	// Function, when set, is the one function (by id or River kind) whose
	// runs are enqueued.
	Function string
	// Metadata and Tags are given to every run inserted.
	Metadata []byte
	Tags     []string

	replay bool
}

// Routed counts what a Replay enqueued, by River kind.
type Routed struct {
	// Enqueued counts the runs inserted.
	Enqueued map[string]int
	// Skipped counts the runs not inserted: a singleton's key or an
	// idempotency key was taken.
	Skipped map[string]int
	// Batched counts the events added to a batch or a debounce (whose
	// run exists, or was inserted and counted in Enqueued).
	Batched map[string]int
}

// Replay enqueues again, in tx, the runs that stored events evs trigger
// (cancelOn is not applied again), as rr says, and counts them.
func (r *Registry) Replay(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], evs []events.Event, rr Reroute) (Routed, error) {
	rr.replay = true
	return r.route(ctx, tx, client, evs, rr)
}

func (r *Registry) route(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], evs []events.Event, rr Reroute) (Routed, error) {
	p := r.plan(evs, rr)
	if len(p.candidates) == 0 && len(p.cancels) == 0 {
		return p.routed, nil
	}
	err := p.apply(ctx, tx, client)
	return p.routed, err
}

// plan returns what evs trigger, as rr says: the runs they may start and
// the cancelOn rules they apply.
func (r *Registry) plan(evs []events.Event, rr Reroute) *plan {
	p := &plan{Reroute: rr, reg: r, routed: Routed{Enqueued: map[string]int{}, Skipped: map[string]int{}, Batched: map[string]int{}}}
	for _, ev := range evs {
		if ev.Name == InvokedEvent {
			if f := r.byID[Field(ev, "data.function_id")]; f != nil {
				p.candidates = append(p.candidates, candidate{f: f, ev: ev})
			}
			continue
		}
		for _, rt := range r.byEvent[ev.Name] {
			if rr.Function != "" && rr.Function != rt.f.ID() && rr.Function != rt.f.Kind() {
				continue
			}
			if rt.trigger.If == nil || rt.trigger.If(ev) {
				p.candidates = append(p.candidates, candidate{f: rt.f, ev: ev})
			}
		}
		if rr.replay {
			continue
		}
		for _, c := range r.cancels[ev.Name] {
			if c.c.If == nil || c.c.If(ev) {
				p.cancels = append(p.cancels, cancellation{rule: c, ev: ev})
			}
		}
	}
	return p
}

// candidate is a run an event may start.
type candidate struct {
	f  *Function
	ev events.Event
}

// cancellation is a cancelOn rule an event applies.
type cancellation struct {
	rule cancelRule
	ev   events.Event
}

// plan is what one Publish call's events trigger.
type plan struct {
	Reroute
	reg        *Registry
	candidates []candidate
	cancels    []cancellation
	routed     Routed
}

func (p *plan) apply(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx]) error {
	q := db.New(tx)
	runs, err := claimIdempotency(ctx, q, p.candidates)
	if err != nil {
		return err
	}
	if len(runs) < len(p.candidates) {
		for _, c := range p.candidates {
			if !slices.ContainsFunc(runs, func(r candidate) bool { return r.f == c.f && r.ev.ID == c.ev.ID }) {
				p.routed.Skipped[c.f.Kind()]++
			}
		}
	}
	var (
		jobs     []river.InsertManyParams
		debounce db.FnDebounceParams
		batch    db.FnBatchAddParams
		unique   = map[string]bool{}
		bounced  = map[string]int{}
	)
	for _, c := range runs {
		o := c.f.opts
		switch {
		case o.Debounce != nil || o.BatchEvents != nil:
			p.routed.Batched[c.f.Kind()]++
		}
		switch {
		case o.Debounce != nil:
			k := c.f.ID() + "\x00" + keyOf(c.ev, o.Debounce.Key)
			if i, ok := bounced[k]; ok { // the same key twice in one call: the later event wins
				debounce.EventIds[i] = c.ev.ID
				continue
			}
			bounced[k] = len(debounce.Functions)
			debounce.Functions = append(debounce.Functions, c.f.ID())
			debounce.Keys = append(debounce.Keys, keyOf(c.ev, o.Debounce.Key))
			debounce.EventIds = append(debounce.EventIds, c.ev.ID)
			debounce.PeriodSeconds = append(debounce.PeriodSeconds, o.Debounce.Period.Seconds())
			debounce.TimeoutSeconds = append(debounce.TimeoutSeconds, o.Debounce.Timeout.Seconds())
		case o.BatchEvents != nil:
			batch.Functions = append(batch.Functions, c.f.ID())
			batch.Keys = append(batch.Keys, keyOf(c.ev, o.BatchEvents.Key))
			batch.EventIds = append(batch.EventIds, c.ev.ID)
		default:
			args := c.f.args()
			args.EventID = c.ev.ID
			if len(o.CancelOn) > 0 {
				args.CK = Field(c.ev, o.CancelOn[0].Match)
			}
			if s := o.Singleton; s != nil {
				args.Key = keyOf(c.ev, s.Key)
				k := c.f.Kind() + "\x00" + args.Key
				if unique[k] {
					p.routed.Skipped[c.f.Kind()]++
					continue // River inserts one row per unique key per statement
				}
				unique[k] = true
				if s.Mode == SingletonCancel {
					if err := cancelSingleton(ctx, tx, client, c.f, args.Key, c.ev.ID); err != nil {
						return err
					}
				}
			}
			jobs = append(jobs, river.InsertManyParams{Args: args, InsertOpts: p.opts(c.f.insertOpts(priority(c.f, c.ev)))})
		}
	}
	if len(debounce.Functions) > 0 {
		rows, err := q.FnDebounce(ctx, debounce)
		if err != nil {
			return fmt.Errorf("debounce: %w", err)
		}
		for _, row := range rows {
			if row.Inserted {
				jobs = append(jobs, p.keyedRun(row.Function, row.Key, row.RunAt))
			}
		}
	}
	var batches []batchKey // of jobs[len(jobs)-len(batches):], batches' runs
	if len(batch.Functions) > 0 {
		rows, err := q.FnBatchAdd(ctx, batch)
		if err != nil {
			return fmt.Errorf("batch events: %w", err)
		}
		for _, row := range rows {
			if row.Marked { // the batch had no run scheduled
				jobs = append(jobs, p.batchRun(row.Function, row.Key))
				batches = append(batches, batchKey{row.Function, row.Key})
			}
		}
	}
	if err := p.insert(ctx, q, tx, client, jobs, batches); err != nil {
		return err
	}
	return applyCancels(ctx, q, p.cancels)
}

// batchKey is a batch: its function's id and key value.
type batchKey struct{ fn, key string }

// insert inserts jobs with River's InsertManyTx and counts them; the last
// len(batches) are the runs of batches, which it marked for them.
func (p *plan) insert(ctx context.Context, q *db.Queries, tx pgx.Tx, client *river.Client[pgx.Tx], jobs []river.InsertManyParams, batches []batchKey) error {
	if len(jobs) == 0 {
		return nil
	}
	res, err := client.InsertManyTx(ctx, tx, jobs)
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	first := len(jobs) - len(batches)
	runs := db.FnBatchRunsScheduledParams{Own: true}
	for i, r := range res {
		if r.UniqueSkippedAsDuplicate {
			p.routed.Skipped[r.Job.Kind]++
			continue
		}
		p.routed.Enqueued[r.Job.Kind]++
		if i >= first {
			b := batches[i-first]
			runs.IDs, runs.Functions, runs.Keys = append(runs.IDs, r.Job.ID), append(runs.Functions, b.fn), append(runs.Keys, b.key)
		}
	}
	// A batch's run starts when its batch is due, not at River's
	// scheduler's next round, and its batch's mark names it: see
	// FnBatchRunsScheduled.
	if len(runs.IDs) > 0 {
		if err := q.FnBatchRunsScheduled(ctx, runs); err != nil {
			return fmt.Errorf("batch runs: %w", err)
		}
	}
	return nil
}

// batchRun is the run of function id's batch of key value key, which had
// none: due when the batch times out.
func (p *plan) batchRun(id, key string) river.InsertManyParams {
	return p.keyedRun(id, key, time.Now().Add(p.reg.byID[id].opts.BatchEvents.Timeout))
}

// opts adds a replay's metadata and tags to o.
func (p *plan) opts(o *river.InsertOpts) *river.InsertOpts {
	o.Metadata, o.Tags = p.Metadata, p.Tags
	return o
}

// keyedRun is the run of a debounce or batch of function id, key value
// key, scheduled at at.
func (p *plan) keyedRun(id, key string, at time.Time) river.InsertManyParams {
	f := p.reg.byID[id]
	args, opts := f.keyedRun(key, at)
	return river.InsertManyParams{Args: args, InsertOpts: p.opts(opts)}
}

// claimIdempotency returns the candidates that start a run: all but those
// of a function with an idempotency key already claimed within its TTL (or
// claimed by an earlier candidate of the same call).
func claimIdempotency(ctx context.Context, q *db.Queries, cs []candidate) ([]candidate, error) {
	var params db.FnIdempotencyClaimParams
	for _, c := range cs {
		if id := c.f.opts.Idempotency; id != nil {
			ttl := id.TTL
			if ttl <= 0 {
				ttl = 24 * time.Hour
			}
			params.Functions = append(params.Functions, c.f.ID())
			params.Keys = append(params.Keys, keyOf(c.ev, id.Key))
			params.TtlSeconds = append(params.TtlSeconds, ttl.Seconds())
		}
	}
	if len(params.Functions) == 0 {
		return cs, nil
	}
	// One row per key in the statement: the first event of a key claims it.
	seen := map[string]bool{}
	var dedup db.FnIdempotencyClaimParams
	for i := range params.Functions {
		k := params.Functions[i] + "\x00" + params.Keys[i]
		if !seen[k] {
			seen[k] = true
			dedup.Functions = append(dedup.Functions, params.Functions[i])
			dedup.Keys = append(dedup.Keys, params.Keys[i])
			dedup.TtlSeconds = append(dedup.TtlSeconds, params.TtlSeconds[i])
		}
	}
	rows, err := q.FnIdempotencyClaim(ctx, dedup)
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	claimed := map[string]bool{}
	for _, row := range rows {
		claimed[row.Function+"\x00"+row.Key] = true
	}
	out := cs[:0:0]
	for _, c := range cs {
		if id := c.f.opts.Idempotency; id != nil {
			k := c.f.ID() + "\x00" + keyOf(c.ev, id.Key)
			if !claimed[k] {
				continue
			}
			delete(claimed, k) // the first event of the key runs, the rest do not
		}
		out = append(out, c)
	}
	return out, nil
}

func priority(f *Function, ev events.Event) int {
	if f.opts.Priority == nil || ev.Name == "" {
		return 0 // River's default
	}
	return min(max(f.opts.Priority(ev), 1), 4)
}

// applyCancels cancels the runs the cancelling events' match values name:
// one statement per event, match path and timeout, for every function with
// such a cancelOn.
func applyCancels(ctx context.Context, q *db.Queries, cs []cancellation) error {
	type group struct {
		eventID string
		match   string
		timeout time.Duration
	}
	var (
		order []group
		byID  = map[string]events.Event{}
		kinds = map[group][]string{}
	)
	for _, c := range cs {
		g := group{eventID: c.ev.ID, match: c.rule.c.Match, timeout: c.rule.c.Timeout}
		if _, ok := kinds[g]; !ok {
			order = append(order, g)
		}
		kinds[g] = append(kinds[g], c.rule.f.Kind())
		byID[c.ev.ID] = c.ev
	}
	for _, g := range order {
		ev := byID[g.eventID]
		value := Field(ev, g.match)
		if value == "" {
			continue
		}
		var since time.Time
		if g.timeout > 0 {
			since = time.Now().Add(-g.timeout)
		}
		_, err := q.FnCancelRuns(ctx, db.FnCancelRunsParams{
			Kinds: kinds[g], Match: value, EventID: ev.ID, Since: since,
			Reason: "cancelled by " + ev.Name + " event " + ev.ID,
		})
		if err != nil {
			return fmt.Errorf("cancelOn %s: %w", ev.Name, err)
		}
	}
	return nil
}

// cancelSingleton cancels the runs of f with key that are waiting, and asks
// River to stop those running, before a new run of the key is inserted.
func cancelSingleton(ctx context.Context, tx pgx.Tx, client *river.Client[pgx.Tx], f *Function, key, eventID string) error {
	running, err := db.New(tx).FnCancelKey(ctx, db.FnCancelKeyParams{
		JobKind: f.Kind(), Key: key, Reason: "cancelled by a newer run of its singleton key (event " + eventID + ")",
	})
	if err != nil {
		return fmt.Errorf("singleton %s: %w", f.ID(), err)
	}
	for _, id := range running {
		if _, err := client.JobCancelTx(ctx, tx, id); err != nil {
			return fmt.Errorf("singleton %s: cancel run %d: %w", f.ID(), id, err)
		}
	}
	return nil
}
