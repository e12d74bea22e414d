// Package replay re-runs work that already happened once: it replays
// stored events (the runs the function registry gives them are enqueued
// again) and lists and retries the jobs that failed for good (the
// dead letters: discarded and cancelled jobs), selected by kind or
// function, time, last error and a field of their event (Match). Package
// control gives its Replay and Retry to `server events replay`, `server
// jobs failed|retry`, `server runs retry`, the admin routes of httpapi and
// the console; "Replay and dead letters" in docs/http-api.md tells how to
// use them.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// DefaultBatchSize is how many events (or jobs) one transaction replays
// (or retries).
const DefaultBatchSize = 500

// AnalyticsFunction is the function whose batches a replay adds tracked
// events to: the one that sends them to analytics.
const AnalyticsFunction = "track-analytics"

// Tag is the River tag of every job a replay enqueues (River UI filters
// by tag).
const Tag = "replay"

// Service replays events and retries failed jobs.
type Service struct {
	db    db.DB
	river *river.Client[pgx.Tx]
	reg   *fn.Registry
	// BatchSize is how many events or jobs one transaction handles
	// (default DefaultBatchSize).
	BatchSize int
}

// New returns a Service on d that enqueues the runs reg gives stored events
// and retries jobs with client, which may be an insert-only client (no
// queues or workers).
func New(d db.DB, client *river.Client[pgx.Tx], reg *fn.Registry) *Service {
	return &Service{db: d, river: client, reg: reg, BatchSize: DefaultBatchSize}
}

// Progress is told, after each batch, how many of the total items (events
// for a replay, jobs for a retry) are done. It may be nil.
type Progress func(done, total int)

// Request selects the events to replay.
type Request struct {
	// Name is the event name, such as "order/created". Required.
	Name string `json:"name"`
	// Since and Until bound when the events were received: Since <= t <
	// Until. Since is required; a zero Until means now.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Function, when set, replays only that function's runs (its id, such
	// as "send-order-confirmation", or its River kind);
	// AnalyticsFunction re-queues only the tracked events for analytics.
	// Empty replays every function.
	Function string `json:"function"`
	// DryRun does everything in transactions that are rolled back: the
	// counts are what a replay would do now, and nothing is written.
	DryRun bool `json:"dryRun"`
}

// Result is what a replay did (or, dry, would do).
type Result struct {
	// ReplayID is in the River metadata of every job the replay enqueued
	// ({"replay": true, "replay_id": ...}).
	ReplayID string `json:"replayId"`
	DryRun   bool   `json:"dryRun"`
	// Events is how many stored events matched the request.
	Events int `json:"events"`
	// Enqueued counts the jobs inserted, by kind.
	Enqueued map[string]int `json:"enqueued"`
	// Skipped counts, by kind, the runs not inserted because a singleton's
	// run is already pending (that run does the work) or an idempotency key
	// is taken (the work was done).
	Skipped map[string]int `json:"skipped"`
	// Batched counts, by kind, the events added to a batch or a debounce
	// again (their run does the work).
	Batched map[string]int `json:"batched"`
	// Tracked is how many events were queued for analytics again: Batched
	// of AnalyticsFunction.
	Tracked int `json:"tracked"`
}

// Metadata is the River metadata of a job a replay enqueued.
type Metadata struct {
	Replay   bool   `json:"replay"`
	ReplayID string `json:"replay_id"`
}

