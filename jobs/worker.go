package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/groupcommit"
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
	// Retention is how long scheduled-cleanup keeps old rows.
	Retention Retention
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
	// ProviderTimeout is the provider clients' HTTP timeout. Zero means
	// MaxProviderTimeout.
	ProviderTimeout time.Duration
	// IndexDebounce is index-product's debounce window: a product is
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
	// StalledOrderAfter is how long remind-stalled-order waits for a
	// confirmed order's next update before it reminds the shop; zero means
	// StalledOrderAfter.
	StalledOrderAfter time.Duration
	// Cleanup is when scheduled-cleanup runs (fn.OnCron or fn.OnSchedule);
	// nil means daily at 03:00, Asia/Kolkata.
	Cleanup []fn.Trigger
	// NotificationsPerHour is how many notification/send messages one
	// recipient gets in an hour at most (send-notification's rateLimit):
	// zero means 10, a negative number no limit.
	NotificationsPerHour int
	// AnalyticsBatchWait is how long track-analytics collects events before
	// it sends them as a batch; zero means 5 s.
	AnalyticsBatchWait time.Duration
	// Dropped, when set, counts each run a rateLimit dropped, by function
	// (the mohallamart_runs_dropped_total metric).
	Dropped func(function string)
	// MaxTimeout, when positive, caps every worker's Timeout, so River's
	// rescuer retries any job a killed process left running within about
	// MaxTimeout plus its 30 s round. A test setting (the reliability
	// suite's kill scenarios); zero keeps each kind's own timeout.
	MaxTimeout time.Duration

	tmpl     *emailTemplates
	limiter  *limit.Limiter
	ledger   *ledger
	receipts *groupcommit.Batcher[string, *db.OrderReceiptListRow]
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
		out.StalledOrderAfter = StalledOrderAfter
	}
	if out.Cleanup == nil {
		out.Cleanup = fn.OnCron("0 3 * * *", "Asia/Kolkata")
	}
	if out.NotificationsPerHour == 0 {
		out.NotificationsPerHour = 10
	}
	if out.AnalyticsBatchWait <= 0 {
		out.AnalyticsBatchWait = 5 * time.Second
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
	out.ledger = newLedger(out.DB)
	out.receipts = newReceipts(out.DB)
	tmpl, err := newEmailTemplates()
	if err != nil {
		return nil, err
	}
	out.tmpl = tmpl
	return &out, nil
}

// NewRegistry returns the registry of the functions, with deps's providers
// and settings: the routing table for the outbox, and the workers and
// periodic jobs for River (fn.Registry).
func NewRegistry(deps Deps) (*fn.Registry, error) {
	d, err := deps.withDefaults()
	if err != nil {
		return nil, err
	}
	return fn.NewRegistry(d.functions()...)
}

// AddWorkers registers a worker for every function of reg in workers.
// Only deps' runtime settings are read (reg's functions hold the rest, from
// NewRegistry): its providers are not built or checked a second time.
func AddWorkers(workers *river.Workers, reg *fn.Registry, deps Deps) error {
	return reg.AddWorkers(workers, fn.Runtime{
		DB: deps.DB, Logger: deps.Logger, MaxTimeout: deps.MaxTimeout, Dropped: deps.Dropped,
		Aliases: map[string][]string{trackAnalyticsID: {"flush_analytics"}},
	})
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
	// calls: loading what to send, and recording the answer. A send that
	// succeeds just before its HTTP timeout can then still be recorded,
	// instead of being sent again by the retry.
	RecordMargin = 10 * time.Second
)

// MaxProviderTimeout is the longest HTTP timeout a provider client may
// have: every job that calls providers must fit its calls and RecordMargin
// in its timeout. Sends call once (30 s), the out-of-stock alert twice
// (60 s), index-product once (30 s), track-analytics once per batch
// (60 s). So (30 s − 10 s) / 1 = 20 s.
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
func completeTx(ctx context.Context, tx pgx.Tx, job *rivertype.JobRow) error {
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, &river.Job[fn.Args]{JobRow: job}); err != nil {
		return fmt.Errorf("complete job: %w", err)
	}
	return nil
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
