package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/limit"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/search"
)

// Deps are the workers' dependencies, built once in cmd/server.
type Deps struct {
	// DB is the application database. Required.
	DB db.DB
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
	// ProviderTimeout is the provider clients' HTTP timeout;
	// flush_analytics takes no new batch once less than it and RecordMargin
	// are left of its own timeout. Zero means MaxProviderTimeout.
	ProviderTimeout time.Duration
	// IndexDebounce is index_product's debounce window: a product is
	// indexed once this long has passed since its last change, so a burst
	// of updates yields one run. Zero indexes at once.
	IndexDebounce time.Duration
	// Logger reports what a job drops; nil discards.
	Logger *slog.Logger
	// SendLimits are rate limits on sending, by channel (notify.ChannelEmail,
	// ChannelSMS, ChannelPush), shared by every process through
	// limit_slots: each rule's Key names the provider ("resend"), Rate and
	// Per its limit. A zero Lease means ProviderTimeout plus RecordMargin.
	SendLimits map[string]limit.Rule
	// StalledOrderAfter is how long remind_stalled_order waits for a
	// confirmed order's next update before it reminds the shop; zero means
	// jobargs.StalledOrderAfter.
	StalledOrderAfter time.Duration
	// MaxTimeout, when positive, caps every worker's Timeout, so River's
	// rescuer retries any job a killed process left running within about
	// MaxTimeout plus its 30 s round. A test setting (the reliability
	// suite's kill scenarios); zero keeps each kind's own timeout.
	MaxTimeout time.Duration

	tmpl    *emailTemplates
	limiter *limit.Limiter
}

