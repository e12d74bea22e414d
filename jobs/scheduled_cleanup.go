package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/jobargs"
)

// ScheduledCleanupWorker works scheduled_cleanup.
type ScheduledCleanupWorker struct {
	river.WorkerDefaults[jobargs.ScheduledCleanupArgs]

	deps *Deps
}

// Timeout bounds one attempt.
func (w *ScheduledCleanupWorker) Timeout(*river.Job[jobargs.ScheduledCleanupArgs]) time.Duration {
	return dailyTimeout
}

// Work deletes what is past retention, unless the period is already
// recorded in periodic_runs, then records the period in the transaction
// that completes the job. Rows are deleted in batches of DeleteBatch, each
// its own statement, before that transaction: a run that fails or times
// out part way keeps what it deleted, and its retry (deleting is
// idempotent) goes on from there.
func (w *ScheduledCleanupWorker) Work(ctx context.Context, job *river.Job[jobargs.ScheduledCleanupArgs]) error {
	if err := w.work(ctx, job); err != nil {
		return fmt.Errorf("scheduled cleanup for %s: %w", job.Args.Period.Format(time.RFC3339), err)
	}
	return nil
}

func (w *ScheduledCleanupWorker) work(ctx context.Context, job *river.Job[jobargs.ScheduledCleanupArgs]) error {
	run := db.PeriodicRunInsertParams{Name: job.Kind, PeriodStart: job.Args.Period, JobID: &job.ID}
	ran, err := db.New(w.deps.DB).PeriodicRunExists(ctx, db.PeriodicRunExistsParams{Name: run.Name, PeriodStart: run.PeriodStart})
	if err != nil {
		return fmt.Errorf("look up run: %w", err)
	}
	if !ran {
		if err := w.deleteExpired(ctx); err != nil {
			return err
		}
	}
	return db.InTx(ctx, w.deps.DB, func(tx pgx.Tx) error {
		if _, err := db.New(tx).PeriodicRunInsert(ctx, run); err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		return completeTx(ctx, tx, job)
	})
}