// Replay enqueues again the functions of the stored events req selects,
// in batches of BatchSize events, one transaction each. Each job's args
// name its event (event_id), as the first time; its River metadata says it
// is a replay (Metadata) and it carries Tag. Tracked events join an
// analytics batch again unless req.Function names another function; the
// sinks deduplicate by event id, so only what they lack is added.
func (s *Service) Replay(ctx context.Context, req Request, progress Progress) (Result, error) {
	if req.Name == "" {
		return Result{}, apperr.Errorf(apperr.Invalid, "replay: an event name is required")
	}
	if !events.Known(req.Name) {
		return Result{}, apperr.Errorf(apperr.Invalid, "replay: %q is not an event of the catalog (custom events trigger no function)", req.Name)
	}
	if req.Since.IsZero() {
		return Result{}, apperr.Errorf(apperr.Invalid, "replay: since is required")
	}
	if req.Until.IsZero() {
		req.Until = time.Now()
	}
	if !req.Since.Before(req.Until) {
		return Result{}, apperr.Errorf(apperr.Invalid, "replay: since (%s) must be before until (%s)", req.Since.Format(time.RFC3339), req.Until.Format(time.RFC3339))
	}
	if req.Function != "" && s.reg.Function(req.Function) == nil && !s.hasKind(req.Function) {
		return Result{}, apperr.Errorf(apperr.Invalid, "replay: %q is not a function", req.Function)
	}
	res := Result{ReplayID: ulid.Make().String(), DryRun: req.DryRun, Enqueued: map[string]int{}, Skipped: map[string]int{}, Batched: map[string]int{}}
	meta, err := json.Marshal(Metadata{Replay: true, ReplayID: res.ReplayID})
	if err != nil {
		return Result{}, fmt.Errorf("replay metadata: %w", err)
	}
	opts := &river.InsertOpts{Metadata: meta, Tags: []string{Tag}}

	total, err := db.New(s.db).ReplayEventCount(ctx, db.ReplayEventCountParams{Name: req.Name, Since: req.Since, Until: req.Until})
	if err != nil {
		return Result{}, fmt.Errorf("count events to replay: %w", err)
	}
	after := db.ReplayEventPageParams{Name: req.Name, Since: req.Since, Until: req.Until, MaxRows: int32(s.batchSize())} //nolint:gosec // small
	for {
		var n int
		err := s.inTx(ctx, req.DryRun, func(tx pgx.Tx) error {
			page, err := db.New(tx).ReplayEventPage(ctx, after)
			if err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			n = len(page)
			if n == 0 {
				return nil
			}
			last := page[n-1]
			after.AfterReceivedAt, after.AfterID = last.ReceivedAt, last.ID
			return s.replayBatch(ctx, tx, page, req.Function, opts, &res)
		})
		if err != nil {
			return res, err
		}
		if n == 0 {
			break
		}
		res.Events += n
		if progress != nil {
			progress(res.Events, max(int(total), res.Events))
		}
		if n < s.batchSize() {
			break
		}
	}
	return res, nil
}

// replayBatch enqueues the runs of page's events (those of function, if
// set) in tx, adding to res.
func (s *Service) replayBatch(ctx context.Context, tx pgx.Tx, page []*db.ReplayEventPageRow, function string, opts *river.InsertOpts, res *Result) error {
	evs := make([]events.Event, len(page))
	for i, row := range page {
		evs[i] = events.Event{ID: row.ID, Name: row.Name, Data: row.Data, TS: row.Ts}
	}
	routed, err := s.reg.Replay(ctx, tx, s.river, evs, fn.Reroute{Function: function, Metadata: opts.Metadata, Tags: opts.Tags})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	for kind, n := range routed.Enqueued {
		res.Enqueued[kind] += n
	}
	for kind, n := range routed.Skipped {
		res.Skipped[kind] += n
	}
	for kind, n := range routed.Batched {
		res.Batched[kind] += n
	}
	if f := s.reg.Function(AnalyticsFunction); f != nil {
		res.Tracked += routed.Batched[f.Kind()]
	}
	return nil
}

// hasKind reports whether kind is the River kind of a function.
func (s *Service) hasKind(kind string) bool {
	for _, f := range s.reg.Functions() {
		if f.Kind() == kind {
			return true
		}
	}
	return false
}

// inTx runs fn in a transaction that commits, or with dry always rolls
// back.
func (s *Service) inTx(ctx context.Context, dry bool, fn func(tx pgx.Tx) error) error {
	if !dry {
		return db.InTx(ctx, s.db, fn)
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a dry run writes nothing
	return fn(tx)
}

func (s *Service) batchSize() int {
	if s.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return s.BatchSize
}
