package jobs

import (
	"context"
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

// FailureAlerter is River's ErrorHandler: when a job fails its last
// attempt (River then discards it), it publishes through the outbox of the
// River client working the job a notification/send email to OpsEmail saying which kind failed, how many of that kind were discarded
// in the past hour, and the last error. The event's id is
// "ops-alert/<kind>/<UTC hour>", so the event log's deduplication sends at
// most one alert per kind per hour. The error is quoted with email
// addresses and phone numbers redacted: the alert is about the job, not
// its recipient.
type FailureAlerter struct {
	// DB is the application database. Required.
	DB db.DB
	// OpsEmail receives the alerts; empty disables them.
	OpsEmail string
	// Logger reports alerts that could not be published.
	Logger *slog.Logger
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
}

// HandleError alerts when job has used its last attempt.
func (a *FailureAlerter) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	if job.Attempt >= job.MaxAttempts {
		a.alert(ctx, job, err.Error())
	}
	return nil
}

// HandlePanic alerts when job panicked in its last attempt.
func (a *FailureAlerter) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, _ string) *river.ErrorHandlerResult {
	if job.Attempt >= job.MaxAttempts {
		a.alert(ctx, job, fmt.Sprintf("panic: %v", panicVal))
	}
	return nil
}

func (a *FailureAlerter) alert(ctx context.Context, job *rivertype.JobRow, lastError string) {
	if a.OpsEmail == "" {
		return
	}
	lastError = redact.String(lastError)
	// The job's context may be out of time (a timeout is a failure too).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := time.Now()
	if a.NowFunc != nil {
		now = a.NowFunc()
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		a.Logger.ErrorContext(ctx, "Failed job alert not published", slog.String("job_kind", job.Kind), slog.String("error", err.Error()))
		return
	}
	err = db.InTx(ctx, a.DB, func(tx pgx.Tx) error {
		stats, err := db.New(tx).JobDiscardedStats(ctx, db.JobDiscardedStatsParams{Kind: job.Kind, Since: now.Add(-time.Hour)})
		if err != nil {
			return fmt.Errorf("count discarded jobs: %w", err)
		}
		count := stats.Discarded + 1 // this job is not discarded yet
		ev, err := events.New(events.NotificationSend{
			Channel: "email",
			To:      a.OpsEmail,
			Subject: fmt.Sprintf("[MohallaMart] %s jobs are failing", job.Kind),
			Message: fmt.Sprintf("%d %s job(s) failed their last attempt in the past hour and were discarded.\n"+
				"Last error (job %d, attempt %d of %d): %s", count, job.Kind, job.ID, job.Attempt, job.MaxAttempts, lastError),
		})
		if err != nil {
			return err
		}
		ev.ID = "ops-alert/" + job.Kind + "/" + now.UTC().Format("2006-01-02T15")
		ev.Source = "ops"
		_, err = outbox.New(client).Publish(ctx, tx, ev)
		return err
	})
	if err != nil && a.Logger != nil {
		a.Logger.ErrorContext(ctx, "Failed job alert not published",
			slog.String("job_kind", job.Kind), slog.Int64("job_id", job.ID), slog.String("error", err.Error()))
	}
}
