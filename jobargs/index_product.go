package jobargs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// IndexProductArgs are the args of the index_product job. It makes the
// search index hold the product as it is when the job runs (product/created,
// product/updated, search/index). Only the product id identifies the job, so a
// burst of updates coalesces into one pending job.
type IndexProductArgs struct {
	// EventID is the id of the event that triggered the job (the first one of
	// a coalesced burst).
	EventID string `json:"event_id"`
	// ProductID is the product to index or, if it is gone, to remove.
	ProductID string `json:"product_id" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (IndexProductArgs) Kind() string { return "index_product" }

// InsertOpts puts the job in the search queue, unique by product while it is
// pending, scheduled, available, retryable or running (not once completed:
// the next update needs a job of its own). River requires running among the
// unique states; ProductIndexLockKey closes the gap that leaves.
func (IndexProductArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSearch, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{
		ByArgs:  true,
		ByState: pendingStates(),
	}}
}

// pendingStates are the job states in which a job has yet to (finish its)
// work: the unique states of jobs that coalesce.
func pendingStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}

// CoalesceKey identifies the jobs that are one job (unique args): those of
// one product. See Coalescer.
func (a IndexProductArgs) CoalesceKey() string { return a.ProductID }
