package fn

import (
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"
)

// OnCron returns the trigger of a cron schedule ("0 3 * * *": minute, hour,
// day of month, month, day of week) in time zone tz ("Asia/Kolkata"); an
// invalid spec or zone is an error when the Registry is built.
func OnCron(spec, tz string) []Trigger {
	t := Trigger{Describe: spec + " " + tz}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Schedule = invalidSchedule{fmt.Errorf("cron %q: time zone: %w", spec, err)}
		return []Trigger{t}
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		t.Schedule = invalidSchedule{fmt.Errorf("cron %q: %w", spec, err)}
		return []Trigger{t}
	}
	t.Schedule = cronSchedule{s: s, loc: loc}
	return []Trigger{t}
}

// OnSchedule returns the trigger of schedule s, described for the docs as
// describe.
func OnSchedule(s river.PeriodicSchedule, describe string) []Trigger {
	return []Trigger{{Schedule: s, Describe: describe}}
}

type cronSchedule struct {
	s   cron.Schedule
	loc *time.Location
}

// Next is the first time after t on the schedule.
func (c cronSchedule) Next(t time.Time) time.Time { return c.s.Next(t.In(c.loc)) }

// Every returns a schedule that fires every d, at the multiples of d since
// the zero time (time.Truncate), so every process agrees on where a period
// starts.
func Every(d time.Duration) river.PeriodicSchedule { return every(d) }

type every time.Duration

// Next is the start of the period after t's.
func (e every) Next(t time.Time) time.Time {
	return t.Truncate(time.Duration(e)).Add(time.Duration(e))
}

// invalidSchedule is a schedule that could not be parsed; the Registry
// reports err.
type invalidSchedule struct{ err error }

func (s invalidSchedule) Next(time.Time) time.Time { return time.Time{} }

// scheduleMargin absorbs River's periodic enqueuer firing a little early:
// a run inserted just before its time stands for it.
const scheduleMargin = time.Minute

// last is the latest time on s at or before t (the period a run inserted at
// t is for), looking back up to lookBack.
func last(s river.PeriodicSchedule, t time.Time, lookBack time.Duration) time.Time {
	var out time.Time
	for at := s.Next(t.Add(-lookBack)); !at.IsZero() && !at.After(t); at = s.Next(at) {
		out = at
	}
	return out
}

// PeriodicJobs returns River's periodic jobs for the functions with a
// schedule. River's leader inserts them, so a schedule runs once however
// many processes run. Each run is for one period (Input.ScheduledFor) and
// unique by it, so a leader that starts (RunOnStart) re-inserts the latest
// due period's run only if that period has none: a period missed while
// every process was down runs once when one comes back.
func (r *Registry) PeriodicJobs() ([]*river.PeriodicJob, error) {
	var jobs []*river.PeriodicJob
	for _, f := range r.fns {
		for _, t := range f.triggers {
			if t.Schedule == nil {
				continue
			}
			if bad, ok := t.Schedule.(invalidSchedule); ok {
				return nil, fmt.Errorf("fn: function %s: %w", f.ID(), bad.err)
			}
			s := t.Schedule
			// A period's length, to look back far enough for the last one.
			first := s.Next(time.Now())
			length := s.Next(first).Sub(first)
			// A run inserted up to margin early stands for the period about
			// to start: an eighth of a short period at most, or it would
			// claim a period that is not near.
			margin := min(scheduleMargin, length/8)
			lookBack := 2*length + margin
			jobs = append(jobs, river.NewPeriodicJob(s, func() (river.JobArgs, *river.InsertOpts) {
				period := last(s, time.Now().Add(margin), lookBack).UTC()
				args := f.args()
				args.Period = &period
				opts := f.insertOpts(0)
				opts.UniqueOpts = river.UniqueOpts{ByArgs: true}
				return args, opts
			}, &river.PeriodicJobOpts{ID: f.ID(), RunOnStart: true}))
		}
	}
	return jobs, nil
}