// Retention says how long old rows are kept.
type Retention struct {
	// Logs is how long app_logs rows are kept; default 30 days.
	Logs time.Duration
	// Events is how long event-log rows are kept; default 30 days.
	Events time.Duration
	// Deliveries is how long deliveries rows (recipients and whole message
	// bodies) are kept; default 30 days.
	Deliveries time.Duration
	// Analytics is how long analytics_events rows are kept; default 90
	// days.
	Analytics time.Duration
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
	if out.Retention.Deliveries <= 0 {
		out.Retention.Deliveries = 30 * 24 * time.Hour
	}
	if out.Retention.Analytics <= 0 {
		out.Retention.Analytics = 90 * 24 * time.Hour
	}
	if out.NowFunc == nil {
		out.NowFunc = time.Now
	}
	if out.ProviderTimeout <= 0 {
		out.ProviderTimeout = MaxProviderTimeout()
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.StalledOrderAfter <= 0 {
		out.StalledOrderAfter = jobargs.StalledOrderAfter
	}
	out.SendLimits = maps.Clone(out.SendLimits)
	for channel, rule := range out.SendLimits {
		if rule.Lease <= 0 {
			rule.Lease = out.ProviderTimeout + RecordMargin
		}
		if err := rule.Check(); err != nil {
			return nil, fmt.Errorf("jobs: Deps.SendLimits[%s]: %w", channel, err)
		}
		out.SendLimits[channel] = rule
	}
	out.limiter = limit.New(out.DB, out.Logger)
	tmpl, err := newEmailTemplates()
	if err != nil {
		return nil, err
	}
	out.tmpl = tmpl
	return &out, nil
}

// AddWorkers registers a worker for every job kind in workers.
func AddWorkers(workers *river.Workers, deps Deps) error {
	d, err := deps.withDefaults()
	if err != nil {
		return err
	}
	for _, w := range d.workers() {
		if err := w.register(workers, d.MaxTimeout); err != nil {
			return err
		}
	}
	return nil
}

// registrar is a worker of one job kind, ready to register.
type registrar interface {
	register(workers *river.Workers, maxTimeout time.Duration) error
}

// registered adds w to workers under its args' kind, its Timeout capped at
// maxTimeout when that is positive (Deps.MaxTimeout).
type registered[T river.JobArgs] struct{ w river.Worker[T] }

func (r registered[T]) register(workers *river.Workers, maxTimeout time.Duration) error {
	if maxTimeout > 0 {
		return river.AddWorkerSafely[T](workers, cappedTimeout[T]{Worker: r.w, max: maxTimeout})
	}
	return river.AddWorkerSafely(workers, r.w)
}

// cappedTimeout is a worker whose Timeout is at most max.
type cappedTimeout[T river.JobArgs] struct {
	river.Worker[T]
	max time.Duration
}

// Timeout is the worker's own, at most max.
func (w cappedTimeout[T]) Timeout(job *river.Job[T]) time.Duration {
	if own := w.Worker.Timeout(job); own > 0 && own < w.max {
		return own
	}
	return w.max
}

// workers returns a worker for every job kind.
func (d *Deps) workers() []registrar {
	return []registrar{
		registered[jobargs.SendWelcomeEmailArgs]{&sendWorker[jobargs.SendWelcomeEmailArgs]{deps: d, timeout: sendTimeout, compose: d.welcomeEmail}},
		registered[jobargs.SendOrderConfirmationArgs]{&OrderConfirmationWorker{deps: d}},
		registered[jobargs.RemindStalledOrderArgs]{&RemindStalledOrderWorker{deps: d}},
		registered[jobargs.SendOrderUpdateArgs]{&sendWorker[jobargs.SendOrderUpdateArgs]{deps: d, timeout: sendTimeout, compose: d.orderUpdate}},
		registered[jobargs.SendNotificationArgs]{&sendWorker[jobargs.SendNotificationArgs]{deps: d, timeout: sendTimeout, compose: d.notification}},
		registered[jobargs.ProcessOutOfStockAlertArgs]{limit.Worker(
			&sendWorker[jobargs.ProcessOutOfStockAlertArgs]{deps: d, timeout: alertTimeout, compose: d.outOfStockAlert},
			d.limiter, jobargs.OutOfStockAlertsPerShop, jobargs.ProcessOutOfStockAlertArgs.ConcurrencyKey)},
		registered[jobargs.FlushAnalyticsArgs]{&FlushAnalyticsWorker{deps: d}},
		registered[jobargs.IndexProductArgs]{&IndexProductWorker{deps: d}},
		registered[jobargs.IndexShopArgs]{&IndexShopWorker{deps: d}},
		registered[jobargs.CleanupExpiredSessionsArgs]{&CleanupExpiredSessionsWorker{deps: d}},
		registered[jobargs.CleanupOldLogsArgs]{&CleanupOldLogsWorker{deps: d}},
		registered[jobargs.ScheduledCleanupArgs]{&ScheduledCleanupWorker{deps: d}},
	}
}

// Timeouts per kind of work (each worker's Timeout returns one of these).
const (
	sendTimeout    = 30 * time.Second
	alertTimeout   = time.Minute // two sends: email, then push
	indexTimeout   = 30 * time.Second
	flushTimeout   = time.Minute
	cleanupTimeout = 5 * time.Minute
	dailyTimeout   = 10 * time.Minute

	// MaxDebounceWaits bounds a debounced job's wait, in windows since the
	// job was created: a product updated without pause is indexed at least
	// this often.
	MaxDebounceWaits = 10

	// RescueAfter is River's RescueStuckJobsAfter for the workers. River's
	// rescuer (every 30 s, on the leader) retries a job left running by a
	// process that died once it has been running this long and its own
	// Timeout has passed too, so a long kind is never retried while it may
	// still run. It is the shortest timeout: a killed worker's sends (30 s)
	// run again about a minute after the kill.
	RescueAfter = sendTimeout

	// RecordMargin is the part of a job's timeout kept free of provider
	// calls: loading what to send, and recording the answer with the job's
	// completion. A send that succeeds just before its HTTP timeout can
	// then still be recorded, instead of being sent again by the retry.
	RecordMargin = 10 * time.Second
)

// MaxProviderTimeout is the longest HTTP timeout a provider client may
// have: every job that calls providers must fit its calls and RecordMargin
// in its timeout. Sends call once (30 s), the out-of-stock alert twice
// (60 s), index_product once (30 s); flush_analytics stops taking batches
// when less than one call and RecordMargin are left. So (30 s − 10 s) / 1 =
// 20 s.
func MaxProviderTimeout() time.Duration {
	return min(
		sendTimeout-RecordMargin,
		(alertTimeout-RecordMargin)/2,
		indexTimeout-RecordMargin,
		flushTimeout-RecordMargin,
	)
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

// loadPayload reads event id and returns its payload as a P, cancelling the
// job when the event is gone or of another type (no retry can change that).
func loadPayload[P events.Payload](ctx context.Context, q *db.Queries, id string) (P, error) {
	var zero P
	row, p, err := loadEvent(ctx, q, id)
	if err != nil {
		return zero, err
	}
	typed, ok := p.(P)
	if !ok {
		return zero, river.JobCancel(fmt.Errorf("event %s is %s, not %s", id, row.Name, zero.EventName()))
	}
	return typed, nil
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
