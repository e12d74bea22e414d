// Package replay re-runs work that already happened once: it replays
// stored events (their functions, the jobs jobargs.Route gives them, are
// enqueued again) and lists and retries the jobs that failed for good (the
// dead letters: discarded and cancelled jobs). `server events replay`,
// `server jobs failed`, `server jobs retry` and the admin routes of httpapi
// all call it; the README's "Replay and dead letters" tells how to use them.
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
	"github.com/mohallamart/backend/jobargs"
)

// DefaultBatchSize is how many events (or jobs) one transaction replays
// (or retries).
const DefaultBatchSize = 500

// AnalyticsFunction is the function name under which a replay re-queues
// tracked events for analytics: the kind of the job that sends them.
const AnalyticsFunction = "flush_analytics"

// Tag is the River tag of every job a replay enqueues (River UI filters
// by tag).
const Tag = "replay"

// Service replays events and retries failed jobs.
type Service struct {
	db    db.DB
	river *river.Client[pgx.Tx]
	// BatchSize is how many events or jobs one transaction handles
	// (default DefaultBatchSize).
	BatchSize int
}

// New returns a Service on d that inserts and retries jobs with client,
// which may be an insert-only client (no queues or workers).
func New(d db.DB, client *river.Client[pgx.Tx]) *Service {
	return &Service{db: d, river: client, BatchSize: DefaultBatchSize}
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
	// Function, when set, replays only the jobs of that kind (such as
	// "send_order_confirmation"); AnalyticsFunction re-queues only the
	// tracked events for analytics. Empty replays every function.
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
	// Skipped counts, by kind, the unique jobs (index_product, ...) not
	// inserted because an equivalent job was already pending: that job
	// does the work.
	Skipped map[string]int `json:"skipped"`
	// Tracked is how many events were queued for analytics again.
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
// is a replay (Metadata) and it carries Tag. Tracked events get an
// analytics_pending row again unless req.Function names another function;
// the sinks deduplicate by event id, so only what they lack is added.
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
	res := Result{ReplayID: ulid.Make().String(), DryRun: req.DryRun, Enqueued: map[string]int{}, Skipped: map[string]int{}}
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

// replayBatch routes page's events and inserts their jobs (those of
// function, if set) and analytics rows in tx, adding to res.
func (s *Service) replayBatch(ctx context.Context, tx pgx.Tx, page []*db.ReplayEventPageRow, function string, opts *river.InsertOpts, res *Result) error {
	var (
		plain   []river.InsertManyParams
		unique  []river.JobArgs
		tracked []string
	)
	for _, row := range page {
		p, err := events.Decode(events.Event{ID: row.ID, Name: row.Name, Data: row.Data, TS: row.Ts})
		if err != nil {
			return fmt.Errorf("decode stored event %s: %w", row.ID, err)
		}
		plan := jobargs.Route(row.ID, p)
		for _, args := range plan.Jobs {
			if function != "" && args.Kind() != function {
				continue
			}
			if isUnique(args) {
				unique = append(unique, args)
			} else {
				plain = append(plain, river.InsertManyParams{Args: args, InsertOpts: opts})
			}
		}
		if plan.Track && (function == "" || function == AnalyticsFunction) {
			tracked = append(tracked, row.ID)
		}
	}
	if len(plain) > 0 {
		if _, err := s.river.InsertManyTx(ctx, tx, plain); err != nil {
			return fmt.Errorf("insert replayed jobs: %w", err)
		}
		for _, p := range plain {
			res.Enqueued[p.Args.Kind()]++
		}
	}
	// One at a time: two events of a batch may give the same unique job,
	// which one multi-row insert cannot deduplicate; the second finds the
	// first, in this transaction.
	for _, args := range unique {
		r, err := s.river.InsertTx(ctx, tx, args, opts)
		if err != nil {
			return fmt.Errorf("insert replayed %s job: %w", args.Kind(), err)
		}
		if r.UniqueSkippedAsDuplicate {
			res.Skipped[args.Kind()]++
		} else {
			res.Enqueued[args.Kind()]++
		}
	}
	if len(tracked) > 0 {
		if err := db.New(tx).AnalyticsPendingInsertMany(ctx, tracked); err != nil {
			return fmt.Errorf("queue replayed analytics: %w", err)
		}
		res.Tracked += len(tracked)
	}
	return nil
}

// isUnique reports whether args' jobs are unique (River skips inserting
// one while an equivalent job exists).
func isUnique(args river.JobArgs) bool {
	a, ok := args.(river.JobArgsWithInsertOpts)
	if !ok {
		return false
	}
	u := a.InsertOpts().UniqueOpts
	return u.ByArgs || u.ByPeriod > 0 || u.ByQueue || len(u.ByState) > 0
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
