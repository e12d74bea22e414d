package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/search"
)

// DB is what the workers need of the database: queries and transactions.
// *pgxpool.Pool satisfies it, and so does a pgx.Tx (Begin makes savepoints),
// which is how rivertest-based tests run workers inside a test transaction.
type DB interface {
	db.DBTX
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Deps are the workers' dependencies, built once in cmd/server.
type Deps struct {
	// DB is the application database. Required.
	DB DB
	// Mailer, SMS and Push send messages; nil means notify.Capture.
	Mailer notify.Mailer
	SMS    notify.SMSSender
	Push   notify.Pusher
	// Index is the search backend; nil means search.Postgres, written in the
	// job's own transaction.
	Index search.Index
	// Analytics is the analytics sink; nil means analytics.Postgres.
	Analytics analytics.Sink
	// Retention is how long scheduled_cleanup keeps old rows.
	Retention Retention
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
}

// Retention says how long old rows are kept.
type Retention struct {
	// Logs is how long app_logs rows are kept; default 30 days.
	Logs time.Duration
	// Events is how long event-log rows are kept; default 30 days.
	Events time.Duration
}

func (d *Deps) withDefaults() (*Deps, error) {
	if d.DB == nil {
		return nil, errors.New("jobs: Deps.DB is required")
	}
	out := *d
	if out.Mailer == nil {
		out.Mailer = notify.Capture{}
	}
	if out.SMS == nil {
		out.SMS = notify.Capture{}
	}
	if out.Push == nil {
		out.Push = notify.Capture{}
	}
	if out.Analytics == nil {
		out.Analytics = analytics.NewPostgres(out.DB)
	}
	if out.Retention.Logs <= 0 {
		out.Retention.Logs = 30 * 24 * time.Hour
	}
	if out.Retention.Events <= 0 {
		out.Retention.Events = 30 * 24 * time.Hour
	}
	if out.NowFunc == nil {
		out.NowFunc = time.Now
	}
	return &out, nil
}

// AddWorkers registers a worker for every job kind in workers.
func AddWorkers(workers *river.Workers, deps Deps) error {
	d, err := deps.withDefaults()
	if err != nil {
		return err
	}
	tmpl, err := newEmailTemplates()
	if err != nil {
		return err
	}
	river.AddWorker(workers, &SendWelcomeEmailWorker{deps: d, tmpl: tmpl})
	river.AddWorker(workers, &SendOrderConfirmationWorker{deps: d, tmpl: tmpl})
	river.AddWorker(workers, &SendOrderUpdateWorker{deps: d, tmpl: tmpl})
	river.AddWorker(workers, &SendNotificationWorker{deps: d, tmpl: tmpl})
	river.AddWorker(workers, &ProcessOutOfStockAlertWorker{deps: d, tmpl: tmpl})
	river.AddWorker(workers, &TrackAnalyticsWorker{deps: d})
	river.AddWorker(workers, &IndexProductWorker{deps: d})
	river.AddWorker(workers, &IndexShopWorker{deps: d})
	river.AddWorker(workers, &CleanupExpiredSessionsWorker{deps: d})
	river.AddWorker(workers, &CleanupOldLogsWorker{deps: d})
	river.AddWorker(workers, &ScheduledCleanupWorker{deps: d})
	return nil
}

// Timeouts per kind of work (each worker's Timeout returns one of these).
// MaxTimeout is the largest: River's RescueStuckJobsAfter must exceed it.
const (
	sendTimeout    = 30 * time.Second
	alertTimeout   = time.Minute
	indexTimeout   = 30 * time.Second
	trackTimeout   = 30 * time.Second
	cleanupTimeout = 5 * time.Minute
	dailyTimeout   = 10 * time.Minute

	// MaxTimeout is the longest timeout of any job kind.
	MaxTimeout = dailyTimeout
)

// inTx runs fn in a transaction of d, committing if it returns nil.
func inTx(ctx context.Context, d DB, fn func(tx pgx.Tx) error) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// completeTx marks job completed in tx, so the job's effects and its
// completion commit together.
func completeTx[T river.JobArgs](ctx context.Context, tx pgx.Tx, job *river.Job[T]) error {
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("complete job: %w", err)
	}
	return nil
}

// loadEvent reads an event-log row and decodes its payload.
func loadEvent(ctx context.Context, q *db.Queries, id string) (*db.Event, events.Payload, error) {
	row, err := q.EventGet(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		// The event is gone (retention): nothing can be done, ever.
		return nil, nil, river.JobCancel(fmt.Errorf("event %s not found", id))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load event %s: %w", id, err)
	}
	p, err := events.Decode(events.Event{ID: row.ID, Name: row.Name, Data: row.Data, TS: row.Ts})
	if err != nil {
		return nil, nil, river.JobCancel(fmt.Errorf("decode event %s: %w", id, err))
	}
	return row, p, nil
}

// IdempotencyKey is the deliveries key of one message: the event, the
// function (job kind) and the recipient, so it is the same on every retry and
// different for every message. Keys longer than Resend's 256 characters are
// shortened to a hash.
func IdempotencyKey(eventID, kind, recipient string) string {
	key := kind + "/" + eventID + "/" + recipient
	if len(key) > 200 {
		sum := sha256.Sum256([]byte(key))
		key = kind + "/" + hex.EncodeToString(sum[:])
	}
	return key
}

// ProductIndexLockKey is the advisory-lock key that serialises one
// product's index_product jobs with the transactions that enqueue them: the
// worker holds it exclusively from reading the product to completing the
// job, and outbox.Publish holds it shared while it inserts an
// index_product job. So an update committed while the product's job runs is
// either seen by that job or gets a job of its own (instead of being
// deduplicated against the running one and lost).
func ProductIndexLockKey(productID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("index_product/" + productID))
	return int64(h.Sum64()) //nolint:gosec // any 64 bits will do for a lock key
}

// isNoRow reports whether err means the looked-up row does not exist:
// pgx.ErrNoRows, or an id that is not even a UUID (invalid_text_representation),
// which can name no row. Ids come from events, which may hold any string.
func isNoRow(err error) bool {
	var pgErr *pgconn.PgError
	return errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InvalidTextRepresentation)
}

// notFoundCancels turns "no such row" into a cancellation (a retry cannot
// make the row appear) and wraps other errors for a retry.
func notFoundCancels(err error, what string) error {
	if isNoRow(err) {
		return river.JobCancel(fmt.Errorf("%s not found", what))
	}
	return fmt.Errorf("load %s: %w", what, err)
}