// deleteExpired deletes, in batches, expired sessions and the app_logs,
// events, deliveries and analytics_events rows older than their retention.
func (w *ScheduledCleanupWorker) deleteExpired(ctx context.Context) error {
	q := db.New(w.deps.DB)
	now := w.deps.NowFunc()
	r := w.deps.Retention
	sessions, err := deleteExpiredSessions(ctx, q, now)
	if err != nil {
		return err
	}
	logs, err := deleteOldLogs(ctx, q, now.Add(-r.Logs))
	if err != nil {
		return err
	}
	evs, err := deleteInBatches(ctx, "old events", func(ctx context.Context, limit int32) (int64, error) {
		return q.EventDeleteOlderThan(ctx, db.EventDeleteOlderThanParams{Before: now.Add(-r.Events), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	deliveries, err := deleteInBatches(ctx, "old deliveries", func(ctx context.Context, limit int32) (int64, error) {
		return q.DeliveryDeleteOlderThan(ctx, db.DeliveryDeleteOlderThanParams{Before: now.Add(-r.Deliveries), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	analytics, err := deleteInBatches(ctx, "old analytics events", func(ctx context.Context, limit int32) (int64, error) {
		return q.AnalyticsEventDeleteOlderThan(ctx, db.AnalyticsEventDeleteOlderThanParams{Before: now.Add(-r.Analytics), MaxRows: limit})
	})
	if err != nil {
		return err
	}
	w.deps.Logger.InfoContext(ctx, "Scheduled cleanup deleted expired rows",
		slog.Int64("sessions", sessions), slog.Int64("app_logs", logs), slog.Int64("events", evs),
		slog.Int64("deliveries", deliveries), slog.Int64("analytics_events", analytics))
	return nil
}

// DailySchedule is a time of day in a time zone: a river.PeriodicSchedule
// that fires once a day.
type DailySchedule struct {
	hour, minute int
	loc          *time.Location
}

// ParseDailySchedule parses at ("HH:MM", 24-hour) in the IANA time zone tz
// ("Asia/Kolkata").
func ParseDailySchedule(at, tz string) (*DailySchedule, error) {
	hh, mm, ok := strings.Cut(at, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return nil, fmt.Errorf("daily time %q is not HH:MM", at)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	return &DailySchedule{hour: h, minute: m, loc: loc}, nil
}

// Last returns the latest scheduled time at or before t.
func (s *DailySchedule) Last(t time.Time) time.Time {
	lt := t.In(s.loc)
	at := time.Date(lt.Year(), lt.Month(), lt.Day(), s.hour, s.minute, 0, 0, s.loc)
	if at.After(lt) {
		at = time.Date(lt.Year(), lt.Month(), lt.Day()-1, s.hour, s.minute, 0, 0, s.loc)
	}
	return at
}

// Next returns the first scheduled time after t.
func (s *DailySchedule) Next(t time.Time) time.Time {
	last := s.Last(t).In(s.loc)
	return time.Date(last.Year(), last.Month(), last.Day()+1, s.hour, s.minute, 0, 0, s.loc)
}

// everySchedule is a river.PeriodicSchedule that fires every period, at
// the multiples of it (time.Truncate), so every process agrees on where a
// period starts. It exists for tests: scheduled_cleanup every few seconds
// instead of daily (PeriodicOpts.CleanupEvery).
type everySchedule time.Duration

// Last returns the start of the period t is in.
func (s everySchedule) Last(t time.Time) time.Time { return t.Truncate(time.Duration(s)) }

// Next returns the start of the period after t's.
func (s everySchedule) Next(t time.Time) time.Time { return s.Last(t).Add(time.Duration(s)) }

// PeriodicOpts configure the periodic jobs.
type PeriodicOpts struct {
	// Daily is when scheduled_cleanup runs. Required.
	Daily *DailySchedule
	// CleanupEvery, when set, runs scheduled_cleanup every CleanupEvery
	// (everySchedule) instead of at Daily: the same durable run per period
	// (unique args, periodic_runs), with periods short enough for a test.
	CleanupEvery time.Duration
	// SessionCleanupInterval is how often cleanup_expired_sessions runs;
	// default one hour.
	SessionCleanupInterval time.Duration
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
}

// scheduleMargin absorbs River's periodic enqueuer firing up to 100 ms
// early: a run inserted just before its scheduled time stands for it.
const scheduleMargin = time.Minute

// PeriodicJobs returns the periodic jobs. River's leader inserts them, so
// they run once per period however many processes run; each also runs when
// a leader starts (RunOnStart), and uniqueness makes that a no-op when the
// period already ran:
//
//   - cleanup_expired_sessions every SessionCleanupInterval, unique by that
//     period;
//   - scheduled_cleanup daily (every CleanupEvery, if set), for the latest
//     due period (unique args, and recorded in periodic_runs), so a day
//     missed while every process was down is caught up once when one comes
//     back;
//   - flush_analytics every jobargs.FlushAnalyticsInterval, one at a time
//     (unique until it has run).
func PeriodicJobs(opts PeriodicOpts) ([]*river.PeriodicJob, error) {
	if opts.Daily == nil {
		return nil, fmt.Errorf("jobs: PeriodicOpts.Daily is required")
	}
	every := opts.SessionCleanupInterval
	if every <= 0 {
		every = time.Hour
	}
	now := opts.NowFunc
	if now == nil {
		now = time.Now
	}
	// The cleanup's schedule, and the margin that makes a run inserted
	// early stand for the period about to start: an eighth of a short
	// period at most, or it would claim a period that is not near (and a
	// new leader would leave the current one without a run).
	var cleanup interface {
		river.PeriodicSchedule
		Last(time.Time) time.Time
	} = opts.Daily
	margin := scheduleMargin
	if opts.CleanupEvery > 0 {
		cleanup = everySchedule(opts.CleanupEvery)
		margin = min(scheduleMargin, opts.CleanupEvery/8)
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			return jobargs.CleanupExpiredSessionsArgs{}, &river.InsertOpts{
				Queue: jobargs.QueueMaintenance, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByPeriod: every},
			}
		}, &river.PeriodicJobOpts{ID: "cleanup_expired_sessions", RunOnStart: true}),
		river.NewPeriodicJob(cleanup, func() (river.JobArgs, *river.InsertOpts) {
			return jobargs.ScheduledCleanupArgs{Period: cleanup.Last(now().Add(margin)).UTC()}, nil
		}, &river.PeriodicJobOpts{ID: "scheduled_cleanup", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(jobargs.FlushAnalyticsInterval), func() (river.JobArgs, *river.InsertOpts) {
			return jobargs.FlushAnalyticsArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "flush_analytics", RunOnStart: true}),
	}, nil
}
