package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// ScheduledCleanupArgs are the args of the scheduled_cleanup job: the daily
// cleanup (expired sessions and the rows past retention) for one day.
type ScheduledCleanupArgs struct {
	// Period is the scheduled time this run stands for (say, 03:00 IST on
	// one day). It identifies the run: one job per period is inserted
	// (unique args), and the periodic_runs table records the periods done,
	// so each period's cleanup happens once.
	Period time.Time `json:"period" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (ScheduledCleanupArgs) Kind() string { return "scheduled_cleanup" }

// InsertOpts puts the job in the maintenance queue with 5 attempts, unique
// by period.
func (ScheduledCleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}
