// Package limit enforces concurrency and rate limits shared by every
// process working jobs against one database: at most N calls to a provider
// per second, or at most one running job per shop, however many worker
// processes there are.
//
// A limit is a Rule with a Key. Acquire grants a Slot under the rule or, when
// there is no capacity, returns a *FullError that says how long to wait.
// Returned from a River worker, that error snoozes the job (river.JobSnooze,
// which uses no attempt), so a job waiting for capacity holds no worker and
// is not retried with backoff. Release ends the slot.
//
// Each slot is a row of limit_slots, written in a short transaction of its
// own that takes a transaction-level advisory lock on the key: no
// transaction, lock or connection is held while the slot is used. A slot
// whose holder dies without releasing it counts until its lease ends.
//
// The rate rule counts a slot from its grant until one period after its
// release, not from its grant alone. A call made while the slot is held
// reaches the other side between the grant and the release, so however the
// calls are delayed on the way, the other side sees at most Rate of them in
// any one period.
//
//	SELECT key, count(*) FILTER (WHERE released_at IS NULL) AS held FROM limit_slots GROUP BY key;
package limit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
)

// Rule is one shared limit.
type Rule struct {
	// Key names what is limited, such as "resend" or
	// "process_out_of_stock_alert/shop:42". Required.
	Key string
	// Concurrency is how many slots may be held at once; 0: no limit.
	Concurrency int
	// Rate is how many slots may count in one Per; 0: no limit.
	Rate int
	// Per is the rate's period; zero means one second.
	Per time.Duration
	// Lease is how long an unreleased slot counts: longer than its holder
	// can use it (a job's timeout). Required.
	Lease time.Duration
}

func (r Rule) per() time.Duration {
	if r.Per <= 0 {
		return time.Second
	}
	return r.Per
}

// Check reports what makes r unusable: no Key, a negative limit, no Lease.
func (r Rule) Check() error {
	switch {
	case r.Key == "":
		return errors.New("limit: Rule.Key is required")
	case r.Concurrency < 0 || r.Rate < 0:
		return fmt.Errorf("limit %s: Concurrency and Rate must not be negative", r.Key)
	case r.Lease <= 0:
		return fmt.Errorf("limit %s: Lease must be positive", r.Key)
	}
	return nil
}

// Limiter grants slots from limit_slots in one database.
type Limiter struct {
	db     db.DB
	logger *slog.Logger
}

// New returns a Limiter on d. logger (nil: discard) receives the slots Do
// could not release; they count until their lease ends.
func New(d db.DB, logger *slog.Logger) *Limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{db: d, logger: logger}
}

// Slot is the right to make one call, or run one job, under a Rule.
type Slot struct {
	limiter *Limiter
	id      int64
}

// FullError is Acquire's answer when a rule has no capacity. It unwraps to
// a river.JobSnooze for Wait: a River worker returns it as it is.
type FullError struct {
	// Key is the rule's key.
	Key string
	// Wait is how long to wait before asking again.
	Wait time.Duration
}

func (e *FullError) Error() string {
	return fmt.Sprintf("limit %s: no capacity, waiting %s", e.Key, e.Wait.Round(time.Millisecond))
}

// Unwrap returns the River snooze for Wait.
func (e *FullError) Unwrap() error { return river.JobSnooze(e.Wait) }

// IsFull reports whether err is (or wraps) a *FullError: a job waiting for
// capacity, not failing.
func IsFull(err error) bool {
	var full *FullError
	return errors.As(err, &full)
}

// Acquire grants a slot under r to jobID (0 when no job holds it), or
// returns a *FullError when r has no capacity.
func (l *Limiter) Acquire(ctx context.Context, r Rule, jobID int64) (*Slot, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	per := r.per().Seconds()
	var (
		id   int64
		wait time.Duration
	)
	err := db.InTx(ctx, l.db, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.LimitLock(ctx, r.Key); err != nil {
			return err
		}
		u, err := q.LimitUsage(ctx, db.LimitUsageParams{Key: r.Key, PerSeconds: per})
		if err != nil {
			return err
		}
		if r.Concurrency > 0 && int(u.Held) >= r.Concurrency {
			wait = max(wait, concurrencyWait(time.Duration(u.ConcurrencyWaitMs)*time.Millisecond))
		}
		if r.Rate > 0 && int(u.Recent) >= r.Rate {
			wait = max(wait, time.Duration(u.RateWaitMs)*time.Millisecond)
		}
		if wait > 0 {
			return nil
		}
		var job *int64
		if jobID != 0 {
			job = &jobID
		}
		id, err = q.LimitGrant(ctx, db.LimitGrantParams{Key: r.Key, JobID: job, LeaseSeconds: r.Lease.Seconds()})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("limit %s: acquire: %w", r.Key, err)
	}
	if wait > 0 {
		// Up to a quarter more, so jobs that waited together do not all ask
		// again at once.
		wait += rand.N(wait/4 + 1) //nolint:gosec // jitter, not a secret
		return nil, &FullError{Key: r.Key, Wait: wait}
	}
	return &Slot{limiter: l, id: id}, nil
}

// maxConcurrencyWait is the longest a job waits for a concurrency slot
// before asking again: a held slot is usually released long before its
// lease ends.
const maxConcurrencyWait = 250 * time.Millisecond

func concurrencyWait(untilExpiry time.Duration) time.Duration {
	return max(min(untilExpiry, maxConcurrencyWait), time.Millisecond)
}

// releaseTimeout bounds a release that Do makes after fn, which runs even
// when fn's context has ended (a timeout, a shutdown).
const releaseTimeout = 5 * time.Second

// Do runs fn in a slot under r granted to jobID, and releases the slot when
// fn returns, even if ctx has ended by then; a failed release is logged (the
// slot then counts until its lease ends). Without capacity it returns the
// *FullError and does not call fn.
func (l *Limiter) Do(ctx context.Context, r Rule, jobID int64, fn func(ctx context.Context) error) error {
	slot, err := l.Acquire(ctx, r, jobID)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := slot.Release(ctx); err != nil {
			l.logger.WarnContext(ctx, "Limit slot not released; it counts until its lease ends",
				slog.String("key", r.Key), slog.Int64("job_id", jobID), slog.Any("error", err))
		}
	}()
	return fn(ctx)
}

// Release ends the slot: it stops counting for a concurrency limit at once
// and for a rate limit one period later. Releasing twice is harmless.
func (s *Slot) Release(ctx context.Context) error {
	if err := db.New(s.limiter.db).LimitRelease(ctx, s.id); err != nil {
		return fmt.Errorf("limit: release slot %d: %w", s.id, err)
	}
	return nil
}
