package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/redact"
	"github.com/mohallamart/backend/outbox"
)

// Snooze limits: a job a provider keeps rate-limiting (429) snoozes
// without using attempts, so without a limit it would wait forever. Past
// MaxSnoozes snoozes, or once MaxSnoozeAge has passed since the job was
// created, a rate limit is treated like any error: the job uses an attempt,
// backs off, and is discarded (and alerted) when attempts run out.
const (
	MaxSnoozes   = 20
	MaxSnoozeAge = 24 * time.Hour
)

// alertSource is the source of the failed-job alerts' events.
const alertSource = "ops"

// FailureAlerter is the River worker middleware that makes permanent
// failures loud. When an attempt ends a job for good, because the worker
// cancelled it (river.JobCancel: a provider rejected the message) or its
// last attempt failed (River discards it), it settles the job as cancelled
// or discarded and records the alert in the same transaction:
//
//   - an error-level log line naming the kind, the job and the error (every
//     time; the mohallamart_jobs_total{outcome} metric counts them too);
//   - with OpsEmail set, a notification/send email to OpsEmail whose event
//     id is "ops-alert/<kind>/<UTC hour>", so the event log's deduplication
//     sends at most one per kind per hour. It goes through the outbox of the
//     River client working the job, like any other event.
//
// The error is quoted with email addresses and phone numbers redacted, in
// the log, the job's errors and the email: the alert is about the job, not
// its recipient. It also caps the snoozes of a provider's rate limit
// (MaxSnoozes, MaxSnoozeAge); the job's own waits (a flow step, a shared
// limit's capacity, a debounce) last as long as they must.
type FailureAlerter struct {
	river.MiddlewareDefaults

	// DB is the application database. Required.
	DB db.DB
	// Router routes the alert's notification/send event (the function
	// registry); required with OpsEmail.
	Router outbox.Router
	// OpsEmail receives the alert emails; empty: log and metric only.
	OpsEmail string
	// Logger receives the error-level alert lines. Required.
	Logger *slog.Logger
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
}

// Work runs the job and, when its attempt fails it for good, settles it
// and alerts in one transaction.
func (a *FailureAlerter) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	defer func() {
		if r := recover(); r != nil {
			if job.Attempt >= job.MaxAttempts {
				a.settle(ctx, job, rivertype.JobStateDiscarded, fmt.Errorf("panic: %v", r))
			}
			panic(r) // River records the panic and its trace
		}
	}()
	err := doInner(ctx)
	if err == nil {
		return nil
	}
	var limited *rateLimited
	if errors.As(err, &limited) {
		return a.capSnooze(job, err)
	}
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		return err // the job's own wait: a flow step, a shared limit's capacity, a debounce
	}
	state := rivertype.JobStateDiscarded
	if isCancel(err) {
		state = rivertype.JobStateCancelled
	} else if job.Attempt < job.MaxAttempts {
		return err // River retries it
	}
	a.settle(ctx, job, state, err)
	return err
}

// capSnooze returns err, a snooze, unless job has snoozed too often or too
// long: then an error that uses an attempt.
func (a *FailureAlerter) capSnooze(job *rivertype.JobRow, err error) error {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &meta) // River's own metadata: absent counts as 0
	age := a.now().Sub(job.CreatedAt)
	if meta.Snoozes < MaxSnoozes && age < MaxSnoozeAge {
		return err
	}
	return fmt.Errorf("still rate limited after %d snoozes over %s: retrying with backoff", meta.Snoozes, age.Round(time.Second))
}

func (a *FailureAlerter) now() time.Time {
	if a.NowFunc != nil {
		return a.NowFunc()
	}
	return time.Now()
}

// settle marks job cancelled or discarded with cause as its last error and
// publishes the alert, in one transaction. A failure to do so is logged;
// River then settles the job itself.
func (a *FailureAlerter) settle(ctx context.Context, job *rivertype.JobRow, state rivertype.JobState, cause error) {
	lastError := redact.String(cause.Error())
	// The job's context may be out of time (a timeout is a failure too).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := a.now()
	a.Logger.ErrorContext(ctx, "Job failed for good",
		slog.String("job_kind", job.Kind), slog.Int64("job_id", job.ID), slog.String("state", string(state)),
		slog.Int("attempt", job.Attempt), slog.Int("max_attempts", job.MaxAttempts), slog.String("error", lastError))

	attemptErr, err := json.Marshal(rivertype.AttemptError{At: now.UTC(), Attempt: job.Attempt, Error: lastError})
	if err != nil {
		a.Logger.ErrorContext(ctx, "Failed job alert not recorded", slog.String("error", err.Error()))
		return
	}
	err = db.InTx(ctx, a.DB, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.JobFinalizeIfRunning(ctx, db.JobFinalizeIfRunningParams{State: db.RiverJobState(state), AttemptError: attemptErr, ID: job.ID})
		if err != nil || n == 0 || a.OpsEmail == "" {
			return err // n == 0: no longer running (a rescuer or a second run settled it)
		}
		alertID := "ops-alert/" + job.Kind + "/" + now.UTC().Format("2006-01-02T15")
		if _, err := q.EventGet(ctx, alertID); err == nil {
			return nil // this hour's alert of the kind went out: one per kind per hour
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("look up alert: %w", err)
		}
		stats, err := q.JobFailedStats(ctx, db.JobFailedStatsParams{Kind: job.Kind, Since: now.Add(-time.Hour)})
		if err != nil {
			return fmt.Errorf("count failed jobs: %w", err)
		}
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("publish alert: %w", err)
		}
		ev, err := events.New(events.NotificationSend{
			Channel: "email",
			To:      a.OpsEmail,
			Subject: fmt.Sprintf("[MohallaMart] %s jobs are failing", job.Kind),
			Message: fmt.Sprintf("%d %s job(s) failed for good in the past hour: %d discarded after their last attempt, %d cancelled as permanent failures.\n"+
				"Last error (job %d, %s on attempt %d of %d): %s",
				stats.Discarded+stats.Cancelled, job.Kind, stats.Discarded, stats.Cancelled, job.ID, state, job.Attempt, job.MaxAttempts, lastError),
		})
		if err != nil {
			return err
		}
		ev.ID = alertID
		ev.Source = alertSource
		_, err = outbox.New(client, a.Router).Publish(ctx, tx, ev)
		var taken *outbox.IDConflictError
		if errors.As(err, &taken) {
			return nil // another failure's alert of this hour went out meanwhile
		}
		return err
	})
	if err != nil {
		a.Logger.ErrorContext(ctx, "Failed job alert not recorded",
			slog.String("job_kind", job.Kind), slog.Int64("job_id", job.ID), slog.String("error", err.Error()))
	}
}
